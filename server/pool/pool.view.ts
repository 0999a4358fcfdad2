/** The storage pool as the API and the page see it. Pure types and constants: the page imports them too. */

/** Filesystems a disk may keep when it joins: Linux filesystems that keep names, permissions and fsync's promises. */
export const KEEPABLE_FILESYSTEMS = ['ext4', 'xfs', 'btrfs'] as const;

/**
 * - `mounted`: mounted at its folder, ready;
 * - `mounting`: being checked and mounted (after start-up or a plug-in);
 * - `missing`: not connected (pulled out, powered off, a dead disk): not gone, nothing is re-copied
 *   or deleted until the owner says what happened;
 * - `refused`: connected, but its marker or filesystem is not what Safehold recorded: not mounted,
 *   nothing written to it (`reason` says why).
 */
export type PoolMemberState = 'mounted' | 'mounting' | 'missing' | 'refused';

export interface PoolMemberView {
  driveId: string;
  /** How the page names the disk (the owner's name, else its model). */
  displayName: string;
  /** The filesystem's device now (`/dev/sdb1`), null while missing. */
  device: string | null;
  /** Where Safehold mounts it. */
  mountpoint: string;
  fsType: string;
  filesystemUuid: string;
  /** Of its filesystem, while mounted. */
  sizeBytes: number | null;
  /** Free for Safehold's use, while mounted. */
  freeBytes: number | null;
  state: PoolMemberState;
  /** Why it is refused, or since when it is missing, in words; null when mounted. */
  reason: string | null;
  /** While missing: when it went away (else when it was last seen connected, if ever); null otherwise. */
  missingSince: string | null;
  joinedAt: string;
  /** Joined with its filesystem and files kept (false: erased when it joined). */
  keptFiles: boolean;
  /** Being removed from the pool (guided removal): no new file lands on it. */
  leaving: boolean;
  /** While missing: what the owner said (`wait`: it will come back), or null. */
  missingChoice: 'wait' | null;
  /** Health verdict of the disk (docs/health.md), null before the first read. */
  verdict: string | null;
}

export interface PoolView {
  members: PoolMemberView[];
}
