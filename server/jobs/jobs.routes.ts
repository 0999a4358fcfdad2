/** Jobs: the list and cancellation (docs/api.md). */
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../http/validate.js';
import type { JobRunner } from './job-runner.js';

const Query = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });
const JobId = z.coerce.number().int().positive();

export function jobRoutes(jobs: JobRunner): Router {
  const router = Router();
  router.get('/jobs', (req, res) => {
    const { limit } = parseInput(Query, req.query, 'query');
    res.json({ jobs: jobs.recent(limit) });
  });
  router.get('/jobs/:id', (req, res) => {
    res.json(jobs.get(parseInput(JobId, req.params.id, 'job id')));
  });
  router.post('/jobs/:id/cancel', (req, res) => {
    res.json({ job: jobs.cancel(parseInput(JobId, req.params.id, 'job id')) });
  });
  return router;
}
