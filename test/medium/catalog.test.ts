import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CatalogTooNewError, migrate, openCatalog, schemaVersion } from '../../server/catalog/catalog.js';
import { MIGRATIONS } from '../../server/catalog/migrations.js';
import { tempCatalog } from '../testing/catalog.js';

describe('the catalog file', () => {
  it('is created in WAL mode with every migration applied, and reopening applies none again', () => {
    const cat = tempCatalog();
    try {
      assert.equal(schemaVersion(cat.db), MIGRATIONS.at(-1)!.version);
      assert.equal(cat.db.pragma('journal_mode', { simple: true }), 'wal');
      cat.db.prepare("INSERT INTO settings (key, value) VALUES ('k', '1')").run();
      const db = cat.reopen();
      assert.equal(migrate(db), 0);
      assert.equal((db.prepare("SELECT value FROM settings WHERE key = 'k'").get() as { value: string }).value, '1');
    } finally {
      cat.dispose();
    }
  });

  it('applies a new migration in order and refuses a catalog from a newer Safehold', () => {
    const cat = tempCatalog();
    try {
      const next = [...MIGRATIONS, { version: MIGRATIONS.length + 1, description: 'test', sql: 'CREATE TABLE extra (x INTEGER);' }];
      assert.equal(migrate(cat.db, next), 1);
      cat.db.close();
      assert.throws(() => openCatalog(cat.file), CatalogTooNewError);
    } finally {
      cat.dispose();
    }
  });

  it('rolls a failing migration back whole', () => {
    const cat = tempCatalog();
    try {
      const before = schemaVersion(cat.db);
      const broken = [...MIGRATIONS, { version: before + 1, description: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;' }];
      assert.throws(() => migrate(cat.db, broken));
      assert.equal(schemaVersion(cat.db), before);
      assert.equal(cat.db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get(), undefined);
    } finally {
      cat.dispose();
    }
  });

  it('carries every registered rotation drive into its drive row\'s role when roles became data (migration 6)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'safehold-test-mig6-'));
    try {
      const file = join(dir, 'catalog.db');
      const before = MIGRATIONS.filter((m) => m.version < 6);
      const old = openCatalog(file, before);
      const facts = JSON.stringify({ name: 'sdb' });
      for (const id of ['wwn-a', 'wwn-b', 'wwn-plain']) {
        old.prepare("INSERT INTO drives (id, identity_kind, connected, first_seen_at, last_seen_at, facts) VALUES (?, 'wwn', 1, 1, 1, ?)").run(id, facts);
      }
      old.prepare("INSERT INTO rotation_drives (drive_id, name, password_secret, registered_at) VALUES ('wwn-a', 'A', 's-a', 1000), ('wwn-b', 'Blue', 's-b', 2000)").run();
      old.close();

      const db = openCatalog(file);
      const rows = db.prepare('SELECT id, role, role_label, role_since FROM drives ORDER BY id').all();
      assert.deepEqual(rows.map((r) => ({ ...(r as object) })), [
        { id: 'wwn-a', role: 'rotation', role_label: 'A', role_since: 1000 },
        { id: 'wwn-b', role: 'rotation', role_label: 'Blue', role_since: 2000 },
        { id: 'wwn-plain', role: 'unassigned', role_label: null, role_since: null },
      ]);
      assert.equal((db.prepare('SELECT count(*) AS n FROM rotation_drives').get() as { n: number }).n, 2, 'the rotation rows stay as they were');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets exactly one admin row exist', () => {
    const cat = tempCatalog();
    try {
      cat.db.prepare("INSERT INTO admin (id, username, password_hash, created_at) VALUES (1, 'a', 'h', 0)").run();
      assert.throws(() => cat.db.prepare("INSERT INTO admin (id, username, password_hash, created_at) VALUES (2, 'b', 'h', 0)").run());
    } finally {
      cat.dispose();
    }
  });
});
