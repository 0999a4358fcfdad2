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

// The API's shapes come from the server's own domain models (type-only imports: nothing of the
// server is bundled), so the page and the service cannot drift apart.
export type { Bus, PartitionFacts as Partition } from '../../../../system/drives/block-devices.ts';
export type { IdentityKind, DriveView as Drive } from '../../../../server/drives/drive.model.ts';
export type { ActivityEntry, ActivityLevel } from '../../../../server/activity/activity.model.ts';
export type { JobState, JobProgress, JobView as Job } from '../../../../server/jobs/job.model.ts';
import type { DriveView } from '../../../../server/drives/drive.model.ts';
import type { ActivityEntry } from '../../../../server/activity/activity.model.ts';
import type { JobView } from '../../../../server/jobs/job.model.ts';

export interface DriveList {
  drives: DriveView[];
  refreshedAt: string | null;
}

/** Named Server-Sent Events on GET /events and the JSON each carries. */
export interface ServerEvents {
  drives: DriveList;
  activity: ActivityEntry;
  job: JobView;
  status: Status;
}

export function isActiveJob(job: JobView): boolean {
  return job.state === 'queued' || job.state === 'running';
}
