/** The recovery kit (docs/api.md, "Recovery kit"). */
import { Router } from 'express';
import type { RecoveryKitService } from './recovery-kit.service.js';

export function recoveryKitRoutes(_kit: RecoveryKitService): Router {
  return Router();
}
