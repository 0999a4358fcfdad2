/** The storage pool (docs/api.md, "Storage pool"). */
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../http/validate.js';
import { ConflictError } from '../errors.js';
import type { DuplicationService } from './duplication.service.js';
import { AddMemberBody, type PoolMemberService } from './member.service.js';

const MissingChoiceBody = z.strictObject({ choice: z.enum(['wait', 'gone']) });

export function poolRoutes(members: PoolMemberService, duplication: DuplicationService): Router {
  const router = Router();
  router.get('/pool', async (_req, res) => {
    res.json({ members: await members.list() });
  });
  router.post('/pool/members', (req, res) => {
    res.status(202).json({ job: members.add(parseInput(AddMemberBody, req.body, 'pool disk')) });
  });
  router.get('/pool/members/:id/gone-preflight', async (req, res) => {
    if (!members.missing().some((m) => m.driveId === req.params.id)) throw new ConflictError('That disk is not missing.');
    res.json({ preflight: await duplication.preflightGone(req.params.id) });
  });
  router.post('/pool/members/:id/missing', async (req, res) => {
    const { choice } = parseInput(MissingChoiceBody, req.body, 'choice');
    if (choice === 'wait') {
      await members.wait(req.params.id);
      res.json({ choice });
    } else {
      res.json({ choice, preflight: await duplication.gone(req.params.id) });
    }
  });
  router.get('/pool/members/:id/remove-preflight', async (req, res) => {
    if (!members.mounted().some((m) => m.driveId === req.params.id)) throw new ConflictError('That disk is not a mounted disk of the storage pool.');
    res.json({ preflight: await duplication.preflightGone(req.params.id, { present: true }) });
  });
  router.post('/pool/members/:id/remove', (req, res) => {
    res.status(202).json({ job: duplication.remove(req.params.id) });
  });
  router.get('/pool/exposure', async (_req, res) => {
    res.json({ disks: await duplication.exposure() });
  });
  router.post('/pool/duplicate', (_req, res) => {
    const job = duplication.runNow();
    if (!job) throw new ConflictError('Nothing to duplicate: no pool disk is mounted, or there is no share.');
    res.status(202).json({ job });
  });
  return router;
}
