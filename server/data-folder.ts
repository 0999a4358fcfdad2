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
 */
import { chmod, lstat, mkdir, readdir, realpath } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';

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
