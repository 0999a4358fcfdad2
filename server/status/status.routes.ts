/** Health (no login) and status (docs/api.md). */
import { Router } from 'express';
import type { StatusService } from './status.service.js';

export function healthRoutes(version: string, startedAt: number): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok', version, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
  });
  return router;
}

export function statusRoutes(status: StatusService): Router {
  const router = Router();
  router.get('/status', (_req, res) => {
    res.json(status.status());
  });
  return router;
}
