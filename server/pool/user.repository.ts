/**
 * Every SQL query about household users (`pool_users`) and their grants on shares
 * (`share_grants`). Passwords are never here: Samba keeps them (docs/samba.md).
 */
import type { Catalog } from '../catalog/catalog.js';

export type Access = 'rw' | 'ro';

export interface HouseholdUserRow {
  name: string;
  createdAt: number;
}

export interface GrantRow {
  share: string;
  user: string;
  access: Access;
}

export class HouseholdUserRepository {
  constructor(readonly db: Catalog) {}

  list(): HouseholdUserRow[] {
    return (this.db.prepare('SELECT name, created_at FROM pool_users ORDER BY name').all() as { name: string; created_at: number }[]).map((r) => ({
      name: r.name,
      createdAt: r.created_at,
    }));
  }

  get(name: string): HouseholdUserRow | undefined {
    const row = this.db.prepare('SELECT name, created_at FROM pool_users WHERE name = ?').get(name) as { name: string; created_at: number } | undefined;
    return row && { name: row.name, createdAt: row.created_at };
  }

  add(user: HouseholdUserRow): void {
    this.db.prepare('INSERT INTO pool_users (name, created_at) VALUES (?, ?)').run(user.name, user.createdAt);
  }

  /** The user and every grant of theirs (the grants go with the row: ON DELETE CASCADE, stated here too). */
  delete(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM share_grants WHERE user = ?').run(name);
      this.db.prepare('DELETE FROM pool_users WHERE name = ?').run(name);
    })();
  }

  /** Every grant, by share then user; of one share (any case) when `share` is given. */
  grants(share?: string): GrantRow[] {
    return (
      share === undefined
        ? this.db.prepare('SELECT share, user, access FROM share_grants ORDER BY share, user').all()
        : this.db.prepare('SELECT share, user, access FROM share_grants WHERE share = ? ORDER BY user').all(share)
    ) as GrantRow[];
  }

  /** Sets the user's access to the share (one grant per user per share). */
  setGrant(share: string, user: string, access: Access): void {
    this.db.prepare('INSERT INTO share_grants (share, user, access) VALUES (?, ?, ?) ON CONFLICT (share, user) DO UPDATE SET access = excluded.access').run(share, user, access);
  }

  /** True when there was a grant to remove. */
  deleteGrant(share: string, user: string): boolean {
    return this.db.prepare('DELETE FROM share_grants WHERE share = ? AND user = ?').run(share, user).changes > 0;
  }
}
