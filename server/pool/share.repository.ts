/** Every SQL query about shares, household users and their grants. */
import type { Catalog } from '../catalog/catalog.js';

export type Copies = 1 | 2 | 3 | 'all';
export type Guest = 'none' | 'ro' | 'rw';

export interface ShareRow {
  name: string;
  copies: Copies;
  guest: Guest;
  createdAt: number;
  /** Set when the owner removed it: no longer on the network, its files kept until confirmed. */
  removedAt: number | null;
}

interface Row {
  name: string;
  copies: number;
  guest: Guest;
  created_at: number;
  removed_at: number | null;
}

const toShare = (r: Row): ShareRow => ({
  name: r.name,
  copies: r.copies === 0 ? 'all' : (r.copies as 1 | 2 | 3),
  guest: r.guest,
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

const copiesColumn = (copies: Copies) => (copies === 'all' ? 0 : copies);

export class ShareRepository {
  constructor(readonly db: Catalog) {}

  list(): ShareRow[] {
    return (this.db.prepare('SELECT * FROM shares ORDER BY name').all() as Row[]).map(toShare);
  }

  /** By name, in any case (clients compare share names without case). */
  get(name: string): ShareRow | undefined {
    const row = this.db.prepare('SELECT * FROM shares WHERE name = ?').get(name) as Row | undefined;
    return row && toShare(row);
  }

  add(share: Omit<ShareRow, 'removedAt'>): void {
    this.db.prepare('INSERT INTO shares (name, copies, guest, created_at) VALUES (?, ?, ?, ?)').run(share.name, copiesColumn(share.copies), share.guest, share.createdAt);
  }

  update(name: string, change: { copies?: Copies; guest?: Guest }): void {
    if (change.copies !== undefined) this.db.prepare('UPDATE shares SET copies = ? WHERE name = ?').run(copiesColumn(change.copies), name);
    if (change.guest !== undefined) this.db.prepare('UPDATE shares SET guest = ? WHERE name = ?').run(change.guest, name);
  }

  setRemoved(name: string, at: number | null): void {
    this.db.prepare('UPDATE shares SET removed_at = ? WHERE name = ?').run(at, name);
  }

  /** The share's row, its grants and its file catalog, in one transaction (its files on the disks are the caller's). */
  delete(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM pool_files WHERE share = ?').run(name);
      this.db.prepare('DELETE FROM pool_journal WHERE share = ?').run(name);
      this.db.prepare('DELETE FROM shares WHERE name = ?').run(name);
    })();
  }
}
