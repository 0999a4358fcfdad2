/**
 * `safehold recovery-kit [--json]`: the recovery kit of the running service (docs/recovery.md).
 * Without `--json`, the printable text, exactly as the page's download; with it, the API's JSON
 * (`GET /recovery-kit`) as is. Both hold every repository's password: they go to standard output
 * only. The text is made here from the service's JSON by the same function the service uses, so the
 * command needs no second route format.
 */
import type { Config } from '../config.js';
import { recoveryKitText, type RecoveryKit } from '../backups/recovery-kit.service.js';
import { UsageError } from './failures.js';
import { callService } from './local-client.js';
import { printable } from './printable.js';

export async function recoveryKitCommand(config: Config, args: string[], json: boolean): Promise<number> {
  if (args.length > 0) throw new UsageError(`Unexpected "${printable(args[0]!)}". Use "safehold recovery-kit [--json]".`);
  const kit = (await callService(config.dataDir, 'GET', '/recovery-kit', undefined, 200)) as RecoveryKit;
  process.stdout.write(json ? `${JSON.stringify(kit, null, 2)}\n` : recoveryKitText(kit));
  return 0;
}
