/**
 * Storage pool members on real block devices (root only): loop devices stand for the box's disks
 * (ext4, xfs, vfat), the real service runs with the real Linux adapters. A disk keeps its files or
 * is erased (its name typed again), gets the pool marker, and is mounted by filesystem UUID at
 * its own folder; at start-up and after a plug-in it is checked and mounted again; one pulled out
 * is missing, not gone. Disks that must not join are refused with the reason and left as they were.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parsePoolMarker, writeMarker, writePoolMarker } from '../../system/marker/drive-marker.js';
import { attachImage, cleanupLeftovers, createLoopDisk, loopDiskSkipReason, pullOut, type LoopDisk } from '../testing/loop-disk.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const skip = loopDiskSkipReason() ?? ((await run('which', ['mkfs.xfs', 'mkfs.vfat']).then(() => undefined, () => 'needs xfsprogs and dosfstools (make test installs them)')) as string | undefined);

interface DriveJson {
  id: string;
  path: string;
  role: string;
  displayName: string;
  partitions: { path: string; uuid: string | null; fsType: string | null }[];
}
interface MemberJson {
  driveId: string;
  device: string | null;
  mountpoint: string;
  fsType: string;
  filesystemUuid: string;
  state: string;
  reason: string | null;
  missingSince: string | null;
  keptFiles: boolean;
  sizeBytes: number | null;
  freeBytes: number | null;
}

const sha256 = (file: string) =>
  new Promise<string>((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (c) => hash.update(c)).on('end', () => done(hash.digest('hex'))).on('error', fail);
  });

const mountedAt = async (path: string) => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === path);

describe('storage pool disks', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let dataDir: string;
  let poolRoot: string;
  let look: string;
  const disks: LoopDisk[] = [];
  let keep: LoopDisk; // ext4 with the owner's files, kept
  let xfs: LoopDisk; // xfs, kept
  let fat: LoopDisk; // vfat: refused to keep, then erased
  let rotationLike: LoopDisk; // carries a rotation drive's marker
  let foreign: LoopDisk; // carries another box's pool marker

  const start = async () => {
    svc = await startServiceProcess({ simulate: false, dataDir, args: ['--pool-root', poolRoot] });
    admin = new Browserish(svc.base);
  };

  before(async () => {
    await cleanupLeftovers();
    dataDir = await mkdtemp(join(tmpdir(), 'safehold-test-data-'));
    poolRoot = await mkdtemp(join(tmpdir(), 'safehold-test-poolroot-'));
    look = await mkdtemp(join(tmpdir(), 'safehold-test-look-'));
    keep = await createLoopDisk({ sizeMiB: 64, label: 'PHOTOS' });
    disks.push(keep);
    await keep.mount();
    await writeFile(join(keep.mountpoint!, 'holiday.txt'), 'the list of holiday photos\n');
    await keep.unmount();
    xfs = await createLoopDisk({ sizeMiB: 320, label: 'X' });
    disks.push(xfs);
    await run('mkfs.xfs', ['-q', '-f', '-L', 'BIGXFS', xfs.device]);
    fat = await createLoopDisk({ sizeMiB: 64, label: 'F' });
    disks.push(fat);
    await run('mkfs.vfat', ['-n', 'CAMERA', fat.device]);
    rotationLike = await createLoopDisk({ sizeMiB: 64, label: 'OLDBACKUP' });
    disks.push(rotationLike);
    foreign = await createLoopDisk({ sizeMiB: 64, label: 'NEIGHBOUR' });
    disks.push(foreign);
    const drive = { name: 'X', identity: { kind: 'fsuuid' as const, value: 'x' }, serial: null, wwn: null, model: null, filesystemUuid: null };
    await rotationLike.mount();
    await writeMarker(rotationLike.mountpoint!, {
      drive: { ...drive, name: 'A' },
      rotationSetId: 'f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      boxId: '0d6c5f2e-9a8b-4c7d-8e6f-5a4b3c2d1e0f',
      registeredAt: '2025-05-01T10:00:00.000Z',
      repository: 'repository',
    });
    await rotationLike.unmount();
    await foreign.mount();
    await writePoolMarker(foreign.mountpoint!, {
      drive,
      poolId: '5a4b3c2d-1e0f-4a7b-8c9d-f3b1c2d4e5f6',
      boxId: '0d6c5f2e-9a8b-4c7d-8e6f-5a4b3c2d1e0f',
      joinedAt: '2025-05-01T10:00:00.000Z',
      shares: 'shares',
    });
    await foreign.unmount();
    await start();
    await admin.setup(dataDir);
  });

  after(async () => {
    await run('umount', [look]).catch(() => undefined);
    await svc?.stop();
    for (const disk of disks) await disk.cleanup().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    await rm(poolRoot, { recursive: true, force: true }).catch(() => undefined);
    await rm(look, { recursive: true, force: true });
  });

  const drives = async () => (await admin.get('/drives')).json.drives as DriveJson[];
  const byDevice = async (device: string) => (await waitFor(async () => (await drives()).find((d) => d.path === device), 10_000, `${device} in the inventory`)).value;
  const members = async () => (await admin.get('/pool')).json.members as MemberJson[];
  const member = async (driveId: string) => (await members()).find((m) => m.driveId === driveId);
  const finish = async (jobId: number) =>
    (
      await waitFor(async () => {
        const job = (await admin.get(`/jobs/${jobId}`)).json as { state: string; message: string };
        return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.state) ? job : null;
      }, 60_000, 'the job')
    ).value;
  const add = async (driveId: string, mode: 'keep' | 'format', confirm?: string) => {
    const res = await admin.post('/pool/members', { driveId, mode, ...(confirm === undefined ? {} : { confirm }) });
    return res.status === 202 ? { status: 202, job: await finish(res.json.job.id), json: res.json } : { status: res.status, job: null, json: res.json };
  };

  it("keeps an ext4 disk's files, writes the pool marker and Safehold/shares, and leaves it mounted at its own folder", async () => {
    const d = await byDevice(keep.device);
    const { status, job } = await add(d.id, 'keep');
    assert.equal(status, 202);
    assert.equal(job!.state, 'succeeded', job!.message);
    assert.match(job!.message, /is now a disk of the storage pool/);

    const m = (await member(d.id))!;
    assert.equal(m.state, 'mounted');
    assert.equal(m.mountpoint, join(poolRoot, 'disks', d.id));
    assert.equal(m.fsType, 'ext4');
    assert.equal(m.filesystemUuid, keep.uuid);
    assert.equal(m.keptFiles, true);
    assert.equal(m.missingSince, null);
    assert.ok(m.sizeBytes! > 50e6 && m.freeBytes! > 0 && m.freeBytes! <= m.sizeBytes!, 'its space is measured');
    assert.ok(await mountedAt(m.mountpoint), 'mounted at its folder');
    assert.equal((await byDevice(keep.device)).role, 'pool');
    assert.equal(await readFile(join(m.mountpoint, 'holiday.txt'), 'utf8'), 'the list of holiday photos\n', "the owner's file is there, untouched");
    const marker = parsePoolMarker(await readFile(join(m.mountpoint, 'Safehold', 'drive.json'), 'utf8'));
    assert.equal(marker.drive.filesystemUuid, keep.uuid);
    assert.equal(marker.shares, 'shares');
    assert.ok((await stat(join(m.mountpoint, 'Safehold', 'shares'))).isDirectory());
    assert.equal((await stat(join(poolRoot, 'disks'))).mode & 0o777, 0o711, 'the folder above the disks lets the pooled view pass, and lists nothing');
  });

  it('keeps an xfs disk too, and the command line lists both', async () => {
    const d = await byDevice(xfs.device);
    const { job } = await add(d.id, 'keep');
    assert.equal(job!.state, 'succeeded', job!.message);
    const list = JSON.parse((await run(process.execPath, [CLI, 'pool', '--json', '--data', dataDir])).stdout) as { members: MemberJson[] };
    assert.deepEqual(list.members.map((m) => [m.fsType, m.state]), [['ext4', 'mounted'], ['xfs', 'mounted']]);
    const text = (await run(process.execPath, [CLI, 'pool', '--data', dataDir])).stdout;
    assert.match(text, new RegExp(`^${xfs.device}\\s+in use\\s+xfs\\s+\\d.* free of `, 'm'));
  });

  it('refuses to keep a FAT disk, saying why, and erases it only with its name typed again', async () => {
    const d = await byDevice(fat.device);
    const kept = await add(d.id, 'keep');
    assert.equal(kept.status, 400);
    assert.match(kept.json.error.message, /vfat, which cannot keep Linux file permissions.*Erase and format/);
    const wrong = await add(d.id, 'format', 'yes');
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.issues[0].path, 'confirm');
    const noYes = await run(process.execPath, [CLI, 'pool', 'add', fat.device, '--format', '--data', dataDir]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((noYes as { code: number }).code, 2);
    assert.match((noYes as { stderr: string }).stderr, /add --yes to confirm/);
    assert.equal((await run('blkid', ['-p', '-s', 'TYPE', '-o', 'value', fat.device])).stdout.trim(), 'vfat', 'nothing was erased');

    const cli = await run(process.execPath, [CLI, 'pool', 'add', fat.device, '--format', '--yes', '--data', dataDir]);
    assert.match(cli.stdout, /is now a disk of the storage pool/);
    assert.equal((await run('blkid', ['-p', '-s', 'TYPE', '-o', 'value', fat.device])).stdout.trim(), 'ext4');
    const m = (await members()).find((x) => x.device === fat.device)!;
    assert.equal(m.keptFiles, false);
    assert.equal(m.state, 'mounted');
  });

  it('refuses the system disk, a rotation drive, another box\'s pool disk and a second join, writing nothing to them', async () => {
    const system = (await drives()).find((d) => d.role === 'system');
    if (system) assert.equal((await add(system.id, 'keep')).status, 409);
    const again = await add((await byDevice(keep.device)).id, 'keep');
    assert.equal(again.status, 409);
    assert.match(again.json.error.message, /already a disk of the storage pool/);

    for (const [disk, words] of [
      [rotationLike, /is rotation backup drive "A" of another Safehold box.*Nothing was written/],
      [foreign, /belongs to the storage pool of another Safehold box.*Nothing was written/],
    ] as const) {
      const before = await sha256(disk.image);
      const d = await byDevice(disk.device);
      const { job } = await add(d.id, 'keep');
      assert.equal(job!.state, 'failed');
      assert.match(job!.message, words);
      assert.equal(await sha256(disk.image), before, 'the disk is bit for bit as it was');
      assert.equal(await mountedAt(join(poolRoot, 'disks', d.id)), false);
      assert.equal((await byDevice(disk.device)).role, 'unassigned');
    }
  });

  it('mounts every disk again, by filesystem UUID, when the service starts', async () => {
    const before = await members();
    await svc.stop();
    for (const m of before) assert.equal(await mountedAt(m.mountpoint), false, 'unmounted when the service stopped');
    await start();
    await admin.get('/session');
    const login = await admin.post('/login', { username: 'admin', password: 'correct horse battery staple' });
    assert.equal(login.status, 200, JSON.stringify(login.json));
    const { value } = await waitFor(async () => {
      const now = await members();
      return now.length === before.length && now.every((m) => m.state === 'mounted') ? now : null;
    }, 30_000, 'every pool disk mounted again');
    for (const m of value) assert.ok(await mountedAt(m.mountpoint));
  });

  it('says a pulled disk is missing (nothing else changes), and mounts it again when it is back', async () => {
    const d = await byDevice(keep.device);
    // The same disk plugged in again later: a copy of its image, taken before the cable is pulled.
    const copy = `${keep.image}.again`;
    await run('cp', ['--sparse=always', keep.image, copy]);
    const pulledAt = Date.now();
    await pullOut(keep);
    const missing = await waitFor(async () => {
      const m = await member(d.id);
      return m?.state === 'missing' ? m : null;
    }, 20_000, 'the disk missing');
    assert.match(missing.value.reason!, /Not connected since/);
    assert.ok(Date.parse(missing.value.missingSince!) >= pulledAt, 'missing since it was pulled out');
    assert.equal((await members()).length, 3, 'a missing disk stays in the pool');
    await waitFor(async () => ((await mountedAt(missing.value.mountpoint)) ? null : true), 10_000, 'its folder free (unmounted)');

    const back = await attachImage(copy, { label: 'PHOTOS' });
    disks.push(back);
    await waitFor(async () => ((await member(d.id))?.state === 'mounted' ? true : null), 30_000, 'the disk mounted again');
    assert.equal(await readFile(join(missing.value.mountpoint, 'holiday.txt'), 'utf8'), 'the list of holiday photos\n');
    const activity = (await admin.get('/activity?limit=100')).json.entries as { kind: string; subject: string }[];
    assert.ok(activity.some((e) => e.kind === 'pool.member-missing' && e.subject === d.id));
    assert.ok(activity.some((e) => e.kind === 'pool.member-back' && e.subject === d.id));
    assert.deepEqual((await readdir(join(missing.value.mountpoint, 'Safehold'))).sort(), ['README.txt', 'drive.json', 'shares']);
  });
});
