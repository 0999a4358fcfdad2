/**
 * `Mounts` on a real Linux machine: mount(8), umount(8), sync(1), blockdev(8), blkid(8), wipefs(8)
 * and mkfs.ext4(8) through the command runner; the mount table from /proc/self/mountinfo and device
 * presence from sysfs. docs/backup-drives.md explains every option.
 *
 * How "a drive is behind this folder" is decided (`status`): the folder's own mount table entry
 * (the top one when mounts are stacked), a device number different from its parent folder's, a
 * source that is a block device, and that device still present in sysfs with a non-zero size. A
 * pulled USB drive loses its sysfs node; a card reader or a loop device without medium reports
 * size 0; either is `device-gone`.
 */
import process from 'node:process';
import { lstat, mkdir, readdir, readFile, realpath, stat, statfs, chmod } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { outputTail, ToolMissingError, type CommandRunner } from '../process/command-runner.js';
import { parseBlkidExport } from '../drives/lsblk.parse.js';
import {
  checkLabel,
  MountError,
  type FormatOptions,
  type FormatResult,
  type Holder,
  type MountOptions,
  type MountResult,
  type FolderSeal,
  type Mounts,
  type MountStatus,
  type SpaceFacts,
  type UnmountOptions,
  type UnmountResult,
} from './mounts.js';
import { deviceNumbers, parseMountinfo, type MountEntry } from './mountinfo.parse.js';

export interface LinuxMountsOptions {
  runner: CommandRunner;
  /** Where sysfs is mounted. Default `/sys`. */
  sysRoot?: string;
  /** The mount table. Default `/proc/self/mountinfo`. */
  mountinfoPath?: string;
  /**
   * Paths whose disk `format()` always refuses: the operating system's, and the caller should add
   * Safehold's data folder. Default `/`, `/boot`, `/boot/firmware`, `/boot/efi`, `/usr`, `/var`.
   */
  protectedPaths?: string[];
  /** Limit for mount / umount / blkid / blockdev, in milliseconds. Default 60 000. */
  toolTimeoutMs?: number;
  /** Limit for writing a filesystem's data out before unmounting (a slow USB disk with much unwritten data), in milliseconds. Default 30 minutes. */
  syncTimeoutMs?: number;
  /** Limit for mkfs (it initialises every inode table: minutes on a large disk), in milliseconds. Default 2 hours. */
  formatTimeoutMs?: number;
}

/** ext4 options `format()` uses; docs/backup-drives.md says why. */
export const MKFS_EXT4_OPTIONS = [
  '-F', // the device may hold an old filesystem or be a whole disk: the caller has confirmed
  '-m', '0', // no blocks reserved for root: a backup drive holds no system
  '-i', '65536', // one inode per 64 KiB: restic stores packs of several MiB; fewer inode tables to write
  '-e', 'remount-ro', // on errors, stop writing (also when mounted by another computer)
  '-E', 'lazy_itable_init=0,lazy_journal_init=0', // initialise now, not in the background during the first backup
] as const;

/**
 * Filesystems `mount()` accepts, with the options each gets besides the common ones, and what a
 * read-only mount adds so that it writes nothing (a journaled filesystem replays its journal even
 * when mounted `ro`, unless told not to).
 */
function typeOptions(fsType: string): { kernelType: string; extra: string[]; noReplay: string[] } | null {
  const owner = [`uid=${process.getuid?.() ?? 0}`, `gid=${process.getgid?.() ?? 0}`, 'umask=0077'];
  switch (fsType) {
    case 'ext2':
      return { kernelType: fsType, extra: ['errors=remount-ro'], noReplay: [] };
    case 'ext3':
    case 'ext4':
      return { kernelType: fsType, extra: ['errors=remount-ro'], noReplay: ['noload'] };
    case 'xfs':
      return { kernelType: fsType, extra: [], noReplay: ['norecovery'] };
    case 'btrfs':
      return { kernelType: fsType, extra: [], noReplay: ['rescue=nologreplay'] };
    case 'vfat':
    case 'exfat':
      return { kernelType: fsType, extra: owner, noReplay: [] };
    case 'ntfs':
      return { kernelType: 'ntfs3', extra: owner, noReplay: [] };
    default:
      return null;
  }
}

const COMMON_OPTIONS = ['nodev', 'nosuid', 'noexec', 'noatime'];

/** The mount options `mount()` passes for a filesystem type; null when the type is not supported. */
export function mountOptionsFor(fsType: string, readOnly: boolean): { kernelType: string; options: string[] } | null {
  const type = typeOptions(fsType);
  if (!type) return null;
  return { kernelType: type.kernelType, options: [readOnly ? 'ro' : 'rw', ...COMMON_OPTIONS, ...type.extra, ...(readOnly ? type.noReplay : [])] };
}

/** The source name of the read-only tmpfs that seals a mount folder where `chattr +i` is not supported. */
export const SEAL_SOURCE = 'safehold-seal';
/** Its options: read-only and empty (nothing can be created in it), 0700 like the folder. */
const SEAL_OPTIONS = 'ro,nodev,nosuid,noexec,size=4k,mode=0700';

interface BlockDevice {
  path: string;
  major: number;
  minor: number;
}

export class LinuxMounts implements Mounts {
  readonly #runner: CommandRunner;
  readonly #sysRoot: string;
  readonly #mountinfoPath: string;
  readonly #protectedPaths: string[];
  readonly #timeoutMs: number;
  readonly #syncTimeoutMs: number;
  readonly #formatTimeoutMs: number;

  constructor(options: LinuxMountsOptions) {
    this.#runner = options.runner;
    this.#sysRoot = options.sysRoot ?? '/sys';
    this.#mountinfoPath = options.mountinfoPath ?? '/proc/self/mountinfo';
    this.#protectedPaths = options.protectedPaths ?? ['/', '/boot', '/boot/firmware', '/boot/efi', '/usr', '/var'];
    this.#timeoutMs = options.toolTimeoutMs ?? 60_000;
    this.#syncTimeoutMs = options.syncTimeoutMs ?? 30 * 60_000;
    this.#formatTimeoutMs = options.formatTimeoutMs ?? 2 * 60 * 60_000;
  }

  async mount(device: string, mountpoint: string, options: MountOptions = {}): Promise<MountResult> {
    const readOnly = options.readOnly ?? false;
    const signal = options.signal;
    const dev = await this.#blockDevice(device);
    const folder = await prepareFolder(mountpoint);
    const status = await this.status(folder);
    if (status.state !== 'not-mounted') {
      const here = status.state === 'not-a-device' ? status.source : status.device;
      const numbers = await this.#numbersAt(folder);
      if (status.state === 'mounted' && numbers && numbers.major === dev.major && numbers.minor === dev.minor) {
        if (status.readOnly === readOnly) {
          return { device: dev.path, mountpoint: folder, fsType: status.fsType, readOnly, alreadyMounted: true };
        }
        throw new MountError(
          'already-mounted',
          `${dev.path} is already mounted at ${folder} ${status.readOnly ? 'read-only' : 'read-write'}.`,
          'Unmount it first to mount it the other way.',
        );
      }
      throw new MountError(
        'already-mounted',
        `${folder} is already a mount point (of ${here}${status.state === 'device-gone' ? ', a device that is gone' : ''}): Safehold does not mount over it.`,
        'Unmount what is mounted there, or choose another folder.',
      );
    }
    const inside = await readdir(folder);
    if (inside.length > 0) {
      const shown = inside.slice(0, 3).map((n) => JSON.stringify(n)).join(', ');
      throw new MountError(
        'folder-not-empty',
        `${folder} is not empty (${shown}${inside.length > 3 ? ', …' : ''}): Safehold mounts drives only on empty folders, so no file is hidden and none was written there by mistake.`,
        `Look at what is in ${folder} (it is on the system disk, not on the drive: it may be a backup written while no drive was mounted), move it away or delete it, then plug the drive in again.`,
      );
    }
    await this.#sealFolder(folder, signal);
    const fsType = await this.#filesystemOf(dev.path, signal);
    const chosen = mountOptionsFor(fsType, readOnly);
    if (!chosen) {
      throw new MountError(
        'unsupported-filesystem',
        `${dev.path} holds a ${fsType} filesystem, which Safehold does not mount.`,
        'Use a drive formatted with ext4 (or let Safehold format it).',
      );
    }
    const args = ['-t', chosen.kernelType, '-o', chosen.options.join(','), dev.path, folder];
    const result = await this.#runner.run('mount', args, { signal, timeoutMs: this.#timeoutMs });
    if (result.exitCode !== 0) {
      throw new MountError('failed', `Could not mount ${dev.path} at ${folder}: ${outputTail(result.stdout, result.stderr)}`, 'Check the drive (cable, power) and try again.');
    }
    const after = await this.status(folder);
    if (after.state !== 'mounted') {
      throw new MountError('failed', `mount reported success, but ${folder} has no drive behind it (${after.state}).`);
    }
    return { device: dev.path, mountpoint: folder, fsType, readOnly: after.readOnly, alreadyMounted: false };
  }

  async unmount(mountpoint: string, options: UnmountOptions = {}): Promise<UnmountResult> {
    const { signal } = options;
    const folder = await realpath(mountpoint).catch(() => mountpoint);
    const status = await this.status(folder);
    if (status.state === 'not-mounted') return { wasMounted: false, device: null, synced: false, flushed: false, lazy: false };
    if (status.state === 'not-a-device') {
      throw new MountError('invalid-path', `${folder} is a mount of ${status.source} (${status.fsType}), not a drive: Safehold leaves it alone.`);
    }
    let synced = false;
    if (status.state === 'mounted') {
      // syncfs: write this filesystem's data out; fails with an I/O error when the device is failing.
      const sync = await this.#runner.run('sync', ['-f', folder], { signal, timeoutMs: this.#syncTimeoutMs });
      synced = sync.exitCode === 0;
    }
    const result = await this.#runner.run('umount', [folder], { signal, timeoutMs: this.#timeoutMs });
    let lazy = false;
    if (result.exitCode !== 0) {
      const busy = /busy/i.test(result.stderr);
      const now = await this.status(folder);
      if (busy && options.lazy && now.state === 'device-gone') {
        const detached = await this.#runner.run('umount', ['--lazy', folder], { signal, timeoutMs: this.#timeoutMs });
        if (detached.exitCode !== 0) throw new MountError('failed', `Could not detach ${folder}: ${outputTail(detached.stdout, detached.stderr)}`);
        lazy = true;
      } else if (busy) {
        const holders = await this.holders(folder, signal);
        const who = holders.length ? holders.map((h) => `${h.command ?? '?'} (pid ${h.pid})`).join(', ') : 'a process that could not be identified';
        throw new MountError(
          'busy',
          `${folder} (${status.device}) is in use by ${who}; it was not unmounted.`,
          'Close what uses the drive (a file browser, a terminal in that folder, a running job), then try again.',
          holders,
        );
      } else {
        throw new MountError('failed', `Could not unmount ${folder}: ${outputTail(result.stdout, result.stderr)}`);
      }
    }
    const flushed = status.state === 'mounted' ? await this.flush(status.device, signal) : false;
    return { wasMounted: true, device: status.device, synced, flushed, lazy };
  }

  async status(path: string): Promise<MountStatus> {
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'not-mounted', reason: `${path} does not exist.` };
      if (code === 'EIO') return { state: 'device-gone', device: '?', fsType: '?', reason: `Reading ${path} fails with an I/O error.` };
      throw error;
    }
    const entry = (await this.#mountTable()).reverse().find((e) => e.mountpoint === real);
    if (!entry) return { state: 'not-mounted', reason: `${real} is a plain folder: no drive is mounted there.` };
    if (isSealMount(entry)) return { state: 'not-mounted', reason: `${real} is an empty sealed folder: no drive is mounted there.` };
    let here: bigint;
    let parent: bigint;
    try {
      here = (await stat(real, { bigint: true })).dev;
      parent = real === '/' ? -1n : (await stat(dirname(real), { bigint: true })).dev;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EIO') {
        return { state: 'device-gone', device: entry.source, fsType: entry.fsType, reason: `Reading ${real} fails with an I/O error.` };
      }
      throw error;
    }
    if (here === parent) return { state: 'not-mounted', reason: `${real} is a bind mount of the filesystem it is in, not a drive.` };
    if (!entry.source.startsWith('/dev/')) return { state: 'not-a-device', source: entry.source, fsType: entry.fsType };
    const numbers = entry.major !== 0 ? { major: entry.major, minor: entry.minor } : await rdevOf(entry.source);
    const size = numbers ? await readText(join(this.#sysRoot, 'dev', 'block', `${numbers.major}:${numbers.minor}`, 'size')) : null;
    if (size === null) {
      return { state: 'device-gone', device: entry.source, fsType: entry.fsType, reason: `${entry.source} is no longer attached (pulled out?).` };
    }
    if (size === '0') {
      return { state: 'device-gone', device: entry.source, fsType: entry.fsType, reason: `${entry.source} reports no medium (size 0): pulled out or failed.` };
    }
    const superRo = entry.superOptions.includes('ro');
    const mountRo = entry.mountOptions.includes('ro');
    return {
      state: 'mounted',
      device: entry.source,
      fsType: entry.fsType,
      readOnly: mountRo || superRo || entry.superOptions.includes('emergency_ro'),
      remountedReadOnlyAfterErrors: entry.superOptions.includes('emergency_ro') || (superRo && !mountRo),
    };
  }

  async seal(mountpoint: string): Promise<FolderSeal> {
    const folder = await realpath(mountpoint).catch(() => mountpoint);
    const beneath = (await this.#mountTable()).filter((e) => e.mountpoint === folder);
    if (beneath.some(isSealMount)) return 'read-only-tmpfs';
    return (await this.#immutable(folder)) ? 'immutable' : 'none';
  }

  async isMountedDevice(path: string): Promise<boolean> {
    return (await this.status(path)).state === 'mounted';
  }

  async flush(device: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const result = await this.#runner.run('blockdev', ['--flushbufs', device], { signal, timeoutMs: this.#timeoutMs });
      return result.exitCode === 0;
    } catch (error) {
      if (error instanceof ToolMissingError) return false;
      throw error;
    }
  }

  async format(device: string, options: FormatOptions): Promise<FormatResult> {
    const { label, fsType, signal } = options;
    checkLabel(label);
    if (fsType !== 'ext4') throw new MountError('unsupported-filesystem', `Safehold formats drives with ext4 only, not ${String(fsType)}.`);
    const dev = await this.#blockDevice(device);
    await this.#refuseInUse(dev);
    try {
      // Old signatures (a partition table and its backup at the end of the disk, other filesystems)
      // would make later probes ambiguous.
      await this.#runner.run('wipefs', ['--all', '--quiet', dev.path], { signal, timeoutMs: this.#timeoutMs });
    } catch (error) {
      if (!(error instanceof ToolMissingError)) throw error;
    }
    const args = [...MKFS_EXT4_OPTIONS, '-L', label, dev.path];
    const result = await this.#runner.run('mkfs.ext4', args, { signal, timeoutMs: this.#formatTimeoutMs });
    if (result.exitCode !== 0) {
      throw new MountError('failed', `Could not format ${dev.path}: ${outputTail(result.stdout, result.stderr)}`, 'Check the drive (cable, power, SMART health) and try again.');
    }
    const probe = await this.#runner.run('blkid', ['-p', '-o', 'export', dev.path], { signal, timeoutMs: this.#timeoutMs });
    const facts = parseBlkidExport(probe.stdout);
    if (probe.exitCode !== 0 || facts.fsType !== 'ext4' || !facts.uuid) {
      throw new MountError('failed', `${dev.path} was formatted, but blkid does not find the new filesystem on it.`);
    }
    return { device: dev.path, fsType: 'ext4', label, uuid: facts.uuid };
  }

  async statfs(path: string): Promise<SpaceFacts> {
    const s = await statfs(path);
    return { sizeBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availableBytes: s.bavail * s.bsize };
  }

  /** Processes holding the filesystem at `mountpoint` open (`fuser -m`); empty when fuser is missing. */
  async holders(mountpoint: string, signal?: AbortSignal): Promise<Holder[]> {
    let stdout: string;
    try {
      stdout = (await this.#runner.run('fuser', ['-m', mountpoint], { signal, timeoutMs: this.#timeoutMs })).stdout;
    } catch (error) {
      if (error instanceof ToolMissingError) return [];
      throw error;
    }
    const pids = [...new Set(stdout.split(/\s+/).map((t) => /^(\d+)/.exec(t)?.[1]).filter((p): p is string => p !== undefined))];
    return Promise.all(pids.map(async (pid) => ({ pid: Number(pid), command: await readText(`/proc/${pid}/comm`) })));
  }

  /**
   * Seals the empty, unmounted `folder` (idempotent): the immutable attribute, or where the
   * filesystem has none (ramfs, some overlay setups), an empty read-only tmpfs on it. Throws a
   * `MountError` when neither works: Safehold does not mount on a folder it cannot keep empty.
   */
  async #sealFolder(folder: string, signal?: AbortSignal): Promise<void> {
    if ((await this.seal(folder)) !== 'none') return;
    let why: string;
    try {
      const result = await this.#runner.run('chattr', ['+i', folder], { signal, timeoutMs: this.#timeoutMs });
      if (result.exitCode === 0 && (await this.#immutable(folder))) return;
      why = outputTail(result.stdout, result.stderr);
    } catch (error) {
      if (!(error instanceof ToolMissingError)) throw error;
      why = 'chattr is not installed (e2fsprogs)';
    }
    const tmpfs = await this.#runner.run('mount', ['-t', 'tmpfs', '-o', SEAL_OPTIONS, SEAL_SOURCE, folder], { signal, timeoutMs: this.#timeoutMs });
    if (tmpfs.exitCode === 0) return;
    throw new MountError(
      'failed',
      `Could not seal the empty folder ${folder} (${why}; a read-only tmpfs: ${outputTail(tmpfs.stdout, tmpfs.stderr)}): without that, a backup could be written onto the system disk when the drive goes away.`,
      'Keep Safehold\'s data folder on a filesystem that supports chattr +i (ext4, xfs, btrfs, tmpfs).',
    );
  }

  /** Whether the folder itself (not a filesystem mounted on it) has the immutable attribute. */
  async #immutable(folder: string): Promise<boolean> {
    try {
      const result = await this.#runner.run('lsattr', ['-d', folder], { timeoutMs: this.#timeoutMs });
      return result.exitCode === 0 && /^\S*i\S*\s/.test(result.stdout);
    } catch (error) {
      if (error instanceof ToolMissingError) return false;
      throw error;
    }
  }

  async #mountTable(): Promise<MountEntry[]> {
    return parseMountinfo(await readFile(this.#mountinfoPath, 'utf8'));
  }

  async #numbersAt(path: string) {
    try {
      return deviceNumbers((await stat(path, { bigint: true })).dev);
    } catch {
      return null;
    }
  }

  /** The device, symlinks resolved; a `MountError` unless it is an existing block device. */
  async #blockDevice(device: string): Promise<BlockDevice> {
    if (!isAbsolute(device)) throw new MountError('invalid-path', `"${device}" is not a device path (it must start with /dev/).`);
    let path: string;
    try {
      path = await realpath(device);
    } catch {
      throw new MountError('not-a-block-device', `${device} does not exist (was the drive unplugged?).`);
    }
    const s = await stat(path, { bigint: true });
    if (!s.isBlockDevice()) throw new MountError('not-a-block-device', `${device} is not a block device.`);
    return { path, ...deviceNumbers(s.rdev) };
  }

  /** blkid's filesystem type of the device, or a `MountError` saying why there is none. */
  async #filesystemOf(device: string, signal?: AbortSignal): Promise<string> {
    const result = await this.#runner.run('blkid', ['-p', '-o', 'export', device], { signal, timeoutMs: this.#timeoutMs });
    const fields = new Map(
      result.stdout
        .split('\n')
        .map((l) => l.split('='))
        .filter((kv): kv is [string, string] => kv.length >= 2)
        .map(([k, ...v]) => [k, v.join('=')] as [string, string]),
    );
    if (result.exitCode === 0 && fields.get('USAGE') === 'filesystem' && fields.get('TYPE')) return fields.get('TYPE')!;
    if (fields.has('PTTYPE')) {
      throw new MountError('no-filesystem', `${device} holds a partition table (${fields.get('PTTYPE')}), not a filesystem.`, 'Mount one of its partitions.');
    }
    if (result.exitCode === 0 && fields.get('TYPE')) {
      throw new MountError('unsupported-filesystem', `${device} holds ${fields.get('TYPE')} (${fields.get('USAGE') ?? 'unknown use'}), not a filesystem Safehold can mount.`);
    }
    if (result.exitCode === 8) throw new MountError('no-filesystem', `${device} holds several conflicting signatures: blkid cannot tell which filesystem is real.`);
    throw new MountError('no-filesystem', `No filesystem found on ${device}.`, 'Format the drive first (this erases it).');
  }

  /** Refuses a device (or any partition or the disk of it) that is mounted, used as swap, held by another device, or holds a protected path. */
  async #refuseInUse(dev: BlockDevice): Promise<void> {
    const sysDir = await realpath(join(this.#sysRoot, 'dev', 'block', `${dev.major}:${dev.minor}`)).catch(() => null);
    if (!sysDir) throw new MountError('device-gone', `${dev.path} is not attached.`);
    const isPartition = (await readText(join(sysDir, 'partition'))) !== null;
    const diskDir = isPartition ? dirname(sysDir) : sysDir;
    for (const path of this.#protectedPaths) {
      const numbers = await this.#numbersAt(path);
      if (!numbers) continue;
      const holderDir = await realpath(join(this.#sysRoot, 'dev', 'block', `${numbers.major}:${numbers.minor}`)).catch(() => null);
      if (!holderDir) continue; // not on a block device (tmpfs, overlay)
      const holderDisk = (await readText(join(holderDir, 'partition'))) !== null ? dirname(holderDir) : holderDir;
      if (holderDisk === diskDir) {
        throw new MountError('system-disk', `${dev.path} is on the disk that holds ${path}: Safehold never formats it.`);
      }
    }
    // The device itself, the disk it is part of, and every partition of that disk.
    const related = new Map<string, string>([[`${dev.major}:${dev.minor}`, dev.path]]);
    for (const dir of [diskDir, ...(await partitionDirs(diskDir))]) {
      const numbers = await readText(join(dir, 'dev'));
      if (numbers) related.set(numbers, `/dev/${dir.split('/').pop()}`);
    }
    const table = await this.#mountTable();
    for (const entry of table) {
      const key = `${entry.major}:${entry.minor}`;
      const sameSource = [...related.values()].includes(entry.source);
      if (related.has(key) || sameSource) {
        throw new MountError('device-mounted', `${related.get(key) ?? entry.source} is mounted at ${entry.mountpoint}: Safehold never formats a mounted drive.`, 'Unmount it first.');
      }
    }
    const swaps = await readFile('/proc/swaps', 'utf8').catch(() => '');
    for (const line of swaps.split('\n').slice(1)) {
      const source = line.split(/\s+/)[0];
      if (source && [...related.values()].includes(source)) {
        throw new MountError('device-mounted', `${source} is in use as swap space: Safehold never formats it.`);
      }
    }
    for (const dir of [diskDir, ...(await partitionDirs(diskDir))]) {
      const holders = await readdir(join(dir, 'holders')).catch(() => [] as string[]);
      if (holders.length > 0) {
        throw new MountError('device-mounted', `/dev/${dir.split('/').pop()} is in use by ${holders.join(', ')} (RAID, encryption or LVM): Safehold never formats it.`);
      }
    }
  }
}

/** Creates the mount folder (mode 0700, parents too) and returns its real path; refuses a symlink or a non-folder. */
async function prepareFolder(mountpoint: string): Promise<string> {
  if (!isAbsolute(mountpoint)) throw new MountError('invalid-path', `"${mountpoint}" is not an absolute path.`);
  await mkdir(mountpoint, { recursive: true, mode: 0o700 });
  const info = await lstat(mountpoint);
  if (info.isSymbolicLink()) throw new MountError('invalid-path', `${mountpoint} is a symbolic link: Safehold mounts only on a folder of its own.`);
  if (!info.isDirectory()) throw new MountError('invalid-path', `${mountpoint} is not a folder.`);
  const real = await realpath(mountpoint);
  // Tighten the folder while nothing is mounted on it (once mounted, the drive's own root shows);
  // a sealed (immutable) folder was tightened before it was sealed.
  if ((info.mode & 0o777) !== 0o700 && (await stat(dirname(real), { bigint: true })).dev === (await stat(real, { bigint: true })).dev) {
    await chmod(real, 0o700).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPERM') throw error;
    });
  }
  return real;
}

function isSealMount(entry: MountEntry): boolean {
  return entry.source === SEAL_SOURCE && entry.fsType === 'tmpfs';
}

async function partitionDirs(diskDir: string): Promise<string[]> {
  const entries = await readdir(diskDir).catch(() => [] as string[]);
  const dirs: string[] = [];
  for (const entry of entries) {
    if ((await readText(join(diskDir, entry, 'partition'))) !== null) dirs.push(join(diskDir, entry));
  }
  return dirs;
}

async function rdevOf(path: string): Promise<{ major: number; minor: number } | null> {
  try {
    const s = await stat(path, { bigint: true });
    return s.isBlockDevice() ? deviceNumbers(s.rdev) : null;
  } catch {
    return null;
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}
