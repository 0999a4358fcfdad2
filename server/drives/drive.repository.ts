/** Every SQL query about drives. A drive is never deleted: a disconnected one keeps its row. */
import type { Catalog } from '../catalog/catalog.js';
import type { DiskFacts } from '../../system/drives/block-devices.js';
import type { AssignableRole, IdentityKind, RoleRecord } from './drive.model.js';

export interface DriveRow {
  id: string;
  identity_kind: IdentityKind;
  role: string;
  role_label: string | null;
  role_since: number | null;
  connected: number;
  name: string | null;
  first_seen_at: number;
  last_seen_at: number;
  facts: string;
}

export interface StoredDrive {
  id: string;
  identityKind: IdentityKind;
  /** The name the owner gave it, or null. */
  name: string | null;
  /** The role its owner wrote (unassigned by default); `system` is never stored, it is computed. */
  role: RoleRecord;
  connected: boolean;
  firstSeenAt: number;
  lastSeenAt: number;
  facts: DiskFacts;
}

const toStored = (row: DriveRow): StoredDrive => ({
  id: row.id,
  identityKind: row.identity_kind,
  name: row.name,
  role: toRole(row),
  connected: row.connected === 1,
  firstSeenAt: row.first_seen_at,
  lastSeenAt: row.last_seen_at,
  facts: JSON.parse(row.facts) as DiskFacts,
});

const ASSIGNABLE: readonly string[] = ['unassigned', 'rotation', 'pool'] satisfies AssignableRole[];

/** A role this version does not know (written by a newer one) reads as unassigned: nothing is offered on it. */
const toRole = (row: DriveRow): RoleRecord =>
  ASSIGNABLE.includes(row.role) && row.role !== 'unassigned'
    ? { role: row.role as AssignableRole, label: row.role_label, since: row.role_since }
    : { role: 'unassigned', label: null, since: null };

export class DriveRepository {
  constructor(readonly db: Catalog) {}

  connected(): StoredDrive[] {
    return (this.db.prepare('SELECT * FROM drives WHERE connected = 1').all() as DriveRow[]).map(toStored);
  }

  /** Give a drive the owner's name (null removes it); false when there is no such drive. */
  setName(id: string, name: string | null): boolean {
    return this.db.prepare('UPDATE drives SET name = ? WHERE id = ?').run(name, id).changes === 1;
  }

  /**
   * Write a drive's role. Only the owner of a role calls it (the rotation service for `rotation`),
   * inside the transaction that records the rest of that role, so the two never disagree.
   * False when there is no such drive.
   */
  setRole(id: string, record: RoleRecord): boolean {
    return (
      this.db.prepare('UPDATE drives SET role = ?, role_label = ?, role_since = ? WHERE id = ?').run(record.role, record.label, record.since, id).changes === 1
    );
  }

  get(id: string): StoredDrive | undefined {
    const row = this.db.prepare('SELECT * FROM drives WHERE id = ?').get(id) as DriveRow | undefined;
    return row && toStored(row);
  }

  /**
   * Record one inventory read in one transaction: the drives seen are upserted as connected, every
   * other connected drive becomes disconnected. Returns the ids that became disconnected.
   */
  recordInventory(seen: { id: string; identityKind: IdentityKind; facts: DiskFacts }[], now: number): string[] {
    const upsert = this.db.prepare(
      `INSERT INTO drives (id, identity_kind, connected, first_seen_at, last_seen_at, facts)
       VALUES (@id, @kind, 1, @now, @now, @facts)
       ON CONFLICT (id) DO UPDATE SET connected = 1, last_seen_at = @now, facts = @facts, identity_kind = @kind`,
    );
    const stillConnected = this.db.prepare('SELECT id FROM drives WHERE connected = 1');
    const disconnect = this.db.prepare('UPDATE drives SET connected = 0 WHERE id = ?');
    return this.db.transaction(() => {
      const seenIds = new Set(seen.map((d) => d.id));
      const gone = (stillConnected.all() as { id: string }[]).map((r) => r.id).filter((id) => !seenIds.has(id));
      for (const id of gone) disconnect.run(id);
      for (const d of seen) upsert.run({ id: d.id, kind: d.identityKind, now, facts: JSON.stringify(d.facts) });
      return gone;
    })();
  }
}
