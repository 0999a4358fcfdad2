/**
 * The interlocks before a source is backed up (issue 4, "Safety interlocks before writing
 * anything"): a source that is missing, is not a folder, cannot be read, or is suddenly empty while
 * its last backup had files is NOT backed up — an empty folder where photos used to be usually
 * means the disk behind it is not mounted, and a backup of nothing must never become the newest
 * snapshot (nor let retention prune the good ones). Pure: the caller gathers the facts.
 */
import type { FolderFacts } from '../../system/files.js';

export type SourceCheck = { ok: true } | { ok: false; code: 'missing' | 'not-a-folder' | 'unreadable' | 'suddenly-empty'; message: string };

export function checkSource(source: { name: string; path: string }, facts: FolderFacts, lastBackupFiles: number | null): SourceCheck {
  const which = `Source "${source.name}" (${source.path})`;
  if (!facts.exists) {
    return { ok: false, code: 'missing', message: `${which} does not exist. Is its disk mounted? It was not backed up; earlier backups are untouched.` };
  }
  if (!facts.isDirectory) return { ok: false, code: 'not-a-folder', message: `${which} is not a folder. It was not backed up.` };
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
