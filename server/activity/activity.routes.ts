/** The activity log (docs/api.md). */
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../http/validate.js';
import type { ActivityService } from './activity.service.js';

const Query = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional(),
});

export function activityRoutes(activity: ActivityService): Router {
  const router = Router();
  router.get('/activity', (req, res) => {
    const { limit, before } = parseInput(Query, req.query, 'query');
    res.json({ entries: activity.list(limit, before) });
  });
  return router;
}
