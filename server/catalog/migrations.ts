/**
 * The catalog's schema, as an ordered list of migrations. A migration is never edited once released:
 * change the schema by appending one. `PRAGMA user_version` holds the number of migrations applied.
 * docs/catalog.md describes every table.
 */

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'admin account, sessions, jobs, activity log, drives, settings',
    sql: `
      CREATE TABLE admin (
        id            INTEGER PRIMARY KEY CHECK (id = 1),      -- one admin account, ever
        username      TEXT NOT NULL,
        password_hash TEXT NOT NULL,                           -- scrypt$N$r$p$salt$hash (base64)
        created_at    INTEGER NOT NULL
      );

      CREATE TABLE sessions (
        id_hash       TEXT PRIMARY KEY,                        -- sha256 of the cookie value
        username      TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_seen_at  INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      );

      CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        kind          TEXT NOT NULL,
        target        TEXT,
        state         TEXT NOT NULL CHECK (state IN ('queued','running','succeeded','failed','cancelled','interrupted')),
        resources     TEXT NOT NULL DEFAULT '[]',              -- JSON array of lock names, e.g. ["disk:wwn-…"]
        params        TEXT NOT NULL DEFAULT '{}',              -- JSON
        bytes_done    INTEGER NOT NULL DEFAULT 0,
        bytes_total   INTEGER,
        items_done    INTEGER NOT NULL DEFAULT 0,
        items_total   INTEGER,
        eta_seconds   INTEGER,
        current       TEXT,
        message       TEXT,
        created_at    INTEGER NOT NULL,
        started_at    INTEGER,
        finished_at   INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX jobs_by_state ON jobs (state, id);

      CREATE TABLE activity (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        at            INTEGER NOT NULL,
        level         TEXT NOT NULL CHECK (level IN ('info','warning','error')),
        kind          TEXT NOT NULL,
        subject       TEXT,
        message       TEXT NOT NULL,
        data          TEXT                                     -- JSON, optional
      );

      CREATE TABLE drives (
        id            TEXT PRIMARY KEY,                        -- stable identity, see docs/drives.md
        identity_kind TEXT NOT NULL,
        role          TEXT NOT NULL DEFAULT 'unassigned',      -- the role the owner gave it (later issues); system is computed
        connected     INTEGER NOT NULL DEFAULT 0,
        first_seen_at INTEGER NOT NULL,
        last_seen_at  INTEGER NOT NULL,
        facts         TEXT NOT NULL                            -- JSON: the last DiskFacts read
      );

      CREATE TABLE settings (
        key           TEXT PRIMARY KEY,
        value         TEXT NOT NULL                            -- JSON
      );
    `,
  },
];
