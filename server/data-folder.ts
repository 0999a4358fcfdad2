/**
 * Safehold's data folder (`--data`, SAFEHOLD_DATA): the catalog (with the admin's password hash),
 * the secrets, the setup code, the local socket, the mount folders of the backup drives. Only the
 * service's user may read any of it (docs/security.md, "The data folder").
 *
 * Contract of `prepareDataFolder(path)`, called at start before anything is written there:
 * - the folder is made when missing (mode 0700, parents too);
 * - a folder owned by another user than the one running the service is refused with words
 *   (`DataFolderError`): that user could read or loosen everything in it, whatever its mode;
 * - the folder is set to 0700 however it was found (a 0755 folder made by hand or by an older
 *   Safehold), each file directly in it to 0600 (catalog.db and its -wal and -shm, setup-code, the
 *   socket), each folder directly in it to 0700 (mnt, secrets, …), and each file in `secrets/` to
 *   0600. Mount folders are not entered (a mounted drive's files are its own). A mode that cannot be
 *   set (EPERM: a file of another user) is refused with words, naming the file;
 * - returns the folder's real path (symbolic links resolved): the one place to compare sources with.
 * Idempotent. The service's umask (0077, set in startService) keeps what is made later private too.
 *
 * A start that fails leaves a data folder as it found it: `examineDataFolder(path)`, called before
 * anything is written, notes whether the folder is missing or empty; `undoFreshDataFolder()` then
 * removes what the failed start made there, and only then (never a folder that held anything).
 */
import { chmod, lstat, mkdir, readdir, realpath, rmdir, unlink } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The data folder cannot be made private: the service does not start. */
export class DataFolderError extends Error {}

/** Folders in the data folder whose files are all made 0600 (the others are only closed to others: 0700). */
const PRIVATE_FILES_IN = ['secrets'];

export async function prepareDataFolder(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const real = await realpath(path);
  const info = await lstat(real);
  if (!info.isDirectory()) throw new DataFolderError(`The data folder ${path} is not a folder.`);
  const uid = process.geteuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new DataFolderError(
      `The data folder ${path} belongs to another user (uid ${info.uid}), not to ${userName()} (uid ${uid}) that runs Safehold: ` +
        'that user could read the secrets and the admin password hash in it. Give it to the service\'s user (chown -R), or choose another folder with --data. Safehold did not start.',
    );
  }
  await tighten(real, 0o700);
  for (const entry of await readdir(real, { withFileTypes: true })) {
    const at = join(real, entry.name);
    if (entry.isDirectory()) {
      await tighten(at, 0o700);
      if (PRIVATE_FILES_IN.includes(entry.name)) {
        for (const inner of await readdir(at, { withFileTypes: true })) if (inner.isFile()) await tighten(join(at, inner.name), 0o600);
      }
    } else if (entry.isFile() || entry.isSocket()) {
      await tighten(at, 0o600);
    }
  }
  return real;
}

/** What a data folder was before this start wrote anything (see `undoFreshDataFolder`). */
export interface DataFolderBefore {
  path: string;
  /** The topmost folder this start makes (the data folder or one of its parents), or null when the data folder exists. */
  made: string | null;
  /** True when the folder is missing or holds nothing. */
  fresh: boolean;
}

/** Looks at the data folder before the start writes anything in it. Writes nothing. */
export async function examineDataFolder(path: string): Promise<DataFolderBefore> {
  const folder = resolve(path);
  let made: string | null = null;
  for (let at = folder; ; at = dirname(at)) {
    const found = await lstat(at).then(() => true, (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)));
    if (found) break;
    made = at;
    if (dirname(at) === at) break;
  }
  if (made) return { path: folder, made, fresh: true };
  const entries = await readdir(folder).catch(() => null);
  return { path: folder, made: null, fresh: entries !== null && entries.length === 0 };
}

/**
 * After a failed start: when the data folder was fresh (`examineDataFolder`), removes what is in it
 * now (all of it this start's), then the folders the start made (the data folder and missing
 * parents, each only when empty). Never crosses into another filesystem (a mounted drive) and never
 * follows a symbolic link: what it may not remove stays, and is returned. A folder that held
 * anything before is left alone. Returns the paths left behind (none when all is undone).
 */
export async function undoFreshDataFolder(before: DataFolderBefore): Promise<string[]> {
  if (!before.fresh) return [];
  const left: string[] = [];
  const top = await lstat(before.path).catch(() => null);
  if (!top) return [];
  if (!top.isDirectory()) return [before.path];
  await emptyFolder(before.path, top.dev, left);
  if (!before.made) return left;
  for (let at = before.path; ; at = dirname(at)) {
    const removed = await rmdir(at).then(() => true, () => false);
    if (!removed) {
      if (left.length === 0) left.push(at);
      break;
    }
    if (at === before.made) break;
  }
  return left;
}

async function emptyFolder(folder: string, device: number, left: string[]): Promise<void> {
  for (const name of await readdir(folder).catch(() => [])) {
    const at = join(folder, name);
    const info = await lstat(at).catch(() => null);
    if (!info) continue;
    if (info.dev !== device) {
      left.push(at);
      continue;
    }
    if (info.isDirectory()) {
      await emptyFolder(at, device, left);
      await rmdir(at).catch(() => left.push(at));
    } else {
      await unlink(at).catch(() => left.push(at));
    }
  }
}

/** chmod, with words when the service's user may not. Never follows a symbolic link (callers pass only files and folders). */
async function tighten(path: string, mode: number): Promise<void> {
  try {
    await chmod(path, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataFolderError(
      `Safehold cannot make ${path} private (mode ${mode.toString(8).padStart(4, '0')}: ${code ?? (error as Error).message}). It must belong to ${userName()}, the user that runs Safehold (chown -R the data folder). Safehold did not start.`,
      { cause: error },
    );
  }
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'the service\'s user';
  }
}
