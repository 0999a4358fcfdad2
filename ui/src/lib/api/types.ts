// Types of the HTTP API (/api/v1) as written in docs/api.md. Times are ISO 8601 strings in UTC,
// sizes are bytes. Drives, jobs and activity come from the server's domain models (below).

export interface ApiIssue {
  path: string;
  message: string;
}

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    issues?: ApiIssue[];
    retryAfterSeconds?: number;
    /** What to do about it (a 503, a failed test e-mail). */
    advice?: string;
    /** A finer reason than `code` (`mail_failed`: `auth-failed`, `no-mail-server`…). */
    kind?: string;
  };
}

export interface Health {
  status: 'ok';
  version: string;
  uptimeSeconds: number;
}

export interface SessionInfo {
  setupRequired: boolean;
  authenticated: boolean;
  username: string | null;
  csrfToken: string;
}

/** Answer to POST /setup and POST /login: the new session's user and CSRF token; login adds the failures since the last visit. */
export interface LoginAnswer {
  username: string;
  csrfToken: string;
  failedLogins?: FailedLogins | null;
}

export interface SetupRequest {
  setupCode: string;
  username?: string;
  password: string;
}

export interface LoginRequest {
  username: string;
  password: string;
}

/** POST /password: answered like a login (a new session replaces this one; every other ends). */
export interface ChangePasswordRequest {
  currentPassword: string;
  newPassword: string;
}

export type Overall = 'ok' | 'attention' | 'problem';

export interface Feature {
  id: string;
  name: string;
  available: boolean;
  reason?: string | null;
  fix?: string | null;
}

export interface Status {
  overall: Overall;
  headline: string;
  box: {
    hostname: string;
    version: string;
    startedAt: string;
    dataDir: string;
    simulated: boolean;
  };
  drives: { connected: number; system: number; rotation: number; pool: number; unassigned: number };
  jobs: { running: number; queued: number };
  features: Feature[];
  inventoryRefreshedAt: string | null;
  /** `notice` until alert e-mail is turned on, then null. */
  alerts: { setUp: boolean; notice: string | null; notSentLastDay: number };
}

// The API's shapes come from the server's own domain models (type-only imports: nothing of the
// server is bundled), so the page and the service cannot drift apart.
export type { Bus, PartitionFacts as Partition } from '../../../../system/drives/block-devices.ts';
export type { IdentityKind } from '../../../../server/drives/drive.model.ts';
export type { ActivityEntry, ActivityLevel } from '../../../../server/activity/activity.model.ts';
export type { JobState, JobProgress, JobView as Job } from '../../../../server/jobs/job.model.ts';
export type { Reason, Severity, Verdict } from '../../../../server/health/health.model.ts';
export type { AtaAttribute, NvmeHealth, SelfTestEntry, SelfTestOutcome } from '../../../../server/health/smart.model.ts';
export type {
  AcknowledgementView, AlertSettingsInput, AlertSettingsView, AttributeView, DriveHealthSummary, DriveHealthView,
  HealthSettings, OpenAlert, ReadState, SmtpSecurityView, TemperaturePoint,
} from '../../../../server/health/health.view.ts';
export type { Source } from '../../../../server/backups/source.repository.ts';
import type { DriveView } from '../../../../server/drives/drive.model.ts';
import type { DriveHealthSummary, OpenAlert, AcknowledgementView } from '../../../../server/health/health.view.ts';
import type { ActivityEntry } from '../../../../server/activity/activity.model.ts';
import type { FailedLogins } from '../../../../server/auth/auth.model.ts';
export type { FailedLogins };
import type { JobView } from '../../../../server/jobs/job.model.ts';
import type { BrowseEntry } from '../../../../server/backups/backup.view.ts';

/** A connected drive (GET /drives), with its health summary and rotation facts. */
export type Drive = DriveView;

export interface DriveList {
  drives: Drive[];
  refreshedAt: string | null;
}

/** Named Server-Sent Events on GET /events and the JSON each carries. */
export interface ServerEvents {
  drives: DriveList;
  activity: ActivityEntry;
  job: JobView;
  status: Status;
  alert: AlertEvent;
  /** A pool disk joined, was mounted, refused or went missing: read GET /pool again. */
  pool: { changed: string };
  /** A share was made, changed, removed, brought back or deleted, or its grants changed: read GET /shares again. */
  shares: { changed: string };
  /** A duplication pass ended: the shares' file counts and the exposure changed. */
  duplication: { at: string };
}

/** The `alert` event: an alert that opened or changed, or one that closed. */
export type AlertEvent = OpenAlert | { key: string; resolved: true };

export interface Acknowledgements {
  acknowledgements: AcknowledgementView[];
}

/** Answer to POST /settings/alerts/test. */
export interface TestEmailSent {
  sent: true;
  to: string[];
}

/** Body of POST /sources: a folder on the box to protect, and what to leave out of its backups. */
export interface SourceInput {
  name: string;
  path: string;
  excludes: string[];
}

/** A registered rotation drive (GET /rotation/drives), plugged in or not. */
export type { RotationView as RotationDrive } from '../../../../server/backups/rotation.view.ts';

/** How a drive becomes a rotation drive: keep its files (Safehold's own folder) or erase it. */
export type RotationMode = 'keep' | 'format';

/** Body of POST /rotation/drives; `confirm` must equal `name` when `mode` is `format`. */
export interface RotationRegisterInput {
  driveId: string;
  name: string;
  mode: RotationMode;
  confirm?: string;
}

/** Job kind of a rotation drive's registration (issue 4). */
export const JOB_ROTATION_REGISTER = 'rotation.register';

// ---- the storage pool (issue 11) ----
export type { PoolMemberState, PoolMemberView as PoolMember } from '../../../../server/pool/pool.view.ts';
export { KEEPABLE_FILESYSTEMS } from '../../../../server/pool/pool.view.ts';

/** Body of POST /pool/members; `confirm` must equal the disk's `displayName` when `mode` is `format`. */
export interface PoolAddInput {
  driveId: string;
  mode: 'keep' | 'format';
  confirm?: string;
}

/** Job kinds of a disk joining the pool and of a pool disk being checked and mounted (`target`: the drive id). */
export const JOB_POOL_ADD = 'pool.add';
export const JOB_POOL_MOUNT = 'pool.mount';
/** Job kinds of a duplication pass (no target) and of deleting a removed share's files (`target`: the share). */
export const JOB_POOL_DUPLICATE = 'pool.duplicate';
export const JOB_POOL_DELETE_SHARE = 'pool.delete-share';

// The shares and household users (docs/api.md "Shares", "Household users"); the server's own shapes
// are `ShareView`, `ShareFiles`, `GonePreflight` (server/pool/share.service.ts, duplication.service.ts)
// and `HouseholdUserView` (server/pool/user.service.ts), which import server-only modules.
export type ShareCopies = 1 | 2 | 3 | 'all';
export type ShareGuest = 'none' | 'ro' | 'rw';
export type ShareAccess = 'rw' | 'ro';

export interface ShareFiles {
  /** Files by number of verified copies: `{ "2": 12408, "1": 31 }`. */
  byCopies: Record<string, number>;
  /** Files still being written at the last pass, waiting for their copies. */
  waiting: number;
  /** The first 20 files with fewer copies than asked (no disk could take one), and why. */
  short: { path: string; copies: number; wanted: number; why: string }[];
  /** The first 20 files not duplicated at all, and why. */
  skipped: { path: string; why: string }[];
  lastPassAt: string | null;
}

export interface Share {
  name: string;
  copies: ShareCopies;
  guest: ShareGuest;
  path: string;
  state: 'active' | 'removed';
  createdAt: string;
  removedAt: string | null;
  files: ShareFiles | null;
  grants: { user: string; access: ShareAccess }[];
  /** What to type on each computer; `windows` null when Samba is not on port 445. Null while removed or without Samba. */
  smb: { windows: string | null; macos: string; linux: string } | null;
}

export interface ShareInput {
  name: string;
  copies: ShareCopies;
  guest?: ShareGuest;
}

export interface HouseholdUser {
  name: string;
  createdAt: string;
  grants: { share: string; access: ShareAccess }[];
  /** False when Samba has no password for them: set a new one. */
  canLogIn: boolean;
}

/** GET /pool/exposure: what each disk alone holds (the files whose only verified copy is on it). */
export interface PoolExposure {
  driveId: string;
  displayName: string;
  state: string;
  files: number;
  bytes: number;
  shares: { share: string; files: number; bytes: number }[];
}

/** What "it is gone" would copy, whether it fits, what would keep fewer copies, what is lost. */
export interface GonePreflight {
  files: number;
  bytes: number;
  fits: boolean;
  /** The other disks here that take no new copy, and why. */
  notTaking: { driveId: string; displayName: string; why: string }[];
  fewerCount: number;
  fewer: { share: string; path: string; copies: number; wanted: number }[];
  lostCount: number;
  lost: { share: string; path: string }[];
}

// ---- backups onto rotation drives, restore, recovery kit (issue 4) ----
export type {
  BackupOutcome, BackupRunView, BackupSettings, BrowseEntry, CheckView, DrillView, LedgerEntry, ProtectionView, RecoveryKit,
  FileNoteKind, RecoveryKitRepository, SnapshotView, SourceRunView,
} from '../../../../server/backups/backup.view.ts';

/** Job kinds of a plug-in backup onto a rotation drive and of a restore from one (their `target` is the drive id). */
export const JOB_BACKUP_ROTATION = 'backup.rotation';
export const JOB_BACKUP_RESTORE = 'backup.restore';

/** Where restored files go: a new folder next to the source, or over the files where they are. */
export type RestoreTarget = 'beside' | 'original';

/** Body of POST /backups/drives/:driveId/snapshots/:snapshotId/restore; `original` needs `overwrite: true`. */
export interface RestoreInput {
  paths: string[];
  target: RestoreTarget;
  overwrite?: boolean;
}

/** Answer to a restore: its job and the folder the files go to. */
export interface RestoreStarted {
  job: JobView;
  folder: string;
}

/** A folder of a snapshot (GET …/ls). */
export interface BrowseListing {
  path: string;
  entries: BrowseEntry[];
}

/** Job kinds of issue 3 (the `kind` of a Job). */
export const JOB_SELF_TEST = 'health.self-test';
export const JOB_HEALTH_POLL = 'health.poll';

export function isActiveJob(job: JobView): boolean {
  return job.state === 'queued' || job.state === 'running';
}
