/**
 * This box's random ids, each made once and kept in the catalog's settings: every marker Safehold
 * writes on a drive names them, so a drive of another box, or of an earlier rotation set or pool of
 * this one, is recognised as such (system/marker/drive-marker.ts).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SettingsRepository } from './settings.repository.js';

const BoxIds = z.object({ boxId: z.string().uuid(), rotationSetId: z.string().uuid() });
const PoolIds = z.object({ poolId: z.string().uuid() });

/** The box's id and its current rotation set's id (settings key `box`). */
export function boxIds(settings: SettingsRepository): z.infer<typeof BoxIds> {
  const fresh = { boxId: randomUUID(), rotationSetId: randomUUID() };
  const ids = settings.get('box', BoxIds, fresh);
  if (ids === fresh) settings.put('box', ids);
  return ids;
}

/** The box's storage pool id (settings key `pool`): every pool member's marker names it. */
export function poolId(settings: SettingsRepository): string {
  const fresh = { poolId: randomUUID() };
  const ids = settings.get('pool', PoolIds, fresh);
  if (ids === fresh) settings.put('pool', ids);
  return ids.poolId;
}
