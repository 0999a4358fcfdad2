/**
 * What Safehold asks restic: the adapter line of every backup.
 *
 * `ResticAdapter` (restic.adapter.ts) keeps this contract over the real restic binary (0.14, the
 * Debian 12 package) through the command runner. The adapter holds no policy: it runs one restic
 * command per call, parses restic's JSON into the types below and turns restic's failures into a
 * `ResticError` with a `kind` a caller can act on. See docs/restic-adapter.md.
 *
 * Paths *inside a snapshot* are restic's: absolute and `/`-separated. Backups are always given
 * absolute paths, so a snapshot of `/srv/photos` holds `/srv/photos/2024/a.jpg` (restic 0.14 keeps the
 * whole path; a relative path would have been stored from its last component). restic's JSON cannot
 * carry bytes that are not UTF-8: each such byte arrives as U+FFFD (`nameIsExact: false`). Such a
 * path can still be listed, restored and dumped (the adapter matches U+FFFD with a one-character
 * wildcard); the restored file has its original bytes.
 */

/** One restic repository. The password reaches restic only as `--password-file`. */
export interface ResticRepository {
  /** The repository location, e.g. `/mnt/safehold/drive-a/safehold/restic` (or any restic URL). */
  path: string;
  /** A file holding the password (restic trims surrounding white space). Mode 0600, owned by the service. */
  passwordFile: string;
}

/** What a caller can do about a failure; every `ResticError` has exactly one. */
export type ResticErrorKind =
  /** restic: "wrong password or no key found". Advice: the password file does not belong to this repository. */
  | 'wrong-password'
  /** No repository at that path (no `config` file): not initialised, wrong drive, or not mounted. */
  | 'repository-missing'
  /** `init` on a path that already holds a repository. */
  | 'repository-exists'
  /** Another restic holds a conflicting lock; `ResticError.lock` says who and since when. */
  | 'locked'
  /** ENOSPC on the repository (or restore target). */
  | 'no-space'
  /** Input/output error, device gone, read-only file system: the drive failed or was unplugged. */
  | 'io-error'
  /** Stopped by the caller's AbortSignal, by a timeout, or by a signal from elsewhere. */
  | 'interrupted'
  /** The snapshot or the path inside it does not exist. */
  | 'not-found'
  /** Refused before restic ran: a path with `..`, a NUL, a tag with a comma, … */
  | 'invalid-input'
  /** Anything else; the message carries restic's own words. */
  | 'failed';

/** restic's description of the lock that stopped a command. */
export interface ResticLockInfo {
  pid: number;
  host: string;
  user: string;
  uid: number;
  gid: number;
  /** As restic prints it, local time of the lock's creator: `2026-11-22 06:55:08`. */
  createdAt: string;
  /** As restic prints it: `3.547102877s`, `1h2m3s`. */
  age: string;
  exclusive: boolean;
  /** restic marks a lock stale when its process is gone (same host) or it is older than 30 minutes. */
  stale: boolean;
  storageId: string;
}

export interface ResticVersion {
  /** `0.14.0` */
  version: string;
  /** The whole line restic printed. */
  text: string;
}

export interface InitResult {
  /** The repository id restic printed (short form, 10 hex digits). */
  id: string | null;
}

export interface BackupProgress {
  /** 0–100. */
  percent: number;
  filesDone: number;
  /** Known once restic's scanner has walked the tree; grows until then. */
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
  /** The file(s) being read now, as snapshot paths. */
  currentFiles: string[];
  /** restic's estimate; null until it has one. */
  etaSeconds: number | null;
  elapsedSeconds: number;
  /** Files that could not be read so far. */
  errorCount: number;
}

/** A source file restic could not read: the snapshot was still written, without it. */
export interface BackupWarning {
  /** The file's path on the box, as restic printed it. */
  item: string;
  /** restic's phase (`scan`, `archival`). */
  during: string;
  /** In words: `open: permission denied (EACCES)`. */
  message: string;
}

export interface BackupSummary {
  /** restic 0.14 prints the short id (8 hex digits); `snapshots()` has the full one. */
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  dataBlobs: number;
  treeBlobs: number;
  /** Bytes added to the repository (after deduplication, before compression on format 2). */
  dataAdded: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
  durationSeconds: number;
  /** False when some files could not be read (restic exit status 3): the snapshot exists, without them. */
  complete: boolean;
  warnings: BackupWarning[];
}

export interface BackupOptions {
  /** Absolute paths on the box; inside the snapshot each keeps its whole path. */
  paths: string[];
  /** restic `--exclude` patterns. */
  excludes?: string[];
  /**
   * restic `--exclude-if-present` specs, `FILE` or `FILE:HEADER`: a folder holding a file named
   * FILE (whose first bytes are HEADER) is left out, but for that file itself.
   */
  excludeIfPresent?: string[];
  /** restic `--one-file-system`: do not cross into other mounted filesystems. Default false. */
  oneFileSystem?: boolean;
  /** Tags of the snapshot (no commas: restic splits on them). */
  tags: string[];
  /** `--host`; default: restic's (the box's host name). */
  host?: string;
  /** The snapshot's time (`--time`), for imports and tests; default: now. Second precision. */
  time?: Date;
  signal?: AbortSignal;
  /** Called for each of restic's status messages (several per second while reading). */
  onProgress?: (progress: BackupProgress) => void;
}

export interface Snapshot {
  /** 64 hex digits. */
  id: string;
  shortId: string;
  /** ISO 8601 with restic's nanoseconds and zone. */
  time: string;
  hostname: string;
  username: string;
  paths: string[];
  tags: string[];
  /** The snapshot this one was based on (unchanged files were not read again), if any. */
  parent: string | null;
  tree: string;
}

export interface ForgetPolicy {
  keepLast?: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
}

export interface ForgetOptions {
  /** Run `restic prune` afterwards when a snapshot was removed (same as restic's own `forget --prune`). */
  prune: boolean;
  /** Only snapshots having all these tags are considered. */
  tags?: string[];
  /** restic `--group-by` (`host,paths` by default; `tags`, `host,tags`, … or `''` for one group). */
  groupBy?: string;
  /** Say what would be removed; remove nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface KeptSnapshot {
  snapshot: Snapshot;
  /** restic's reasons: `daily snapshot`, `last snapshot`, `monthly snapshot`, … */
  reasons: string[];
}

export interface ForgetResult {
  kept: KeptSnapshot[];
  removed: Snapshot[];
  /** Whether `restic prune` ran (prune asked and something removed, not a dry run). */
  pruned: boolean;
}

export interface CheckOptions {
  /** `--read-data-subset`: `n/t` (one group of t, rotate n each time), `x%`, or a size. */
  readDataSubset?: string;
  signal?: AbortSignal;
}

export interface CheckResult {
  /** restic found no errors (exit status 0 and "no errors were found"). */
  ok: boolean;
  /** restic's own lines about what is wrong; empty when ok. */
  problems: string[];
  /** restic's non-critical remarks when ok (e.g. "pack …: not referenced in any index" after an interrupted backup). */
  notes: string[];
}

export type SnapshotEntryType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';

export interface SnapshotEntry {
  name: string;
  type: SnapshotEntryType;
  /** The path inside the snapshot, usable for `ls`, `restore` includes and `dump`. */
  path: string;
  /** Bytes, for files; null otherwise. */
  size: number | null;
  /** ISO 8601, as restic stored it. */
  mtime: string;
  /** False when the name had bytes that are not UTF-8 (shown as U+FFFD). */
  nameIsExact: boolean;
}

export interface RestoreOptions {
  /** The folder to restore into; created if missing. Each snapshot path lands at `target + path`. */
  target: string;
  /** Snapshot paths (files or folders) to restore; default: everything. Matched literally. */
  include?: string[];
  /** Restore into a target that already has files (restic overwrites same-named ones). Default false: refused. */
  allowNonEmptyTarget?: boolean;
  signal?: AbortSignal;
}

export interface DumpOptions {
  /** Where the file is written; must not exist (it is created atomically by rename). */
  target: string;
  signal?: AbortSignal;
}

export interface RepositoryStats {
  /** Bytes: sum of restored sizes (`restore-size`) or of stored blobs (`raw-data`). */
  totalSize: number;
  totalFileCount: number;
  snapshotsCount: number;
  /** `raw-data` mode only. */
  totalBlobCount: number | null;
}

/** The restic operations Safehold uses. Every method rejects with `ResticError` (or `ToolMissingError` when restic is not installed). */
export interface Restic {
  /** Creates a repository; `repository-exists` when there is one. */
  init(repo: ResticRepository, options?: { signal?: AbortSignal }): Promise<InitResult>;
  version(): Promise<ResticVersion>;
  /**
   * One snapshot of `paths`. Resolves when the snapshot is written, also when some files could not
   * be read (`complete: false`, `warnings`). Rejects with a `ResticError`; `interrupted` when the
   * signal fired (restic got SIGINT and removed its lock, unless it had to be killed).
   */
  backup(repo: ResticRepository, options: BackupOptions): Promise<BackupSummary>;
  /** Every snapshot, oldest first; with `tags`, those having all of them. */
  snapshots(repo: ResticRepository, options?: { tags?: string[]; signal?: AbortSignal }): Promise<Snapshot[]>;
  forget(repo: ResticRepository, policy: ForgetPolicy, options: ForgetOptions): Promise<ForgetResult>;
  /** Removes data no snapshot uses. Takes an exclusive lock. */
  prune(repo: ResticRepository, options?: { signal?: AbortSignal }): Promise<void>;
  /** A check that finds problems resolves with `ok: false`; only failing to run it rejects. */
  check(repo: ResticRepository, options?: CheckOptions): Promise<CheckResult>;
  /** The direct children of one folder of a snapshot (`/` for the top). `not-found` when it is not a folder there. */
  ls(repo: ResticRepository, snapshotId: string, folder: string, options?: { signal?: AbortSignal }): Promise<SnapshotEntry[]>;
  restore(repo: ResticRepository, snapshotId: string, options: RestoreOptions): Promise<void>;
  /** One file of a snapshot written to `options.target`, byte for byte. Returns its size. */
  dump(repo: ResticRepository, snapshotId: string, filePath: string, options: DumpOptions): Promise<{ size: number }>;
  /**
   * Removes stale locks only (their process is gone, or older than 30 minutes); a live restic keeps
   * its lock. With `removeAll`, every lock (`--remove-all`): only for a lock the caller knows is dead
   * (its process on this host no longer runs restic) that restic cannot tell is stale.
   */
  unlock(repo: ResticRepository, options?: { signal?: AbortSignal; removeAll?: boolean }): Promise<void>;
  stats(repo: ResticRepository, options?: { mode?: 'restore-size' | 'raw-data'; signal?: AbortSignal }): Promise<RepositoryStats>;
}

/**
 * A restic failure a caller can act on. The message is for a person (what happened, then restic's
 * own words); `command` is the command line; neither ever contains the repository password.
 */
export class ResticError extends Error {
  constructor(
    message: string,
    readonly kind: ResticErrorKind,
    readonly details: {
      /** The command line, as shown (the password is never on it; any echo of it is redacted). */
      command?: string;
      /** restic's exit status; null when restic did not run or was stopped. */
      exitCode?: number | null;
      /** restic's own words (stack traces and retry chatter left out), at most ~1000 characters. */
      output?: string;
      /** For `locked`. */
      lock?: ResticLockInfo | null;
    } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ResticError';
  }

  get command(): string {
    return this.details.command ?? '';
  }

  get lock(): ResticLockInfo | null {
    return this.details.lock ?? null;
  }
}
