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

/**
 * The files some process holds open for writing now, as `<dev>:<ino>` keys (the device and inode
 * numbers `stat` gives, as decimal bigints), read from /proc/<pid>/fd and /proc/<pid>/fdinfo. A
 * process or descriptor that goes away while it is read is skipped. Only what this process may see
 * (root sees every process). For the duplicator's rule: never copy a file still being written.
 */
export async function filesOpenForWriting(): Promise<Set<string>> {
  const { readdir, stat } = await import('node:fs/promises');
  const open = new Set<string>();
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => null);
      const flags = info ? /^flags:\s+([0-7]+)$/m.exec(info)?.[1] : undefined;
      if (flags === undefined) continue;
      const access = Number.parseInt(flags, 8) & 3; // O_ACCMODE: 1 write only, 2 read and write
      if (access !== 1 && access !== 2) continue;
      const target = await stat(`/proc/${pid}/fd/${fd}`, { bigint: true }).catch(() => null);
      if (target?.isFile()) open.add(`${target.dev}:${target.ino}`);
    }
  }
  return open;
}
