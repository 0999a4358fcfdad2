/**
 * A pool disk that fills up in the middle of a copy (root only: a real 16 MiB ext4 on a loop
 * device, told to the duplicator as having room, as it had when the pass began): the copy fails
 * with ENOSPC, no partial or temporary file is left on it, the file keeps its one good copy and
 * the pass says so; the source is untouched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SystemClock } from '../../system/clock.js';
import { LinuxFilePlacer } from '../../system/files/linux-file-placer.adapter.js';
import { Duplicator, type PassDisk } from '../../server/pool/duplicator.js';
import { FileCatalogRepository } from '../../server/pool/file-catalog.repository.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';
import { createLoopDisk, loopDiskSkipReason, type LoopDisk } from '../testing/loop-disk.js';

describe('a pool disk full in the middle of a copy', { skip: loopDiskSkipReason() }, () => {
  let small: LoopDisk;
  let root: string;
  let cat: ReturnType<typeof tempCatalog>;

  before(async () => {
    small = await createLoopDisk({ sizeMiB: 16, label: 'TINY' });
    await small.mount();
    root = await mkdtemp(join(tmpdir(), 'safehold-test-full-'));
    cat = tempCatalog();
  });

  after(async () => {
    cat.dispose();
    await small.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('leaves no partial copy, keeps the file with one copy and says the disk is full', async () => {
    const source: PassDisk = { driveId: 'big', mountpoint: join(root, 'big'), freeBytes: 100e9, reserveBytes: 0, verdict: 'healthy' };
    const full: PassDisk = { driveId: 'tiny', mountpoint: small.mountpoint!, freeBytes: 100e9, reserveBytes: 0, verdict: 'healthy' };
    const bytes = randomBytes(24 * 1024 * 1024);
    await mkdir(join(source.mountpoint, 'Safehold', 'shares', 'Photos'), { recursive: true });
    await mkdir(join(full.mountpoint, 'Safehold', 'shares', 'Photos'), { recursive: true });
    await writeFile(join(source.mountpoint, 'Safehold', 'shares', 'Photos', 'video.mp4'), bytes);
    const catalog = new FileCatalogRepository(cat.db);
    const duplicator = new Duplicator({ catalog, files: new LinuxFilePlacer(), clock: new SystemClock(), log: silentLog(), openForWriting: async () => new Set(), settleMs: 0 });

    const result = await duplicator.pass({ share: 'Photos', copies: 2, disks: [source, full], away: new Set(), signal: new AbortController().signal });
    assert.equal(result.copied, 0);
    assert.ok(result.short.some((s) => s.path === 'video.mp4' && /full/.test(s.why)), JSON.stringify(result.short));
    assert.deepEqual(await readdir(join(full.mountpoint, 'Safehold', 'shares', 'Photos')), [], 'no partial or temporary file on the full disk');
    assert.ok((await readFile(join(source.mountpoint, 'Safehold', 'shares', 'Photos', 'video.mp4'))).equals(bytes), 'the source is untouched');
    assert.deepEqual(catalog.copyCounts('Photos'), { 1: 1 }, 'one verified copy, recorded as such');
  });
});
