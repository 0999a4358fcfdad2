/**
 * The pooled view of a share: one folder presented over that share's folder on every pool member
 * (`<member mount>/Safehold/shares/<share>`), so that Samba can export one folder while the files
 * stay plain files on plain disks. docs/pool-view.md explains every choice.
 *
 * Two implementations keep this contract (and pass the same contract test,
 * test/medium/pool-view.test.ts):
 * - `MergerfsPoolView` (mergerfs.adapter.ts): mergerfs 2.33 (FUSE) on a real box;
 * - `SimulatedPoolView` (mergerfs.sim.ts): records views and branches and places new files by the
 *   same rule, for the demo and domain tests.
 *
 * What the view decides, and only that: where a NEW file written through it lands (`placementOf`:
 * the most shared path, then the most free space, never into a branch's reserve, never onto a
 * `no-create` or read-only branch), and that a delete or rename through it applies to every copy.
 * The duplicator writes the extra copies itself, natively to the members, never through the view.
 *
 * Adapters hold no policy: which members are branches, in which order, with which reserve and
 * mode, is decided in server/. The adapter refuses only what can never be right (a branch path the
 * mergerfs branch syntax cannot express, a branch that is itself a mount point, mounting over files).
 */
import { isAbsolute, normalize, posix } from 'node:path';

/**
 * How a branch takes part (mergerfs' branch types):
 * - `read-write`: new files may land on it (`RW`);
 * - `no-create`: its files are read, changed, renamed and deleted, but no new file lands on it: a
 *   disk whose health verdict is warning or failing, a disk being removed (`NC`);
 * - `read-only`: read only; changes and deletes through the view skip it (`RO`).
 */
export type BranchMode = 'read-write' | 'no-create' | 'read-only';

export interface Branch {
  /**
   * Absolute path of the share's folder on one member: `<member mount>/Safehold/shares/<share>`.
   * Never the member's mount point itself: when the member goes away, the folder must go away with
   * it (an unmounted mount point is an empty folder on the system disk, and new files would land
   * there). It may be missing (the member is away): the view then skips it.
   */
  path: string;
  /** Default `read-write`. */
  mode?: BranchMode;
  /** Bytes of free space on this branch that new files never fill. Default: the view's `reserveBytes`. */
  reserveBytes?: number;
}

export interface MountViewOptions {
  /**
   * The view's name (the share's): 1 to 64 characters from A-Z a-z 0-9 . _ -. The mount table shows
   * `safehold:<name>` as the view's source, so a view is recognisably Safehold's (`status`, `list`).
   */
  name: string;
  /** Bytes of free space on every branch that new files never fill (a branch's own `reserveBytes` wins). mergerfs' `minfreespace`. */
  reserveBytes: number;
  signal?: AbortSignal;
}

export interface MountViewResult {
  mountpoint: string;
  name: string;
  /** True when that view was already mounted there (its branches and reserve were then set to the ones given). */
  alreadyMounted: boolean;
}

export interface UnmountViewOptions {
  /**
   * When the view is busy (a file open through it, a shell inside it), detach it lazily
   * (`umount --lazy`): the folder is free at once and the view ends when the last user lets go.
   * For shutdown. Default false: a busy view is reported as `busy` and stays mounted.
   */
  lazy?: boolean;
  signal?: AbortSignal;
}

export interface UnmountViewResult {
  /** False when no view was mounted there (unmount is idempotent). */
  wasMounted: boolean;
  lazy: boolean;
}

/**
 * What is at a folder:
 * - `mounted`: a view of Safehold's, serving;
 * - `not-mounted`: no view (a plain folder, or nothing);
 * - `disconnected`: still in the mount table but its process is gone ("Transport endpoint is not
 *   connected"): nothing can be read or written there; `mount` again (it detaches it first);
 * - `foreign`: something else is mounted there (not a view of Safehold's): left alone.
 */
export type ViewStatus =
  | { state: 'mounted'; name: string }
  | { state: 'not-mounted' }
  | { state: 'disconnected'; name: string; reason: string }
  | { state: 'foreign'; source: string; fsType: string };

/**
 * Where a new file at a path would land:
 * - `branch`: the chosen branch's path, or null when no branch can take a new file (`reason` says why);
 * - `folder`: the deepest folder of the file's path that already exists on that branch (`''` for the
 *   share's top); `keptTogether` is true when that is the file's own folder.
 */
export type Placement =
  | { branch: string; folder: string; keptTogether: boolean }
  | { branch: null; reason: string };

export interface PoolView {
  /**
   * Mounts a view at `mountpoint` (a folder of Safehold's, created with parents, mode 0755, so that
   * Samba can reach it as any household user; it must be empty)
   * over `branches`, in that order. The empty folder is sealed (immutable) first and stays sealed
   * under the view, so while no view is mounted nothing can be written there (Samba serving the
   * bare folder would otherwise put the family's files on the system disk). Idempotent: a view of
   * the same name already mounted there gets the branches and reserve given, without unmounting;
   * a `disconnected` one is detached and mounted afresh. Refuses (`PoolViewError`): an invalid name
   * or path (`invalid-path`), a branch it cannot use (`invalid-branch`), a folder that is not empty
   * (`folder-not-empty`), a mount point of something else (`already-mounted`).
   */
  mount(mountpoint: string, branches: readonly Branch[], options: MountViewOptions): Promise<MountViewResult>;
  /**
   * Unmounts the view; the folder stays, empty and sealed. Idempotent (`wasMounted: false`). A busy
   * view throws `PoolViewError` kind `busy` naming the processes that hold it (where they can be
   * found) and stays mounted, unless `lazy`. Refuses (`not-a-view`) to unmount something that is
   * not a view of Safehold's.
   */
  unmount(mountpoint: string, options?: UnmountViewOptions): Promise<UnmountViewResult>;
  /**
   * What is at `mountpoint` (see `ViewStatus`). Reads the mount table and stats the view's root
   * once (a dead mergerfs answers at once; a hung one, which has not been seen, would block it);
   * touches no branch.
   */
  status(mountpoint: string): Promise<ViewStatus>;
  /** Every view of Safehold's in the mount table (also disconnected ones), for start-up. */
  list(): Promise<Array<{ mountpoint: string; status: ViewStatus }>>;
  /** The mounted view's branches, in order, each with its mode and reserve (the view's default filled in). Throws `not-mounted`. */
  branches(mountpoint: string): Promise<Required<Branch>[]>;
  /**
   * Replaces the mounted view's branches at run time, without unmounting: files open through the
   * view stay open, the next operation sees the new list. The same checks as `mount`. Throws
   * `not-mounted` when no view is mounted there.
   */
  setBranches(mountpoint: string, branches: readonly Branch[]): Promise<void>;
  /**
   * Which branch a new file at `relativePath` (inside the view, `/`-separated, no `..`) would land
   * on if written now, by the view's own rule (`chooseBranch`). Reads free space and folders of the
   * branches; answers the same as the next write when nothing changes in between.
   */
  placementOf(mountpoint: string, relativePath: string): Promise<Placement>;
}

export type PoolViewErrorKind =
  | 'invalid-path'
  | 'invalid-branch'
  | 'folder-not-empty'
  | 'already-mounted'
  | 'not-mounted'
  | 'not-a-view'
  | 'busy'
  | 'failed';

/** A process holding the view open (found with fuser where installed). */
export interface ViewHolder {
  pid: number;
  command: string | null;
}

/** Every refusal and failure of a `PoolView` call: `kind` for code, `message` and `advice` for a person. */
export class PoolViewError extends Error {
  constructor(
    readonly kind: PoolViewErrorKind,
    message: string,
    readonly advice: string | null = null,
    readonly holders: ViewHolder[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PoolViewError';
  }
}

/** View names `mount` accepts. */
export const VIEW_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The mount table's source of a view named `name`. */
export function viewSource(name: string): string {
  return `safehold:${name}`;
}

/** The view's name from a mount table source, or null when the source is not a view of Safehold's. */
export function viewNameOf(source: string): string | null {
  const name = /^safehold:(.+)$/.exec(source)?.[1];
  return name !== undefined && VIEW_NAME_PATTERN.test(name) ? name : null;
}

export function checkViewName(name: string): void {
  if (!VIEW_NAME_PATTERN.test(name)) {
    throw new PoolViewError('invalid-path', `"${name}" cannot be a view's name: use 1 to 64 characters from A-Z, a-z, 0-9, ".", "_", "-".`);
  }
}

/**
 * Checks and fills in the branches (mode, reserve). Refuses (`invalid-branch`) an empty list, a
 * relative path, the same path twice, a negative or fractional reserve, and characters mergerfs'
 * branch list cannot carry: `:` separates branches, `=` starts a branch's options, and `*`, `?`,
 * `[`, `]`, `{`, `}`, `\` are glob syntax mergerfs would expand.
 */
export function normalizeBranches(branches: readonly Branch[], defaultReserveBytes: number): Required<Branch>[] {
  checkReserve(defaultReserveBytes, 'The view');
  if (branches.length === 0) throw new PoolViewError('invalid-branch', 'A view needs at least one branch.');
  const seen = new Set<string>();
  return branches.map((branch) => {
    const { path } = branch;
    if (!isAbsolute(path)) throw new PoolViewError('invalid-branch', `"${path}" is not an absolute path.`);
    const bad = /[:=*?[\]{}\\\n]/.exec(path);
    if (bad) {
      throw new PoolViewError('invalid-branch', `${path} holds "${bad[0]}", which a mergerfs branch list cannot carry (":" separates branches, "=" starts options, the others are glob patterns).`, 'Name shares and mount folders without these characters.');
    }
    const clean = normalize(path).replace(/(.)\/+$/, '$1');
    if (seen.has(clean)) throw new PoolViewError('invalid-branch', `${clean} is listed twice.`);
    seen.add(clean);
    const reserveBytes = branch.reserveBytes ?? defaultReserveBytes;
    checkReserve(reserveBytes, clean);
    return { path: clean, mode: branch.mode ?? 'read-write', reserveBytes };
  });
}

function checkReserve(bytes: number, who: string): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new PoolViewError('invalid-branch', `${who}'s reserve must be a whole number of bytes, 0 or more (got ${bytes}).`);
  }
}

/**
 * The folders of a new file's path from its own folder up to the view's top (`''`), or an
 * `invalid-path` error for a path that is absolute, empty, or climbs out with `..`.
 */
export function folderLevels(relativePath: string): string[] {
  const clean = posix.normalize(relativePath);
  if (relativePath === '' || posix.isAbsolute(relativePath) || clean === '.' || clean === '..' || clean.startsWith('../')) {
    throw new PoolViewError('invalid-path', `"${relativePath}" is not a path inside the view.`);
  }
  const levels: string[] = [];
  for (let folder = posix.dirname(clean); ; folder = posix.dirname(folder)) {
    levels.push(folder === '.' ? '' : folder);
    if (folder === '.' || folder === '/') break;
  }
  return levels;
}

/** What `chooseBranch` needs to know of one branch. */
export interface BranchFacts {
  branch: Required<Branch>;
  /** Free space new files may use (the filesystem's available bytes, `f_bavail`), or null when the branch cannot be read (missing, failing). */
  availableBytes: number | null;
  /** Its filesystem is mounted read-only. */
  readOnlyFilesystem: boolean;
}

/**
 * The view's rule for a new file, as mergerfs 2.33's `mspmfs` ("most shared path, most free
 * space") applies it: starting at the file's own folder and walking up to the view's top, take the
 * first level at which some eligible branch already has that folder; among those, the one with the
 * most available space (on a tie the later one in the list, as mergerfs does). Eligible: mode
 * `read-write`, readable, not a read-only filesystem, and available space not below its reserve.
 * `hasFolder(index, folder)` says whether branch `index` has `folder` (`''` is the branch itself).
 * A pure function: both implementations answer `placementOf` with it.
 */
export function chooseBranch(relativePath: string, facts: readonly BranchFacts[], hasFolder: (index: number, folder: string) => boolean): Placement {
  const levels = folderLevels(relativePath);
  const eligible = facts
    .map((fact, index) => ({ fact, index }))
    .filter(({ fact }) => fact.branch.mode === 'read-write' && fact.availableBytes !== null && !fact.readOnlyFilesystem && fact.availableBytes >= fact.branch.reserveBytes);
  for (const folder of levels) {
    let best: { fact: BranchFacts; index: number } | null = null;
    for (const candidate of eligible) {
      if (!hasFolder(candidate.index, folder)) continue;
      if (best && candidate.fact.availableBytes! < best.fact.availableBytes!) continue;
      best = candidate;
    }
    if (best) return { branch: best.fact.branch.path, folder, keptTogether: folder === levels[0] };
  }
  return { branch: null, reason: noPlaceReason(facts) };
}

function noPlaceReason(facts: readonly BranchFacts[]): string {
  const why = facts.map(({ branch, availableBytes, readOnlyFilesystem }) => {
    if (branch.mode !== 'read-write') return `${branch.path} takes no new files (${branch.mode})`;
    if (availableBytes === null) return `${branch.path} cannot be read (its disk is missing?)`;
    if (readOnlyFilesystem) return `${branch.path} is on a read-only filesystem`;
    if (availableBytes < branch.reserveBytes) return `${branch.path} has ${availableBytes} bytes free, below its reserve of ${branch.reserveBytes}`;
    return `${branch.path} lacks the share's folder`;
  });
  return `No disk can take a new file: ${why.join('; ')}.`;
}
