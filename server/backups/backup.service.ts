/** Backups onto rotation drives. (Being built.) */
export class BackupService {
  start(): void {}
}
