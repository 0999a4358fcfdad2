/** The storage pool (docs/api.md, "Storage pool"). */
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import { ConflictError } from '../errors.js';
import type { DuplicationService } from './duplication.service.js';
import { AddMemberBody, type PoolMemberService } from './member.service.js';

export function poolRoutes(members: PoolMemberService, duplication: DuplicationService): Router {
  const router = Router();
  router.get('/pool', async (_req, res) => {
    res.json({ members: await members.list() });
  });
  router.post('/pool/members', (req, res) => {
    res.status(202).json({ job: members.add(parseInput(AddMemberBody, req.body, 'pool disk')) });
  });
  router.post('/pool/duplicate', (_req, res) => {
    const job = duplication.runNow();
    if (!job) throw new ConflictError('Nothing to duplicate: no pool disk is mounted, or there is no share.');
    res.status(202).json({ job });
  });
  return router;
}
