/** The pooled view's pure parts: the placement rule, path and branch checks, mergerfs' branch-list syntax. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBranchList, parseBranchList } from '../../system/mergerfs/mergerfs.adapter.js';
import { chooseBranch, folderLevels, normalizeBranches, PoolViewError, viewNameOf, viewSource, type BranchFacts } from '../../system/mergerfs/pool-view.js';

const fact = (path: string, availableBytes: number | null, extra: Partial<BranchFacts['branch']> = {}): BranchFacts => ({
  branch: { path, mode: 'read-write', reserveBytes: 100, ...extra },
  availableBytes,
  readOnlyFilesystem: false,
});

describe('chooseBranch (mergerfs mspmfs)', () => {
  const folders: Record<string, string[]> = { '/a': ['', 'Album'], '/b': [''], '/c': ['', 'Album', 'Album/2026'] };
  const has = (facts: BranchFacts[]) => (i: number, folder: string) => folders[facts[i]!.branch.path]!.includes(folder);

  it('takes the deepest folder some eligible branch has, then the most free space', () => {
    const facts = [fact('/a', 500), fact('/b', 900), fact('/c', 300)];
    assert.deepEqual(chooseBranch('Album/2026/x.jpg', facts, has(facts)), { branch: '/c', folder: 'Album/2026', keptTogether: true });
    assert.deepEqual(chooseBranch('Album/y.jpg', facts, has(facts)), { branch: '/a', folder: 'Album', keptTogether: true });
    assert.deepEqual(chooseBranch('top.txt', facts, has(facts)), { branch: '/b', folder: '', keptTogether: true });
    assert.deepEqual(chooseBranch('New/z.txt', facts, has(facts)), { branch: '/b', folder: '', keptTogether: false });
  });

  it('walks up past a branch below its reserve, a no-create, read-only or missing one', () => {
    const facts = [fact('/a', 500), fact('/b', 900), fact('/c', 99)];
    assert.deepEqual(chooseBranch('Album/2026/x.jpg', facts, has(facts)), { branch: '/a', folder: 'Album', keptTogether: false });
    const unwell = [fact('/a', 500, { mode: 'no-create' }), fact('/b', null), { ...fact('/c', 700), readOnlyFilesystem: true }];
    const none = chooseBranch('Album/x.jpg', unwell, has(unwell));
    assert.equal(none.branch, null);
    assert.match(none.branch === null ? none.reason : '', /\/a takes no new files \(no-create\); \/b cannot be read .*; \/c is on a read-only filesystem/);
  });

  it('gives a tie to the later branch, as mergerfs does', () => {
    const facts = [fact('/a', 500), fact('/b', 500)];
    assert.equal(chooseBranch('top.txt', facts, has(facts)).branch, '/b');
  });

  it('a branch exactly at its reserve still takes files', () => {
    const facts = [fact('/a', 100)];
    assert.equal(chooseBranch('top.txt', facts, has(facts)).branch, '/a');
  });
});

describe('paths and branches', () => {
  it('lists a file\'s folders up to the top; refuses paths outside the view', () => {
    assert.deepEqual(folderLevels('a/b/c.txt'), ['a/b', 'a', '']);
    assert.deepEqual(folderLevels('c.txt'), ['']);
    for (const bad of ['', '/etc/passwd', '..', '../x', 'a/../../x']) assert.throws(() => folderLevels(bad), PoolViewError, bad);
  });

  it('fills in modes and reserves; refuses what a branch list cannot carry', () => {
    assert.deepEqual(normalizeBranches([{ path: '/m/1/Safehold/shares/-x é/' }, { path: '/m/2/s', mode: 'no-create', reserveBytes: 5 }], 7), [
      { path: '/m/1/Safehold/shares/-x é', mode: 'read-write', reserveBytes: 7 },
      { path: '/m/2/s', mode: 'no-create', reserveBytes: 5 },
    ]);
    for (const path of ['/a:b', '/a=RW', '/a*', '/a?', '/a[1]', '/a{b}', '/a\\b', 'rel']) {
      assert.throws(() => normalizeBranches([{ path }], 0), (e: unknown) => e instanceof PoolViewError && e.kind === 'invalid-branch', path);
    }
    assert.throws(() => normalizeBranches([{ path: '/a' }, { path: '/a/' }], 0), /listed twice/);
    assert.throws(() => normalizeBranches([{ path: '/a', reserveBytes: 1.5 }], 0), /whole number/);
  });

  it('writes and reads mergerfs\' branch list', () => {
    const branches = normalizeBranches([{ path: '/m/1/-a b é' }, { path: '/m/2', mode: 'no-create', reserveBytes: 0 }, { path: '/m/3', mode: 'read-only' }], 4096);
    assert.equal(formatBranchList(branches), '/m/1/-a b é=RW,4096:/m/2=NC,0:/m/3=RO,4096');
    assert.deepEqual(parseBranchList(formatBranchList(branches), 1), branches);
    assert.deepEqual(parseBranchList('/x=RW:/y=NC\n', 9), [
      { path: '/x', mode: 'read-write', reserveBytes: 9 },
      { path: '/y', mode: 'no-create', reserveBytes: 9 },
    ]);
  });

  it('knows its own views in the mount table', () => {
    assert.equal(viewNameOf(viewSource('photos')), 'photos');
    assert.equal(viewNameOf('/dev/sda1'), null);
    assert.equal(viewNameOf('safehold:'), null);
  });
});
