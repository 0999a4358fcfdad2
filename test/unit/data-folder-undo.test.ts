/**
 * What a failed start made in a fresh data folder is removed again (`undoFreshDataFolder`), and
 * never anything in a folder that held something before (real files in a temporary folder).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { examineDataFolder, prepareDataFolder, undoFreshDataFolder } from '../../server/data-folder.js';

describe('undoing a failed start in the data folder', () => {
  let parent = '';
  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'safehold-test-undo-'));
  });
  after(() => rm(parent, { recursive: true, force: true }));

  /** What a start writes: the catalog, the setup code, a secret. */
  const writeLikeAStart = async (dataDir: string) => {
    await prepareDataFolder(dataDir);
    await writeFile(join(dataDir, 'catalog.db'), 'catalog');
    await writeFile(join(dataDir, 'setup-code'), 'ABCD-EFGH-JKLM');
    await mkdir(join(dataDir, 'secrets'));
    await writeFile(join(dataDir, 'secrets', 'smtp-password'), 'x');
  };

  it('removes a folder it made, with the parents it made, and what was written in it', async () => {
    const dataDir = join(parent, 'a', 'b', 'data');
    const before = await examineDataFolder(dataDir);
    assert.deepEqual(before, { path: dataDir, made: join(parent, 'a'), fresh: true });
    await writeLikeAStart(dataDir);
    assert.deepEqual(await undoFreshDataFolder(before), []);
    await assert.rejects(stat(join(parent, 'a')), { code: 'ENOENT' });
    assert.ok((await stat(parent)).isDirectory(), 'the folder that was there stays');
  });

  it('empties a folder that was empty, and keeps the folder', async () => {
    const dataDir = join(parent, 'empty');
    await mkdir(dataDir);
    const before = await examineDataFolder(dataDir);
    assert.equal(before.fresh, true);
    assert.equal(before.made, null);
    await writeLikeAStart(dataDir);
    assert.deepEqual(await undoFreshDataFolder(before), []);
    assert.deepEqual(await readdir(dataDir), []);
  });

  it('does not follow a symbolic link out of the folder', async () => {
    const outside = join(parent, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'a file of the owner');
    const dataDir = join(parent, 'linked');
    const before = await examineDataFolder(dataDir);
    await writeLikeAStart(dataDir);
    await symlink(outside, join(dataDir, 'link'));
    assert.deepEqual(await undoFreshDataFolder(before), []);
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });
    assert.deepEqual(await readdir(outside), ['keep.txt']);
  });

  it('leaves a folder that held anything alone', async () => {
    const dataDir = join(parent, 'used');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'catalog.db'), 'the owner\'s catalog');
    const before = await examineDataFolder(dataDir);
    assert.equal(before.fresh, false);
    await writeFile(join(dataDir, 'setup-code'), 'ABCD-EFGH-JKLM');
    assert.deepEqual(await undoFreshDataFolder(before), []);
    assert.deepEqual((await readdir(dataDir)).sort(), ['catalog.db', 'setup-code']);
  });
});
