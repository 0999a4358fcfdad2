/** Every SQL query about rotation drives. */
import type { Catalog } from '../catalog/catalog.js';

export interface RotationDriveRow {
  driveId: string;
  name: string;
  passwordSecret: string;
  filesystemUuid: string | null;
  registeredAt: number;
}

interface Row {
  drive_id: string;
  name: string;
  password_secret: string;
  filesystem_uuid: string | null;
  registered_at: number;
}

const toRow = (r: Row): RotationDriveRow => ({
  driveId: r.drive_id,
  name: r.name,
  passwordSecret: r.password_secret,
  filesystemUuid: r.filesystem_uuid,
  registeredAt: r.registered_at,
});

export class RotationRepository {
  constructor(readonly db: Catalog) {}

  list(): RotationDriveRow[] {
    return (this.db.prepare('SELECT * FROM rotation_drives ORDER BY name').all() as Row[]).map(toRow);
  }

  get(driveId: string): RotationDriveRow | undefined {
    const row = this.db.prepare('SELECT * FROM rotation_drives WHERE drive_id = ?').get(driveId) as Row | undefined;
    return row && toRow(row);
  }

  byName(name: string): RotationDriveRow | undefined {
    const row = this.db.prepare('SELECT * FROM rotation_drives WHERE lower(name) = lower(?)').get(name) as Row | undefined;
    return row && toRow(row);
  }

  add(row: RotationDriveRow): void {
    this.db
      .prepare('INSERT INTO rotation_drives (drive_id, name, password_secret, filesystem_uuid, registered_at) VALUES (?, ?, ?, ?, ?)')
      .run(row.driveId, row.name, row.passwordSecret, row.filesystemUuid, row.registeredAt);
  }
}
