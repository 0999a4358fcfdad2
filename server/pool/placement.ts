/**
 * Where a file's extra copies go: pure rules over what is known of the pool's disks now
 * (docs/pool.md, "Placement").
 *
 * - A copy goes only onto a mounted disk that holds no good copy of the file yet, whose health
 *   verdict is neither warning nor failing, and that can take the file without going into its
 *   reserve (4 GiB or 2% of the disk, whichever is smaller).
 * - Among those, the disk with the most free space first.
 * - The first copy of a new file is placed by the pooled view (the same rule, keeping a folder
 *   together); this module only places the extra ones.
 */
import type { Copies } from './share.repository.js';

export interface DiskRoom {
  driveId: string;
  /** Free for Safehold now (bytes). */
  freeBytes: number;
  /** Bytes that are never filled. */
  reserveBytes: number;
  /** The health verdict: a warning or failing disk takes no new copy. */
  verdict: string | null;
  /** Being removed from the pool (guided removal): it takes no copy, and its copies do not count. */
  leaving?: boolean;
}

/** How many copies a file of a share at `copies` should have with `disks` mounted disks. */
export function wantedCopies(copies: Copies, disks: number): number {
  return copies === 'all' ? disks : Math.min(copies, disks);
}

/** Why a disk cannot take a copy of `size` bytes, or null when it can. */
export function cannotTake(disk: DiskRoom, size: number): string | null {
  if (disk.leaving) return 'it is being removed from the pool';
  if (disk.verdict === 'failing' || disk.verdict === 'warning') return `its health is ${disk.verdict}`;
  if (disk.freeBytes - disk.reserveBytes < size) return 'it has no room left (beyond its reserve)';
  return null;
}

/**
 * The disks to put `missing` more copies of a `size`-byte file on, most free space first; fewer
 * when fewer can take it (`short` then says why for the others).
 */
export function placeCopies<D extends DiskRoom>(disks: readonly D[], holders: ReadonlySet<string>, size: number, missing: number): { targets: D[]; short: string[] } {
  const candidates = disks.filter((d) => !holders.has(d.driveId));
  const able = candidates.filter((d) => cannotTake(d, size) === null).sort((a, b) => b.freeBytes - a.freeBytes || a.driveId.localeCompare(b.driveId));
  const targets = able.slice(0, Math.max(0, missing));
  const short = targets.length < missing ? candidates.filter((d) => !targets.includes(d)).map((d) => cannotTake(d, size) ?? 'another disk was chosen') : [];
  return { targets, short };
}
