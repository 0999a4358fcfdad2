/**
 * `FilePlacer` on a real filesystem with node:fs (the contract is in file-placer.ts). Linux
 * specifics, each for a reason:
 * - the temporary file is opened `O_CREAT | O_EXCL | O_NOFOLLOW` (never into something someone
 *   put under its name), the source `O_NOFOLLOW` (a link is not a file to copy);
 * - without `replace`, the temporary file gets the destination's name with link(2) and then loses
 *   its own: link never replaces, so a file that appeared meanwhile is never written over.
 *   Filesystems without hard links (FAT, exFAT) fall back to a check and a rename, as a folder
 *   does (Node has no renameat2(RENAME_NOREPLACE));
 * - hashes are computed in the worker thread of hasher.ts; the copy itself is asynchronous I/O.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { link, lstat, open, readdir, readlink, rename, symlink, unlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { hasher as processHasher, type Hasher } from './hasher.js';
import {
  ContentMismatchError,
  inFolder,
  parentOf,
  shownPath,
  TEMPORARY_NAME,
  TEMPORARY_PREFIX,
  type ContentHash,
  type FileMetadata,
  type FilePlacer,
  type FsPath,
  type Moved,
  type MoveOptions,
  type PlaceOptions,
  type Placed,
} from './file-placer.js';

const CHUNK = 1 << 20;
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** link(2) errors of filesystems that have no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export class LinuxFilePlacer implements FilePlacer {
  /** Names of the temporary files this process is writing now (`removeTemporaries()` leaves them). */
  readonly #live = new Set<string>();

  constructor(private readonly hasher: Hasher = processHasher) {}

  async place(source: FsPath | Readable, destination: FsPath, options: PlaceOptions = {}): Promise<Placed> {
    const { signal } = options;
    signal?.throwIfAborted();
    return this.#withTemporary(destination, async (temp) => {
      const out = await open(temp, NEW_FILE, 0o600);
      let read: ContentHash;
      try {
        const session = this.hasher.session();
        let metadata = options.metadata;
        try {
          if (typeof source === 'string' || Buffer.isBuffer(source)) {
            const input = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
            try {
              metadata ??= metadataOf(await input.stat());
              const buffer = Buffer.allocUnsafe(CHUNK);
              for (;;) {
                signal?.throwIfAborted();
                const { bytesRead } = await input.read(buffer, 0, CHUNK, null);
                if (bytesRead === 0) break;
                await writeAll(out, buffer.subarray(0, bytesRead));
                await session.update(buffer.subarray(0, bytesRead));
              }
            } finally {
              await input.close();
            }
          } else {
            for await (const chunk of source as AsyncIterable<Buffer | string>) {
              signal?.throwIfAborted();
              const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              await writeAll(out, bytes);
              await session.update(bytes);
            }
            signal?.throwIfAborted();
          }
        } finally {
          read = await session.digest();
        }
        await giveMetadata(out, metadata ?? { mode: 0o644 });
        await out.sync();
      } finally {
        await out.close();
      }
      // Read back what reached the disk and compare it with what was read from the source.
      const written = await this.hasher.hashFile(temp, signal);
      for (const wanted of [read, options.expected ?? read]) {
        if (written.hex !== wanted.hex || written.bytes !== wanted.bytes) throw new ContentMismatchError(shownPath(destination), wanted, written);
      }
      signal?.throwIfAborted();
      await this.#name(temp, destination, options.replace ?? false, options.syncFolder ?? true);
      return { hash: written };
    });
  }

  async move(source: FsPath, destination: FsPath, options: MoveOptions = {}): Promise<Moved> {
    const replace = options.replace ?? false;
    const syncs = options.syncFolder ?? true;
    const info = await lstat(source);
    try {
      if (!info.isDirectory()) await this.#name(source, destination, replace, syncs);
      else {
        if (!replace && (await lstat(destination).catch(() => null))) throw existsError(destination);
        await rename(source, destination);
        if (syncs) await syncFolder(parentOf(destination));
      }
      return { how: 'renamed' };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV' || info.isDirectory()) throw error;
    }
    // Across filesystems: a verified copy under the new name, durable (its folder fsynced whatever
    // `syncFolder` says) before the source is removed: a power cut must never lose both names.
    let moved: Moved;
    if (info.isSymbolicLink()) {
      const target = await readlink(source, { encoding: 'buffer' });
      await this.#withTemporary(destination, async (temp) => {
        await symlink(target, temp);
        await this.#name(temp, destination, replace, true);
      });
      moved = { how: 'copied' };
    } else {
      const { hash } = await this.place(source, destination, { replace, signal: options.signal, metadata: metadataOf(info) });
      moved = { how: 'copied', hash };
    }
    await unlink(source);
    if (syncs) await syncFolder(parentOf(source));
    return moved;
  }

  hash(path: FsPath, signal?: AbortSignal): Promise<ContentHash> {
    return this.hasher.hashFile(path, signal);
  }

  async syncTree(folder: FsPath, signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
    const tally = { files: 0, bytes: 0 };
    const walk = async (at: FsPath): Promise<void> => {
      signal?.throwIfAborted();
      for (const entry of await readdir(at, { encoding: 'buffer', withFileTypes: true })) {
        const path = inFolder(at, entry.name as unknown as Buffer);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) {
          const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
          try {
            tally.bytes += (await handle.stat()).size;
            await handle.sync();
          } finally {
            await handle.close();
          }
          tally.files++;
        } else tally.files++;
      }
      await syncFolder(at);
    };
    await walk(folder);
    return tally;
  }

  async removeTemporaries(folder: FsPath): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(folder)) {
      if (!TEMPORARY_NAME.test(name) || this.#live.has(name)) continue;
      const path = inFolder(folder, name);
      const info = await lstat(path).catch(() => null);
      if (!info || info.isDirectory()) continue;
      await unlink(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
      removed.push(name);
    }
    if (removed.length > 0) await syncFolder(folder);
    return removed;
  }

  /** Runs `work` with a fresh temporary name beside `destination`; whatever is left under that name afterwards is removed. */
  async #withTemporary<T>(destination: FsPath, work: (temp: FsPath) => Promise<T>): Promise<T> {
    const name = `${TEMPORARY_PREFIX}${randomBytes(8).toString('hex')}`;
    const temp = inFolder(parentOf(destination), name);
    this.#live.add(name);
    try {
      return await work(temp);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    } finally {
      this.#live.delete(name);
    }
  }

  /** Gives the file or link `from` the name `to` (replacing what is there only when asked), then fsyncs `to`'s folder when `syncs`. */
  async #name(from: FsPath, to: FsPath, replace: boolean, syncs: boolean): Promise<void> {
    if (replace) await rename(from, to);
    else {
      try {
        await link(from, to);
        await unlink(from);
      } catch (error) {
        if (!NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
        if (await lstat(to).catch(() => null)) throw existsError(to);
        await rename(from, to);
      }
    }
    if (syncs) await syncFolder(parentOf(to));
  }
}

function metadataOf(info: Stats): FileMetadata {
  return { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, mtimeMs: info.mtimeMs, atimeMs: info.atimeMs };
}

async function giveMetadata(handle: FileHandle, metadata: FileMetadata): Promise<void> {
  if (metadata.uid !== undefined || metadata.gid !== undefined) await handle.chown(metadata.uid ?? -1, metadata.gid ?? -1).catch(() => undefined);
  await handle.chmod(metadata.mode & 0o7777); // after chown, which clears set-id bits
  if (metadata.mtimeMs !== undefined) await handle.utimes((metadata.atimeMs ?? metadata.mtimeMs) / 1000, metadata.mtimeMs / 1000);
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; ) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
}

async function syncFolder(path: FsPath): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function existsError(path: FsPath): NodeJS.ErrnoException {
  return Object.assign(new Error(`EEXIST: ${JSON.stringify(shownPath(path))} already exists`), { code: 'EEXIST', path: shownPath(path) });
}
