/** Backups onto rotation drives (docs/api.md, "Backups onto rotation drives"). */
import { Router } from 'express';
import type { BackupService } from './backup.service.js';

export function backupRoutes(_backups: BackupService): Router {
  return Router();
}
