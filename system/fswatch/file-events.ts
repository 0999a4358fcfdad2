/**
 * How the storage pool's duplicator learns, soon after the fact, that files changed on a pool disk:
 * `FileEvents.watch(root)` reports what happens under one folder (a disk's `Safehold/shares`) in
 * small batches. `InotifyFileEvents` (inotify.adapter.ts, inotifywait) is the real one;
 * `SimulatedFileEvents` (file-events.sim.ts) its twin for domain tests.
 * test/medium/file-events.contract.test.ts runs one suite on both; docs/file-events.md is the
 * contract in words.
 *
 * Contract (every implementation):
 * - Events are hints for timeliness, never the record of truth: the duplicator's periodic
 *   reconcile walk stays the guarantee. Whenever something may have been missed (the kernel's
 *   queue overflowed, the watch limit was reached, a folder could not be watched, the watcher had
 *   to restart, too many changes piled up unread) a `rescan` event names the folder (the root
 *   itself: an empty path) to walk again, with the reason and a sentence for people. A watcher
 *   never throws at its caller: trouble is a `rescan` and a `state`.
 * - Paths are relative to the root, as Buffers (names need not be UTF-8; Node's fs takes Buffer
 *   paths: `absolutePath(root, event.path)`), `/`-separated, without a leading or trailing `/`.
 * - Order: batches come in the order things happened; within a batch, repeated events on one path
 *   are merged into the last thing that happened to it (a write then a removal: `removed`), never
 *   across a rename, so a batch can be applied from first to last.
 * - A batch holds at most `maxBatch` events and is handed over `batchMs` after its first event
 *   (or as soon as it is full). Unread events are held merged by path; past `maxPending` distinct
 *   paths they are all replaced by one `rescan` of the root (memory stays bounded).
 * - `close()` stops everything (no process is left running), ends the iteration after the batch
 *   being read, and is idempotent.
 * - Events say where to look, not what to copy: the disk as it is now is the truth (a file
 *   reported `written` may be gone by the time it is read; an event may come twice). Changes to
 *   the root folder's own attributes are not reported.
 */
import { TEMPORARY_NAME } from '../files/file-placer.js';

export type FileEventKind = 'written' | 'removed' | 'renamed' | 'folder-created' | 'attributes' | 'rescan';

/** Why a folder must be walked again. */
export type RescanReason =
  /** The kernel's event queue overflowed: events were dropped. */
  | 'overflow'
  /** The system's limit on watched folders (fs.inotify.max_user_watches) was reached. */
  | 'watch-limit'
  /** One folder could not be watched (removed while being set up, no permission…). */
  | 'unwatched-folder'
  /** The watcher stopped and was started again: what happened in between is unknown. */
  | 'restarted'
  /** More changes piled up unread than the watcher keeps (`maxPending`). */
  | 'too-many-changes'
  /** A new folder held more entries than are reported one by one (`maxFolderScan`). */
  | 'large-folder'
  /** The watched folder itself was removed, moved or unmounted: the watcher has ended. */
  | 'root-gone'
  /** The watcher said something it was not expected to say: the stream can no longer be trusted. */
  | 'unexpected-output';

export type FileEvent =
  /**
   * `written`: a file was closed after being opened for writing (only then: a slow writer is
   * reported once, at its close), or was moved into the tree from outside (or from a temporary
   * name that is ignored). `removed`: a file or folder (`folder: true`: everything under it) is
   * gone, deleted or moved out of the tree. `attributes`: mode, owner or times changed (chmod,
   * chown, touch). `folder-created`: a folder appeared (made, or moved in from outside); the files
   * already inside it are reported as `written` after it, since they can land before the folder is
   * watched.
   */
  | { kind: 'written' | 'removed' | 'attributes' | 'folder-created'; path: Buffer; folder: boolean }
  /** A file or folder (with all it holds) was renamed inside the tree from `from` to `path`. */
  | { kind: 'renamed'; from: Buffer; path: Buffer; folder: boolean }
  /** Walk `path` (empty: the whole root) again: something under it may have been missed. */
  | { kind: 'rescan'; path: Buffer; reason: RescanReason; message: string };

/** What a watcher is doing now. */
export type WatchState =
  | { kind: 'starting' }
  /** Every folder under the root is watched. */
  | { kind: 'watching' }
  /** Running, but some folders are not watched (`message` says why): their changes wait for the periodic check. */
  | { kind: 'partial'; reason: RescanReason; message: string }
  /** Not running (it will try again by itself); changes wait for the periodic check. */
  | { kind: 'down'; reason: RescanReason; message: string }
  | { kind: 'closed' };

export interface WatchOptions {
  /** Drop events on Safehold's own temporary files (`.safehold-tmp-<16 hex digits>`, system/files). Default true. */
  ignoreTemporaries?: boolean;
  /** Milliseconds from a batch's first event until it is handed over. Default 200. */
  batchMs?: number;
  /** Events per batch at most. Default 1000. */
  maxBatch?: number;
  /** Distinct paths held unread at most before they are replaced by a `rescan` of the root. Default 50 000. */
  maxPending?: number;
  /** Entries of a new folder reported one by one at most; a bigger one is a `rescan` of it. Default 10 000. */
  maxFolderScan?: number;
  /** The caller's reconcile period in minutes, for the words of the `watch-limit` message. Default: not said. */
  checkEveryMinutes?: number;
}

export interface Watcher extends AsyncIterable<FileEvent[]> {
  readonly root: string;
  /**
   * Settles once the first attempt to watch has ended: with `watching`, or with why not
   * (`partial`, `down`; the same news is also a `rescan` in the stream). Never rejects.
   */
  readonly ready: Promise<WatchState>;
  readonly state: WatchState;
  /** Stop watching; resolves when nothing of the watcher runs any more. Idempotent. */
  close(): Promise<void>;
}

export interface FileEvents {
  /** Watch `root` (an existing folder) and every folder below it. */
  watch(root: string, options?: WatchOptions): Watcher;
}

export const ROOT = Buffer.alloc(0);

/** The absolute path of an event's `path` under `root`, as a Buffer for fs. */
export function absolutePath(root: string, path: Buffer): Buffer {
  const base = Buffer.from(root.endsWith('/') && root.length > 1 ? root.slice(0, -1) : root);
  return path.length === 0 ? base : Buffer.concat([base, Buffer.from('/'), path]);
}

/** A path for log lines and messages (bytes that are not UTF-8 shown as U+FFFD). */
export function shownPath(path: Buffer): string {
  return path.length === 0 ? '(the whole folder)' : path.toString('utf8');
}

/** The last name of a path. */
export function baseName(path: Buffer): Buffer {
  const at = path.lastIndexOf(0x2f);
  return at < 0 ? path : path.subarray(at + 1);
}

/** True when `path`'s last name is one of Safehold's own temporary files. */
export function isTemporary(path: Buffer): boolean {
  const name = baseName(path);
  return name.length === 30 && TEMPORARY_NAME.test(name.toString('latin1'));
}

/** True when `path` is `folder` or lies under it (the root holds everything). */
export function isUnder(path: Buffer, folder: Buffer): boolean {
  if (folder.length === 0) return true;
  return path.equals(folder) || (path.length > folder.length && path[folder.length] === 0x2f && path.subarray(0, folder.length).equals(folder));
}

/** The words of the `watch-limit` rescan, for the page and the log. */
export function watchLimitMessage(limit: number | null, checkEveryMinutes?: number): string {
  const every = checkEveryMinutes ? ` (every ${checkEveryMinutes} minutes)` : '';
  const expert = limit ? ` (fs.inotify.max_user_watches is ${limit}; raise it to watch everything)` : ' (raise fs.inotify.max_user_watches to watch everything)';
  return `The disk has more folders than the system lets Safehold watch: changes are found by the periodic check${every} instead${expert}.`;
}
