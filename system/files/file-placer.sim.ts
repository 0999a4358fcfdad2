/**
 * The in-memory twin of `LinuxFilePlacer`, for tests of what writes through a `FilePlacer` (the
 * pool's duplicator and scrub) without disks, and for the faults real disks give only rarely. Same
 * contract (test/medium/file-placer.contract.test.ts runs both).
 *
 * `SimulatedFiles` holds the files: folders, files (bytes, mode, owner, times) and links, keyed by
 * their path's bytes, on volumes (a folder that is its own filesystem, with a capacity: moves
 * between volumes copy, a volume that is full answers ENOSPC). Faults, each armed by the test:
 * - `failReads(path, code)`: reading that file fails (EIO: a bad sector, a pulled disk);
 * - `crashNext(point)`: the next placement stops as if the process died at that point
 *   (`mid-write`: after its first chunk; `before-rename`: the copy complete and verified, not yet
 *   named), leaving its temporary file, and rejects with `SimulatedCrash`; what a restarted process
 *   would find is then on the volume, and the crashed placement is no longer "live";
 * - `corruptNextWrite()`: the next placement's copy differs from what it read by one byte (a flaky
 *   cable), which its verification must catch.
 * Not simulated: fsync (everything written is durable at once, so `syncFolder` changes nothing),
 * permissions (every call is root's).
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createXXHash128 } from 'hash-wasm';
import { HASH_ALGORITHM, type ContentHash } from './hasher.js';
import {
  ContentMismatchError,
  shownPath,
  TEMPORARY_NAME,
  TEMPORARY_PREFIX,
  type FileMetadata,
  type FilePlacer,
  type FsPath,
  type Moved,
  type MoveOptions,
  type PlaceOptions,
  type Placed,
} from './file-placer.js';

const CHUNK = 1 << 20;

export type SimulatedNode =
  | { kind: 'file'; data: Buffer; mode: number; uid: number; gid: number; mtimeMs: number; atimeMs: number }
  | { kind: 'folder'; mode: number }
  | { kind: 'link'; target: Buffer };

export type CrashPoint = 'mid-write' | 'before-rename';

/** The simulated process died during a placement (see `SimulatedFiles.crashNext`). */
export class SimulatedCrash extends Error {
  constructor(readonly point: CrashPoint) {
    super(`Simulated crash (${point})`);
    this.name = 'SimulatedCrash';
  }
}

/** A path as the key of the maps below: its bytes, one character each. */
function keyOf(path: FsPath): string {
  const key = (typeof path === 'string' ? Buffer.from(path) : path).toString('latin1').replace(/\/+/g, '/');
  return key.length > 1 && key.endsWith('/') ? key.slice(0, -1) : key;
}
const parentKey = (key: string) => (key.lastIndexOf('/') <= 0 ? '/' : key.slice(0, key.lastIndexOf('/')));
const nameOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
const shownKey = (key: string) => Buffer.from(key, 'latin1').toString('utf8');

function osError(code: string, key: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: (simulated) '${shownKey(key)}'`), { code, path: shownKey(key) });
}

export class SimulatedFiles {
  readonly #nodes = new Map<string, SimulatedNode>([['/', { kind: 'folder', mode: 0o755 }]]);
  /** Volume roots → capacity in bytes. `/` is a volume without limit. */
  readonly #volumes = new Map<string, number>([['/', Number.POSITIVE_INFINITY]]);
  readonly #readFailures = new Map<string, string>();
  #crash: CrashPoint | null = null;
  #corrupt = false;

  /** Makes `root` (and its parents) a folder that is a filesystem of its own, holding at most `capacityBytes` of file data. */
  addVolume(root: string, capacityBytes = Number.POSITIVE_INFINITY): void {
    this.mkdir(root);
    this.#volumes.set(keyOf(root), capacityBytes);
  }

  /** Makes the folder `path` and its parents (idempotent). */
  mkdir(path: FsPath, mode = 0o755): void {
    const key = keyOf(path);
    if (key !== '/') this.mkdir(Buffer.from(parentKey(key), 'latin1'));
    const there = this.#nodes.get(key);
    if (there && there.kind !== 'folder') throw osError('EEXIST', key);
    if (!there) this.#nodes.set(key, { kind: 'folder', mode });
  }

  /** Writes a file directly (a test's arrangement; no placement, no capacity check), making its folders. */
  writeFile(path: FsPath, content: Buffer | string, metadata: Partial<FileMetadata> = {}): void {
    const key = keyOf(path);
    this.mkdir(Buffer.from(parentKey(key), 'latin1'));
    const now = Date.now();
    this.#nodes.set(key, { kind: 'file', data: Buffer.from(content), mode: metadata.mode ?? 0o644, uid: metadata.uid ?? 0, gid: metadata.gid ?? 0, mtimeMs: metadata.mtimeMs ?? now, atimeMs: metadata.atimeMs ?? now });
  }

  symlink(target: string, path: FsPath): void {
    this.#nodes.set(keyOf(path), { kind: 'link', target: Buffer.from(target) });
  }

  /** What is at `path` (not following a link), or undefined. */
  stat(path: FsPath): SimulatedNode | undefined {
    return this.#nodes.get(keyOf(path));
  }

  /** The bytes of the file at `path`, or null when there is no file there. */
  readFile(path: FsPath): Buffer | null {
    const node = this.#nodes.get(keyOf(path));
    return node?.kind === 'file' ? Buffer.from(node.data) : null;
  }

  /** The names in the folder `path`, sorted. */
  list(path: FsPath): string[] {
    const key = keyOf(path);
    const prefix = key === '/' ? '/' : `${key}/`;
    return [...this.#nodes.keys()].filter((k) => k !== key && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => shownKey(nameOf(k))).sort();
  }

  /** Reading the file at `path` fails with `code` from now on (until `healReads`). */
  failReads(path: FsPath, code = 'EIO'): void {
    this.#readFailures.set(keyOf(path), code);
  }

  healReads(path: FsPath): void {
    this.#readFailures.delete(keyOf(path));
  }

  /** The next placement stops at `point` as if the process died there (see the module header). */
  crashNext(point: CrashPoint): void {
    this.#crash = point;
  }

  /** The next placement writes one byte different from what it read. */
  corruptNextWrite(): void {
    this.#corrupt = true;
  }

  /** Bytes of file data on the volume holding `path`. */
  used(path: FsPath): number {
    const volume = this.volumeOf(keyOf(path));
    let total = 0;
    for (const [key, node] of this.#nodes) if (node.kind === 'file' && this.volumeOf(key) === volume) total += node.data.length;
    return total;
  }

  // --- for SimulatedFilePlacer ----------------------------------------------------------------

  /** The root of the volume holding `key`. */
  volumeOf(key: string): string {
    let best = '/';
    for (const root of this.#volumes.keys()) if ((key === root || key.startsWith(`${root}/`)) && root.length > best.length) best = root;
    return best;
  }

  capacityOf(volume: string): number {
    return this.#volumes.get(volume) ?? Number.POSITIVE_INFINITY;
  }

  node(key: string): SimulatedNode | undefined {
    return this.#nodes.get(key);
  }

  set(key: string, node: SimulatedNode): void {
    this.#nodes.set(key, node);
  }

  /** Removes `key` and, for a folder, what it holds. */
  remove(key: string): void {
    for (const k of [...this.#nodes.keys()]) if (k === key || k.startsWith(`${key}/`)) this.#nodes.delete(k);
  }

  /** Renames `from` (and what it holds) to `to`. */
  rename(from: string, to: string): void {
    for (const [k, node] of [...this.#nodes]) {
      if (k !== from && !k.startsWith(`${from}/`)) continue;
      this.#nodes.delete(k);
      this.#nodes.set(to + k.slice(from.length), node);
    }
  }

  childrenOf(key: string): string[] {
    const prefix = key === '/' ? '/' : `${key}/`;
    return [...this.#nodes.keys()].filter((k) => k !== key && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'));
  }

  readFailure(key: string): string | undefined {
    return this.#readFailures.get(key);
  }

  takeCrash(): CrashPoint | null {
    const point = this.#crash;
    this.#crash = null;
    return point;
  }

  takeCorruption(): boolean {
    const corrupt = this.#corrupt;
    this.#corrupt = false;
    return corrupt;
  }
}

export class SimulatedFilePlacer implements FilePlacer {
  readonly #live = new Set<string>();

  constructor(readonly files: SimulatedFiles) {}

  async place(source: FsPath | Readable, destination: FsPath, options: PlaceOptions = {}): Promise<Placed> {
    const { signal } = options;
    signal?.throwIfAborted();
    const files = this.files;
    const destKey = keyOf(destination);
    const folderKey = parentKey(destKey);
    const folder = files.node(folderKey);
    if (!folder) throw osError('ENOENT', destKey);
    if (folder.kind !== 'folder') throw osError('ENOTDIR', destKey);
    const tempKey = `${folderKey === '/' ? '' : folderKey}/${TEMPORARY_PREFIX}${randomBytes(8).toString('hex')}`;
    const temp: SimulatedNode & { kind: 'file' } = { kind: 'file', data: Buffer.alloc(0), mode: 0o600, uid: 0, gid: 0, mtimeMs: Date.now(), atimeMs: Date.now() };
    const crash = files.takeCrash();
    const corrupt = files.takeCorruption();
    const volume = files.volumeOf(destKey);
    files.set(tempKey, temp);
    this.#live.add(tempKey);
    try {
      const read = await createXXHash128(); // the same XXH3-128 as the real hasher's thread
      let readBytes = 0;
      let metadata = options.metadata;
      const write = async (chunk: Buffer) => {
        signal?.throwIfAborted();
        if (files.used(Buffer.from(volume, 'latin1')) + chunk.length > files.capacityOf(volume)) throw osError('ENOSPC', tempKey);
        read.update(chunk);
        readBytes += chunk.length;
        temp.data = Buffer.concat([temp.data, chunk]);
        if (crash === 'mid-write') throw new SimulatedCrash(crash);
        await Promise.resolve();
      };
      if (typeof source === 'string' || Buffer.isBuffer(source)) {
        const node = this.#readable(keyOf(source));
        metadata ??= { mode: node.mode, uid: node.uid, gid: node.gid, mtimeMs: node.mtimeMs, atimeMs: node.atimeMs };
        for (let at = 0; at < node.data.length; at += CHUNK) await write(node.data.subarray(at, at + CHUNK));
      } else {
        for await (const chunk of source as AsyncIterable<Buffer | string>) await write(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
        signal?.throwIfAborted();
      }
      if (corrupt && temp.data.length > 0) temp.data[temp.data.length >> 1] = temp.data[temp.data.length >> 1]! ^ 0x01;
      const now = Date.now();
      metadata ??= { mode: 0o644 };
      Object.assign(temp, { mode: metadata.mode & 0o7777, uid: metadata.uid ?? 0, gid: metadata.gid ?? 0, mtimeMs: metadata.mtimeMs ?? now, atimeMs: metadata.atimeMs ?? metadata.mtimeMs ?? now });
      const readHash: ContentHash = { algorithm: HASH_ALGORITHM, hex: read.digest('hex'), bytes: readBytes };
      const written = hashOf(temp.data);
      for (const wanted of [readHash, options.expected ?? readHash]) {
        if (written.hex !== wanted.hex || written.bytes !== wanted.bytes) throw new ContentMismatchError(shownPath(destination), wanted, written);
      }
      if (crash === 'before-rename') throw new SimulatedCrash(crash);
      signal?.throwIfAborted();
      this.#name(tempKey, destKey, options.replace ?? false);
      return { hash: written };
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) files.remove(tempKey);
      throw error;
    } finally {
      this.#live.delete(tempKey);
    }
  }

  async move(source: FsPath, destination: FsPath, options: MoveOptions = {}): Promise<Moved> {
    const files = this.files;
    const from = keyOf(source);
    const to = keyOf(destination);
    const replace = options.replace ?? false;
    const node = files.node(from);
    if (!node) throw osError('ENOENT', from);
    const there = files.node(to);
    const target = files.node(parentKey(to));
    if (!target) throw osError('ENOENT', to);
    if (target.kind !== 'folder') throw osError('ENOTDIR', to);
    if (files.volumeOf(from) === files.volumeOf(to)) {
      if (node.kind === 'folder') {
        if (there && !replace) throw osError('EEXIST', to);
        if (there && there.kind !== 'folder') throw osError('ENOTDIR', to);
        if (there && files.childrenOf(to).length > 0) throw osError('ENOTEMPTY', to);
        files.remove(to);
        files.rename(from, to);
      } else this.#name(from, to, replace);
      return { how: 'renamed' };
    }
    if (node.kind === 'folder') throw osError('EXDEV', from);
    if (node.kind === 'link') {
      this.#name(from, to, replace);
      return { how: 'copied' };
    }
    const { hash } = await this.place(source, destination, { replace, signal: options.signal });
    files.remove(from);
    return { how: 'copied', hash };
  }

  async hash(path: FsPath, signal?: AbortSignal): Promise<ContentHash> {
    signal?.throwIfAborted();
    return hashOf(this.#readable(keyOf(path)).data);
  }

  async syncTree(folder: FsPath, signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
    const tally = { files: 0, bytes: 0 };
    const walk = (key: string) => {
      signal?.throwIfAborted();
      const node = this.files.node(key);
      if (!node) throw osError('ENOENT', key);
      if (node.kind !== 'folder') throw osError('ENOTDIR', key);
      for (const child of this.files.childrenOf(key)) {
        const inner = this.files.node(child)!;
        if (inner.kind === 'folder') walk(child);
        else {
          tally.files++;
          if (inner.kind === 'file') tally.bytes += inner.data.length;
        }
      }
    };
    walk(keyOf(folder));
    return tally;
  }

  async removeTemporaries(folder: FsPath): Promise<string[]> {
    const key = keyOf(folder);
    const node = this.files.node(key);
    if (!node) throw osError('ENOENT', key);
    if (node.kind !== 'folder') throw osError('ENOTDIR', key);
    const removed: string[] = [];
    for (const child of this.files.childrenOf(key)) {
      const name = shownKey(nameOf(child));
      if (!TEMPORARY_NAME.test(name) || this.#live.has(child) || this.files.node(child)?.kind === 'folder') continue;
      this.files.remove(child);
      removed.push(name);
    }
    return removed;
  }

  /** The file at `key` for reading, or the error reading it would give. */
  #readable(key: string): SimulatedNode & { kind: 'file' } {
    const node = this.files.node(key);
    if (!node) throw osError('ENOENT', key);
    if (node.kind === 'link') throw osError('ELOOP', key);
    if (node.kind === 'folder') throw osError('EISDIR', key);
    const failure = this.files.readFailure(key);
    if (failure) throw osError(failure, key);
    return node;
  }

  /** `from` (a file or a link) under the name `to`, replacing a file there only when asked. */
  #name(from: string, to: string, replace: boolean): void {
    const there = this.files.node(to);
    if (there && !replace) throw osError('EEXIST', to);
    if (there?.kind === 'folder') throw osError('EISDIR', to);
    this.files.set(to, this.files.node(from)!);
    this.files.remove(from);
  }
}

/** One XXH3-128 instance for the twin's whole-buffer hashes (synchronous: never shared across an await). */
const whole = await createXXHash128();

function hashOf(data: Buffer): ContentHash {
  return { algorithm: HASH_ALGORITHM, hex: whole.init().update(data).digest('hex'), bytes: data.length };
}
