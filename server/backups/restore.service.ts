/**
 * Restore from a rotation drive: browse a snapshot's folders, restore files or folders into a new
 * folder beside the original (or over it, when the owner asks), download one file.
 * (Being built: see docs/api.md, "Restore".)
 */
import type { Logger } from 'pino';
import type { Clock } from '../../system/clock.js';
import type { Restic } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { BackupRepository } from './backup.repository.js';
import type { DriveAccess } from './drive-access.js';
import type { RotationRepository } from './rotation.repository.js';
import type { SourceRepository } from './source.repository.js';

export interface RestoreServiceOptions {
  access: DriveAccess;
  /** null when restic is not installed. */
  restic: Restic | null;
  rotation: RotationRepository;
  backups: BackupRepository;
  sources: SourceRepository;
  jobs: JobRunner;
  activity: ActivityService;
  clock: Clock;
  log: Logger;
  dataDir: string;
}

export class RestoreService {
  constructor(readonly o: RestoreServiceOptions) {}

  start(): void {}
}
