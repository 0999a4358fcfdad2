/** The storage pool (docs/api.md, "Storage pool"). */
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import { AddMemberBody, type PoolMemberService } from './member.service.js';

export function poolRoutes(members: PoolMemberService): Router {
  const router = Router();
  router.get('/pool', async (_req, res) => {
    res.json({ members: await members.list() });
  });
  router.post('/pool/members', (req, res) => {
    res.status(202).json({ job: members.add(parseInput(AddMemberBody, req.body, 'pool disk')) });
  });
  return router;
}
