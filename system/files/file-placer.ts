/**
 * Putting files in place without ever losing one: the seam the restore, the pool's duplicator and
 * its scrub write through. `LinuxFilePlacer` (linux-file-placer.adapter.ts) is the real one;
 * `SimulatedFilePlacer` (file-placer.sim.ts) its in-memory twin, which can also fill a disk, fail a
 * read or crash between two steps. test/medium/file-placer.contract.test.ts runs one suite on both;
 * docs/files.md writes the contract down.
 *
 * Contract (every implementation):
 * - `place(source, destination)` writes the bytes to a new temporary file in the destination's
 *   folder (`.safehold-tmp-<16 hex digits>`, created exclusively, never through a link), fsyncs it,
 *   reads it back (through the page cache) and compares its hash with the hash of the bytes read
 *   from the source (and with `expected` when given), and only then gives it the destination's
 *   name and fsyncs the folder (unless `syncFolder: false`: then the caller does). So
 *   a crash or a power cut at any moment leaves the destination as it was (absent, or its old
 *   content) or holding the whole new content, never a mix. Without `replace` an existing
 *   destination is never written over (EEXIST); with it, the old content is replaced in one step.
 * - On any failure (the source cannot be read: EIO…; the disk is full: ENOSPC; the copy does not
 *   match: `ContentMismatchError`; `signal` aborted) the temporary file is removed, the destination
 *   is left as it was, and the error is the OS's own (its `code` kept) or `ContentMismatchError`.
 * - `move(source, destination)` moves a file or a symbolic link: one rename on the same filesystem;
 *   across filesystems a `place()` (owner, mode and times kept) and then the source is removed. A
 *   folder is only ever renamed (EXDEV across filesystems: the caller walks it); without `replace`
 *   not over anything, checked just before the rename (Node cannot reach RENAME_NOREPLACE).
 * - `removeTemporaries(folder)` removes the temporary files crashed placements left directly in
 *   `folder` (never one a placement of this process is writing), and returns their names.
 * - Paths are strings or Buffers (names that are not UTF-8; `/proc/self/fd/<n>/name` paths that
 *   name a file inside a folder held open, see system/folders.ts).
 */
import type { Readable } from 'node:stream';
import type { ContentHash } from './hasher.js';

export type { ContentHash } from './hasher.js';

export type FsPath = string | Buffer;

/** The prefix of every temporary file a placement makes; `removeTemporaries()` removes leftovers by it. */
export const TEMPORARY_PREFIX = '.safehold-tmp-';
/** A temporary file's whole name: the prefix and 16 hexadecimal digits. */
export const TEMPORARY_NAME = /^\.safehold-tmp-[0-9a-f]{16}$/;

/** Owner, mode and times a placed file is given. */
export interface FileMetadata {
  /** Permission bits (0o7777 at most). */
  mode: number;
  /** Owner and group; left as the service's when omitted (or when the service may not give them). */
  uid?: number;
  gid?: number;
  /** Modification and access times, in ms since the epoch; now when omitted. */
  mtimeMs?: number;
  atimeMs?: number;
}

export interface PlaceOptions {
  /** Write over a file already at the destination, in one step (default false: EEXIST, nothing changed). */
  replace?: boolean;
  /** The hash the bytes must have (what the catalog knows of the source); a different one is a `ContentMismatchError`. */
  expected?: ContentHash;
  /**
   * What the placed file is given. Default: a path source's own owner, mode and times; a stream's
   * file gets mode 0o644 and the service's owner.
   */
  metadata?: FileMetadata;
  /**
   * Default true: the destination's folder is fsynced after the file gets its name. False: the
   * caller fsyncs it itself, once after putting many files into it (a merge of a whole tree). A
   * move across filesystems fsyncs it all the same, before the source is removed.
   */
  syncFolder?: boolean;
  signal?: AbortSignal;
}

export type MoveOptions = Pick<PlaceOptions, 'replace' | 'syncFolder' | 'signal'>;

export interface Placed {
  /** The hash of the bytes now at the destination. */
  hash: ContentHash;
}

export interface Moved {
  /** `renamed` on one filesystem; `copied` across two (then `hash` is the verified copy's). */
  how: 'renamed' | 'copied';
  hash?: ContentHash;
}

/** The copy read back does not hold the bytes read from the source (or the expected ones): it was removed. */
export class ContentMismatchError extends Error {
  constructor(
    readonly destination: string,
    readonly wanted: ContentHash,
    readonly got: ContentHash,
  ) {
    super(`The copy for ${destination} does not match its source (${got.algorithm} ${got.hex.slice(0, 12)}…, ${got.bytes} bytes; wanted ${wanted.hex.slice(0, 12)}…, ${wanted.bytes} bytes): it was removed.`);
    this.name = 'ContentMismatchError';
  }
}

export interface FilePlacer {
  /** A verified copy of `source` (a file's path, or a stream of bytes) at `destination` (see the module's contract). */
  place(source: FsPath | Readable, destination: FsPath, options?: PlaceOptions): Promise<Placed>;
  /** `source` (a file or a link) at `destination`, on one filesystem or across two; the source is gone afterwards. */
  move(source: FsPath, destination: FsPath, options?: MoveOptions): Promise<Moved>;
  /** The content hash of the file at `path` (computed off the event loop); the OS's error when it cannot be read. */
  hash(path: FsPath, signal?: AbortSignal): Promise<ContentHash>;
  /** fsyncs every file and folder under `folder` and the folder itself; counts the entries under it and the files' bytes. */
  syncTree(folder: FsPath, signal?: AbortSignal): Promise<{ files: number; bytes: number }>;
  /** Removes what crashed placements left in `folder` (not in its subfolders); returns the names removed. */
  removeTemporaries(folder: FsPath): Promise<string[]>;
}

/** `a/b/c` → `a/b`, for strings and byte paths alike (`.` for a bare name). */
export function parentOf(path: FsPath): FsPath {
  if (typeof path === 'string') {
    const at = path.lastIndexOf('/');
    return at < 0 ? '.' : at === 0 ? '/' : path.slice(0, at);
  }
  const at = path.lastIndexOf(0x2f);
  return at < 0 ? Buffer.from('.') : at === 0 ? Buffer.from('/') : path.subarray(0, at);
}

/** `folder` + `/` + `name`, as the same kind of path as `folder`. */
export function inFolder(folder: FsPath, name: string | Buffer): FsPath {
  if (typeof folder === 'string' && typeof name === 'string') return `${folder}/${name}`;
  return Buffer.concat([Buffer.from(folder), Buffer.from('/'), Buffer.from(name)]);
}

/** A path for messages (bytes that are not UTF-8 shown as U+FFFD). */
export function shownPath(path: FsPath): string {
  return typeof path === 'string' ? path : path.toString('utf8');
}
