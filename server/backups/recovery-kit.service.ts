/**
 * The recovery kit: every repository, its password and the exact stock-restic commands to restore
 * everything when this box is gone. (Being built: see docs/api.md, "Recovery kit".)
 */
import type { Clock } from '../../system/clock.js';
import type { Restic } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import type { DriveRepository } from '../drives/drive.repository.js';
import type { SecretStore } from '../settings/secrets.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import type { BackupRepository } from './backup.repository.js';
import type { RotationRepository } from './rotation.repository.js';

export interface RecoveryKitServiceOptions {
  rotation: RotationRepository;
  /** Every drive ever seen (serials of drives that are away). */
  driveRepo: DriveRepository;
  backups: BackupRepository;
  secrets: SecretStore;
  settings: SettingsRepository;
  /** This box's ids (made once, kept in settings). */
  boxIds: () => { boxId: string; rotationSetId: string };
  /** null when restic is not installed. */
  restic: Restic | null;
  activity: ActivityService;
  clock: Clock;
}

export class RecoveryKitService {
  constructor(readonly o: RecoveryKitServiceOptions) {}
}
