/**
 * The duplicator's placement rules with a real catalog and real files (folders on this machine's
 * disk stand for pool disks; their health and room are given): a disk whose health is warning or
 * failing receives no new copy, a disk without room beyond its reserve receives none, and the
 * file then keeps fewer copies with the reason said; a stale copy is replaced from the newest
 * write, never the other way round; a recorded copy that went missing from a disk is made again;
 * a catalog written by an earlier build (SHA-256 hashes) is re-hashed with the hasher's algorithm,
 * never taken for a mismatch; a folder renamed on every disk leaves no record behind, and a file
 * whose only copy is on a disk that is away keeps its record.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { xxhash128 } from 'hash-wasm';
import { SystemClock } from '../../system/clock.js';
import { HASH_ALGORITHM } from '../../system/files/hasher.js';
import { LinuxFilePlacer } from '../../system/files/linux-file-placer.adapter.js';
import { Duplicator, type PassDisk } from '../../server/pool/duplicator.js';
import { FileCatalogRepository } from '../../server/pool/file-catalog.repository.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';

const GB = 1e9;

describe('the duplicator\'s placement', () => {
  let root: string;
  let cat: ReturnType<typeof tempCatalog>;
  let catalog: FileCatalogRepository;
  let duplicator: Duplicator;
  const disk = (id: string, over: Partial<PassDisk> = {}): PassDisk => ({ driveId: id, mountpoint: join(root, id), freeBytes: 100 * GB, reserveBytes: 4 * GB, verdict: 'healthy', ...over });
  const fileOn = (d: PassDisk, rel: string) => join(d.mountpoint, 'Safehold', 'shares', 'Photos', rel);
  const put = async (d: PassDisk, rel: string, text: string) => {
    await mkdir(join(fileOn(d, rel), '..'), { recursive: true });
    await writeFile(fileOn(d, rel), text);
  };
  const read = (d: PassDisk, rel: string) => readFile(fileOn(d, rel), 'utf8').catch(() => null);
  const pass = (disks: PassDisk[], copies: 1 | 2 | 3 | 'all' = 2) => duplicator.pass({ share: 'Photos', copies, disks, away: new Set(), signal: new AbortController().signal });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'safehold-test-duplicator-'));
    cat = tempCatalog();
    catalog = new FileCatalogRepository(cat.db);
    duplicator = new Duplicator({ catalog, files: new LinuxFilePlacer(), clock: new SystemClock(), log: silentLog(), openForWriting: async () => new Set(), settleMs: 0 });
  });

  after(async () => {
    cat.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('puts no new copy on a disk whose health is warning or failing, and says the file is short of copies', async () => {
    const a = disk('a');
    const warned = disk('w', { verdict: 'warning', freeBytes: 900 * GB });
    const failing = disk('f', { verdict: 'failing', freeBytes: 900 * GB });
    await put(a, 'beach.jpg', 'sand');
    const result = await pass([a, warned, failing]);
    assert.equal(await read(warned, 'beach.jpg'), null);
    assert.equal(await read(failing, 'beach.jpg'), null);
    assert.deepEqual(result.short.map((s) => [s.path, s.copies, s.wanted]), [['beach.jpg', 1, 2]]);
    assert.match(result.short[0]!.why, /health is (warning|failing)/);

    const healthy = disk('h');
    const again = await pass([a, warned, failing, healthy]);
    assert.equal(await read(healthy, 'beach.jpg'), 'sand', 'a healthy disk takes it');
    assert.deepEqual(again.short, []);
    assert.deepEqual(catalog.copyCounts('Photos'), { 2: 1 });
  });

  it('puts no copy where it would go into the reserve, and picks the disk with the most free space', async () => {
    const a = disk('ra');
    const tight = disk('rt', { freeBytes: 4 * GB + 2 }); // 2 bytes beyond the reserve
    const roomy = disk('rr', { freeBytes: 50 * GB });
    const roomier = disk('rx', { freeBytes: 60 * GB });
    await put(a, 'big.raw', 'more than two bytes');
    const result = await pass([a, tight, roomy, roomier], 3);
    assert.equal(await read(tight, 'big.raw'), null, 'the reserve is never filled');
    assert.equal(await read(roomier, 'big.raw'), 'more than two bytes');
    assert.equal(await read(roomy, 'big.raw'), 'more than two bytes');
    assert.equal(result.short.length, 0, 'three copies on three disks that have room');
    const four = await pass([a, tight, roomy, roomier], 'all');
    assert.deepEqual(four.short.map((s) => s.why), ['it has no room left (beyond its reserve)']);
  });

  it('replaces the older copies from the one written last, never the other way round', async () => {
    const a = disk('ea');
    const b = disk('eb');
    await put(a, 'notes.txt', 'first');
    await pass([a, b]);
    assert.equal(await read(b, 'notes.txt'), 'first');
    // Written through the share: on one disk only, and with an older mtime (a file restored with its date).
    await writeFile(fileOn(b, 'notes.txt'), 'second, the newest write');
    await utimes(fileOn(b, 'notes.txt'), new Date('2020-01-01'), new Date('2020-01-01'));
    const result = await pass([a, b]);
    assert.equal(await read(a, 'notes.txt'), 'second, the newest write', 'the newest write wins, whatever its mtime says');
    assert.equal(result.copied, 1);
    assert.deepEqual(catalog.copyCounts('Photos')[2] !== undefined, true);
  });

  it('makes a copy again when a disk lost it, and forgets the lost one', async () => {
    const a = disk('la');
    const b = disk('lb');
    await put(a, 'album/lost.jpg', 'precious');
    await pass([a, b]);
    await rm(fileOn(b, 'album/lost.jpg'));
    const result = await pass([a, b]);
    assert.equal(result.deleted, 0, 'a missing copy is never a deletion');
    assert.equal(await read(b, 'album/lost.jpg'), 'precious');
    assert.equal(await read(a, 'album/lost.jpg'), 'precious');
  });

  it('forgets the records of a folder renamed on every disk, and keeps those of a file whose only copy is on a disk that is away', async () => {
    const a = disk('ka');
    const b = disk('kb');
    await put(a, 'trip/one.jpg', 'sea');
    await pass([a, b]);
    assert.equal(await read(b, 'trip/one.jpg'), 'sea');
    // Renamed through the share: on every disk at once, the old folder on none.
    const { rename } = await import('node:fs/promises');
    for (const d of [a, b]) await rename(join(d.mountpoint, 'Safehold', 'shares', 'Photos', 'trip'), join(d.mountpoint, 'Safehold', 'shares', 'Photos', 'Trip 2026'));
    await pass([a, b]);
    assert.equal(catalog.get('Photos', Buffer.from('trip'), Buffer.from('one.jpg')), undefined, 'the old path is forgotten');
    assert.equal(catalog.get('Photos', Buffer.from('Trip 2026'), Buffer.from('one.jpg'))?.copies.length, 2, 'the new path has both copies');

    const alone = disk('kc');
    const other = disk('kd');
    await put(alone, 'solo/only.txt', 'one copy');
    await duplicator.pass({ share: 'Photos', copies: 1, disks: [alone], away: new Set(), signal: new AbortController().signal });
    const result = await duplicator.pass({ share: 'Photos', copies: 1, disks: [other], away: new Set(['kc']), signal: new AbortController().signal });
    assert.equal(result.deleted, 0, 'a copy out of reach is not a deletion');
    assert.deepEqual(catalog.get('Photos', Buffer.from('solo'), Buffer.from('only.txt'))?.copies.map((c) => c.driveId), ['kc']);
    assert.deepEqual(catalog.journalOf('kc'), [], 'nothing to delete when it is back');
  });

  it('re-hashes a file an earlier build recorded with SHA-256: no mismatch, no copy made again, the away copy and a stale one kept apart, copies that no longer agree left as recorded', async () => {
    const [a, b, c] = [disk('ha'), disk('hb'), disk('hc')];
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const name = (rel: string) => Buffer.from(rel);
    await put(a, 'kept.txt', 'kept as it was');
    await put(a, 'stale.txt', 'the newest version');
    await put(a, 'counted.txt', 'its away copy counts');
    await put(a, 'rotted.txt', 'the bytes as written');
    await pass([a, b]);
    await writeFile(fileOn(b, 'stale.txt'), 'an older version'); // b's copy of stale.txt holds an older version…
    await writeFile(fileOn(b, 'rotted.txt'), 'the bytes as w0itten'); // …and b's rotted.txt changed with nobody writing it (recorded after)
    // …and the catalog is what an earlier build wrote: SHA-256 hashes, the same copies and stats,
    // b's copy of stale.txt recorded as the older version it holds, and a copy on a disk that is away.
    for (const rel of ['kept.txt', 'stale.txt', 'counted.txt', 'rotted.txt']) {
      const now = catalog.get('Photos', Buffer.alloc(0), name(rel))!;
      const truth = sha256(await readFile(fileOn(a, rel), 'utf8'));
      const copies = await Promise.all(
        [a, b].map(async (d) => {
          const st = await stat(fileOn(d, rel), { bigint: true });
          return { driveId: d.driveId, size: Number(st.size), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, hash: sha256(await readFile(fileOn(d, rel), 'utf8')), verifiedAt: 1 };
        }),
      );
      if (rel === 'rotted.txt') copies[1]!.hash = truth; // recorded alike with a's: as it was when it was verified
      copies.push({ ...copies[0]!, driveId: 'away', hash: truth });
      catalog.record({ share: 'Photos', dir: Buffer.alloc(0), name: name(rel), size: now.size, mtimeNs: now.mtimeNs, hash: truth, hashAlgorithm: 'sha256' }, copies, 1);
    }

    const result = await duplicator.pass({ share: 'Photos', copies: 3, disks: [a, b, c], away: new Set(['away']), signal: new AbortController().signal });
    assert.equal(result.mismatches, 0, 'a hash of another algorithm is not a mismatch');
    // Copies recorded alike that no longer agree: which one rotted, the new hash cannot tell; left as recorded, and said.
    assert.deepEqual(result.skipped.map((x) => x.path), ['rotted.txt']);
    assert.match(result.skipped[0]!.why, /recorded alike \(sha256\) and not written since, now differ/);
    const rotted = catalog.get('Photos', Buffer.alloc(0), name('rotted.txt'))!;
    assert.deepEqual([rotted.hashAlgorithm, rotted.hash], ['sha256', sha256('the bytes as written')]);
    assert.deepEqual([await read(a, 'rotted.txt'), await read(b, 'rotted.txt')], ['the bytes as written', 'the bytes as w0itten'], 'neither copy touched');
    for (const rel of ['kept.txt', 'stale.txt', 'counted.txt']) {
      const record = catalog.get('Photos', Buffer.alloc(0), name(rel))!;
      const text = (await read(a, rel))!;
      assert.equal(record.hashAlgorithm, HASH_ALGORITHM, rel);
      assert.equal(record.hash, await xxhash128(text), `${rel}: the truth re-hashed`);
      assert.equal(record.copies.find((x) => x.driveId === 'away')?.hash, record.hash, `${rel}: the away copy, recorded alike with the truth, takes the new hash`);
      assert.equal(await read(b, rel), text, `${rel} on b`);
    }
    assert.equal(await read(b, 'stale.txt'), 'the newest version', 'the copy recorded as an older version was replaced from the truth');
    // Level 3 counts the away copy: only stale.txt's b copy was made again, nothing else was copied.
    assert.equal(result.copied, 1);
    assert.equal(await read(c, 'counted.txt'), null);

    const again = await duplicator.pass({ share: 'Photos', copies: 3, disks: [a, b, c], away: new Set(['away']), signal: new AbortController().signal });
    assert.deepEqual([again.copied, again.mismatches, again.removed], [0, 0, 0], 'the next pass finds everything as recorded');
    assert.deepEqual(again.skipped.map((x) => x.path), ['rotted.txt'], 'and still says which file it cannot settle');
  });
});
