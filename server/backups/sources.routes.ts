/** Backup sources (docs/api.md, "Backup sources"). */
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import { ExcludesBody, NewSourceBody, SourceName, type SourceService } from './source.service.js';

export function sourceRoutes(sources: SourceService): Router {
  const router = Router();
  const name = (value: unknown) => parseInput(SourceName, value, 'source name');
  router.get('/sources', (_req, res) => {
    res.json({ sources: sources.list() });
  });
  router.post('/sources', async (req, res) => {
    res.status(201).json(await sources.add(parseInput(NewSourceBody, req.body, 'source')));
  });
  router.put('/sources/:name', (req, res) => {
    res.json(sources.setExcludes(name(req.params.name), parseInput(ExcludesBody, req.body, 'source').excludes));
  });
  router.delete('/sources/:name', (req, res) => {
    sources.remove(name(req.params.name));
    res.status(204).end();
  });
  return router;
}
