/** Every SQL query about the admin account and sessions. */
import type { Catalog } from '../catalog/catalog.js';

export interface AdminRow {
  username: string;
  password_hash: string;
  created_at: number;
}

export interface SessionRow {
  id_hash: string;
  username: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export class AuthRepository {
  constructor(readonly db: Catalog) {}

  admin(): AdminRow | undefined {
    return this.db.prepare('SELECT username, password_hash, created_at FROM admin WHERE id = 1').get() as AdminRow | undefined;
  }

  /**
   * Create the one admin account, or give a reset one (empty `password_hash`) its new name and
   * password; false when an admin with a password exists. One statement, so of two racing setups
   * exactly one wins (the row's CHECK(id = 1) and the WHERE decide).
   */
  createAdmin(username: string, passwordHash: string, now: number): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO admin (id, username, password_hash, created_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash
         WHERE admin.password_hash = ''`,
      )
      .run(username, passwordHash, now);
    return result.changes === 1;
  }

  setPasswordHash(passwordHash: string): void {
    this.db.prepare('UPDATE admin SET password_hash = ? WHERE id = 1').run(passwordHash);
  }

  /** Removes the admin's password (the user name stays): setup is open again. */
  clearPasswordHash(): void {
    this.db.prepare("UPDATE admin SET password_hash = '' WHERE id = 1").run();
  }

  /** Ends every session; returns how many there were. */
  deleteAllSessions(): number {
    return this.db.prepare('DELETE FROM sessions').run().changes;
  }

  insertSession(row: SessionRow): void {
    this.db
      .prepare('INSERT INTO sessions (id_hash, username, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(row.id_hash, row.username, row.created_at, row.last_seen_at, row.expires_at);
  }

  session(idHash: string): SessionRow | undefined {
    return this.db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
  }

  touchSession(idHash: string, now: number): void {
    this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, idHash);
  }

  deleteSession(idHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  deleteExpired(now: number, idleCutoff: number): number {
    return this.db.prepare('DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?').run(now, idleCutoff).changes;
  }

  countSessions(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
  }
}
