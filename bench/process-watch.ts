/**
 * Watches a process and its descendants through /proc while a benchmark runs (Linux only).
 *
 * Every `intervalMs` it lists the root's descendants (from each process's parent id in
 * `/proc/N/stat`: this kernel may lack `/proc/N/task/N/children`), and for each one keeps its command
 * line (the last one seen: `ionice` and `nice` exec into restic under the same pid), when it was first
 * and last seen, its peak resident memory (`VmHWM`) and its CPU time so far. It also reads the whole
 * machine's busy CPU time (`/proc/stat`), so that the CPU that other programs took meanwhile (other
 * people's work on a shared machine) can be told apart from the watched tree's own.
 *
 * Contract: times are epoch milliseconds (`performance.timeOrigin + performance.now()`, comparable
 * with the service's ISO timestamps); a child that lives less than one interval may be missed, and a
 * child's lifetime and CPU time are known to within one interval at each end. Memory is in KiB, as
 * /proc reports it; CPU in seconds. Reading /proc is synchronous and cheap (a few hundred small reads
 * a tick); the same watcher runs for Safehold and for the reference, so both bear the same cost.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface SeenProcess {
  pid: number;
  /** The command line when last seen (`restic backup --repo=… …`). */
  argv: string[];
  firstSeenMs: number;
  lastSeenMs: number;
  /** Highest `VmHWM` read while it lived, in KiB (0 if never read). */
  peakKiB: number;
  /** User + system CPU seconds when last seen. */
  cpuSeconds: number;
}

export interface Watched {
  processes: SeenProcess[];
  /** Wall time watched, seconds. */
  seconds: number;
  /** CPU seconds the whole machine was busy (all cores, every program), from /proc/stat. */
  machineBusySeconds: number;
  /** CPU seconds of the root and its descendants while watched. */
  treeSeconds: number;
  /**
   * At each tick, counted from the start: the machine's busy CPU seconds, the tree's, and the kernel
   * threads' (the loop device's and the filesystems' own work for the I/O being measured, among others).
   */
  ticks: Array<{ atMs: number; machineBusySeconds: number; treeSeconds: number; kernelSeconds: number }>;
}

/**
 * CPU seconds that programs outside the watched tree used between `fromMs` and `toMs` (nearest
 * ticks), and how long that was: other people's work on a shared machine, which a run at idle
 * priority yields to.
 */
export function othersDuring(watched: Watched, fromMs: number, toMs: number): { seconds: number; othersCpuSeconds: number } {
  const at = (ms: number) => watched.ticks.reduce((best, t) => (Math.abs(t.atMs - ms) < Math.abs(best.atMs - ms) ? t : best), watched.ticks[0]!);
  const [a, b] = [at(fromMs), at(toMs)];
  const others = b.machineBusySeconds - a.machineBusySeconds - (b.treeSeconds - a.treeSeconds) - (b.kernelSeconds - a.kernelSeconds);
  return { seconds: (b.atMs - a.atMs) / 1000, othersCpuSeconds: Math.max(0, others) };
}

export interface MemoryReading {
  rssKiB: number;
  hwmKiB: number;
}

/** `VmRSS` and `VmHWM` of a process, in KiB; null when it is gone. */
export function memoryOf(pid: number): MemoryReading | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/**
 * Resets the peak resident size (`VmHWM`) of a process to its current size (`echo 5 >
 * /proc/PID/clear_refs`, Linux 4.0 and later, root or the owner). Returns false when refused.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** USER_HZ: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

interface Stat {
  ppid: number;
  start: string;
  cpuSeconds: number;
  /** CPU seconds of its children that it has waited for (and theirs, recursively). */
  reapedSeconds: number;
}

function statOf(pid: number | string): Stat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": field 3 (state) is fields[0]; ppid field 4, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      start: fields[19]!,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      reapedSeconds: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
    };
  } catch {
    return null;
  }
}

/** User + system CPU seconds of a process itself (not its children). */
export function cpuSecondsOf(pid: number): number {
  return statOf(pid)?.cpuSeconds ?? 0;
}

/**
 * Busy CPU seconds of the whole machine since boot, all cores: user, nice, system and steal (time a
 * hypervisor gave to other machines). Interrupt time is left out: it is mostly the I/O being measured.
 */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , , , steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + steal!) / CLOCK_TICKS;
}

const epochNow = () => performance.timeOrigin + performance.now();

export class ProcessWatch {
  readonly #rootPid: number;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  /** Keyed by pid and start time, so a reused pid is a new process. */
  readonly #seen = new Map<string, SeenProcess>();
  #ticks = 0;
  readonly #tickLog: Watched['ticks'] = [];
  #startedMs = 0;
  #busyAtStart = 0;
  #kernelAtStart = 0;
  #treeAtStart = 0;
  #treeNow = 0;

  constructor(rootPid: number, intervalMs = 50) {
    this.#rootPid = rootPid;
    this.#intervalMs = intervalMs;
  }

  start(): this {
    this.#startedMs = epochNow();
    this.#busyAtStart = machineBusySeconds();
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    return this;
  }

  /** Stops watching (one last tick first) and returns what was seen. */
  stop(): Watched {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#tick();
    const processes = [...this.#seen.values()].sort((a, b) => a.firstSeenMs - b.firstSeenMs);
    return {
      processes,
      seconds: (epochNow() - this.#startedMs) / 1000,
      machineBusySeconds: machineBusySeconds() - this.#busyAtStart,
      treeSeconds: this.#treeNow - this.#treeAtStart,
      ticks: this.#tickLog,
    };
  }

  #tick(): void {
    const now = epochNow();
    const first = this.#ticks++ === 0;
    const stats = new Map<number, Stat>();
    const children = new Map<number, number[]>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = statOf(name);
      if (!stat) continue;
      const pid = Number(name);
      stats.set(pid, stat);
      let list = children.get(stat.ppid);
      if (!list) children.set(stat.ppid, (list = []));
      list.push(pid);
    }
    // Kernel threads: kthreadd (pid 2) and its children.
    let kernel = stats.get(2)?.cpuSeconds ?? 0;
    for (const pid of children.get(2) ?? []) kernel += stats.get(pid)?.cpuSeconds ?? 0;
    if (first) this.#kernelAtStart = kernel;
    // The tree's CPU so far: each living member's own time and that of the children it has reaped
    // (so a child too short-lived to be seen is still counted, once its parent has waited for it).
    let tree = 0;
    const queue = [this.#rootPid];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      queue.push(...(children.get(pid) ?? []));
      const stat = stats.get(pid);
      if (!stat) continue;
      tree += stat.cpuSeconds + stat.reapedSeconds;
      const key = `${pid}@${stat.start}`;
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      } catch {
        continue;
      }
      const peak = memoryOf(pid)?.hwmKiB ?? 0;
      const seen = this.#seen.get(key);
      if (seen) {
        seen.lastSeenMs = now;
        if (argv.length > 0) seen.argv = argv;
        seen.peakKiB = Math.max(seen.peakKiB, peak);
        seen.cpuSeconds = stat.cpuSeconds;
      } else {
        this.#seen.set(key, {
          pid,
          argv,
          firstSeenMs: now,
          lastSeenMs: now,
          peakKiB: peak,
          cpuSeconds: stat.cpuSeconds,
        });
      }
    }
    if (first) this.#treeAtStart = tree;
    this.#treeNow = tree;
    this.#tickLog.push({ atMs: now, machineBusySeconds: machineBusySeconds() - this.#busyAtStart, treeSeconds: tree - this.#treeAtStart, kernelSeconds: kernel - this.#kernelAtStart });
  }
}

/** A short name for a process seen: `restic backup`, `umount`, `node`. */
export function commandName(argv: readonly string[]): string {
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  const at = argv.findIndex((a) => base(a) === 'restic');
  if (at >= 0) return `restic ${argv[at + 1] ?? ''}`.trim();
  return argv[0] ? base(argv[0]) : '?';
}
