/** Restore from rotation drives (docs/api.md, "Restore"). */
import { Router } from 'express';
import type { RestoreService } from './restore.service.js';

export function restoreRoutes(_restore: RestoreService): Router {
  return Router();
}
