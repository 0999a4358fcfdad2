/**
 * Where Safehold finds the programs it runs (lsblk, smartctl, restic, mount, …): in a fixed list of
 * system folders, never through the PATH the service happened to inherit, so `make run` from an
 * odd shell runs the same programs as the systemd unit.
 *
 * `SAFEHOLD_TOOLS_PATH` (folders separated by `:`) is searched before them: set explicitly, it is
 * how tests put a stand-in first (the replaying `smartctl` of test/fixtures/bin, docs/smart-adapter.md)
 * and how an install with a tool in an unusual folder (`/opt/restic/bin`) names it.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** The system folders programs come from, in this order. */
export const SYSTEM_TOOLS_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The PATH every program is run with: `SAFEHOLD_TOOLS_PATH`'s absolute folders, then
 * `SYSTEM_TOOLS_PATH`. Relative and empty entries are dropped (they would depend on the working folder).
 */
export function toolsPath(env: NodeJS.ProcessEnv = process.env): string {
  const extra = (env.SAFEHOLD_TOOLS_PATH ?? '').split(delimiter).filter((dir) => dir && isAbsolute(dir));
  return [...extra, SYSTEM_TOOLS_PATH].join(delimiter);
}

/** Whether `program` is an executable file in one of the folders of `path` (no process started). */
export async function isInstalled(program: string, path = toolsPath()): Promise<boolean> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}
