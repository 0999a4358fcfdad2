/** Backups onto rotation drives (docs/api.md, "Backups onto rotation drives"). */
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../http/validate.js';
import { BackupSettingsSchema } from './backup-settings.js';
import type { BackupService } from './backup.service.js';

/** A drive id as the inventory makes them (docs/drives.md). */
export const DriveIdParam = z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'Not a drive id');
const RunsQuery = z.strictObject({ drive: DriveIdParam.optional(), limit: z.coerce.number().int().min(1).max(200).default(20) });

export function backupRoutes(backups: BackupService): Router {
  const router = Router();
  const driveId = (value: unknown) => parseInput(DriveIdParam, value, 'drive id');
  router.get('/backups/ledger', (_req, res) => {
    res.json({ drives: backups.ledger() });
  });
  router.get('/backups/protection', (_req, res) => {
    res.json(backups.protection());
  });
  router.get('/backups/runs', (req, res) => {
    const query = parseInput(RunsQuery, req.query, 'query');
    res.json({ runs: backups.runs({ driveId: query.drive, limit: query.limit }) });
  });
  router.get('/backups/drives/:driveId/snapshots', (req, res) => {
    res.json({ snapshots: backups.snapshots(driveId(req.params.driveId)) });
  });
  router.post('/backups/drives/:driveId/run', (req, res) => {
    res.status(202).json({ job: backups.runNow(driveId(req.params.driveId)) });
  });
  router.post('/backups/drives/:driveId/resume-pruning', (req, res) => {
    res.json(backups.resumePruning(driveId(req.params.driveId)));
  });
  router.get('/backups/settings', (_req, res) => {
    res.json(backups.settings());
  });
  router.put('/backups/settings', (req, res) => {
    res.json(backups.saveSettings(parseInput(BackupSettingsSchema, req.body, 'backup settings')));
  });
  return router;
}
