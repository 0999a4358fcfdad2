import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FolderFacts } from '../../system/files.js';
import { checkSource } from '../../server/backups/source-safety.js';

const source = { name: 'photos', path: '/srv/photos' };
const folder = (over: Partial<FolderFacts>): FolderFacts => ({ exists: true, isDirectory: true, readable: true, hasEntries: true, realPath: '/srv/photos', ...over });

describe('source interlocks before a backup', () => {
  it('backs up a readable folder with files', () => {
    assert.deepEqual(checkSource(source, folder({}), 1200), { ok: true });
  });

  it('refuses a missing folder and asks whether its disk is mounted', () => {
    const check = checkSource(source, folder({ exists: false, isDirectory: false }), 1200);
    assert.equal(check.ok, false);
    assert.ok(!check.ok && check.code === 'missing' && /Is its disk mounted\?/.test(check.message) && /earlier backups are untouched/.test(check.message));
  });

  it('refuses a folder that is suddenly empty while its last backup had files', () => {
    const check = checkSource(source, folder({ hasEntries: false }), 1200);
    assert.ok(!check.ok && check.code === 'suddenly-empty' && /last backup had 1200 files/.test(check.message));
  });

  it('backs up an empty folder that never had a backup (a new, empty share)', () => {
    assert.deepEqual(checkSource(source, folder({ hasEntries: false }), null), { ok: true });
    assert.deepEqual(checkSource(source, folder({ hasEntries: false }), 0), { ok: true });
  });

  it('refuses a file in place of the folder and a folder it cannot read', () => {
    assert.equal((checkSource(source, folder({ isDirectory: false }), null) as { code: string }).code, 'not-a-folder');
    assert.equal((checkSource(source, folder({ readable: false, hasEntries: null }), 5) as { code: string }).code, 'unreadable');
  });
});
