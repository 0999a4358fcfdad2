/** The file helpers of the backups: a random sample for the restore drill, byte comparison, folder size. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { folderSize, sameBytes, sampleFiles } from '../../system/files/files.js';

/** A seeded generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('files for the backups', () => {
  let root: string;
  const now = Date.now();
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'safehold-files-'));
    for (let d = 0; d < 6; d++) {
      mkdirSync(join(root, `d${d}`, 'deep'), { recursive: true });
      for (let f = 0; f < 10; f++) writeFileSync(join(root, `d${d}`, `f${f}.txt`), `folder ${d} file ${f}`);
      writeFileSync(join(root, `d${d}`, 'deep', 'big.bin'), Buffer.alloc(5000));
    }
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'new.txt'), 'changed after the backup began');
    for (let d = 0; d < 6; d++) for (let f = 0; f < 10; f++) utimesSync(join(root, `d${d}`, `f${f}.txt`), new Date(now - 60_000), new Date(now - 60_000));
    for (let d = 0; d < 6; d++) utimesSync(join(root, `d${d}`, 'deep', 'big.bin'), new Date(now - 60_000), new Date(now - 60_000));
    utimesSync(join(root, 'new.txt'), new Date(now + 60_000), new Date(now + 60_000));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('samples distinct files, unchanged since the given time and under the size limit', async () => {
    const sample = await sampleFiles(root, { count: 20, maxBytes: 1000, modifiedBefore: now, random: seeded(7) });
    assert.equal(sample.length, 20);
    assert.equal(new Set(sample.map((f) => f.path)).size, 20, 'no file twice');
    for (const f of sample) {
      assert.match(f.path, /\/d\d\/f\d\.txt$/, 'neither the new file nor the big ones');
      assert.ok(f.size < 1000);
    }
    const again = await sampleFiles(root, { count: 20, maxBytes: 1000, modifiedBefore: now, random: seeded(7) });
    assert.deepEqual(again, sample, 'the same seed, the same sample');
  });

  it('gives what there is when fewer files qualify, and nothing for a missing folder', async () => {
    const all = await sampleFiles(root, { count: 500, maxBytes: 10_000, modifiedBefore: now, random: seeded(3) });
    assert.equal(all.length, 66, 'every file that qualifies, once');
    assert.deepEqual(await sampleFiles(join(root, 'nothing-here'), { count: 5, maxBytes: 1e9, modifiedBefore: now }), []);
    assert.deepEqual(await sampleFiles(root, { count: 0, maxBytes: 1e9, modifiedBefore: now }), []);
  });

  it('compares bytes and adds up sizes', async () => {
    assert.equal(await sameBytes(join(root, 'd0', 'f1.txt'), join(root, 'd0', 'f1.txt')), true);
    assert.equal(await sameBytes(join(root, 'd0', 'f1.txt'), join(root, 'd1', 'f1.txt')), false, 'same size, other bytes');
    assert.equal(await sameBytes(join(root, 'd0', 'f1.txt'), join(root, 'new.txt')), false, 'other size');
    const expected = 6 * 10 * 'folder 0 file 0'.length + 6 * 5000 + 'changed after the backup began'.length;
    assert.equal(await folderSize(root), expected);
  });
});
