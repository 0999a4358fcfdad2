import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FolderFacts } from '../../system/files/files.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupGuards, checkSource, keptBy, literalPattern, MARKER_HEADER } from '../../server/backups/source-safety.js';
import { serializeMarker } from '../../system/marker/drive-marker.js';

const source = { name: 'photos', path: '/srv/photos' };
const DATA = '/var/lib/safehold';
const folder = (over: Partial<FolderFacts>): FolderFacts => ({ exists: true, isDirectory: true, readable: true, hasEntries: true, realPath: '/srv/photos', ...over });

describe('source interlocks before a backup', () => {
  it('backs up a readable folder with files', () => {
    assert.deepEqual(checkSource(source, folder({}), 1200, DATA), { ok: true });
  });

  it('refuses a missing folder and asks whether its disk is mounted', () => {
    const check = checkSource(source, folder({ exists: false, isDirectory: false }), 1200, DATA);
    assert.equal(check.ok, false);
    assert.ok(!check.ok && check.code === 'missing' && /Is its disk mounted\?/.test(check.message) && /earlier backups are untouched/.test(check.message));
  });

  it('refuses a folder that is suddenly empty while its last backup had files', () => {
    const check = checkSource(source, folder({ hasEntries: false }), 1200, DATA);
    assert.ok(!check.ok && check.code === 'suddenly-empty' && /last backup had 1200 files/.test(check.message));
  });

  it('backs up an empty folder that never had a backup (a new, empty share)', () => {
    assert.deepEqual(checkSource(source, folder({ hasEntries: false }), null, DATA), { ok: true });
    assert.deepEqual(checkSource(source, folder({ hasEntries: false }), 0, DATA), { ok: true });
  });

  it('refuses a file in place of the folder and a folder it cannot read', () => {
    assert.equal((checkSource(source, folder({ isDirectory: false }), null, DATA) as { code: string }).code, 'not-a-folder');
    assert.equal((checkSource(source, folder({ readable: false, hasEntries: null }), 5, DATA) as { code: string }).code, 'unreadable');
  });

  it('refuses a source that leads into the data folder, by its real path, checked at every backup', () => {
    for (const realPath of [DATA, `${DATA}/secrets`, `${DATA}/mnt/serial-X`]) {
      const check = checkSource(source, folder({ realPath }), 10, DATA);
      assert.ok(!check.ok && check.code === 'inside-data-folder', realPath);
      assert.match(check.message, new RegExp(`^Source "photos": /srv/photos \\(which is ${realPath}\\) is inside Safehold's own data folder /var/lib/safehold, which holds the secrets, the catalog and the mounted backup drives`));
      assert.match(check.message, /It was not backed up\.$/);
    }
    assert.deepEqual(checkSource(source, folder({ realPath: '/var/lib/safehold-photos' }), 10, DATA), { ok: true }, 'a neighbour whose name starts the same is not inside');
  });
});

describe('what every backup leaves out', () => {
  const marker = [`drive.json:${MARKER_HEADER}`];

  it('a source apart from the data folder: only the folders of backup drives, found by their marker', () => {
    assert.deepEqual(backupGuards('/srv/photos', '/srv/photos', DATA), { folders: [], excludes: [], excludeIfPresent: marker, oneFileSystem: false });
  });

  it('a parent of the data folder leaves it out (with the mount folders in it), where restic meets it and at its real path', () => {
    assert.deepEqual(backupGuards('/var', '/var', DATA).excludes, [DATA]);
    // /home/me/box is a symbolic link to /var: restic walks /home/me/box/lib/safehold.
    assert.deepEqual(backupGuards('/home/me/box', '/var', DATA).excludes, ['/home/me/box/lib/safehold', DATA]);
  });

  it('/ stays on its own filesystem (no /proc, /sys, /dev, /run, other disks) and leaves the data folder out', () => {
    assert.deepEqual(backupGuards('/', '/', DATA), { folders: [DATA], excludes: [DATA], excludeIfPresent: marker, oneFileSystem: true });
    assert.equal(backupGuards('/mnt/root-link', '/', DATA).oneFileSystem, true, 'a symbolic link to / too');
  });

  it('a source that became a link into the data folder after the check is left out whole', () => {
    assert.deepEqual(backupGuards('/srv/photos', `${DATA}/secrets`, DATA).excludes, ['/srv/photos']);
  });

  it('escapes the characters restic patterns give a meaning to', () => {
    assert.equal(literalPattern('/srv/a*b?c[d]e\\f'), '/srv/a[*]b[?]c[[]d]e[\\\\]f');
  });

  it('the marker header is how every drive marker begins', () => {
    const text = serializeMarker({
      drive: { name: 'A', identity: { kind: 'serial', value: 'S1' }, serial: 'S1', wwn: null, model: null, filesystemUuid: null },
      rotationSetId: 'set-12345678',
      boxId: 'box-12345678',
      registeredAt: '2026-01-01T00:00:00.000Z',
      repository: 'repository',
    });
    assert.ok(text.startsWith(MARKER_HEADER), text);
  });

  it("the restore drill's sample keeps only what such a backup holds", async () => {
    const root = await mkdtemp(join(tmpdir(), 'safehold-test-kept-'));
    try {
      const data = join(root, 'data');
      const files = ['photos/a.jpg', 'data/catalog.db', 'drive/Safehold/drive.json', 'drive/Safehold/repository/data/p1', 'drive/beside.jpg', 'fake/Safehold/drive.json', 'fake/Safehold/notes.txt'];
      for (const f of files) {
        await mkdir(join(root, f, '..'), { recursive: true });
        await writeFile(join(root, f), 'x');
      }
      await writeFile(join(root, 'drive/Safehold/drive.json'), `${MARKER_HEADER},\n  "version": 1\n}\n`);
      await writeFile(join(root, 'fake/Safehold/drive.json'), '{"format":"something else"}');
      const kept = await keptBy(backupGuards(root, root, data), root, files.map((f) => ({ path: join(root, f) })));
      assert.deepEqual(
        kept.map((f) => f.path.slice(root.length + 1)),
        ['photos/a.jpg', 'drive/Safehold/drive.json', 'drive/beside.jpg', 'fake/Safehold/drive.json', 'fake/Safehold/notes.txt'],
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
