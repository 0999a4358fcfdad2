/**
 * Which of the programs Safehold uses are installed: looked up on PATH (no process started).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function isInstalled(program: string, path = process.env.PATH ?? ''): Promise<boolean> {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}
