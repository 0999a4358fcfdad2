/**
 * The recovery kit (docs/api.md, "Recovery kit"; docs/recovery.md). Both answers carry every
 * repository's password: `Cache-Control: no-store`, and nothing of them is logged.
 */
import { Router } from 'express';
import type { RecoveryKitService } from './recovery-kit.service.js';

export function recoveryKitRoutes(kits: RecoveryKitService): Router {
  const router = Router();
  router.get('/recovery-kit', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await kits.kit());
  });
  router.get('/recovery-kit/text', async (_req, res) => {
    const kit = await kits.kit();
    res
      .set({ 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="${kits.fileName(kit)}"` })
      .type('text/plain; charset=utf-8')
      .send(kits.text(kit));
  });
  router.post('/recovery-kit/saved', (_req, res) => {
    res.json(kits.markSaved());
  });
  return router;
}
