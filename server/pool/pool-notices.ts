/**
 * The words the owner reads about the storage pool: alerts and reminders, as data for
 * `AlertService.observeCondition()` (which logs them, keeps them open on the overview while they
 * last and mails them). Pure: no I/O.
 */
import type { ConditionObservation } from '../alerts/alert.service.js';
import { formatSize } from '../drives/drive.model.js';

const STORAGE_LINK = { label: 'Open the Storage page', path: 'storage' };

/** What the pool's files look like while a disk is away: files left with one copy, files out of reach. */
export interface MissingReach {
  /** Files whose only reachable copy is now on one disk. */
  single: number;
  /** Files whose every copy was on the missing disk (a share at level 1): unreachable until it is back. */
  unreachable: number;
  unreachableBytes: number;
}

/** A pool disk that is missing (`reach` set), or back / decided about (`reach` null: normal again). */
export function missingCondition(driveId: string, name: string, reach: MissingReach | null): ConditionObservation {
  const parts: string[] = [];
  if (reach) {
    parts.push(`Pool disk ${name} is missing (unplugged, switched off, or dead).`);
    if (reach.single) parts.push(`${reach.single} file${reach.single === 1 ? ' now has' : 's now have'} only one copy, on another disk.`);
    if (reach.unreachable) parts.push(`${reach.unreachable} file${reach.unreachable === 1 ? '' : 's'} (${formatSize(reach.unreachableBytes)}) had ${reach.unreachable === 1 ? 'its' : 'their'} only copy on it and cannot be read until it is back.`);
    if (!reach.single && !reach.unreachable) parts.push('Every file it held has another copy on a disk that is here.');
  }
  const message = reach ? parts.join(' ') : `Pool disk ${name} is no longer missing.`;
  return {
    key: `pool:missing:${driveId}`,
    kind: 'pool.missing',
    state: reach ? 'missing' : 'ok',
    normal: reach === null,
    severity: reach?.unreachable ? 'error' : 'warning',
    message,
    driveId,
    mail: {
      subject: `Pool disk ${name} is missing`,
      banner: 'A disk of the storage pool is missing',
      tone: reach?.unreachable ? 'bad' : 'warn',
      happened: [message],
      means: [
        'Nothing was copied or deleted because of it: the shares keep working from the other disks. A file written meanwhile gets its copies on the disks that are here.',
        'Until the disk is back, another disk failing would lose the files that now have one copy.',
      ],
      steps: [
        'If it was unplugged or switched off, plug it in again: Safehold checks it and carries on.',
        'If it is gone for good (dead, taken away), say so on the Storage page ("It is gone"): Safehold then makes new copies of its files on the other disks, after showing whether they fit.',
      ],
      link: STORAGE_LINK,
    },
  };
}
