/**
 * Restore from a rotation drive: browse a snapshot's folders, restore files or folders into a new
 * folder beside the original (or over it, when the owner asks), download one file. docs/restore.md
 * describes the rules; docs/api.md ("Restore") the routes.
 *
 * Contract:
 * - The drive is the truth: a snapshot is looked up in restic's own list on the plugged-in drive
 *   (by its full id, its 8-digit short id, or a unique prefix), never only in the catalog.
 * - Every path comes from the API as restic prints it (absolute, `/`-separated) and must be the
 *   snapshot's own folder (one of its `paths`, the source folder) or inside it; anything else is an
 *   `InvalidInputError` naming the field, before restic runs on it. `snapshotPathProblem()` is the
 *   shape check, `rootOf()` the "inside the snapshot folder" check.
 * - Browsing and downloading lease the drive through `DriveAccess` and give it back with
 *   `BROWSE_LINGER_MS`, so clicking folder after folder does not mount and unmount each time.
 * - A restore is the job `backup.restore` (resource `restore:<drive id>`: one restore per drive at a
 *   time; it never takes the disk's lock, restic lets a restore read while a backup writes). restic
 *   restores into a hidden private staging folder (root's, 0700) on the same filesystem as the
 *   destination (`.safehold-restore-<job>-<random>`), every restored file is fsynced, then:
 *   - `beside` (default): the restored copy of the source folder is renamed in one step to a NEW
 *     folder `<source>-restored-<snapshot date>` (`-2`, `-3`… when taken) beside the source, so a
 *     crash never leaves a half-restored folder under the final name and nothing existing is touched;
 *   - `original` (only with `overwrite: true`): each restored file is renamed over the file where it
 *     was (an atomic replace per file); folders are merged; files not in the snapshot are left alone.
 *   Files are put in place through the `FilePlacer` (system/files/): a rename and an fsync of the
 *   folder, or across filesystems a verified copy; system/files/merge.ts merges the folders.
 *   The staging folder is removed at the end, also on failure, and a crash's leftovers are removed
 *   by the next restore into the same folder. The drive is given back at once (`close()`).
 * - Links are never followed into the box's folders (whoever owns a folder may swap a name in it for
 *   a link at any moment): every folder from `/` to the destination is opened without following a
 *   link and held by descriptor (`system/folders.ts`), restic writes through the staging folder's
 *   descriptor, and files are put in place relative to the folders as opened; a link on the way is
 *   a `ConflictError`. Files go only into folders owned by root or by their owner in the snapshot
 *   (`ownerProblem`). docs/restore.md ("Folders a user controls") has the rule and what is left.
 * - A download restores the one file into `<data>/tmp/downloads/` (0700) and hands back its path;
 *   the caller streams it and calls `remove()` when the response ends or aborts.
 * - Failures are in words: drive not plugged in, restic missing (409), snapshot or path not found
 *   (404), a drive busy with an exclusive restic lock (409, "try again in a few minutes").
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rm, statfs } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import type { FilePlacer } from '../../system/files/file-placer.js';
import { mergeTree, moveInto } from '../../system/files/merge.js';
import { FolderPathError, openFolder, type Folder, type TrailStep } from '../../system/folders.js';
import { MarkerError } from '../../system/marker/drive-marker.js';
import { ToolMissingError } from '../../system/process/command-runner.js';
import { ResticError, type Restic, type ResticRepository, type Snapshot, type SnapshotEntry } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import { formatSize } from '../drives/drive.model.js';
import { AppError, BusyError, ConflictError, InvalidInputError, NotFoundError, UnavailableError } from '../errors.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { JobInterruptedError, type JobContext, type JobDefinition, type JobView } from '../jobs/job.model.js';
import type { BackupRepository } from './backup.repository.js';
import type { BrowseEntry, SnapshotView } from './backup.view.js';
import { BROWSE_LINGER_MS, type DriveAccess, type DriveLease } from './drive-access.js';
import type { RotationRepository } from './rotation.repository.js';
import type { SourceRepository } from './source.repository.js';

export const RESTORE_JOB = 'backup.restore';
/** Paths one restore may name. */
export const MAX_RESTORE_PATHS = 100;
/** Longest path accepted from the API, in characters (Linux's PATH_MAX is 4096 bytes). */
export const MAX_PATH_LENGTH = 8192;
/** How long restic's list of a drive's snapshots is reused while browsing (a new id refreshes it). */
const SNAPSHOT_CACHE_MS = BROWSE_LINGER_MS;
/** How often the restored bytes are measured while restic runs (restic 0.14's restore reports nothing). */
const PROGRESS_EVERY_MS = 2000;
const STAGING_PREFIX = '.safehold-restore-';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ---------------------------------------------------------------------------------------------
// Input: schemas and pure checks

/**
 * Why `value` is not a path inside a snapshot as restic prints them, or null when it is one:
 * absolute, `/`-separated, no empty, `.` or `..` part, no trailing `/`, no NUL, valid Unicode.
 * Every other character (newlines, control characters, U+FFFD for bytes that were not UTF-8) can be
 * part of a real file name and is accepted: names come back from `ls` as they are.
 */
export function snapshotPathProblem(value: string): string | null {
  if (value.length === 0) return 'Give a path';
  if (value.length > MAX_PATH_LENGTH) return `At most ${MAX_PATH_LENGTH} characters`;
  if (!value.startsWith('/')) return 'Must be an absolute path inside the snapshot, starting with "/"';
  if (value.includes('\0')) return 'Must not contain a NUL character';
  if (LONE_SURROGATE.test(value)) return 'Must be valid Unicode';
  if (value === '/') return null;
  if (value.endsWith('/')) return 'Must not end with "/"';
  const parts = value.slice(1).split('/');
  if (parts.some((p) => p === '')) return 'Must not contain "//"';
  if (parts.some((p) => p === '.' || p === '..')) return 'Must not contain "." or ".." parts';
  return null;
}

/** The snapshot folder (one of `roots`, the snapshot's `paths`) that holds `path`, or null: then `path` is outside the snapshot's folder. */
export function rootOf(path: string, roots: readonly string[]): string | null {
  let best: string | null = null;
  for (const root of roots) {
    if (snapshotPathProblem(root) !== null) continue;
    const inside = root === '/' || path === root || path.startsWith(`${root}/`);
    if (inside && (best === null || root.length > best.length)) best = root;
  }
  return best;
}

/** `/srv/photos/2024/a.jpg` relative to `/srv/photos` → `2024/a.jpg` (`''` for the root itself). */
export function relativeTo(root: string, path: string): string {
  if (path === root) return '';
  return root === '/' ? path.slice(1) : path.slice(root.length + 1);
}

/** The snapshot's date as restic recorded it (the box's local date then): `2026-11-28`. */
export function snapshotDate(time: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(time);
  if (m) return m[1]!;
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? 'undated' : parsed.toISOString().slice(0, 10);
}

/** The `n`-th candidate for a restore beside `source`: `/srv/photos-restored-2026-11-28`, then `…-2`, `…-3`. */
export function besideFolder(source: string, date: string, n = 1): string {
  return join(dirname(source), `${basename(source)}-restored-${date}${n > 1 ? `-${n}` : ''}`);
}

/** restic's entry → what the page shows. Folders first, then by name. */
export function toBrowseEntries(entries: readonly SnapshotEntry[]): BrowseEntry[] {
  const type = (t: SnapshotEntry['type']): BrowseEntry['type'] => (t === 'file' || t === 'dir' || t === 'symlink' ? t : 'other');
  return entries
    .map((e) => ({ name: e.name, type: type(e.type), path: e.path, size: e.size, mtime: e.mtime, nameIsExact: e.nameIsExact }))
    .sort((a, b) => (a.type === 'dir') === (b.type === 'dir') ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type === 'dir' ? -1 : 1);
}

/**
 * A `Content-Disposition: attachment` value for a file name of any characters: a plain ASCII
 * `filename` (other characters, quotes and control characters as `_`) and, when the name is not
 * plain ASCII, RFC 5987's `filename*=UTF-8''…`.
 */
export function attachmentDisposition(name: string): string {
  const plain = name.replace(/[^\x20-\x7e]|["\\%]/g, '_').trim() || 'download';
  const ascii = /^[\x20-\x7e]*$/.test(name) && !/["\\%]/.test(name);
  if (ascii && plain === name) return `attachment; filename="${plain}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${plain}"; filename*=UTF-8''${encoded}`;
}

export const SnapshotPath = z.string().superRefine((value, ctx) => {
  const problem = snapshotPathProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
export const DriveIdParam = z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'Not a drive id');
export const SnapshotIdParam = z
  .string()
  .regex(/^[0-9a-fA-F]{8,64}$/, 'A snapshot id is 8 to 64 hexadecimal digits')
  .transform((s) => s.toLowerCase());
export const LsQuery = z.strictObject({ path: SnapshotPath.optional() });
export const DownloadQuery = z.strictObject({ path: SnapshotPath });
export const RestoreBody = z
  .strictObject({
    paths: z.array(SnapshotPath).min(1, 'Choose at least one file or folder').max(MAX_RESTORE_PATHS, `At most ${MAX_RESTORE_PATHS} paths at once`),
    target: z.enum(['beside', 'original']).default('beside'),
    overwrite: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.target === 'original' && !v.overwrite) {
      ctx.addIssue({ code: 'custom', path: ['overwrite'], message: 'Restoring to the original place writes over the files there: send "overwrite": true to confirm' });
    }
  });
export type RestoreInput = z.infer<typeof RestoreBody>;

export interface BrowseListing {
  path: string;
  entries: BrowseEntry[];
}

export interface RestoreStarted {
  job: JobView;
  /** Where the files land: the new folder beside the source, or the source folder itself. */
  folder: string;
}

export interface Download {
  /** A private temporary file holding the bytes; remove it with `remove()`. */
  file: string;
  /** The file's name in the snapshot (U+FFFD for bytes that were not UTF-8). */
  name: string;
  size: number;
  remove(): Promise<void>;
}

/** What a queued restore job carries (job params): everything needed to run it after a restart. */
interface RestoreParams {
  driveId: string;
  snapshotId: string;
  snapshotDate: string;
  source: string;
  paths: string[];
  target: 'beside' | 'original';
  folder: string;
  bytesTotal: number | null;
}

// ---------------------------------------------------------------------------------------------

export interface RestoreServiceOptions {
  access: DriveAccess;
  /** null when restic is not installed. */
  restic: Restic | null;
  rotation: RotationRepository;
  backups: BackupRepository;
  sources: SourceRepository;
  jobs: JobRunner;
  activity: ActivityService;
  /** Puts the restored files in place (fsynced, verified copies across filesystems). */
  files: FilePlacer;
  clock: Clock;
  log: Logger;
  dataDir: string;
}

export class RestoreService {
  /** restic's snapshot list per drive, reused while browsing. */
  readonly #snapshots = new Map<string, { at: number; list: Snapshot[] }>();
  /** Folders promised to restore jobs that have not put their files there yet. */
  readonly #claimed = new Set<string>();

  constructor(readonly o: RestoreServiceOptions) {}

  start(): void {
    this.o.jobs.define(this.#restoreJob());
    // Downloads left by a crash (nothing is being downloaded yet: the service is starting).
    void rm(this.#downloads(), { recursive: true, force: true }).catch((err: unknown) => this.o.log.warn({ err }, 'clearing old downloads'));
  }

  /** The snapshots on a plugged-in drive, read from the drive (oldest first), with what the catalog knows of each. */
  async snapshots(driveId: string): Promise<SnapshotView[]> {
    return this.#browse(driveId, async (name, repo) => {
      const list = await this.#snapshotList(driveId, name, repo, true);
      return list.map((s) => {
        const known = this.o.backups.snapshot(driveId, s.id);
        return {
          id: s.id,
          shortId: s.shortId,
          source: known?.source ?? s.tags[0] ?? basename(s.paths[0] ?? '/'),
          paths: s.paths,
          time: s.time,
          files: known?.files ?? null,
          bytes: known?.bytes ?? null,
          suspicious: known?.suspicious ?? null,
        };
      });
    });
  }

  /** One folder of a snapshot; without `path`, the snapshot's own folder (its first path). */
  async ls(driveId: string, snapshotId: string, path?: string): Promise<BrowseListing> {
    return this.#browse(driveId, async (name, repo) => {
      const snapshot = await this.#snapshot(driveId, name, repo, snapshotId);
      const folder = path ?? snapshot.paths[0] ?? '/';
      if (path !== undefined) this.#inside(snapshot, path, 'path');
      const entries = await this.#restic(name, repo, () => this.#resticOrThrow().ls(repo, snapshot.id, folder), 'path');
      return { path: folder, entries: toBrowseEntries(entries) };
    });
  }

  /** Checks what can be checked now (drive, snapshot, paths, destination) and queues the restore job. */
  async restore(driveId: string, snapshotId: string, input: RestoreInput): Promise<RestoreStarted> {
    const params = await this.#browse(driveId, async (name, repo) => {
      const snapshot = await this.#snapshot(driveId, name, repo, snapshotId);
      const paths = [...new Set(input.paths)];
      const roots = new Set(input.paths.map((p, i) => this.#inside(snapshot, p, `paths.${i}`)));
      if (roots.size > 1) {
        throw new InvalidInputError('Restore from one of the snapshot\'s folders at a time.', [{ path: 'paths', message: 'The paths are in different folders of the snapshot' }]);
      }
      const source = [...roots][0]!;
      if (input.target === 'beside' && source === '/') {
        throw new InvalidInputError('This snapshot is of the whole system ("/"): there is no folder beside it. Restore to the original place instead.', [{ path: 'target', message: 'Not possible for "/"' }]);
      }
      await this.#checkDestination(source, input.target);
      const date = snapshotDate(snapshot.time);
      const folder = input.target === 'beside' ? await this.#freeFolder(source, date) : source;
      const known = this.o.backups.snapshot(driveId, snapshot.id);
      const whole = paths.length === 1 && paths[0] === source;
      return {
        driveId,
        snapshotId: snapshot.id,
        snapshotDate: date,
        source,
        paths,
        target: input.target,
        folder,
        bytesTotal: whole ? (known?.bytes ?? null) : null,
      } satisfies RestoreParams;
    });
    if (params.target === 'beside') this.#claimed.add(params.folder);
    try {
      const job = this.o.jobs.submit(RESTORE_JOB, { target: driveId, resources: [`restore:${driveId}`], params: { ...params } });
      return { job, folder: params.folder };
    } catch (error) {
      this.#claimed.delete(params.folder);
      throw error;
    }
  }

  /** One file of a snapshot in a private temporary file. A folder is refused (restore it instead). */
  async download(driveId: string, snapshotId: string, path: string): Promise<Download> {
    return this.#browse(driveId, async (name, repo) => {
      const snapshot = await this.#snapshot(driveId, name, repo, snapshotId);
      const root = this.#inside(snapshot, path, 'path');
      if (path === root) throw new InvalidInputError('That is the snapshot\'s whole folder: download a file, or restore the folder.', [{ path: 'path', message: 'A folder' }]);
      const restic = this.#resticOrThrow();
      const parent = posix.dirname(path);
      const siblings = await this.#restic(name, repo, () => restic.ls(repo, snapshot.id, parent), 'path');
      const entry = siblings.find((e) => e.path === path);
      if (!entry) throw new NotFoundError(`There is no ${JSON.stringify(path)} in snapshot ${snapshot.shortId}.`);
      if (entry.type === 'dir') throw new InvalidInputError(`${JSON.stringify(entry.name)} is a folder: download a file, or restore the folder.`, [{ path: 'path', message: 'A folder' }]);
      if (entry.type !== 'file') throw new InvalidInputError(`${JSON.stringify(entry.name)} is not a regular file (${entry.type}): restore it instead.`, [{ path: 'path', message: 'Not a regular file' }]);
      const dir = this.#downloads();
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
      const file = join(dir, `download-${randomBytes(8).toString('hex')}`);
      try {
        const { size } = await this.#restic(name, repo, () => restic.dump(repo, snapshot.id, path, { target: file }), 'path');
        return { file, name: entry.name, size, remove: () => rm(file, { force: true }) };
      } catch (error) {
        await rm(file, { force: true });
        throw error;
      }
    });
  }

  // --- the job --------------------------------------------------------------------------------

  #restoreJob(): JobDefinition {
    return {
      kind: RESTORE_JOB,
      title: (target) => `Restore from drive ${(target && this.o.rotation.get(target)?.name) ?? target ?? '?'}`,
      run: async (context) => {
        const params = context.params as unknown as RestoreParams;
        try {
          return await this.#runRestore(context, params);
        } catch (error) {
          const cause = error instanceof AppError ? error.cause : error;
          if (!context.signal.aborted && cause instanceof ResticError && cause.kind === 'io-error') {
            const name = this.o.rotation.get(params.driveId)?.name ?? params.driveId;
            throw new JobInterruptedError(`Drive ${name} was unplugged or failed during the restore: nothing was put in place. Plug it in and restore again.`, { cause: error });
          }
          throw error;
        } finally {
          this.#claimed.delete(params.folder);
        }
      },
    };
  }

  async #runRestore({ jobId, signal, progress }: JobContext, p: RestoreParams): Promise<string> {
    const name = this.#driveName(p.driveId);
    const steps = 5;
    let step = 0;
    const say = (current: string) => progress({ itemsDone: step++, itemsTotal: steps, current });

    say(`Mounting drive ${name}`);
    const lease = await this.#open(p.driveId, name, signal);
    const held: Folder[] = [];
    let staging: { in: Folder; folder: Folder } | null = null;
    let timer: NodeJS.Timeout | null = null;
    try {
      const repo = await this.#repository(lease, name);
      say('Finding the snapshot on the drive');
      const snapshot = await this.#snapshot(p.driveId, name, repo, p.snapshotId);
      // Every folder the files go through is opened by descriptor, links refused, and kept open:
      // whoever owns a folder on the way may rename it or put a link under its name meanwhile.
      const { parent, source } = await this.#openDestination(p.source, p.target);
      held.push(parent);
      if (source && source !== parent) held.push(source);
      const stagingIn = p.target === 'original' && source !== null && source.info.dev !== parent.info.dev ? source : parent;
      await this.#removeStaleStaging(stagingIn);
      const made = await stagingIn.makePrivateChild(`${STAGING_PREFIX}${jobId}-${randomBytes(6).toString('hex')}`).catch((error: NodeJS.ErrnoException) => {
        const words = error.code ? `Safehold cannot write in ${stagingIn.path} (${error.code})` : error.message.replace(/\.$/, '');
        throw new Error(`${words}: nothing was restored.`, { cause: error });
      });
      staging = { in: stagingIn, folder: made };

      say(`Restoring ${p.paths.length === 1 ? JSON.stringify(posix.basename(p.paths[0]!) || '/') : `${p.paths.length} items`} with restic`);
      const measure = await freeBytesOf(made.fdPath);
      if (p.bytesTotal !== null) progress({ bytesTotal: p.bytesTotal });
      timer = setInterval(() => {
        void freeBytesOf(made.fdPath).then((now) => progress({ bytesDone: Math.max(0, measure - now) }), () => undefined);
      }, PROGRESS_EVERY_MS);
      timer.unref();
      const restic = this.#resticOrThrow();
      // restic writes through the descriptor: into this folder, whatever is under its name by then.
      await this.#restic(name, repo, () => restic.restore(repo, snapshot.id, { target: made.forChild, include: p.paths, signal }), 'paths');
      clearInterval(timer);
      timer = null;
      signal.throwIfAborted();

      say(p.target === 'beside' ? 'Writing the files out and moving them into place' : 'Writing the files out and putting them in place');
      const stagedRoot = Buffer.from(made.fdPath);
      const restored = await descend(stagedRoot, p.source === '/' ? 0 : p.source.split('/').length - 1);
      if (restored === null) throw new Error('restic restored nothing: the paths were not found in the snapshot.');
      const tally = await this.o.files.syncTree(restored, signal);
      progress({ bytesDone: tally.bytes, bytesTotal: tally.bytes });
      // The expected owners: every folder the files go into is owned by root or by its owner in the snapshot.
      for (const step of (source ?? parent).trail) {
        const problem = await ownerProblem(step, stagedRoot);
        if (problem) throw new Error(`${problem} Nothing was put in place.`);
      }

      let folder = p.folder;
      const problems: string[] = [];
      if (p.target === 'beside') {
        folder = await this.#placeBeside(restored, parent, p);
      } else if (source === null) {
        await moveInto(restored, parent, Buffer.from(posix.basename(p.source)), { placer: this.o.files, problems, signal, replace: false }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST' && error.code !== 'ENOTDIR') throw error;
          throw new Error(`Something appeared at ${p.source} while the files were being restored: restore again to write over it. Nothing was put in place.`, { cause: error });
        });
        await parent.sync();
      } else {
        await mergeTree(restored, source, {
          placer: this.o.files,
          problems,
          signal,
          sourceWord: 'the snapshot',
          // a folder merged into is owned by root or by its owner in the snapshot (`ownerProblem`)
          folderProblem: (shownDst, existing, staged) => (existing.uid !== 0 && existing.uid !== staged.uid ? ownerWords(shownDst, existing.uid, staged.uid) : null),
        });
      }

      say(`Giving drive ${name} back`);
      const what = p.paths.length === 1 ? JSON.stringify(p.paths[0]) : `${p.paths.length} items (${p.paths.slice(0, 3).map((x) => JSON.stringify(x)).join(', ')}${p.paths.length > 3 ? ', …' : ''})`;
      const counts = `${tally.files} file${tally.files === 1 ? '' : 's'}, ${formatSize(tally.bytes)}`;
      const from = `from drive ${name} (snapshot ${snapshot.shortId} of ${p.snapshotDate})`;
      if (problems.length > 0) {
        const message = `Restored ${what} ${from} over the originals in ${folder}, but ${problems.length} could not be put in place: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}`;
        this.o.activity.record({ level: 'warning', kind: 'backup.restored', subject: p.driveId, message });
        throw new Error(message);
      }
      this.o.activity.record({
        level: 'info',
        kind: 'backup.restored',
        subject: p.driveId,
        message: `Restored ${what} ${from} ${p.target === 'beside' ? 'into the new folder' : 'over the originals in'} ${folder}: ${counts}.`,
      });
      return `Restored ${counts} into ${folder}.`;
    } finally {
      if (timer) clearInterval(timer);
      if (staging) {
        const { in: stagingIn, folder } = staging;
        await stagingIn
          .removePrivateChild(folder)
          .then((removed) => removed || this.o.log.warn({ staging: folder.path }, 'a restore staging folder was moved out of its folder; it is left, empty'))
          .catch((err: unknown) => this.o.log.warn({ err, staging: folder.path }, 'removing a restore staging folder'));
        await folder.close();
      }
      for (const folder of held) await folder.close();
      await lease.close().catch((err: unknown) => this.o.log.warn({ err, driveId: p.driveId }, 'giving a drive back after a restore'));
    }
  }

  /** Renames the restored copy of the source folder to the promised folder (or the next free name, should it have appeared meanwhile), in `parent` as opened. */
  async #placeBeside(restored: Buffer, parent: Folder, p: RestoreParams): Promise<string> {
    let folder = p.folder;
    for (let n = 2; ; n++) {
      try {
        await this.o.files.move(restored, parent.at(basename(folder)));
        return folder;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      folder = besideFolder(p.source, p.snapshotDate, n);
    }
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** Lease the drive, run `work` with its repository, give the drive back lingering. */
  async #browse<T>(driveId: string, work: (name: string, repo: ResticRepository) => Promise<T>): Promise<T> {
    const name = this.#driveName(driveId);
    this.#resticOrThrow();
    const lease = await this.#open(driveId, name);
    try {
      return await work(name, await this.#repository(lease, name));
    } finally {
      await lease.close({ lingerMs: BROWSE_LINGER_MS }).catch((err: unknown) => this.o.log.warn({ err, driveId }, 'giving a drive back after browsing'));
    }
  }

  #driveName(driveId: string): string {
    const row = this.o.rotation.get(driveId);
    if (!row) throw new NotFoundError('There is no rotation drive with that id.');
    return row.name;
  }

  #resticOrThrow(): Restic {
    if (!this.o.restic) throw resticMissing();
    return this.o.restic;
  }

  async #open(driveId: string, name: string, signal?: AbortSignal): Promise<DriveLease> {
    try {
      return await this.o.access.open(driveId, signal);
    } catch (error) {
      if (error instanceof ConflictError && /not plugged in/.test(error.message)) {
        throw new ConflictError(`Rotation drive ${name} is not plugged in: plug it in to restore from it.`, { cause: error });
      }
      if (error instanceof AppError) throw error;
      const words = error instanceof Error ? error.message : String(error);
      throw new UnavailableError(`Rotation drive ${name} could not be mounted: ${words}`, 'Unplug it and plug it in again; if that does not help, look at its health on the Drives page.', { cause: error });
    }
  }

  async #repository(lease: DriveLease, name: string): Promise<ResticRepository> {
    try {
      return await this.o.access.repository(lease);
    } catch (error) {
      if (error instanceof MarkerError) {
        throw new ConflictError(`Rotation drive ${name} does not carry a readable Safehold marker: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** restic's snapshot list of the drive, reused for a while unless `fresh`. */
  async #snapshotList(driveId: string, name: string, repo: ResticRepository, fresh: boolean): Promise<Snapshot[]> {
    const cached = this.#snapshots.get(driveId);
    if (!fresh && cached && this.o.clock.now() - cached.at < SNAPSHOT_CACHE_MS) return cached.list;
    const list = await this.#restic(name, repo, () => this.#resticOrThrow().snapshots(repo), 'snapshotId');
    this.#snapshots.set(driveId, { at: this.o.clock.now(), list });
    return list;
  }

  /** The snapshot with this id (full, short, or a unique prefix) on the drive; 404 when it is not there. */
  async #snapshot(driveId: string, name: string, repo: ResticRepository, id: string): Promise<Snapshot> {
    const find = (list: Snapshot[]) => {
      const exact = list.find((s) => s.id === id || s.shortId === id);
      if (exact) return exact;
      const byPrefix = list.filter((s) => s.id.startsWith(id));
      if (byPrefix.length > 1) throw new InvalidInputError(`The id ${id} matches ${byPrefix.length} snapshots: give more of it.`, [{ path: 'snapshotId', message: 'Ambiguous' }]);
      return byPrefix[0];
    };
    const found = find(await this.#snapshotList(driveId, name, repo, false)) ?? find(await this.#snapshotList(driveId, name, repo, true));
    if (!found) throw new NotFoundError(`There is no snapshot ${id} on rotation drive ${name}.`);
    return found;
  }

  /** The snapshot folder holding `path`, or a 400 naming `field`. */
  #inside(snapshot: Snapshot, path: string, field: string): string {
    const root = rootOf(path, snapshot.paths);
    if (root === null) {
      const folders = snapshot.paths.map((p) => JSON.stringify(p)).join(', ') || 'none';
      throw new InvalidInputError(`${JSON.stringify(path)} is not inside the snapshot's folder (${folders}).`, [{ path: field, message: `Must be the snapshot's folder ${folders} or inside it` }]);
    }
    return root;
  }

  /**
   * Opens the folder holding `source` (and, for `original`, the source folder itself when it is
   * there) from `/` down without following a link: a link on the way, or a missing folder, is a
   * `ConflictError` in words. A missing folder above the source may be a disk that is not mounted:
   * restoring there would fill the system disk.
   */
  async #openDestination(source: string, target: RestoreParams['target']): Promise<{ parent: Folder; source: Folder | null }> {
    const above = dirname(source);
    let parent: Folder;
    try {
      parent = await openFolder(above);
    } catch (error) {
      if (error instanceof FolderPathError && error.problem === 'missing') {
        throw new ConflictError(`The folder ${above}, where the restored files would go, does not exist on the box (is its disk mounted?). Nothing was restored.`, { cause: error });
      }
      throw notThroughLinks(error);
    }
    if (target === 'beside') return { parent, source: null };
    if (source === '/') return { parent, source: parent };
    try {
      return { parent, source: await parent.childIfAny(basename(source)) };
    } catch (error) {
      await parent.close();
      throw notThroughLinks(error);
    }
  }

  /** What `#openDestination` checks, before the job is queued (the job checks again, by descriptor). */
  async #checkDestination(source: string, target: RestoreParams['target']): Promise<void> {
    const { parent, source: folder } = await this.#openDestination(source, target);
    await parent.close();
    if (folder && folder !== parent) await folder.close();
  }

  /** Staging folders of restore jobs that are no longer running (a crash, a power cut); only private folders Safehold made are removed. */
  async #removeStaleStaging(folder: Folder): Promise<void> {
    for (const entry of await readdir(folder.fdPath).catch(() => [] as string[])) {
      const m = new RegExp(`^${STAGING_PREFIX.replace('.', '\\.')}(\\d+)-`).exec(entry);
      if (!m) continue;
      const job = (() => {
        try {
          return this.o.jobs.get(Number(m[1]));
        } catch {
          return null;
        }
      })();
      if (job && (job.state === 'running' || job.state === 'queued')) continue;
      const old = await folder.child(entry).catch(() => null);
      if (!old) continue; // a link or a file someone put there: not Safehold's
      try {
        if (old.info.uid === process.geteuid?.() && (old.info.mode & 0o077) === 0) await folder.removePrivateChild(old);
      } catch (err) {
        this.o.log.warn({ err, entry }, 'removing an old restore staging folder');
      } finally {
        await old.close();
      }
    }
  }

  /** `<source>-restored-<date>`, or the first of `-2`, `-3`… that neither exists nor is promised to another restore. */
  async #freeFolder(source: string, date: string): Promise<string> {
    for (let n = 1; ; n++) {
      const folder = besideFolder(source, date, n);
      if (!this.#claimed.has(folder) && !(await exists(folder))) return folder;
    }
  }

  #downloads(): string {
    return join(this.o.dataDir, 'tmp', 'downloads');
  }

  /**
   * Runs a restic call and puts its failure in words for the owner. A lock left by a restic that
   * died (restic calls it stale) is removed with restic's own `unlock`, which never removes a live
   * restic's lock, and the call is tried once more.
   */
  async #restic<T>(name: string, repo: ResticRepository, call: () => Promise<T>, field: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ResticError && error.kind === 'locked' && error.lock?.stale)) throw explainRestic(error, name, field);
    }
    this.o.log.info({ drive: name }, 'removing a stale restic lock before restoring');
    try {
      await this.#resticOrThrow().unlock(repo);
      return await call();
    } catch (error) {
      throw explainRestic(error, name, field);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Words for failures

function resticMissing(): ConflictError {
  return new ConflictError('restic is not installed on this box, so nothing can be restored from a backup drive. Install it with "apt-get install restic" (make run does it when run as root), then restart Safehold.');
}

/** A restic failure → the service's error vocabulary, in words for the owner. */
export function explainRestic(error: unknown, driveName: string, field: string): unknown {
  if (error instanceof ToolMissingError) return resticMissing();
  if (!(error instanceof ResticError)) return error;
  switch (error.kind) {
    case 'locked':
      return new BusyError(`Drive ${driveName} is busy pruning or checking its backups; try again in a few minutes.`, { cause: error });
    case 'not-found':
      return new NotFoundError(error.message, { cause: error });
    case 'invalid-input':
      return new InvalidInputError(error.message, [{ path: field, message: error.message }], { cause: error });
    case 'interrupted':
      return error;
    case 'io-error':
      return new UnavailableError(`Drive ${driveName} could not be read: ${error.message}`, 'Check that it is still plugged in, then try again.', { cause: error });
    case 'no-space':
      return new UnavailableError(`There is no space left where the files are being restored: ${error.message}`, 'Make room on the box, or restore fewer files at a time.', { cause: error });
    case 'wrong-password':
    case 'repository-missing':
      return new UnavailableError(`The backup repository on drive ${driveName} cannot be opened: ${error.message}`, 'The recovery kit lists the password and where the repository is on the drive.', { cause: error });
    default:
      return new UnavailableError(`restic failed on drive ${driveName}: ${error.message}`, undefined, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// Files (names as raw bytes: a name need not be UTF-8)

const sub = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, Buffer.from('/'), name]);

async function exists(path: string | Buffer): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Free bytes of the filesystem holding `path` (to measure how much restic has written so far). */
async function freeBytesOf(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bfree * s.bsize;
}

/** The one folder `depth` levels below `dir` (restic restores a path's parents too), or null when nothing was restored. */
async function descend(dir: Buffer, depth: number): Promise<Buffer | null> {
  let at = dir;
  for (let i = 0; i < depth; i++) {
    const entries = await readdir(at, { encoding: 'buffer', withFileTypes: true });
    if (entries.length === 0) return null;
    if (entries.length !== 1 || !entries[0]!.isDirectory()) throw new Error('The restored files are not laid out as expected (one folder per level of the source path).');
    at = sub(at, entries[0]!.name as unknown as Buffer);
  }
  return at;
}

/** A link or something else where a folder must be, in words for the owner (anything else unchanged). */
function notThroughLinks(error: unknown): unknown {
  if (!(error instanceof FolderPathError)) return error;
  const what = error.problem === 'link' ? 'is a symbolic link' : error.problem === 'missing' ? 'does not exist' : 'is not a folder';
  return new ConflictError(
    `${JSON.stringify(error.path)} ${what}: Safehold restores only into real folders and never through a link (whoever owns the folder holding it could point it anywhere on the box). Put the folder itself there, then restore again. Nothing was restored.`,
    { cause: error },
  );
}

function ownerWords(path: string, uid: number, recorded: number | null): string {
  return `${JSON.stringify(path)} is owned by user ${uid}, but the snapshot recorded ${recorded === null ? 'no such folder' : `user ${recorded}`} for it: Safehold restores only into folders owned by root or by their owner in the snapshot.`;
}

/**
 * The expected-owner rule for a folder on the box the files go into (or through): owned by root, or
 * by the user restic gave its restored copy (the owner the snapshot recorded for it). Null when so.
 */
async function ownerProblem(step: TrailStep, stagedRoot: Buffer): Promise<string | null> {
  if (step.uid === 0) return null;
  const staged = await lstat(step.path === '/' ? stagedRoot : Buffer.concat([stagedRoot, Buffer.from(step.path)])).catch(() => null);
  return staged?.isDirectory() && staged.uid === step.uid ? null : ownerWords(step.path, step.uid, staged?.uid ?? null);
}
