/**
 * What the API and the page see of backups onto rotation drives (types only: the page imports
 * them). docs/api.md, "Backups", describes the routes that return them.
 */

/** How one run of the plug-in backup ended. `partial`: some sources were refused or unreadable, the rest is backed up and verified. */
export type BackupOutcome = 'running' | 'good' | 'partial' | 'failed' | 'interrupted';

/** What a run tells of one file: see server/backups/file-notes.ts and docs/backup-drives.md. */
export type FileNoteKind = 'unreadable' | 'changed' | 'owner-cannot-read';

export interface FileNote {
  kind: FileNoteKind;
  /** The file's (or folder's) path on the box. */
  path: string;
  /** restic's words for an unreadable file; the mode and owner for one the owner cannot read; or null. */
  detail: string | null;
}

/** One source in one run. */
export interface SourceRunView {
  name: string;
  /**
   * `backed-up` (a snapshot was written); `refused` by an interlock (missing, suddenly empty…);
   * `failed` while restic ran; `interrupted`: the run stopped while it was backed up or before it
   * was reached (no snapshot).
   */
  outcome: 'backed-up' | 'refused' | 'failed' | 'interrupted';
  /** restic's full snapshot id, when one was written. */
  snapshotId: string | null;
  files: number | null;
  bytes: number | null;
  filesNew: number | null;
  filesChanged: number | null;
  /** Why the tripwire fired on this snapshot, or null. */
  suspicious: string | null;
  message: string | null;
  /** Files the owner should hear of, at most 20 of each kind (runs before these existed: empty). */
  fileNotes: FileNote[];
  /** How many of each kind there were in all. */
  fileNoteCounts: Record<FileNoteKind, number>;
}

export interface CheckView {
  ok: boolean;
  /** `3/8`: the slice of the repository's data read back this time. */
  slice: string;
  problems: string[];
}

export interface DrillView {
  ok: boolean;
  /** Files restored and compared with the box's copies. */
  files: number;
  bytes: number;
  /** Paths (in the snapshot) whose restored bytes differ from the box's unchanged file. */
  mismatches: string[];
  /** Why no drill was possible (no unchanged file to compare), or null. */
  note: string | null;
}

/** One plug-in backup run (`GET /backups/runs`). */
export interface BackupRunView {
  id: number;
  driveId: string;
  driveName: string;
  jobId: number | null;
  startedAt: string;
  finishedAt: string | null;
  outcome: BackupOutcome;
  message: string | null;
  sources: SourceRunView[];
  check: CheckView | null;
  drill: DrillView | null;
  /** Synced, unmounted and flushed at the end: the owner may unplug the drive. */
  safeToUnplug: boolean;
}

/** A snapshot on a rotation drive, as the catalog last saw it (so it is known while the drive is away). */
export interface SnapshotView {
  id: string;
  shortId: string;
  source: string;
  /** The folder on the box it was taken of. */
  paths: string[];
  time: string;
  files: number | null;
  bytes: number | null;
  /** Why the mass-change tripwire fired, or null. */
  suspicious: string | null;
}

/** The rotation ledger: one registered drive and everything the owner wants to know of it. */
export interface LedgerEntry {
  driveId: string;
  name: string;
  model: string | null;
  serial: string | null;
  connected: boolean;
  /**
   * `away`: not plugged in. `backing-up`: the plug-in job runs (see `jobId`). `safe-to-unplug`:
   * plugged in, the last run ended and the drive is unmounted. `in-use`: mounted again for
   * browsing or restoring (unmounted 5 minutes after the last use): not safe to unplug now.
   * `attention`: plugged in and the last run did not end well.
   */
  state: 'away' | 'backing-up' | 'safe-to-unplug' | 'in-use' | 'attention';
  /** The running or queued backup job, or null. */
  jobId: number | null;
  capacityBytes: number | null;
  freeBytes: number | null;
  registeredAt: string;
  lastPluggedAt: string | null;
  /** When it was last seen going away; null while plugged in or never seen leaving. */
  awaySince: string | null;
  lastGoodBackupAt: string | null;
  lastRun: BackupRunView | null;
  snapshotCount: number;
  oldestSnapshotAt: string | null;
  newestSnapshotAt: string | null;
  lastCheck: (CheckView & { at: string }) | null;
  /** Share (0–1) of the repository's data read back in the current round of `t` slices. */
  readBackFraction: number;
  /** When a round last read every slice back, or null. */
  fullyReadBackAt: string | null;
  lastDrill: (DrillView & { at: string }) | null;
  /** The tripwire fired: retention (forget and prune) is suspended on this drive until the owner looks. */
  pruneSuspended: { since: string; reason: string } | null;
  /** When the drive will be full at the pace of its recent runs; null when it is not filling up or there is too little history. */
  fullBy: string | null;
}

/** The dashboard's answer to "am I protected?" (`GET /backups/protection`). */
export interface ProtectionView {
  level: 'ok' | 'attention' | 'problem';
  headline: string;
  /** The newest good backup on any drive. */
  newestBackup: { at: string; driveName: string } | null;
  /** The drive away the longest (null with fewer than two drives, or none away). */
  longestAway: { driveName: string; since: string } | null;
  /** Why a swap is due (the same drive plugged in, or the others away, for `swapAfterDays`), or null. */
  swapDue: string | null;
  /** No drive got a good backup for `staleAfterDays`: the words, or null. */
  stale: string | null;
  /** The recovery kit has not been saved since the last drive was added. */
  recoveryKitNeeded: boolean;
  drives: number;
  sources: number;
}

/** Backup settings (`GET` / `PUT /backups/settings`); every field has the default shown in docs/backup-drives.md. */
export interface BackupSettings {
  retention: { daily: number; weekly: number; monthly: number; yearly: number };
  tripwire: { percent: number; minFiles: number };
  /** `t` of `--read-data-subset n/t`: every pack is read back within this many plug-ins. */
  checkSlices: number;
  drill: { files: number; maxBytes: number };
  /** Remind to swap when the same drive stayed plugged in, or the others away, this long. */
  swapAfterDays: number;
  /** Remind when no drive got a good backup for this long. */
  staleAfterDays: number;
}

/** One entry of a snapshot folder (`GET /backups/drives/:id/snapshots/:snap/ls`). */
export interface BrowseEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** The path inside the snapshot (restic's, absolute): give it back to `ls`, `restore` and `download`. */
  path: string;
  size: number | null;
  mtime: string;
  /** False when the name had bytes that are not UTF-8 (shown with U+FFFD; restored with its real bytes). */
  nameIsExact: boolean;
}

/** The recovery kit (`GET /recovery-kit`): everything needed to restore with stock restic when the box is gone. */
export interface RecoveryKit {
  format: 'safehold-recovery-kit';
  version: 1;
  generatedAt: string;
  box: { hostname: string; boxId: string };
  resticVersion: string | null;
  repositories: RecoveryKitRepository[];
  /** When the owner last confirmed saving it, or null. */
  savedAt: string | null;
}

export interface RecoveryKitRepository {
  driveName: string;
  serial: string | null;
  wwn: string | null;
  model: string | null;
  /** The repository's folder relative to the root of the drive's filesystem: `Safehold/repository`. */
  pathOnDrive: string;
  /** The filesystem's label and UUID, to find it among other drives. */
  filesystemUuid: string | null;
  password: string;
  /** The sources backed up there (restic tags). */
  sources: string[];
}
