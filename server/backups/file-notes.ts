/**
 * What a backup tells the owner about single files of a source (docs/backup-drives.md, "What a run
 * says about single files"). Pure: the service walks the folder and hands each entry's facts here.
 * - `unreadable`: restic could not read it (restic's own error): the snapshot does not have it;
 * - `changed`: modified after the backup of its folder began (and not after the walk saw it): it was
 *   read while it changed, or just after, so the snapshot may hold a torn copy (part old, part new);
 *   the next backup takes it again;
 * - `owner-cannot-read`: the service runs as root and reads every file, but the folder's owner
 *   could not: its mode and ownership keep them out (a 0000 file, another user's 0600 file, a folder
 *   they cannot open). It is in the snapshot, and a restore gives it back with the same mode and owner.
 */
import type { FileNote, FileNoteKind } from './backup.view.js';

/** Names kept per kind in a run's result (the counts are always whole). */
export const FILE_NOTES_SHOWN = 20;

/** The folder's owner as the kernel would judge a read: their uid and every group they are in. */
export interface FolderOwner {
  uid: number;
  groups: ReadonlySet<number>;
}

/** The facts of one entry that matter here (a subset of `fs.Stats`). */
export interface EntryFacts {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

/**
 * Whether `owner` may read a file (read bit) or open a folder (read and search bits) by its mode
 * bits, as the kernel checks them: the user's bits when they own it, else the group's when they are
 * in its group, else the others'. ACLs are not consulted. Anything else (links, devices) passes.
 */
export function ownerMayRead(entry: EntryFacts, owner: FolderOwner): boolean {
  if (owner.uid === 0 || !(entry.isFile || entry.isDirectory)) return true;
  const shift = entry.uid === owner.uid ? 6 : owner.groups.has(entry.gid) ? 3 : 0;
  const bits = (entry.mode >> shift) & 0o7;
  const need = entry.isDirectory ? 0o5 : 0o4;
  return (bits & need) === need;
}

/** How each kind is said after a file's path: the command line's words (the page has the same). */
export const FILE_NOTE_LABELS: Record<FileNoteKind, string> = {
  unreadable: 'could not be read, it is not in the backup',
  changed: 'changed while it was read, the backup may hold a torn copy',
  'owner-cannot-read': "the folder's owner cannot read it (it was backed up all the same)",
};

const COUNTED: Record<FileNoteKind, { one: string; many: string }> = {
  unreadable: { one: 'file could not be read (not in the backup)', many: 'files could not be read (not in the backup)' },
  changed: { one: 'file changed while it was read (the backup may hold a torn copy)', many: 'files changed while they were read (the backup may hold torn copies)' },
  'owner-cannot-read': { one: "file the folder's owner cannot read", many: "files the folder's owner cannot read" },
};

/** The notes of one source in one run: every one counted, the first `FILE_NOTES_SHOWN` of each kind named. */
export class FileNotes {
  readonly notes: FileNote[] = [];
  readonly counts: Record<FileNoteKind, number> = { unreadable: 0, changed: 0, 'owner-cannot-read': 0 };
  /** Folders the owner cannot open: what they hold is not named again. */
  readonly #closed: string[] = [];

  add(kind: FileNoteKind, path: string, detail: string | null = null): void {
    this.counts[kind]++;
    if (this.counts[kind] <= FILE_NOTES_SHOWN) this.notes.push({ kind, path, detail });
  }

  /**
   * Judges one entry of the folder, walked (a folder before what it holds) after its backup that
   * began at `startedAt`, its facts read at `seenAt` (ms, the kernel's clock): a modification time
   * between the two is a change during the backup; one later than `seenAt` is a clock that was
   * wrong when the file was written (a camera's), not a change. `owner` null: not judged for the owner.
   */
  judge(path: string, entry: EntryFacts, owner: FolderOwner | null, startedAt: number, seenAt: number): void {
    if (entry.isFile && entry.mtimeMs >= startedAt && entry.mtimeMs <= seenAt) this.add('changed', path);
    if (!owner || this.#closed.some((folder) => path.startsWith(`${folder}/`)) || ownerMayRead(entry, owner)) return;
    this.add('owner-cannot-read', path, `mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${entry.uid}`);
    if (entry.isDirectory) this.#closed.push(path);
  }

  /** One sentence for the source's message, or null when there is nothing to tell. */
  summary(): string | null {
    const parts = (Object.keys(this.counts) as FileNoteKind[]).filter((k) => this.counts[k] > 0).map((k) => `${this.counts[k]} ${this.counts[k] === 1 ? COUNTED[k].one : COUNTED[k].many}`);
    return parts.length ? `${parts.join('; ')}.` : null;
  }
}
