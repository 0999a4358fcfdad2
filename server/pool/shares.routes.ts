/** Shares (docs/api.md, "Shares"). */
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import { CreateShareBody, DeleteFilesBody, UpdateShareBody, type ShareService } from './share.service.js';

export function sharesRoutes(shares: ShareService): Router {
  const router = Router();
  router.get('/shares', (_req, res) => {
    res.json({ shares: shares.list() });
  });
  router.post('/shares', async (req, res) => {
    res.status(201).json({ share: await shares.create(parseInput(CreateShareBody, req.body, 'share')) });
  });
  router.patch('/shares/:name', async (req, res) => {
    res.json({ share: await shares.update(req.params.name, parseInput(UpdateShareBody, req.body, 'share')) });
  });
  router.post('/shares/:name/remove', async (req, res) => {
    res.json({ share: await shares.remove(req.params.name) });
  });
  router.post('/shares/:name/restore', async (req, res) => {
    res.json({ share: await shares.restore(req.params.name) });
  });
  router.post('/shares/:name/delete-files', (req, res) => {
    res.status(202).json({ job: shares.deleteFiles(req.params.name, parseInput(DeleteFilesBody, req.body, 'confirmation').confirm) });
  });
  return router;
}
