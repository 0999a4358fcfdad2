/**
 * The owner's backup settings (`GET`/`PUT /backups/settings`), stored in the catalog's settings
 * under `backups`. Every field has a default; docs/backup-drives.md explains each.
 */
import { z } from 'zod';
import type { BackupSettings } from './backup.view.js';

const count = (max: number) => z.number().int().min(0).max(max);

export const BackupSettingsSchema = z
  .strictObject({
    retention: z.strictObject({ daily: count(1000), weekly: count(1000), monthly: count(1000), yearly: count(1000) }),
    tripwire: z.strictObject({ percent: z.number().min(1).max(100), minFiles: z.number().int().min(0).max(10_000_000) }),
    checkSlices: z.number().int().min(1).max(1000),
    drill: z.strictObject({ files: count(1000), maxBytes: z.number().int().min(0).max(2 ** 40) }),
    swapAfterDays: z.number().int().min(1).max(365),
    staleAfterDays: z.number().int().min(1).max(365),
  })
  .superRefine((v, ctx) => {
    const r = v.retention;
    if (r.daily + r.weekly + r.monthly + r.yearly === 0) {
      ctx.addIssue({ code: 'custom', path: ['retention'], message: 'Keep at least one daily, weekly, monthly or yearly backup' });
    }
  }) satisfies z.ZodType<BackupSettings>;

/** At least a year of history: 7 daily, 5 weekly, 12 monthly, 3 yearly. */
export const DEFAULT_BACKUP_SETTINGS: BackupSettings = {
  retention: { daily: 7, weekly: 5, monthly: 12, yearly: 3 },
  tripwire: { percent: 30, minFiles: 200 },
  checkSlices: 8,
  drill: { files: 20, maxBytes: 200 * 1024 * 1024 },
  swapAfterDays: 7,
  staleAfterDays: 8,
};

export const BACKUP_SETTINGS_KEY = 'backups';
