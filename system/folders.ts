/**
 * Folders held by descriptor, for writing as root into places a user controls (a restore into
 * /home/alice). Node has no `openat(2)`: a folder is opened with `O_DIRECTORY | O_NOFOLLOW` and then
 * named `/proc/self/fd/<fd>`, and a path `/proc/self/fd/<fd>/<name>` resolves `<name>` inside that
 * very folder wherever it has been moved since, as `openat(fd, name)` would. Linux only.
 *
 * Contract:
 * - `openFolder(path)` walks from `/` one name at a time, each opened with `O_NOFOLLOW` inside the
 *   folder opened before: a symbolic link anywhere on the path, something that is not a folder, or
 *   a missing part is a `FolderPathError` naming that part. Nothing is created.
 * - A `Folder` keeps naming the folder that was checked: renaming it, or putting a link under its
 *   old name, changes nothing for paths made with `at()` (and `forChild` for another process).
 * - `at(name)` leaves the last part to the call: `lstat`, `rename`, `rmdir`, `unlink`, `symlink`,
 *   `mkdir` and `open` with `O_NOFOLLOW` or `O_EXCL` do not follow a link there; `stat`, `chmod`,
 *   `chown`, `utimes`, plain `open` and `readdir` do, so use them only inside a private folder.
 * - `makePrivateChild()` makes a folder only this process's user can enter (0700), checked by
 *   descriptor after it is made (the owner of the folder holding it may swap the name meanwhile:
 *   then it is refused). What is inside a private folder cannot be touched by another user, so it
 *   may be worked on by path under its `at()`.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export type FolderProblem = 'link' | 'not-a-folder' | 'missing';

/** A part of a path that is not a real folder: which part, and what it is. */
export class FolderPathError extends Error {
  constructor(
    readonly path: string,
    readonly problem: FolderProblem,
    options?: ErrorOptions,
  ) {
    super(`${JSON.stringify(path)} ${problem === 'link' ? 'is a symbolic link' : problem === 'missing' ? 'does not exist' : 'is not a folder'}`, options);
    this.name = 'FolderPathError';
  }
}

/** A folder on the path that was opened, with its owner then (only root can change an owner). */
export interface TrailStep {
  path: string;
  uid: number;
}

export class Folder {
  private constructor(
    readonly handle: FileHandle,
    /** The path it was opened by (for messages: it may have been renamed since). */
    readonly path: string,
    /** `fstat` when it was opened. */
    readonly info: Stats,
    /** Every folder opened on the way from `/`, this one last. */
    readonly trail: readonly TrailStep[],
  ) {}

  /** Opens `name` in the folder `parent` names (a `/proc/self/fd` path) without following a link there. */
  static async openIn(parentPath: string | Buffer, name: string | Buffer, shown: string, trail: readonly TrailStep[]): Promise<Folder> {
    const path = typeof parentPath === 'string' && typeof name === 'string' ? `${parentPath}/${name}` : Buffer.concat([Buffer.from(parentPath), Buffer.from('/'), Buffer.from(name)]);
    let handle: FileHandle;
    try {
      handle = await open(path, FOLDER_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new FolderPathError(shown, 'missing', { cause: error });
      if (code === 'ENOTDIR' || code === 'ELOOP') {
        const what = await lstat(path).catch(() => null);
        throw new FolderPathError(shown, what?.isSymbolicLink() ? 'link' : what === null ? 'missing' : 'not-a-folder', { cause: error });
      }
      throw error;
    }
    const info = await handle.stat();
    return new Folder(handle, shown, info, [...trail, { path: shown, uid: info.uid }]);
  }

  /** `/proc/self/fd/<fd>`: this folder, for this process. */
  get fdPath(): string {
    return `/proc/self/fd/${this.handle.fd}`;
  }

  /** `/proc/<pid>/fd/<fd>`: this folder, for a child process of the same user (restic). */
  get forChild(): string {
    return `/proc/${process.pid}/fd/${this.handle.fd}`;
  }

  /** A path naming `name` inside this folder (see the module's contract for which calls follow a link there). */
  at(name: string | Buffer): Buffer {
    return Buffer.concat([Buffer.from(this.fdPath), Buffer.from('/'), Buffer.from(name)]);
  }

  /** The folder `name` inside this one, not following a link; `FolderPathError` when it is not a real folder. */
  child(name: string | Buffer): Promise<Folder> {
    return Folder.openIn(this.fdPath, name, join(this.path, Buffer.from(name).toString('utf8')), this.trail);
  }

  /** Like `child()`, but null when nothing is there. */
  async childIfAny(name: string | Buffer): Promise<Folder | null> {
    return this.child(name).catch((error: unknown) => (error instanceof FolderPathError && error.problem === 'missing' ? null : Promise.reject(error)));
  }

  /**
   * A new folder `name` here, mode 0700, that only this process's user can enter. Refused
   * (`FolderPathError`, or an `Error` saying it is not ours) when what is under the name once it is
   * made is not the folder this call made.
   */
  async makePrivateChild(name: string): Promise<Folder> {
    await mkdir(this.at(name), { mode: 0o700 });
    const shown = join(this.path, name);
    const replaced = (what: string, cause?: unknown) => new Error(`${JSON.stringify(shown)} was replaced by ${what} just after it was made: someone is changing ${this.path} meanwhile.`, { cause });
    const made = await this.child(name).catch((error: unknown) => {
      throw error instanceof FolderPathError ? replaced(error.problem === 'link' ? 'a symbolic link' : 'something else', error) : error;
    });
    if (made.info.uid !== (process.geteuid?.() ?? made.info.uid) || (made.info.mode & 0o077) !== 0) {
      await made.close();
      throw replaced("someone else's folder");
    }
    return made;
  }

  /**
   * Removes `inside`, a private folder made here by `makePrivateChild()`, with what it holds:
   * under whatever name it now has here (its owner may only have renamed it within this folder:
   * moving a folder elsewhere needs write access to it). Never follows a link; true when removed.
   */
  async removePrivateChild(inside: Folder): Promise<boolean> {
    for (const name of await readdir(inside.fdPath, { encoding: 'buffer' })) await rm(inside.at(name), { recursive: true, force: true });
    for (const name of await readdir(this.fdPath, { encoding: 'buffer' })) {
      const there = await lstat(this.at(name)).catch(() => null);
      if (there?.isDirectory() && there.ino === inside.info.ino && there.dev === inside.info.dev) {
        await rmdir(this.at(name)); // only ever an empty folder, never through a link
        return true;
      }
    }
    return false;
  }

  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** The folder at the absolute `path`, opened part by part from `/` without following a link (see the module's contract). */
export async function openFolder(path: string): Promise<Folder> {
  if (!path.startsWith('/')) throw new Error(`Not an absolute path: ${JSON.stringify(path)}`);
  let at = await Folder.openIn('', '', '/', []);
  for (const name of path.split('/').filter((p) => p !== '')) {
    try {
      const next = await at.child(name);
      await at.close();
      at = next;
    } catch (error) {
      await at.close();
      throw error;
    }
  }
  return at;
}
