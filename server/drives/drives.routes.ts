/** Drive inventory routes (docs/api.md). */
import { Router } from 'express';
import { z } from 'zod';
import { parseInput, visibleText } from '../http/validate.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { DriveService } from './drive.service.js';
import { INVENTORY_LOCK, REFRESH_JOB } from './drive.service.js';

const NameBody = z.strictObject({
  name: visibleText()
    .min(1, 'Enter a name, or remove it')
    .max(40, 'Use at most 40 characters')
    .regex(/^[^<>]+$/, 'Use letters, digits, spaces and punctuation (no < or >)')
    .nullable(),
});

const DriveId = z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'Not a drive id');

/** Ask for an inventory refresh; a refresh already queued is reused. */
export const requestRefresh = (jobs: JobRunner) => jobs.submit(REFRESH_JOB, { resources: [INVENTORY_LOCK], coalesce: true });

export function driveRoutes(drives: DriveService, jobs: JobRunner): Router {
  const router = Router();
  router.get('/drives', (_req, res) => {
    res.json({ drives: drives.list(), refreshedAt: drives.refreshedAt() });
  });
  router.get('/drives/:id', (req, res) => {
    res.json(drives.get(parseInput(DriveId, req.params.id, 'drive id')));
  });
  router.put('/drives/:id/name', (req, res) => {
    const { name } = parseInput(NameBody, req.body, 'drive name');
    res.json(drives.rename(parseInput(DriveId, req.params.id, 'drive id'), name));
  });
  router.post('/drives/refresh', (_req, res) => {
    res.status(202).json({ job: requestRefresh(jobs) });
  });
  return router;
}
