/**
 * Whether a process runs, read from /proc (Linux). For judging a lock left by a program: a pid that
 * is gone, reused by another program, or a zombie (killed, not yet reaped) holds nothing.
 */
import { readFile } from 'node:fs/promises';

/** True when process `pid` exists, is not a zombie, and its command name is `name` (as in /proc/<pid>/comm, at most 15 characters). */
export async function isProgramRunning(pid: number, name: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "<pid> (<comm>) <state> …": the command name may hold spaces and parentheses; the last ")" ends it.
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const state = stat.slice(close + 2, close + 3);
  return state !== 'Z' && state !== 'X' && comm === name.slice(0, 15);
}
