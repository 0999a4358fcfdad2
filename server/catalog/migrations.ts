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
  {
    version: 2,
    description: 'SMART history, latest reads, acknowledgements, alert memory, the owner\'s name for a drive',
    sql: `
      ALTER TABLE drives ADD COLUMN name TEXT;                  -- the name the owner gave the drive, or null

      CREATE TABLE smart_reads (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        drive_id      TEXT NOT NULL,
        at            INTEGER NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('read','asleep','no-smart','error')),
        verdict       TEXT NOT NULL CHECK (verdict IN ('healthy','warning','failing','unknown')),
        temperature_c REAL,
        power_on_hours INTEGER,
        counters      TEXT NOT NULL DEFAULT '{}',               -- JSON: the counters the rules use, e.g. {"ata:5": 0}
        compacted     INTEGER NOT NULL DEFAULT 0                -- 1: stands for a whole day (see docs/catalog.md)
      );
      CREATE INDEX smart_reads_by_drive ON smart_reads (drive_id, at);

      CREATE TABLE smart_latest (
        drive_id      TEXT PRIMARY KEY,
        at            INTEGER NOT NULL,
        state         TEXT NOT NULL,
        verdict       TEXT NOT NULL,                            -- a sleeping disk keeps the verdict of its last real read
        reasons       TEXT NOT NULL DEFAULT '[]',               -- JSON: the verdict's reasons
        temperature_c REAL,
        raw           TEXT,                                     -- smartctl's JSON as it printed it (null when asleep)
        device_type   TEXT                                      -- the -d type that worked (USB bridges), or null
      );

      CREATE TABLE smart_acks (
        drive_id      TEXT NOT NULL,
        key           TEXT NOT NULL,                            -- a counter, e.g. "ata:199"
        value         REAL NOT NULL,                            -- ignored while the counter stays at or below it
        note          TEXT,
        at            INTEGER NOT NULL,
        PRIMARY KEY (drive_id, key)
      );

      CREATE TABLE alert_memory (
        key           TEXT PRIMARY KEY,                         -- e.g. "health:<drive id>"
        drive_id      TEXT,
        severity      TEXT NOT NULL CHECK (severity IN ('warning','error')),
        message       TEXT NOT NULL,                            -- what the dashboard shows while it is open
        state         TEXT NOT NULL,
        normal        INTEGER NOT NULL,
        since         INTEGER NOT NULL,
        last_sent_at  INTEGER NOT NULL,
        send_count    INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: 'backup sources',
    sql: `
      CREATE TABLE sources (
        name          TEXT PRIMARY KEY,                         -- the owner's name, also restic's tag: a-z 0-9 . _ -
        path          TEXT NOT NULL UNIQUE,                     -- absolute folder on the box
        excludes      TEXT NOT NULL DEFAULT '[]',               -- JSON array of restic exclude patterns
        created_at    INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: 'rotation backup drives',
    sql: `
      CREATE TABLE rotation_drives (
        drive_id      TEXT PRIMARY KEY REFERENCES drives (id),
        name          TEXT NOT NULL UNIQUE,                     -- "A", "B": the owner's name in the rotation
        password_secret TEXT NOT NULL,                          -- the secret file holding the restic repository's password
        filesystem_uuid TEXT,                                   -- the filesystem the marker was written on
        registered_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    description: 'backups onto rotation drives: runs, the snapshots on each drive, the rotation ledger',
    sql: `
      ALTER TABLE rotation_drives ADD COLUMN last_plugged_at INTEGER;      -- last seen plugged in (ms)
      ALTER TABLE rotation_drives ADD COLUMN last_unplugged_at INTEGER;    -- last seen going away (ms): "away since"
      ALTER TABLE rotation_drives ADD COLUMN capacity_bytes INTEGER;       -- of its filesystem, measured while mounted
      ALTER TABLE rotation_drives ADD COLUMN free_bytes INTEGER;           -- free on its filesystem at the end of the last run
      ALTER TABLE rotation_drives ADD COLUMN check_next_slice INTEGER NOT NULL DEFAULT 1; -- n of the next --read-data-subset n/t
      ALTER TABLE rotation_drives ADD COLUMN slices_read TEXT NOT NULL DEFAULT '[]';       -- JSON: slices read back in the current round
      ALTER TABLE rotation_drives ADD COLUMN fully_read_at INTEGER;        -- when a round read every slice back (ms)
      ALTER TABLE rotation_drives ADD COLUMN prune_suspended_at INTEGER;   -- tripwire fired: no forget/prune until the owner looks
      ALTER TABLE rotation_drives ADD COLUMN prune_suspended_reason TEXT;
      ALTER TABLE rotation_drives ADD COLUMN last_pruned_at INTEGER;

      CREATE TABLE backup_runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        drive_id      TEXT NOT NULL,
        job_id        INTEGER,
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        outcome       TEXT NOT NULL CHECK (outcome IN ('running','good','partial','failed','interrupted')),
        message       TEXT,
        sources       TEXT NOT NULL DEFAULT '[]',   -- JSON: per source { name, outcome, snapshotId, files, bytes, message }
        check_result  TEXT,                          -- JSON: { ok, slice, problems }
        drill_result  TEXT,                          -- JSON: { ok, files, bytes, mismatches }
        used_bytes    INTEGER,                       -- used on the drive's filesystem at the end (for the "full" forecast)
        capacity_bytes INTEGER,
        safe_to_unplug INTEGER NOT NULL DEFAULT 0    -- synced, unmounted and flushed at the end
      );
      CREATE INDEX backup_runs_by_drive ON backup_runs (drive_id, id);

      CREATE TABLE snapshots (
        drive_id      TEXT NOT NULL,
        id            TEXT NOT NULL,                 -- restic's full snapshot id
        source        TEXT NOT NULL,                 -- the source's name (restic tag)
        paths         TEXT NOT NULL DEFAULT '[]',    -- JSON: the snapshot's paths
        time          INTEGER NOT NULL,              -- the snapshot's time (ms)
        run_id        INTEGER,                       -- the run that made it; null when first seen on the drive
        files         INTEGER,                       -- files in the snapshot, when known
        bytes         INTEGER,
        files_new     INTEGER,
        files_changed INTEGER,
        suspicious    TEXT,                          -- why the mass-change tripwire fired, or null
        PRIMARY KEY (drive_id, id)
      );
      CREATE INDEX snapshots_by_source ON snapshots (source, time);
    `,
  },
  {
    version: 6,
    description: 'drive roles are data: the owner of a role (rotation, later the pool) writes it on the drive row',
    sql: `
      ALTER TABLE drives ADD COLUMN role_label TEXT;     -- the drive's name in its role ("A" for rotation drive A), or null
      ALTER TABLE drives ADD COLUMN role_since INTEGER;  -- when it was given that role (ms), or null
      UPDATE drives SET role = 'rotation',
                        role_label = (SELECT name FROM rotation_drives r WHERE r.drive_id = drives.id),
                        role_since = (SELECT registered_at FROM rotation_drives r WHERE r.drive_id = drives.id)
        WHERE id IN (SELECT drive_id FROM rotation_drives);
    `,
  },
  {
    version: 7,
    description: 'storage pool members',
    sql: `
      CREATE TABLE pool_members (
        drive_id        TEXT PRIMARY KEY,                -- drives.id (its role there is 'pool')
        filesystem_uuid TEXT NOT NULL,                   -- the filesystem Safehold mounts, by UUID
        fs_type         TEXT NOT NULL,                   -- ext4, xfs or btrfs
        joined_at       INTEGER NOT NULL,                -- ms
        kept_files      INTEGER NOT NULL                 -- 1: joined with its filesystem and files kept; 0: erased
      );
    `,
  },
  {
    version: 8,
    description: 'shares, household users and their grants, and the pool file catalog',
    sql: `
      CREATE TABLE shares (
        name          TEXT PRIMARY KEY COLLATE NOCASE, -- the folder on every disk, the view's and the SMB name
        copies        INTEGER NOT NULL CHECK (copies BETWEEN 0 AND 3), -- copies of each file; 0: one on every disk
        guest         TEXT NOT NULL DEFAULT 'none' CHECK (guest IN ('none','ro','rw')),
        created_at    INTEGER NOT NULL,
        removed_at    INTEGER                          -- removed by the owner: no longer shown on the network, its files kept until confirmed
      );

      CREATE TABLE pool_users (
        name          TEXT PRIMARY KEY,                -- a household user (Samba keeps the password)
        created_at    INTEGER NOT NULL
      );

      CREATE TABLE share_grants (
        share         TEXT NOT NULL COLLATE NOCASE REFERENCES shares (name) ON DELETE CASCADE,
        user          TEXT NOT NULL REFERENCES pool_users (name) ON DELETE CASCADE,
        access        TEXT NOT NULL CHECK (access IN ('rw','ro')),
        PRIMARY KEY (share, user)
      );

      CREATE TABLE pool_files (
        id            INTEGER PRIMARY KEY,
        share         TEXT NOT NULL COLLATE NOCASE,
        dir           BLOB NOT NULL,                   -- the folder in the share ('' at its top), bytes as on the disk
        name          BLOB NOT NULL,                   -- the file's name, bytes as on the disk
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,                -- of the truth copy, nanoseconds since the epoch
        hash          TEXT NOT NULL,                   -- hex digest of its content
        hash_algorithm TEXT NOT NULL,                  -- e.g. 'sha256'
        updated_at    INTEGER NOT NULL,
        UNIQUE (share, dir, name)
      );

      CREATE TABLE pool_copies (
        file_id       INTEGER NOT NULL REFERENCES pool_files (id) ON DELETE CASCADE,
        drive_id      TEXT NOT NULL,                   -- the pool disk holding it
        size          INTEGER NOT NULL,                -- the copy's size, mtime and ctime when it was verified:
        mtime_ns      INTEGER NOT NULL,                -- a copy that still shows them was not written since
        ctime_ns      INTEGER NOT NULL,
        hash          TEXT NOT NULL,                   -- what the copy held then: the file's hash (a good copy) or an older one (stale: replaced next)
        verified_at   INTEGER NOT NULL,                -- ms
        PRIMARY KEY (file_id, drive_id)
      );
      CREATE INDEX pool_copies_by_drive ON pool_copies (drive_id);

      CREATE TABLE pool_journal (
        id            INTEGER PRIMARY KEY,
        drive_id      TEXT NOT NULL,                   -- a disk that was away when the change happened
        share         TEXT NOT NULL COLLATE NOCASE,
        dir           BLOB NOT NULL,
        name          BLOB NOT NULL,
        action        TEXT NOT NULL CHECK (action IN ('delete')),
        at            INTEGER NOT NULL,
        size          INTEGER,                         -- what the copy there was: only that copy is removed when it is back
        mtime_ns      INTEGER
      );
      CREATE INDEX pool_journal_by_drive ON pool_journal (drive_id);
    `,
  },
  {
    version: 9,
    description: 'what the owner said of a missing pool disk',
    sql: `
      ALTER TABLE pool_members ADD COLUMN missing_choice TEXT; -- 'wait': it will come back (no more reminders while it is away); null otherwise
    `,
  },
];
