/**
 * Guided removal of a pool disk (root only: loop-device disks, real mergerfs, the real service):
 * "Remove this disk from the pool" shows what must be copied first, copies away every file that
 * would lose a copy (also a file whose only copy is there), then releases the disk, leaving its
 * files on it as they were; no new file lands on it meanwhile.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createLoopDisk } from '../testing/loop-disk.js';
import { PoolBox, poolSkipReason } from '../testing/pool.js';
import { CLI, waitFor } from '../testing/service.js';

const run = promisify(execFile);
const skip = await poolSkipReason();

describe('removing a disk from the pool', { skip }, () => {
  let box: PoolBox;
  let look: string;

  before(async () => {
    look = await mkdtemp(join(tmpdir(), 'safehold-test-look-'));
    box = await PoolBox.open([[128, 'R1'], [128, 'R2'], [128, 'R3']]);
  });

  after(async () => {
    await run('umount', [look]).catch(() => undefined);
    await box?.dispose();
    await rm(look, { recursive: true, force: true });
  });

  const members = () => box.members();
  const copiesOf = async (share: string, rel: string) => (await box.copies(share, rel)).map((c) => c.driveId);
  const counts = async (share: string) => (await box.shareFiles(share)).byCopies;

  it('copies away what would lose a copy, then releases the disk with its files left on it', async () => {
    assert.equal((await box.admin.post('/shares', { name: 'Family', copies: 2 })).status, 201);
    assert.equal((await box.admin.post('/shares', { name: 'Cache', copies: 1 })).status, 201);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 6; i++) {
      const bytes = randomBytes(200_000 + i * 1000);
      await writeFile(join(box.poolRoot, 'shares', 'Family', `f${i}.bin`), bytes);
      files.set(`f${i}.bin`, bytes);
    }
    await writeFile(join(box.poolRoot, 'shares', 'Cache', 'only.bin'), 'single copy');
    await new Promise((r) => setTimeout(r, 2100));
    await box.admin.post('/pool/duplicate', {});
    await waitFor(async () => ((await counts('Family'))['2'] === 6 && (await counts('Cache'))['1'] === 1 ? true : null), 60_000, 'everything duplicated');

    // The disk holding the single Cache file is the one to remove.
    const [holder] = await copiesOf('Cache', 'only.bin');
    const member = (await members()).find((m) => m.driveId === holder)!;
    const refused = await run(process.execPath, [CLI, 'pool', 'remove', member.device!, '--data', box.dataDir]).catch((e: { code: number; stdout: string; stderr: string }) => e);
    assert.equal((refused as { code: number }).code, 2, 'without --yes: the pre-flight only');
    assert.match((refused as { stdout: string }).stdout, /will be copied onto the other disks, and they have room for it/);
    const pre = (await box.admin.get(`/pool/members/${holder}/remove-preflight`)).json.preflight as { files: number; lostCount: number; fits: boolean };
    assert.ok(pre.files >= 1, 'at least the single Cache file must be copied away');
    assert.equal(pre.lostCount, 0, 'nothing is lost: the disk is here to copy from');

    const cli = await run(process.execPath, [CLI, 'pool', 'remove', member.device!, '--yes', '--data', box.dataDir]).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`pool remove failed: ${e.stdout} ${e.stderr}`);
    });
    assert.match(cli.stdout, /left the pool: every file it held has its copies on the other disks/);
    assert.equal((await members()).some((m) => m.driveId === holder), false, 'released');
    const drive = ((await box.admin.get('/drives')).json.drives as { id: string; role: string }[]).find((d) => d.id === holder)!;
    assert.equal(drive.role, 'unassigned');
    assert.equal((await copiesOf('Cache', 'only.bin')).length, 1, 'the single file lives on another disk now');
    assert.equal(await readFile(join(box.poolRoot, 'shares', 'Cache', 'only.bin'), 'utf8'), 'single copy');
    assert.deepEqual(await counts('Family'), { 2: 6 }, 'every file still has two copies');
    for (const [name, bytes] of files) assert.ok((await readFile(join(box.poolRoot, 'shares', 'Family', name))).equals(bytes));

    // Its files were left on it as they were.
    const disk = box.disks.find((d) => d.device === member.device)!;
    await waitFor(async () => ((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${member.mountpoint} `) ? null : true), 10_000, 'unmounted');
    await run('mount', ['-o', 'ro', disk.device, look]);
    assert.equal(await readFile(join(look, 'Safehold', 'shares', 'Cache', 'only.bin'), 'utf8'), 'single copy');
  });

  it('replaces a disk with a new one: the new disk joins, the old one leaves after its files are copied', async () => {
    const before = await members();
    const old = before[0]!;
    const fresh = await createLoopDisk({ sizeMiB: 160, label: 'NEWDISK' });
    box.disks.push(fresh);
    await waitFor(async () => ((await box.admin.get('/drives')).json.drives as { path: string }[]).some((d) => d.path === fresh.device) || null, 10_000, 'the new disk in the inventory');
    const out = await run(process.execPath, [CLI, 'pool', 'replace', old.device!, fresh.device, '--yes', '--data', box.dataDir]).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`pool replace failed: ${e.stdout} ${e.stderr}`);
    });
    assert.match(out.stdout, /is now a disk of the storage pool[\s\S]*left the pool/);
    const after = await members();
    assert.equal(after.some((m) => m.driveId === old.driveId), false, 'the old disk left');
    assert.ok(after.some((m) => m.device === fresh.device && m.state === 'mounted'), 'the new disk is in');
    assert.deepEqual(await counts('Family'), { 2: 6 }, 'every file still has two copies');
  });
});
