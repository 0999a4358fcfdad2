/**
 * Registering rotation backup drives on real block devices (root only): loop devices stand for USB
 * drives, the real service runs with the real Linux adapters and the real restic. A drive kept with
 * its files gets Safehold's folder, the marker and an encrypted repository, and is unmounted; a drive
 * erased needs its name typed again; the system disk and a second registration are refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parseMarker } from '../../system/marker/drive-marker.js';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, type LoopDisk } from '../testing/loop-disk.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const skip = loopDiskSkipReason() ?? ((await run('which', ['restic']).then(() => undefined, () => 'needs restic (make test installs it)')) as string | undefined);

interface DriveJson {
  id: string;
  name: string;
  path: string;
  role: string;
  rotation: { name: string } | null;
  partitions: { label: string | null; mountpoints: string[] }[];
}

describe('registering rotation backup drives', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let diskA: LoopDisk;
  let diskB: LoopDisk;
  let look: string;

  before(async () => {
    await cleanupLeftovers();
    diskA = await createLoopDisk({ sizeMiB: 96, label: 'FAMILY-A' });
    await diskA.mount();
    await writeFile(join(diskA.mountpoint!, 'keep-me.txt'), 'holiday photos list\n');
    await diskA.unmount();
    diskB = await createLoopDisk({ sizeMiB: 96, label: 'OLD-STUFF' });
    look = await mkdtemp(join(tmpdir(), 'safehold-test-look-'));
    svc = await startServiceProcess({ simulate: false });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });

  after(async () => {
    await run('umount', [look]).catch(() => undefined);
    await diskA?.cleanup();
    await diskB?.cleanup();
    await svc?.dispose();
    await rm(look, { recursive: true, force: true });
  });

  const drives = async () => (await admin.get('/drives')).json.drives as DriveJson[];
  const byDevice = async (device: string) => (await drives()).find((d) => d.path === device);
  const finish = async (jobId: number) =>
    (await waitFor(async () => {
      const job = (await admin.get(`/jobs/${jobId}`)).json as { state: string; message: string };
      return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.state) ? job : null;
    }, 60_000, 'the registration')).value;

  it('keeps a drive\'s files, writes the marker, creates the encrypted repository and unmounts', async () => {
    const { value: a } = await waitFor(() => byDevice(diskA.device), 5000, 'drive A in the inventory');
    const res = await admin.post('/rotation/drives', { driveId: a.id, name: 'A', mode: 'keep' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const job = await finish(res.json.job.id);
    assert.equal(job.state, 'succeeded', job.message);
    assert.match(job.message, /Rotation drive A is ready/);

    const now = await waitFor(async () => {
      const d = await byDevice(diskA.device);
      return d?.role === 'rotation' && d.partitions[0]!.mountpoints.length === 0 ? d : null;
    }, 5000, 'the rotation role, and the drive unmounted when done');
    assert.equal(now.value.rotation?.name, 'A');
    const mounted = (await readFile('/proc/self/mountinfo', 'utf8')).includes(join(svc.dataDir, 'mnt'));
    assert.equal(mounted, false, 'nothing is left mounted under the data folder');

    // what is on the drive, seen as another computer would
    await run('mount', ['-o', 'ro', diskA.device, look]);
    try {
      assert.equal(await readFile(join(look, 'keep-me.txt'), 'utf8'), 'holiday photos list\n', 'the owner\'s files are untouched');
      const marker = parseMarker(await readFile(join(look, 'Safehold', 'drive.json'), 'utf8'));
      assert.equal(marker.drive.name, 'A');
      assert.equal(marker.repository, 'repository');
      const secrets = join(svc.dataDir, 'secrets');
      const [secret] = (await run('ls', [secrets])).stdout.trim().split('\n');
      const snapshots = await run('restic', ['--repo', join(look, 'Safehold', 'repository'), '--password-file', join(secrets, secret!), '--no-cache', '--no-lock', 'snapshots', '--json']);
      assert.deepEqual(JSON.parse(snapshots.stdout), [], 'a real, empty restic repository that the stored password opens');
      const mode = (await run('stat', ['-c', '%a', join(secrets, secret!)])).stdout.trim();
      assert.equal(mode, '600');
    } finally {
      await run('umount', [look]);
    }
  });

  it('refuses the system disk, a second registration and a name already used', async () => {
    const system = (await drives()).find((d) => d.role === 'system');
    if (system) assert.equal((await admin.post('/rotation/drives', { driveId: system.id, name: 'S', mode: 'keep' })).status, 409);
    const a = (await byDevice(diskA.device))!;
    const again = await admin.post('/rotation/drives', { driveId: a.id, name: 'C', mode: 'keep' });
    assert.equal(again.status, 409);
    assert.match(again.json.error.message, /already rotation drive A/);
    const b = (await byDevice(diskB.device))!;
    const taken = await admin.post('/rotation/drives', { driveId: b.id, name: 'a', mode: 'keep' });
    assert.equal(taken.status, 400);
    assert.equal(taken.json.error.issues[0].path, 'name');
  });

  it('erases a drive only with its name typed again (the command line asks for --yes)', async () => {
    const b = (await byDevice(diskB.device))!;
    const unconfirmed = await admin.post('/rotation/drives', { driveId: b.id, name: 'B', mode: 'format', confirm: 'b?' });
    assert.equal(unconfirmed.status, 400);
    assert.equal(unconfirmed.json.error.issues[0].path, 'confirm');
    const noYes = await run(process.execPath, [CLI, 'rotation', 'add', diskB.device, '--name', 'B', '--format', '--data', svc.dataDir]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((noYes as { code: number }).code, 2);
    assert.match((noYes as { stderr: string }).stderr, /add --yes to confirm/);
    assert.equal((await run('blkid', ['-p', '-s', 'LABEL', '-o', 'value', diskB.device])).stdout.trim(), 'OLD-STUFF', 'nothing was erased');

    const cli = await run(process.execPath, [CLI, 'rotation', 'add', diskB.device, '--name', 'B', '--format', '--yes', '--data', svc.dataDir]);
    assert.match(cli.stdout, /Rotation drive B is ready/);
    assert.equal((await run('blkid', ['-p', '-s', 'LABEL', '-o', 'value', diskB.device])).stdout.trim(), 'SH-B');
    const list = JSON.parse((await run(process.execPath, [CLI, 'rotation', '--json', '--data', svc.dataDir])).stdout) as { drives: { name: string; connected: boolean }[] };
    assert.deepEqual(list.drives.map((d) => [d.name, d.connected]), [['A', true], ['B', true]]);
  });
});
