/**
 * The duplicator on real pool disks (root only): three loop-device disks of different sizes, real
 * mergerfs views, the real service. Files written through a share's folder get exactly as many
 * copies as its level asks, on different disks, byte for byte; changes reach every copy from the
 * one changed; a file still open for writing is not copied half-written; deletes reach every copy,
 * also on a disk that was away (no resurrection); a lowered level removes the extra copies.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { attachImage, cleanupLeftovers, createLoopDisk, loopDiskSkipReason, pullOut, type LoopDisk } from '../testing/loop-disk.js';
import { freePort, removeAccounts, testAccountPrefix } from '../testing/samba.js';
import { Browserish, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';
import { mkdtemp } from 'node:fs/promises';

const run = promisify(execFile);
const skip =
  loopDiskSkipReason() ??
  ((await run('which', ['mergerfs']).then(() => undefined, () => 'needs mergerfs (make test installs it)')) as string | undefined) ??
  ((await access('/dev/fuse').then(() => undefined, () => 'needs /dev/fuse')) as string | undefined);

interface MemberJson {
  driveId: string;
  device: string | null;
  mountpoint: string;
  state: string;
}
interface ShareJson {
  name: string;
  path: string;
  files: { byCopies: Record<string, number>; waiting: number; short: { path: string; why: string }[] } | null;
}

describe('duplicating the shares\' files across the pool disks', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let poolRoot: string;
  const accountPrefix = testAccountPrefix();
  let smbPort: number;
  const disks: LoopDisk[] = [];

  before(async () => {
    await cleanupLeftovers();
    poolRoot = await mkdtemp(join(tmpdir(), 'safehold-test-poolroot-'));
    smbPort = await freePort();
    for (const [size, label] of [[96, 'SMALL'], [128, 'MEDIUM'], [160, 'LARGE']] as const) disks.push(await createLoopDisk({ sizeMiB: size, label }));
    svc = await startServiceProcess({ simulate: false, args: ['--pool-root', poolRoot, '--smb-port', String(smbPort)], env: { SAFEHOLD_SMB_ACCOUNT_PREFIX: accountPrefix } });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    for (const disk of disks) {
      const { value: drive } = await waitFor(async () => ((await admin.get('/drives')).json.drives as { id: string; path: string }[]).find((d) => d.path === disk.device), 10_000, 'the disk in the inventory');
      const res = await admin.post('/pool/members', { driveId: drive.id, mode: 'keep' });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      await finish(res.json.job.id);
    }
    for (const [name, copies] of [['Photos', 2], ['Docs', 3], ['Scratch', 1]] as const) {
      assert.equal((await admin.post('/shares', { name, copies })).status, 201);
    }
  });

  after(async () => {
    await svc?.dispose();
    await removeAccounts(accountPrefix);
    for (const disk of disks) await disk.cleanup().catch(() => undefined);
    await rm(poolRoot, { recursive: true, force: true }).catch(() => undefined);
  });

  async function finish(jobId: number) {
    return (
      await waitFor(async () => {
        const job = (await admin.get(`/jobs/${jobId}`)).json as { state: string; message: string };
        if (job.state === 'failed') throw new Error(job.message);
        return job.state === 'succeeded' ? job : null;
      }, 60_000, `job ${jobId}`)
    ).value;
  }
  const members = async () => ((await admin.get('/pool')).json.members as MemberJson[]).filter((m) => m.state === 'mounted');
  const view = (share: string, rel = '') => join(poolRoot, 'shares', share, rel);
  /** The disks holding share/rel, with the bytes of each copy. */
  const copies = async (share: string, rel: string) => {
    const found: { driveId: string; bytes: Buffer }[] = [];
    for (const m of await members()) {
      const bytes = await readFile(join(m.mountpoint, 'Safehold', 'shares', share, rel)).catch(() => null);
      if (bytes) found.push({ driveId: m.driveId, bytes });
    }
    return found;
  };
  /**
   * Asks for a pass now and waits until `check` holds (the duplicator waits for files to settle
   * first). The limit only stops a hung test: a pass of a thousand copies, each fsynced, can take
   * minutes on a machine whose disks other programs keep busy.
   */
  const until = async <T>(check: () => Promise<T | null>, what: string) => {
    await admin.post('/pool/duplicate', {});
    return (await waitFor(check, 300_000, what)).value;
  };
  const hasCopies = (share: string, rel: string, n: number, content?: Buffer) => async () => {
    const found = await copies(share, rel);
    return found.length === n && found.every((c) => (content ? c.bytes.equals(content) : c.bytes.equals(found[0]!.bytes))) ? found : null;
  };

  it('gives a file written through a share its second copy by itself, soon (the disks\' file events; no pass asked for)', async () => {
    await writeFile(view('Photos', 'by-itself.jpg'), 'no one asked for a pass\n');
    const { value: found } = await waitFor(hasCopies('Photos', 'by-itself.jpg', 2, Buffer.from('no one asked for a pass\n')), 60_000, 'the second copy, made by itself');
    assert.equal(new Set(found.map((c) => c.driveId)).size, 2);
  });

  const hostile = ['-rf', 'two words.txt', 'Ünïcödé ✓.txt', `${'deep/'.repeat(12)}${'x'.repeat(200)}.bin`, `${Array.from({ length: 16 }, (_, i) => `folder-${String(i).padStart(2, '0')}-${'y'.repeat(230)}`).join('/')}/end.txt`];

  it('gives every file written through a share exactly the copies its level asks for, byte for byte, hostile names too', async () => {
    const written = new Map<string, Buffer>();
    for (const [i, rel] of hostile.entries()) {
      const bytes = randomBytes(1000 + i * 5000);
      await mkdir(join(view('Photos'), rel, '..'), { recursive: true });
      await writeFile(view('Photos', rel), bytes);
      written.set(rel, bytes);
    }
    assert.ok(Buffer.byteLength(hostile[4]!) > 3700, 'a path of about 4,000 bytes');
    await writeFile(view('Docs', 'tax.pdf'), 'the tax return\n');
    await writeFile(view('Scratch', 'tmp.txt'), 'throwaway\n');
    for (const [rel, bytes] of written) await until(hasCopies('Photos', rel, 2, bytes), `two copies of ${rel.slice(0, 40)}`);
    const docs = await until(hasCopies('Docs', 'tax.pdf', 3), 'three copies of tax.pdf');
    assert.equal(new Set(docs.map((c) => c.driveId)).size, 3, 'on three different disks');
    assert.equal((await copies('Scratch', 'tmp.txt')).length, 1, 'level 1 stays single');

    const shares = (await admin.get('/shares')).json.shares as ShareJson[];
    const photos = shares.find((s) => s.name === 'Photos')!;
    assert.deepEqual(photos.files!.byCopies, { 2: hostile.length + 1 });
    assert.deepEqual(shares.find((s) => s.name === 'Docs')!.files!.byCopies, { 3: 1 });
    const scratch = await until(async () => {
      const s = ((await admin.get('/shares')).json.shares as ShareJson[]).find((x) => x.name === 'Scratch')!;
      return s.files!.byCopies[1] === 1 ? s : null;
    }, 'the single file of Scratch in the catalog');
    assert.deepEqual(scratch.files!.byCopies, { 1: 1 }, 'recorded with its one copy');
    assert.equal((await copies('Scratch', 'tmp.txt')).length, 1, 'and still single');

    // What if a disk died now? Only the disk holding Scratch's single file would lose something.
    const [single] = await copies('Scratch', 'tmp.txt');
    const exposure = (await admin.get('/pool/exposure')).json.disks as { driveId: string; files: number; shares: { share: string; files: number; bytes: number }[] }[];
    assert.equal(exposure.length, 3);
    for (const disk of exposure) {
      assert.deepEqual(disk.shares, disk.driveId === single!.driveId ? [{ share: 'Scratch', files: 1, bytes: 10 }] : [], disk.driveId);
    }
  });

  it('carries a change from the copy that was changed to the others: an editor save, an overwrite in place', async () => {
    // An editor saves: a temporary file, renamed over the original.
    await writeFile(view('Photos', 'two words.txt.swp'), 'edited by an editor\n');
    await rename(view('Photos', 'two words.txt.swp'), view('Photos', 'two words.txt'));
    await until(hasCopies('Photos', 'two words.txt', 2, Buffer.from('edited by an editor\n')), 'the edit on both copies');
    // A program overwrites part of the file in place.
    const handle = await open(view('Photos', '-rf'), 'r+');
    await handle.write(Buffer.from('PATCHED'), 0, 7, 10);
    await handle.close();
    const want = await readFile(view('Photos', '-rf'));
    assert.equal(want.subarray(10, 17).toString(), 'PATCHED');
    await until(hasCopies('Photos', '-rf', 2, want), 'the overwrite on both copies');
    assert.equal((await copies('Photos', 'two words.txt.swp')).length, 0, 'nothing extra left');
  });

  it('follows a folder of 1,000 files renamed through the share: every file at its new path on two disks, nothing left at the old one', async () => {
    await mkdir(view('Photos', 'trip-2025'), { recursive: true });
    for (let i = 0; i < 1000; i++) await writeFile(view('Photos', `trip-2025/img-${i}.jpg`), `photo ${i}\n`);
    await until(async () => ((await copies('Photos', 'trip-2025/img-999.jpg')).length === 2 && (await copies('Photos', 'trip-2025/img-0.jpg')).length === 2 ? true : null), 'the album duplicated');
    await rename(view('Photos', 'trip-2025'), view('Photos', 'Trip to the sea'));
    await until(async () => {
      const shares = (await admin.get('/shares')).json.shares as ShareJson[];
      const photos = shares.find((x) => x.name === 'Photos')!;
      return Object.keys(photos.files!.byCopies).every((n) => n === '2') && (await copies('Photos', 'Trip to the sea/img-500.jpg')).length === 2 ? true : null;
    }, 'every file of the renamed folder on two disks');
    for (const i of [0, 1, 500, 999]) assert.equal((await copies('Photos', `Trip to the sea/img-${i}.jpg`)).length, 2);
    assert.equal((await copies('Photos', 'trip-2025/img-0.jpg')).length, 0, 'nothing at the old path');
    for (const m of await members()) assert.equal(await stat(join(m.mountpoint, 'Safehold', 'shares', 'Photos', 'trip-2025')).then(() => true, () => false), false, `no old folder on ${m.driveId}`);
  });

  it('never copies a file still open for writing, and copies it once it is closed', async () => {
    const handle = await open(view('Photos', 'slow.log'), 'w');
    await handle.write('first part\n');
    await new Promise((r) => setTimeout(r, 3000)); // settled by time, but still open: only the open-file rule keeps it back
    const job = (await admin.post('/pool/duplicate', {})).json.job as { id: number };
    await finish(job.id);
    assert.equal((await copies('Photos', 'slow.log')).length, 1, 'not copied while open');
    const photos = ((await admin.get('/shares')).json.shares as ShareJson[]).find((s) => s.name === 'Photos')!;
    assert.ok(photos.files!.waiting >= 1, 'the share says a file waits');
    await handle.write('second part\n');
    await handle.close();
    await until(hasCopies('Photos', 'slow.log', 2, Buffer.from('first part\nsecond part\n')), 'the whole file on two disks');
  });

  it('deletes every copy of a file deleted through the share, and removes extra copies when the level is lowered', async () => {
    await unlink(view('Docs', 'tax.pdf'));
    await writeFile(view('Docs', 'letter.txt'), 'dear grandma\n');
    await until(hasCopies('Docs', 'letter.txt', 3), 'three copies of the letter');
    assert.equal((await copies('Docs', 'tax.pdf')).length, 0);
    assert.equal((await admin.request('PATCH', '/shares/Docs', { copies: 2 })).status, 200);
    await until(hasCopies('Docs', 'letter.txt', 2), 'two copies left');
    const docs = ((await admin.get('/shares')).json.shares as ShareJson[]).find((s) => s.name === 'Docs')!;
    assert.deepEqual(docs.files!.byCopies, { 2: 1 });
  });

  it('does not bring back a file deleted while a disk holding it was away', async () => {
    const [holder] = await copies('Photos', 'Ünïcödé ✓.txt');
    const member = (await members()).find((m) => m.driveId === holder!.driveId)!;
    const disk = disks.find((d) => d.device === member.device)!;
    const image = `${disk.image}.again`;
    await run('sync');
    await run('cp', ['--sparse=always', disk.image, image]);
    await pullOut(disk);
    await waitFor(async () => ((await admin.get('/pool')).json.members as MemberJson[]).find((m) => m.driveId === member.driveId)?.state === 'missing' || null, 20_000, 'the disk missing');
    await unlink(view('Photos', 'Ünïcödé ✓.txt'));
    await until(async () => ((await copies('Photos', 'Ünïcödé ✓.txt')).length === 0 ? true : null), 'deleted on the disks that are there');
    const back = await attachImage(image);
    disks.push(back);
    await waitFor(async () => ((await admin.get('/pool')).json.members as MemberJson[]).find((m) => m.driveId === member.driveId)?.state === 'mounted' || null, 30_000, 'the disk back');
    await until(async () => ((await copies('Photos', 'Ünïcödé ✓.txt')).length === 0 ? true : null), 'its old copy deleted too');
    await assert.rejects(stat(view('Photos', 'Ünïcödé ✓.txt')), 'not resurrected in the share');
  });

  it('says what a missing disk leaves with one copy, and when it is gone for good makes new copies on the others, after a pre-flight', async () => {
    // The disk the test before brought back is being looked at again: the pool is at rest once the catalog has every Photos file on two disks.
    await until(async () => {
      const photos = ((await admin.get('/shares')).json.shares as ShareJson[]).find((x) => x.name === 'Photos')!;
      return Object.keys(photos.files!.byCopies).every((n) => n === '2') ? true : null;
    }, 'the pool at rest, every Photos file on two disks');
    const [photoCopy] = await copies('Photos', '-rf');
    const member = (await members()).find((m) => m.driveId === photoCopy!.driveId)!;
    const disk = disks.find((d) => d.device === member.device)!;
    const singleBefore = (await copies('Scratch', 'tmp.txt'))[0]!.driveId === member.driveId;
    await pullOut(disk);
    await waitFor(async () => ((await admin.get('/pool')).json.members as MemberJson[]).find((m) => m.driveId === member.driveId)?.state === 'missing' || null, 20_000, 'the disk missing');
    const { value: alert } = await waitFor(async () => ((await admin.get('/alerts/open')).json.alerts as { key: string; message: string }[]).find((a) => a.key === `pool:missing:${member.driveId}`) ?? null, 10_000, 'the missing-disk alert');
    assert.match(alert.message, /is missing.*now ha(s|ve) only one copy/);

    const pre = (await admin.get(`/pool/members/${member.driveId}/gone-preflight`)).json.preflight as { files: number; bytes: number; fits: boolean; lostCount: number };
    assert.ok(pre.files >= 1 && pre.bytes > 0, JSON.stringify(pre));
    assert.equal(pre.fits, true);
    assert.equal(pre.lostCount, singleBefore ? 1 : 0, 'a level-1 file whose only copy was there is named as lost');
    const gone = await admin.post(`/pool/members/${member.driveId}/missing`, { choice: 'gone' });
    assert.equal(gone.status, 200, JSON.stringify(gone.json));
    assert.equal(((await admin.get('/pool')).json.members as MemberJson[]).some((m) => m.driveId === member.driveId), false, 'it left the pool');
    await waitFor(async () => (((await admin.get('/alerts/open')).json.alerts as { key: string }[]).some((a) => a.key === `pool:missing:${member.driveId}`) ? null : true), 10_000, 'the alert closed');
    // Every Photos file has its two copies again, on the two disks that are left.
    await until(async () => {
      const shares = (await admin.get('/shares')).json.shares as ShareJson[];
      const photos = shares.find((x) => x.name === 'Photos')!;
      return Object.keys(photos.files!.byCopies).every((n) => n === '2') ? photos : null;
    }, 'every Photos file on two disks again');
    assert.equal((await copies('Photos', '-rf')).length, 2);
  });
});
