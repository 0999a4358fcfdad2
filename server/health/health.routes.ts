/** Disk health, alerts and their settings (docs/api.md, "Disk health and alerts"). */
import { Router } from 'express';
import { z } from 'zod';
import { AlertSettingsInputSchema, type AlertService } from '../alerts/alert.service.js';
import { parseInput, visibleText } from '../http/validate.js';
import { HealthSettingsInput, type HealthService } from './health.service.js';

const DriveId = z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'Not a drive id');
const CounterKey = z.string().regex(/^(ata|nvme|scsi):[a-z0-9_]+$/, 'Not a counter, e.g. "ata:199"');
const SelfTestBody = z.strictObject({ kind: z.enum(['short', 'long']) });
const AckBody = z.strictObject({ key: CounterKey, note: visibleText('Notes').max(200).nullable().optional() });

export function diskHealthRoutes(health: HealthService, alerts: AlertService): Router {
  const router = Router();
  const driveId = (value: unknown) => parseInput(DriveId, value, 'drive id');

  router.get('/drives/:id/health', (req, res) => {
    res.json(health.view(driveId(req.params.id)));
  });
  router.post('/drives/:id/health/self-test', (req, res) => {
    const { kind } = parseInput(SelfTestBody, req.body, 'self-test request');
    res.status(202).json({ job: health.startSelfTest(driveId(req.params.id), kind) });
  });
  router.post('/drives/:id/health/acknowledgements', async (req, res) => {
    const { key, note } = parseInput(AckBody, req.body, 'acknowledgement');
    res.json({ acknowledgements: (await health.acknowledge(driveId(req.params.id), key, note ?? null)).acknowledgements });
  });
  router.delete('/drives/:id/health/acknowledgements/:key', async (req, res) => {
    const key = parseInput(CounterKey, req.params.key, 'counter');
    res.json({ acknowledgements: (await health.removeAcknowledgement(driveId(req.params.id), key)).acknowledgements });
  });
  router.post('/health/check', (_req, res) => {
    res.status(202).json({ job: health.requestCheck() });
  });

  router.get('/alerts/open', (_req, res) => {
    res.json({ alerts: alerts.open() });
  });

  router.get('/settings/health', (_req, res) => {
    res.json(health.settings());
  });
  router.put('/settings/health', (req, res) => {
    res.json(health.saveSettings(parseInput(HealthSettingsInput, req.body, 'health schedules')));
  });
  router.get('/settings/alerts', async (_req, res) => {
    res.json(await alerts.settings());
  });
  router.put('/settings/alerts', async (req, res) => {
    res.json(await alerts.saveSettings(parseInput(AlertSettingsInputSchema, req.body, 'alert settings')));
  });
  router.post('/settings/alerts/test', async (_req, res) => {
    res.json(await alerts.sendTest());
  });
  return router;
}
