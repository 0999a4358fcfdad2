/**
 * The interlocks before a source is backed up (issue 4, "Safety interlocks before writing
 * anything"): a source that is missing, is not a folder, cannot be read, or is suddenly empty while
 * its last backup had files is NOT backed up — an empty folder where photos used to be usually
 * means the disk behind it is not mounted, and a backup of nothing must never become the newest
 * snapshot (nor let retention prune the good ones).
 *
 * And Safehold's own data folder (secrets, catalog, the mount folders of the drives being written)
 * never ends up in a snapshot (issue 8): a source that is the data folder or lies inside it (symbolic
 * links resolved) is refused; a source that contains it (a parent, `/`) is backed up with the data
 * folder excluded, every backup drive's repository excluded wherever that drive is mounted, and,
 * for `/`, without crossing into other filesystems (/proc, /sys, /dev, /run, other disks).
 * docs/backup-drives.md ("What a source may be") says why. Pure (the caller gathers the facts), but
 * for `keptBy`, which looks at the files of a sample as restic did.
 */
import { lstat, open } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { FolderFacts } from '../../system/files/files.js';
import { MARKER_FILE, MARKER_FORMAT } from '../../system/marker/drive-marker.js';

export type SourceCheck =
  | { ok: true }
  | { ok: false; code: 'missing' | 'not-a-folder' | 'unreadable' | 'suddenly-empty' | 'inside-data-folder'; message: string };

/**
 * Whether `path` is `folder` or lies inside it. Both absolute and normalized; compare real paths
 * (symbolic links resolved) to learn where a folder really is.
 */
export function isWithin(path: string, folder: string): boolean {
  return path === folder || folder === sep || path.startsWith(folder + sep);
}

/** The refusal of a source whose real path is the data folder or inside it, or null. `dataFolder` is real. */
export function insideDataFolder(path: string, realPath: string, dataFolder: string): string | null {
  if (!isWithin(realPath, dataFolder)) return null;
  const where = realPath === path ? path : `${path} (which is ${realPath})`;
  return `${where} is inside Safehold's own data folder ${dataFolder}, which holds the secrets, the catalog and the mounted backup drives: choose the folders that hold your files.`;
}

/**
 * `checkSource` judges the facts gathered just before the backup: a symbolic link may have changed
 * since the source was added. `dataFolder` is the data folder's real path.
 */
export function checkSource(source: { name: string; path: string }, facts: FolderFacts, lastBackupFiles: number | null, dataFolder: string): SourceCheck {
  const which = `Source "${source.name}" (${source.path})`;
  if (!facts.exists) {
    return { ok: false, code: 'missing', message: `${which} does not exist. Is its disk mounted? It was not backed up; earlier backups are untouched.` };
  }
  if (!facts.isDirectory) return { ok: false, code: 'not-a-folder', message: `${which} is not a folder. It was not backed up.` };
  const inside = insideDataFolder(source.path, facts.realPath ?? source.path, dataFolder);
  if (inside) return { ok: false, code: 'inside-data-folder', message: `Source "${source.name}": ${inside} It was not backed up.` };
  if (!facts.readable) {
    return { ok: false, code: 'unreadable', message: `${which} cannot be read by Safehold (permissions?). It was not backed up.` };
  }
  if (facts.hasEntries === false && lastBackupFiles !== null && lastBackupFiles > 0) {
    return {
      ok: false,
      code: 'suddenly-empty',
      message: `${which} is empty, but its last backup had ${lastBackupFiles} file${lastBackupFiles === 1 ? '' : 's'}. Is its disk mounted? It was not backed up, so the earlier backups stay the newest.`,
    };
  }
  return { ok: true };
}

/**
 * The first bytes of every drive marker as `serializeMarker` writes it: restic's
 * `--exclude-if-present drive.json:<these bytes>` then leaves out the `Safehold/` folder of any
 * backup drive (its repository, its README) wherever that drive is mounted; the marker itself stays.
 */
export const MARKER_HEADER = `{\n  "format": "${MARKER_FORMAT}"`;

/** What every backup of a source passes to restic besides the owner's own excludes. */
export interface BackupGuards {
  /** The folders left out, as absolute paths: the data folder as restic will meet it (the patterns of `excludes`). */
  folders: string[];
  /** Absolute restic `--exclude` patterns (glob characters escaped): the data folder as restic will meet it. */
  excludes: string[];
  /** restic `--exclude-if-present` specs: the folder of every backup drive's repository. */
  excludeIfPresent: string[];
  /** restic `--one-file-system`: for a source that is `/` (symbolic links resolved). */
  oneFileSystem: boolean;
}

/**
 * The guards for a backup of `path` (the source's path as restic is given it), whose real path is
 * `realPath`, on a box whose data folder's real path is `dataFolder`. When the source contains the
 * data folder, it is excluded both where restic walks to it through the source's path and at its
 * real path (the same folder when no symbolic link is on the way). A source that leads into the
 * data folder (checkSource refuses it) is excluded whole.
 */
export function backupGuards(path: string, realPath: string, dataFolder: string): BackupGuards {
  const folders: string[] = [];
  // Refused by checkSource; should a symbolic link change between that check and now, still nothing of it.
  if (isWithin(realPath, dataFolder)) folders.push(path);
  else if (isWithin(dataFolder, realPath)) folders.push(...new Set([joinInside(path, relative(realPath, dataFolder)), dataFolder]));
  return { folders, excludes: folders.map(literalPattern), excludeIfPresent: [`${MARKER_FILE}:${MARKER_HEADER}`], oneFileSystem: realPath === sep };
}

/**
 * The files of `files` (under `sourcePath`) that a backup with these guards holds, by the same
 * rules as restic: not in a left-out folder, not beside (or below) a drive marker other than the
 * marker itself, on the source's own filesystem when `oneFileSystem`. For the restore drill's sample.
 */
export async function keptBy<T extends { path: string }>(guards: BackupGuards, sourcePath: string, files: T[]): Promise<T[]> {
  const rootDevice = guards.oneFileSystem ? (await lstat(sourcePath).catch(() => null))?.dev : undefined;
  const marked = new Map<string, Promise<boolean>>();
  const hasMarker = (folder: string) => {
    let known = marked.get(folder);
    if (!known) marked.set(folder, (known = startsWith(join(folder, MARKER_FILE), MARKER_HEADER)));
    return known;
  };
  const kept: T[] = [];
  for (const file of files) {
    if (guards.folders.some((folder) => isWithin(file.path, folder))) continue;
    if (rootDevice !== undefined && (await lstat(file.path).catch(() => null))?.dev !== rootDevice) continue;
    let inMarked = false;
    for (let folder = dirname(file.path); isWithin(folder, sourcePath) && !inMarked; folder = dirname(folder)) {
      inMarked = (await hasMarker(folder)) && !(folder === dirname(file.path) && file.path === join(folder, MARKER_FILE));
      if (folder === sourcePath || folder === sep) break;
    }
    if (!inMarked) kept.push(file);
  }
  return kept;
}

/** Whether `file` is a regular file whose first bytes are `header` (false when it cannot be read). */
async function startsWith(file: string, header: string): Promise<boolean> {
  const wanted = Buffer.from(header);
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return false;
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(wanted.length), 0, wanted.length, 0);
    return bytesRead === wanted.length && buffer.equals(wanted);
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

function joinInside(folder: string, rel: string): string {
  if (!rel) return folder;
  return folder.endsWith(sep) ? folder + rel : folder + sep + rel;
}

/** A restic pattern matching exactly `path`: each of `* ? [ \` in a class of its own (restic uses Go's filepath.Match). */
export function literalPattern(path: string): string {
  return path.replace(/[*?[\\]/g, (c) => (c === '\\' ? '[\\\\]' : `[${c}]`));
}
