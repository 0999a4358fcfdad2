/** `safehold restore …` (being built: see docs/api.md, "Restore"). */
import type { Config } from '../config.js';

export async function restoreCommand(_config: Config, _args: string[], _json: boolean): Promise<number> {
  throw new Error('safehold restore is not built yet.');
}
