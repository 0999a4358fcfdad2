/** `safehold recovery-kit [--json]` (being built: see docs/api.md, "Recovery kit"). */
import type { Config } from '../config.js';

export async function recoveryKitCommand(_config: Config, _args: string[], _json: boolean): Promise<number> {
  throw new Error('safehold recovery-kit is not built yet.');
}
