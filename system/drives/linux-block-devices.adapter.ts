/**
 * `BlockDevices` on a real Linux machine.
 *
 * Sources (docs/drives.md says which field comes from where and why):
 * - `lsblk --json --bytes -o …` through the command runner: the primary source of every field;
 * - `blkid -p -o export <dev>`: fsType / uuid / label / ptUuid, only when udev's database is missing
 *   (then lsblk prints null for them), cached so a sleeping disk is not woken again;
 * - /sys/block/<name>/diskseq and loop/backing_file: attachSeq and backingFile;
 * - drivelist: the human `description` only; any failure of drivelist leaves it null.
 *
 * Never spawns smartctl or anything else that reads from the disk, apart from the cached probe.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { BlockDevices, ChangeListener, DiskFacts } from './block-devices.js';
import { checked, ToolMissingError, type CommandRunner } from '../process/command-runner.js';
import {
  EMPTY_PROBE,
  LSBLK_COLUMNS,
  holdsData,
  parseBlkidExport,
  parseLsblkJson,
  toDiskFacts,
  type FsProbe,
  type LsblkDevice,
} from './lsblk.parse.js';

/** The part of the drivelist package this adapter uses (a stand-in can be passed for tests). */
export interface DriveDescriber {
  list(): Promise<Array<{ device: string; description: string }>>;
}

export interface LinuxBlockDevicesOptions {
  runner: CommandRunner;
  /** Where sysfs is mounted. Default `/sys`. */
  sysRoot?: string;
  /** udev's database; when it exists lsblk already knows filesystems and nothing is probed. Default `/run/udev/data`. */
  udevDataDir?: string;
  /** Default: the drivelist package, loaded on first use. */
  drivelist?: DriveDescriber;
  /** Limit for each lsblk / blkid run, in milliseconds. Default 15 000. */
  toolTimeoutMs?: number;
}

const DRIVELIST_TIMEOUT_MS = 10_000;

export class LinuxBlockDevices implements BlockDevices {
  readonly #runner: CommandRunner;
  readonly #sysRoot: string;
  readonly #udevDataDir: string;
  readonly #timeoutMs: number;
  #drivelist: DriveDescriber | undefined;
  /**
   * blkid results by device path. Probing reads the superblock, which spins up a sleeping disk, so
   * a result is reused for as long as its key (diskseq + size + mtime of the /dev node) holds:
   * diskseq changes when a medium is attached again, the size when it is resized, and the node's
   * mtime when something writes through it (mkfs, a new partition table). A mount, an unmount or
   * reading files changes none of them, so routine re-listing never touches the disk.
   */
  readonly #probeCache = new Map<string, { key: string; probe: FsProbe }>();

  constructor(options: LinuxBlockDevicesOptions) {
    this.#runner = options.runner;
    this.#sysRoot = options.sysRoot ?? '/sys';
    this.#udevDataDir = options.udevDataDir ?? '/run/udev/data';
    this.#timeoutMs = options.toolTimeoutMs ?? 15_000;
    this.#drivelist = options.drivelist;
  }

  async list(signal?: AbortSignal): Promise<DiskFacts[]> {
    const args = ['--json', '--bytes', '--output', LSBLK_COLUMNS.join(',')];
    const [lsblk, descriptions] = await Promise.all([
      checked(this.#runner, 'lsblk', args, { signal, timeoutMs: this.#timeoutMs }),
      this.#descriptions(),
    ]);
    const probing = !existsSync(this.#udevDataDir);
    const seen = new Set<string>();
    const disks: DiskFacts[] = [];
    for (const device of parseLsblkJson(lsblk.stdout)) {
      if (!holdsData(device)) continue;
      const block = `${this.#sysRoot}/block/${device.name}`;
      const attachSeq = toInt(await readText(`${block}/diskseq`));
      const backingFile = device.name.startsWith('loop') ? await readText(`${block}/loop/backing_file`) : null;
      const probes = probing ? await this.#probe(device, attachSeq, seen, signal) : new Map<string, FsProbe>();
      const facts = toDiskFacts(device, { attachSeq, backingFile, description: descriptions.get(device.path) ?? null, probes });
      if (facts) disks.push(facts);
    }
    for (const path of this.#probeCache.keys()) if (!seen.has(path)) this.#probeCache.delete(path);
    return disks;
  }

  /** Probes (cached) the disk and partitions for which lsblk printed no filesystem or table id. */
  async #probe(device: LsblkDevice, attachSeq: number | null, seen: Set<string>, signal?: AbortSignal) {
    const parts = device.children.filter((c) => c.type === 'part');
    const targets = [device, ...parts].filter((d) => d.fsType === null && d.ptUuid === null);
    const probes = new Map<string, FsProbe>();
    for (const target of targets) {
      seen.add(target.path);
      const key = `${attachSeq}|${target.sizeBytes}|${await mtimeOf(target.path)}`;
      const cached = this.#probeCache.get(target.path);
      if (cached?.key === key) {
        probes.set(target.path, cached.probe);
        continue;
      }
      const probe = await this.#blkid(target.path, signal);
      if (probe === null) continue; // blkid could not run: try again next time
      this.#probeCache.set(target.path, { key, probe });
      probes.set(target.path, probe);
    }
    return probes;
  }

  /** blkid's answer; EMPTY_PROBE when it found nothing or was refused; null when it could not run. */
  async #blkid(path: string, signal?: AbortSignal): Promise<FsProbe | null> {
    try {
      const result = await this.#runner.run('blkid', ['-p', '-o', 'export', path], { signal, timeoutMs: this.#timeoutMs });
      // 0: found; 2: nothing found or not permitted; 8: ambivalent (several signatures): report nothing.
      return result.exitCode === 0 ? parseBlkidExport(result.stdout) : EMPTY_PROBE;
    } catch (error) {
      if (signal?.aborted) throw error;
      return null;
    }
  }

  /** drivelist's descriptions by device path; empty when drivelist is unavailable, fails or hangs. */
  async #descriptions(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    let timer: NodeJS.Timeout | undefined;
    try {
      this.#drivelist ??= { list: (await import('drivelist')).list };
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('drivelist timed out')), DRIVELIST_TIMEOUT_MS);
      });
      for (const drive of await Promise.race([this.#drivelist.list(), timeout])) {
        const description = drive.description?.trim();
        if (description) found.set(drive.device, description);
      }
    } catch {
      // Description is a nicety: every other field comes from lsblk.
    } finally {
      clearTimeout(timer);
    }
    return found;
  }

  /**
   * Reads /sys/block (size, diskseq, partitions and their sizes of every device), the mtimes of the
   * /dev nodes (they change when something is written through them, e.g. mkfs) and
   * /proc/self/mountinfo. Spawns nothing and reads no disk.
   */
  async fingerprint(): Promise<string> {
    const names = (await readdir(`${this.#sysRoot}/block`)).sort();
    const rows = await Promise.all(
      names.map(async (name) => {
        const dir = `${this.#sysRoot}/block/${name}`;
        const entries = await readdir(dir).catch(() => [] as string[]);
        const parts = entries.filter((e) => e.startsWith(name)).sort();
        const cells = await Promise.all([
          readText(`${dir}/size`),
          readText(`${dir}/diskseq`),
          mtimeOf(`/dev/${name}`),
          ...parts.map(async (p) => `${p}=${await readText(`${dir}/${p}/size`)}@${await mtimeOf(`/dev/${p}`)}`),
        ]);
        return `${name} ${cells.join(' ')}`;
      }),
    );
    const hash = createHash('sha256').update(rows.join('\n'));
    hash.update(await readFile('/proc/self/mountinfo').catch(() => Buffer.alloc(0)));
    return hash.digest('hex');
  }

  /**
   * Calls onChange on every udev block event when udev runs (`udevadm monitor`); otherwise does
   * nothing and the caller's fingerprint polling is the only change signal (likewise when udevadm is
   * missing or exits: it is not restarted). This long-running monitor is the one process not
   * started through the command runner (the runner is for commands that finish); it takes a fixed
   * argument array, no shell. Returns a function that stops it.
   */
  watch(onChange: ChangeListener): () => void {
    if (!existsSync('/run/udev')) return () => {};
    const child = spawn('udevadm', ['monitor', '--udev', '--subsystem-match=block'], {
      shell: false,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.on('error', () => {}); // udevadm missing: no hints, polling still works
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (/^UDEV\s+\[/.test(line)) onChange();
    });
    return () => {
      lines.close();
      child.kill();
    };
  }

  async missingTools(): Promise<string[]> {
    const missing: string[] = [];
    for (const tool of ['lsblk', 'blkid']) {
      try {
        await this.#runner.run(tool, ['--version'], { timeoutMs: 5000 });
      } catch (error) {
        if (error instanceof ToolMissingError) missing.push(tool);
      }
    }
    return missing;
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

function toInt(value: string | null): number | null {
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function mtimeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.mtimeMs, () => 0);
}
