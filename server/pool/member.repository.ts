/** Every SQL query about storage pool members. */
import type { Catalog } from '../catalog/catalog.js';

export interface PoolMemberRow {
  driveId: string;
  /** The filesystem Safehold mounts, by UUID (never by /dev name). */
  filesystemUuid: string;
  fsType: string;
  joinedAt: number;
  /** True when the disk joined with its filesystem and files kept; false when it was erased. */
  keptFiles: boolean;
  /** What the owner said while it was missing: `wait` (it will come back), or null. */
  missingChoice: 'wait' | null;
}

interface Row {
  drive_id: string;
  filesystem_uuid: string;
  fs_type: string;
  joined_at: number;
  kept_files: number;
  missing_choice: string | null;
}

const toRow = (r: Row): PoolMemberRow => ({
  driveId: r.drive_id,
  filesystemUuid: r.filesystem_uuid,
  fsType: r.fs_type,
  joinedAt: r.joined_at,
  keptFiles: r.kept_files === 1,
  missingChoice: r.missing_choice === 'wait' ? 'wait' : null,
});

export class PoolMemberRepository {
  constructor(readonly db: Catalog) {}

  list(): PoolMemberRow[] {
    return (this.db.prepare('SELECT * FROM pool_members ORDER BY joined_at, drive_id').all() as Row[]).map(toRow);
  }

  get(driveId: string): PoolMemberRow | undefined {
    const row = this.db.prepare('SELECT * FROM pool_members WHERE drive_id = ?').get(driveId) as Row | undefined;
    return row && toRow(row);
  }

  setMissingChoice(driveId: string, choice: 'wait' | null): void {
    this.db.prepare('UPDATE pool_members SET missing_choice = ? WHERE drive_id = ?').run(choice, driveId);
  }

  /** The disk leaves the pool (gone for good): its row only; its copies are the file catalog's. */
  remove(driveId: string): void {
    this.db.prepare('DELETE FROM pool_members WHERE drive_id = ?').run(driveId);
  }

  add(row: Omit<PoolMemberRow, 'missingChoice'>): void {
    this.db
      .prepare('INSERT INTO pool_members (drive_id, filesystem_uuid, fs_type, joined_at, kept_files) VALUES (?, ?, ?, ?, ?)')
      .run(row.driveId, row.filesystemUuid, row.fsType, row.joinedAt, row.keptFiles ? 1 : 0);
  }
}
