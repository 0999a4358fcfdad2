// Types of the HTTP API (/api/v1) as written in docs/api.md. Times are ISO 8601 strings in UTC,
// sizes are bytes. Keep this file in step with the contract, not with the server's internals.

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

/** Answer to POST /setup and POST /login: the new session's user and CSRF token. */
export interface LoginAnswer {
  username: string;
  csrfToken: string;
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
  drives: { connected: number; system: number; unassigned: number };
  jobs: { running: number; queued: number };
  features: Feature[];
  inventoryRefreshedAt: string | null;
}

export type IdentityKind = 'wwn' | 'serial' | 'ptuuid' | 'fsuuid' | 'none';
export type Bus = 'usb' | 'sata' | 'nvme' | 'scsi' | 'virtio' | 'loop' | 'mmc' | 'other';
/** Roles grow with later features (pool member, rotation drive); unknown ones are shown as is. */
export type Role = 'system' | 'unassigned' | (string & {});

export interface Partition {
  name: string;
  path: string;
  sizeBytes: number;
  fsType: string | null;
  uuid: string | null;
  label: string | null;
  mountpoints: string[];
  freeBytes: number | null;
}

export interface Drive {
  id: string;
  identity: { kind: IdentityKind; value: string };
  name: string;
  path: string;
  displayName: string;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  wwn: string | null;
  sizeBytes: number;
  bus: Bus;
  removable: boolean;
  rotational: boolean | null;
  readOnly: boolean;
  role: Role;
  roleReason: string | null;
  partitions: Partition[];
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface DriveList {
  drives: Drive[];
  refreshedAt: string | null;
}

export type ActivityLevel = 'info' | 'warning' | 'error';

export interface ActivityEntry {
  id: number;
  at: string;
  level: ActivityLevel;
  kind: string;
  subject: string | null;
  message: string;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface JobProgress {
  bytesDone: number;
  bytesTotal: number | null;
  itemsDone: number;
  itemsTotal: number | null;
  etaSeconds: number | null;
  current: string | null;
}

export interface Job {
  id: number;
  kind: string;
  target: string | null;
  title: string;
  state: JobState;
  progress: JobProgress;
  message: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Named Server-Sent Events on GET /events and the JSON each carries. */
export interface ServerEvents {
  drives: DriveList;
  activity: ActivityEntry;
  job: Job;
  status: Status;
}

export function isActiveJob(job: Job): boolean {
  return job.state === 'queued' || job.state === 'running';
}
