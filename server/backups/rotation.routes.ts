/** Rotation backup drives (docs/api.md, "Rotation backup drives"). */
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import { RegisterBody, type RotationService } from './rotation.service.js';

export function rotationRoutes(rotation: RotationService): Router {
  const router = Router();
  router.get('/rotation/drives', (_req, res) => {
    res.json({ drives: rotation.list() });
  });
  router.post('/rotation/drives', (req, res) => {
    res.status(202).json({ job: rotation.register(parseInput(RegisterBody, req.body, 'registration')) });
  });
  return router;
}
