/**
 * `safehold recovery-kit [--json]`: the recovery kit of the running service (docs/recovery.md).
 * Without `--json`, the printable text, exactly as the page's download; with it, the API's JSON
 * (`GET /recovery-kit`) as is. Both hold every repository's password: they go to standard output
 * only. The text is made here from the service's JSON by the same function the service uses, so the
 * command needs no second route format.
 */
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { recoveryKitText, type RecoveryKit } from '../backups/recovery-kit.service.js';
import { localRequest } from './local-client.js';

export async function recoveryKitCommand(config: Config, args: string[], json: boolean): Promise<number> {
  if (args.length > 0) throw new InvalidInputError(`Unexpected "${args[0]}". Use "safehold recovery-kit [--json]".`);
  const res = await localRequest(config.dataDir, 'GET', '/recovery-kit');
  if (res.status !== 200) {
    const error = (res.body as { error?: { message?: string } } | null)?.error;
    throw new Error(`The service refused: ${error?.message ?? `it answered ${res.status}.`}`);
  }
  const kit = res.body as RecoveryKit;
  process.stdout.write(json ? `${JSON.stringify(kit, null, 2)}\n` : recoveryKitText(kit));
  return 0;
}
