/**
 * The activity log: what happened on the box, in words for the owner, newest first.
 * Entries are appended and never edited. Kept for at least a year; `prune()` drops older entries.
 */
import type { Catalog } from '../catalog/catalog.js';
import type { ActivityEntry, ActivityLevel, NewActivity } from './activity.model.js';

export type { ActivityEntry, ActivityLevel, NewActivity };

interface Row {
  id: number;
  at: number;
  level: ActivityLevel;
  kind: string;
  subject: string | null;
  message: string;
}

const toEntry = (row: Row): ActivityEntry => ({
  id: row.id,
  at: new Date(row.at).toISOString(),
  level: row.level,
  kind: row.kind,
  subject: row.subject,
  message: row.message,
});

export class ActivityRepository {
  readonly #insert;
  readonly #page;
  readonly #pageBefore;

  constructor(readonly db: Catalog) {
    this.#insert = db.prepare(
      'INSERT INTO activity (at, level, kind, subject, message, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
    );
    this.#page = db.prepare('SELECT * FROM activity ORDER BY id DESC LIMIT ?');
    this.#pageBefore = db.prepare('SELECT * FROM activity WHERE id < ? ORDER BY id DESC LIMIT ?');
  }

  add(at: number, entry: NewActivity): ActivityEntry {
    const data = entry.data === undefined ? null : JSON.stringify(entry.data);
    const row = this.#insert.get(at, entry.level, entry.kind, entry.subject ?? null, entry.message, data) as Row;
    return toEntry(row);
  }

  /** Newest first; `before` is an entry id for paging. */
  list(limit: number, before?: number): ActivityEntry[] {
    const rows = (before === undefined ? this.#page.all(limit) : this.#pageBefore.all(before, limit)) as Row[];
    return rows.map(toEntry);
  }

  /** Delete entries older than `cutoff` (ms since epoch); returns how many. */
  prune(cutoff: number): number {
    return this.db.prepare('DELETE FROM activity WHERE at < ?').run(cutoff).changes;
  }
}
