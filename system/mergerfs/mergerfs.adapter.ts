/**
 * `PoolView` on a real Linux machine: mergerfs 2.33 (Debian package `mergerfs`, FUSE) started through
 * the command runner, unmounted with umount(8); the branch list read and changed at run time through
 * the `user.mergerfs.*` extended attributes of `<view>/.mergerfs` with getfattr(1) / setfattr(1)
 * (Debian package `attr`: Node has no xattr API); the mount table from /proc/self/mountinfo.
 *
 * The options every view gets (`MERGERFS_OPTIONS`) are the contract of the view; docs/pool-view.md
 * gives the evidence for each. In short:
 * - `category.create=mspmfs`: a new file (or folder) goes where its folder already is, walking up
 *   to the share's top when no branch with room has it, and then to the most free space: an album
 *   stays on one disk while that disk has room above its reserve;
 * - `minfreespace` (the view's reserve, and a branch's own as `path=RW,<bytes>`): a branch whose
 *   available space is below it gets no new file;
 * - `category.action=epall` + `ignorepponrename=true`: chmod, rename, unlink, … apply to EVERY copy
 *   of a file; without `ignorepponrename`, mspmfs makes rename path-preserving, and a rename into a
 *   folder that exists on one disk only deletes the copies on the others (seen on 2.33.5);
 * - `category.search=newest`: a file is opened, read and stat'ed from its newest copy, so a disk
 *   that comes back with an older copy (changed through the view while it was away) is not served
 *   nor written to before the duplicator replaces it; copies the duplicator made carry the same mtime;
 * - `cache.files=off`: no page cache of the view's own: after the duplicator replaces a copy
 *   natively, the next read through the view reads the new bytes;
 * - `dropcacheonclose=true`: a file read once through the view (a backup, a film) does not crowd a
 *   Pi's small memory with its pages after it is closed;
 * - `use_ino` + `inodecalc=path-hash`: a file's inode number depends on its path only, not on which
 *   disk's copy is found first, so it does not change when the duplicator adds or replaces a copy
 *   natively (Samba and `find` take a changed inode for a different file);
 * - `moveonenospc=true`: a write that fills its disk moves the file to the disk with the most free
 *   space and goes on, instead of failing while the pool has room;
 * - `statfs=base` + `statfs_ignore=nc`: the free space the view reports (to Samba, to `df`) counts
 *   every branch that can take new files, not a no-create one;
 * - `cache.statfs=0`: every placement reads the current free space (no stale choice);
 * - `xattr=passthrough`: Samba keeps DOS attributes and macOS metadata in extended attributes, and
 *   the run-time configuration is itself an extended attribute;
 * - `allow_other`: Samba serves the view as each household user's uid; `fsname=safehold:<name>`:
 *   the mount table says the view is Safehold's.
 */
import { lstat, mkdir, readdir, readFile, realpath, stat, statfs, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { outputTail, ToolMissingError, type CommandRunner, type RunOptions } from '../process/command-runner.js';
import { parseMountinfo, type MountEntry } from '../mounts/mountinfo.parse.js';
import {
  checkViewName,
  chooseBranch,
  folderLevels,
  normalizeBranches,
  PoolViewError,
  viewNameOf,
  viewSource,
  type Branch,
  type BranchFacts,
  type BranchMode,
  type MountViewOptions,
  type MountViewResult,
  type Placement,
  type PoolView,
  type UnmountViewOptions,
  type UnmountViewResult,
  type ViewHolder,
  type ViewStatus,
} from './pool-view.js';

/** The options every view is mounted with (besides `minfreespace` and `fsname`); the module header and docs/pool-view.md say why. */
export const MERGERFS_OPTIONS = [
  'allow_other',
  'use_ino',
  'inodecalc=path-hash',
  'category.create=mspmfs',
  'category.action=epall',
  'category.search=newest',
  'ignorepponrename=true',
  'moveonenospc=true',
  'cache.files=off',
  'dropcacheonclose=true',
  'cache.statfs=0',
  'statfs=base',
  'statfs_ignore=nc',
  'xattr=passthrough',
] as const;

const FS_TYPE = 'fuse.mergerfs';
const MODE_CODES: Record<BranchMode, string> = { 'read-write': 'RW', 'no-create': 'NC', 'read-only': 'RO' };

export interface MergerfsPoolViewOptions {
  runner: CommandRunner;
  /** The mount table. Default `/proc/self/mountinfo`. */
  mountinfoPath?: string;
  /** Limit for mergerfs, umount, getfattr, setfattr, chattr, in milliseconds. Default 60 000. */
  toolTimeoutMs?: number;
}

/** The branch list in mergerfs' syntax: `path=RW,<reserve bytes>` joined by `:`. */
export function formatBranchList(branches: readonly Required<Branch>[]): string {
  return branches.map((b) => `${b.path}=${MODE_CODES[b.mode]},${b.reserveBytes}`).join(':');
}

/** mergerfs' branch list (`/a=RW,1000:/b=NC`) parsed; a branch without its own reserve gets `defaultReserveBytes`. */
export function parseBranchList(text: string, defaultReserveBytes: number): Required<Branch>[] {
  return text
    .trim()
    .split(':')
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.lastIndexOf('=');
      const path = eq < 0 ? entry : entry.slice(0, eq);
      const [code = 'RW', reserve] = eq < 0 ? [] : entry.slice(eq + 1).split(',');
      const mode = (Object.keys(MODE_CODES) as BranchMode[]).find((m) => MODE_CODES[m] === code.toUpperCase()) ?? 'read-write';
      return { path, mode, reserveBytes: reserve !== undefined && /^\d+$/.test(reserve) ? Number(reserve) : defaultReserveBytes };
    });
}

export class MergerfsPoolView implements PoolView {
  readonly #runner: CommandRunner;
  readonly #mountinfoPath: string;
  readonly #timeoutMs: number;

  constructor(options: MergerfsPoolViewOptions) {
    this.#runner = options.runner;
    this.#mountinfoPath = options.mountinfoPath ?? '/proc/self/mountinfo';
    this.#timeoutMs = options.toolTimeoutMs ?? 60_000;
  }

  async mount(mountpoint: string, branches: readonly Branch[], options: MountViewOptions): Promise<MountViewResult> {
    const { name, reserveBytes, signal } = options;
    checkViewName(name);
    const list = normalizeBranches(branches, reserveBytes);
    await refuseMountRoots(list);
    const folder = await prepareFolder(mountpoint);
    const now = await this.status(folder);
    if (now.state === 'mounted') {
      if (now.name !== name) throw new PoolViewError('already-mounted', `${folder} already shows the view "${now.name}", not "${name}".`, 'Unmount it first.');
      await this.#setOption(folder, 'user.mergerfs.minfreespace', String(reserveBytes), signal);
      await this.#setBranchList(folder, list, signal);
      return { mountpoint: folder, name, alreadyMounted: true };
    }
    if (now.state === 'foreign') {
      throw new PoolViewError('already-mounted', `${folder} is a mount point of ${now.source} (${now.fsType}): Safehold does not mount a view over it.`, 'Unmount what is mounted there, or choose another folder.');
    }
    if (now.state === 'disconnected') await this.unmount(folder, { lazy: true, signal });
    const inside = await readdir(folder);
    if (inside.length > 0) {
      const shown = inside.slice(0, 3).map((n) => JSON.stringify(n)).join(', ');
      throw new PoolViewError(
        'folder-not-empty',
        `${folder} is not empty (${shown}${inside.length > 3 ? ', …' : ''}): a view is mounted only on an empty folder, so no file is hidden under it.`,
        `Look at what is in ${folder} (it is on the system disk, not in the pool), move it away, then try again.`,
      );
    }
    await this.#seal(folder, signal);
    const args = ['-o', [...MERGERFS_OPTIONS, `minfreespace=${reserveBytes}`, `fsname=${viewSource(name)}`].join(','), formatBranchList(list), folder];
    const result = await this.#run('mergerfs', args, { signal });
    if (result.exitCode !== 0) {
      throw new PoolViewError('failed', `Could not mount the view "${name}" at ${folder}: ${outputTail(result.stdout, result.stderr)}`, 'Check that /dev/fuse exists and mergerfs is installed.');
    }
    const after = await this.status(folder);
    if (after.state !== 'mounted') throw new PoolViewError('failed', `mergerfs reported success, but ${folder} shows no view (${after.state}).`);
    return { mountpoint: folder, name, alreadyMounted: false };
  }

  async unmount(mountpoint: string, options: UnmountViewOptions = {}): Promise<UnmountViewResult> {
    const { signal } = options;
    const folder = await folderPath(mountpoint);
    const now = await this.status(folder);
    if (now.state === 'not-mounted') return { wasMounted: false, lazy: false };
    if (now.state === 'foreign') throw new PoolViewError('not-a-view', `${folder} is a mount of ${now.source} (${now.fsType}), not a view of Safehold's: left alone.`);
    const result = await this.#run('umount', [folder], { signal });
    if (result.exitCode === 0) return { wasMounted: true, lazy: false };
    const busy = /busy/i.test(result.stderr);
    if (busy && options.lazy) {
      const detached = await this.#run('umount', ['--lazy', folder], { signal });
      if (detached.exitCode !== 0) throw new PoolViewError('failed', `Could not detach the view at ${folder}: ${outputTail(detached.stdout, detached.stderr)}`);
      return { wasMounted: true, lazy: true };
    }
    if (busy) {
      const holders = await this.#holders(folder, signal);
      const who = holders.length ? holders.map((h) => `${h.command ?? '?'} (pid ${h.pid})`).join(', ') : 'a process that could not be identified';
      throw new PoolViewError(
        'busy',
        `The view at ${folder} is in use by ${who}; it was not unmounted.`,
        'Close what uses the share (a file open over the network, a terminal in that folder, a running backup), then try again.',
        holders,
      );
    }
    throw new PoolViewError('failed', `Could not unmount the view at ${folder}: ${outputTail(result.stdout, result.stderr)}`);
  }

  async status(mountpoint: string): Promise<ViewStatus> {
    const folder = await folderPath(mountpoint);
    const entry = (await this.#mountTable()).reverse().find((e) => e.mountpoint === folder);
    return entry ? this.#statusOf(entry) : { state: 'not-mounted' };
  }

  async list(): Promise<Array<{ mountpoint: string; status: ViewStatus }>> {
    const table = await this.#mountTable();
    const tops = new Map<string, MountEntry>();
    for (const entry of table) tops.set(entry.mountpoint, entry);
    const views = [...tops.values()].filter((e) => e.fsType === FS_TYPE && viewNameOf(e.source) !== null);
    return Promise.all(views.map(async (e) => ({ mountpoint: e.mountpoint, status: await this.#statusOf(e) })));
  }

  async branches(mountpoint: string): Promise<Required<Branch>[]> {
    const folder = await this.#mounted(mountpoint);
    const reserve = Number(await this.#getOption(folder, 'user.mergerfs.minfreespace'));
    return parseBranchList(await this.#getOption(folder, 'user.mergerfs.branches'), reserve);
  }

  async setBranches(mountpoint: string, branches: readonly Branch[]): Promise<void> {
    const folder = await this.#mounted(mountpoint);
    const reserve = Number(await this.#getOption(folder, 'user.mergerfs.minfreespace'));
    const list = normalizeBranches(branches, reserve);
    await refuseMountRoots(list);
    await this.#setBranchList(folder, list);
  }

  async placementOf(mountpoint: string, relativePath: string): Promise<Placement> {
    const levels = folderLevels(relativePath);
    const branches = await this.branches(mountpoint);
    const facts: BranchFacts[] = [];
    const has: boolean[][] = [];
    for (const branch of branches) {
      facts.push({ branch, availableBytes: await availableBytes(branch.path), readOnlyFilesystem: await onReadOnlyFilesystem(branch.path) });
      has.push(await Promise.all(levels.map((folder) => exists(join(branch.path, folder)))));
    }
    return chooseBranch(relativePath, facts, (index, folder) => has[index]![levels.indexOf(folder)]!);
  }

  async #statusOf(entry: MountEntry): Promise<ViewStatus> {
    const name = entry.fsType === FS_TYPE ? viewNameOf(entry.source) : null;
    if (name === null) return { state: 'foreign', source: entry.source, fsType: entry.fsType };
    try {
      await stat(entry.mountpoint);
      return { state: 'mounted', name };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { state: 'disconnected', name, reason: `The view's process is gone (${code === 'ENOTCONN' ? 'transport endpoint is not connected' : (code ?? String(error))}).` };
    }
  }

  async #mounted(mountpoint: string): Promise<string> {
    const folder = await folderPath(mountpoint);
    const now = await this.status(folder);
    if (now.state !== 'mounted') throw new PoolViewError('not-mounted', `No view is serving at ${folder} (${now.state}).`, 'Mount the view first.');
    return folder;
  }

  async #setBranchList(folder: string, list: Required<Branch>[], signal?: AbortSignal): Promise<void> {
    const wanted = formatBranchList(list);
    await this.#setOption(folder, 'user.mergerfs.branches', wanted, signal);
    const reserve = Number(await this.#getOption(folder, 'user.mergerfs.minfreespace'));
    const now = formatBranchList(parseBranchList(await this.#getOption(folder, 'user.mergerfs.branches'), reserve));
    if (now !== wanted) throw new PoolViewError('failed', `mergerfs took the branch list, but now reports ${now} instead of ${wanted}.`);
  }

  /** Sets a run-time option through `<view>/.mergerfs`; the value goes hex-encoded, so setfattr reads no quoting or escapes in it. */
  async #setOption(folder: string, key: string, value: string, signal?: AbortSignal): Promise<void> {
    const hex = `0x${Buffer.from(value, 'utf8').toString('hex')}`;
    const result = await this.#run('setfattr', ['-n', key, '-v', hex, join(folder, '.mergerfs')], { signal });
    if (result.exitCode !== 0) throw new PoolViewError('failed', `Could not set ${key} of the view at ${folder}: ${outputTail(result.stdout, result.stderr)}`);
  }

  async #getOption(folder: string, key: string): Promise<string> {
    const result = await this.#run('getfattr', ['--only-values', '--absolute-names', '-n', key, join(folder, '.mergerfs')]);
    if (result.exitCode !== 0) throw new PoolViewError('failed', `Could not read ${key} of the view at ${folder}: ${outputTail(result.stdout, result.stderr)}`);
    return result.stdout;
  }

  /** Makes the empty, unmounted folder immutable (idempotent): nothing can be created in it while no view is mounted, yet a view can be mounted over it. */
  async #seal(folder: string, signal?: AbortSignal): Promise<void> {
    if (await this.#immutable(folder)) return;
    const result = await this.#run('chattr', ['+i', folder], { signal });
    if (result.exitCode === 0 && (await this.#immutable(folder))) return;
    throw new PoolViewError(
      'failed',
      `Could not seal the empty folder ${folder} (${outputTail(result.stdout, result.stderr) || 'chattr +i had no effect'}): without that, files written to the share while the view is down would land on the system disk.`,
      "Keep Safehold's data folder on a filesystem that supports chattr +i (ext4, xfs, btrfs).",
    );
  }

  async #immutable(folder: string): Promise<boolean> {
    const result = await this.#run('lsattr', ['-d', folder]);
    return result.exitCode === 0 && /^\S*i\S*\s/.test(result.stdout);
  }

  async #holders(folder: string, signal?: AbortSignal): Promise<ViewHolder[]> {
    let stdout: string;
    try {
      stdout = (await this.#runner.run('fuser', ['-m', folder], { signal, timeoutMs: this.#timeoutMs })).stdout;
    } catch (error) {
      if (error instanceof ToolMissingError) return [];
      throw error;
    }
    const pids = [...new Set(stdout.split(/\s+/).map((t) => /^(\d+)/.exec(t)?.[1]).filter((p): p is string => p !== undefined))];
    return Promise.all(pids.map(async (pid) => ({ pid: Number(pid), command: (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => null))?.trim() ?? null })));
  }

  /** Runs a tool; a missing one becomes a `failed` error naming its Debian package. */
  async #run(command: string, args: string[], options: RunOptions = {}) {
    try {
      return await this.#runner.run(command, args, { timeoutMs: this.#timeoutMs, ...options });
    } catch (error) {
      if (error instanceof ToolMissingError) {
        const pkg = { mergerfs: 'mergerfs', setfattr: 'attr', getfattr: 'attr', chattr: 'e2fsprogs', lsattr: 'e2fsprogs', umount: 'mount' }[command] ?? command;
        throw new PoolViewError('failed', `${command} is not installed: the shares' pooled view needs it.`, `Install the Debian package ${pkg}.`, [], { cause: error });
      }
      throw error;
    }
  }

  async #mountTable(): Promise<MountEntry[]> {
    return parseMountinfo(await readFile(this.#mountinfoPath, 'utf8'));
  }
}

/**
 * The folder's absolute path with its parent's symlinks resolved, without touching the folder
 * itself (a view whose process died answers every look at its root with ENOTCONN).
 */
async function folderPath(mountpoint: string): Promise<string> {
  if (!isAbsolute(mountpoint)) throw new PoolViewError('invalid-path', `"${mountpoint}" is not an absolute path.`);
  const full = resolve(mountpoint);
  if (full === '/') throw new PoolViewError('invalid-path', 'A view is never mounted at /.');
  const parent = await realpath(dirname(full)).catch(() => dirname(full));
  return join(parent, basename(full));
}

/**
 * Creates the mount folder and missing parents (0755: Samba reaches the share's folder as each
 * household user, who must be able to pass through its parents; the folder itself is sealed while
 * no view is mounted, and shows the branches' own permissions while one is) and returns its path;
 * refuses a symlink or a non-folder.
 */
async function prepareFolder(mountpoint: string): Promise<string> {
  const folder = await folderPath(mountpoint);
  await mkdir(folder, { recursive: true, mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOTCONN' && error.code !== 'EEXIST') throw error;
  });
  let info;
  try {
    info = await lstat(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTCONN') return folder; // a disconnected view: mount() detaches it
    throw error;
  }
  if (info.isSymbolicLink()) throw new PoolViewError('invalid-path', `${folder} is a symbolic link: a view is mounted only on a folder of Safehold's own.`);
  if (!info.isDirectory()) throw new PoolViewError('invalid-path', `${folder} is not a folder.`);
  return folder;
}

/**
 * Refuses a branch that is itself the top of a mounted filesystem: when that filesystem goes away
 * the bare mount folder would stay behind, on the disk beneath, and take new files. A branch that
 * does not exist (its member is away) is accepted: the view skips it.
 */
async function refuseMountRoots(branches: readonly Required<Branch>[]): Promise<void> {
  for (const { path } of branches) {
    const here = await stat(path, { bigint: true }).catch(() => null);
    if (!here) continue;
    if (!here.isDirectory()) throw new PoolViewError('invalid-branch', `${path} is not a folder.`);
    const parent = await stat(dirname(path), { bigint: true });
    if (path === '/' || parent.dev !== here.dev) {
      throw new PoolViewError(
        'invalid-branch',
        `${path} is the top of a mounted filesystem: a branch must be a folder inside the member (Safehold/shares/<share>), so that it goes away with the disk.`,
      );
    }
  }
}

async function availableBytes(path: string): Promise<number | null> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

async function onReadOnlyFilesystem(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS';
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
