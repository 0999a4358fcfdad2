/**
 * The catalog: one SQLite file (`<data>/catalog.db`) that holds all of Safehold's state.
 *
 * Contract: `openCatalog()` opens (or creates) the file in WAL mode with foreign keys on, applies
 * every pending migration inside one transaction each, and refuses a catalog written by a newer
 * Safehold (it never downgrades a schema). The service may be killed at any moment: SQLite's
 * journal keeps the file consistent, and `synchronous = FULL` makes a committed change durable.
 * The file and its `-wal` and `-shm` are mode 0600 (they hold the admin's password hash), however
 * they were found; SQLite gives a journal it creates later the database file's mode.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Catalog = Database.Database;

export class CatalogTooNewError extends Error {}

export function openCatalog(file: string, migrations: readonly Migration[] = MIGRATIONS): Catalog {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    for (const journal of [`${file}-wal`, `${file}-shm`]) if (existsSync(journal)) chmodSync(journal, 0o600);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Apply the migrations newer than the file's `user_version`; returns how many were applied. */
export function migrate(db: Catalog, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new CatalogTooNewError(
      `The catalog was written by a newer Safehold (schema ${current}, this one knows ${latest}). Install the newer version again.`,
    );
  }
  let applied = 0;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied++;
  }
  return applied;
}

export function schemaVersion(db: Catalog): number {
  return db.pragma('user_version', { simple: true }) as number;
}
