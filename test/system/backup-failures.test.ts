/**
 * What goes wrong with backups onto rotation drives, done for real (root only; real service, real
 * restic, loop disks, a real SMTP server): a source whose disk is not mounted, a ransomware-like
 * mass change, a drive too small, a cable pulled mid-backup. Each is refused or stopped with an
 * alert in words, and the backups made before stay whole and restorable.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { attachImage, cleanupLeftovers, createLoopDisk, pullOut, type LoopDisk } from '../testing/loop-disk.js';
import { BackupBox, backupSkipReason } from '../testing/backups.js';
import { waitFor } from '../testing/service.js';

const run = promisify(execFile);
const skip = await backupSkipReason();

describe('backups when things go wrong', { skip }, () => {
  let box: BackupBox;
  const disks: LoopDisk[] = [];
  let familyDisk: LoopDisk;
  let family: string;
  let idC = '';

  const runNow = async (driveId: string) => {
    const res = await box.admin.post(`/backups/drives/${encodeURIComponent(driveId)}/run`);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    return box.jobEnded('backup.rotation', driveId, res.json.job.id - 1);
  };
  const snapshotsOf = async (driveId: string) =>
    (await box.admin.get(`/backups/drives/${encodeURIComponent(driveId)}/snapshots`)).json.snapshots as Array<{ id: string; source: string; suspicious: string | null }>;
  const passwordFiles = async () => {
    const secrets = join(box.svc.dataDir, 'secrets');
    return (await run('ls', [secrets])).stdout.split('\n').filter((f) => f.startsWith('restic-')).map((f) => join(secrets, f));
  };
  /** restic run by hand on the repository of a drive mounted by the test, with whichever stored password opens it. */
  const resticOn = async (mountpoint: string, args: string[]) => {
    for (const file of await passwordFiles()) {
      const res = await run('restic', ['-r', join(mountpoint, 'Safehold', 'repository'), '--password-file', file, '--no-cache', ...args], { maxBuffer: 1 << 26 }).catch(() => null);
      if (res) return res.stdout;
    }
    throw new Error(`restic ${args.join(' ')} failed with every stored password`);
  };

  before(async () => {
    await cleanupLeftovers();
    box = await BackupBox.start();
    // The family's files live on a disk of their own, mounted at a folder: the source.
    familyDisk = await createLoopDisk({ sizeMiB: 64, label: 'FAMILY-DATA' });
    disks.push(familyDisk);
    family = await familyDisk.mount();
    for (let i = 0; i < 400; i++) {
      await mkdir(join(family, `album-${i % 10}`), { recursive: true });
      await writeFile(join(family, `album-${i % 10}`, `photo-${i}.jpg`), randomBytes(1000 + (i % 7) * 300));
    }
    await box.addSource('family', family);
    const c = await createLoopDisk({ sizeMiB: 512, label: 'BACKUP-C' });
    disks.push(c);
    const { driveId, backup } = await box.register(c, 'C', 'keep');
    idC = driveId;
    assert.equal(backup.state, 'succeeded', backup.message ?? '');
  });

  after(async () => {
    await run('umount', [family]).catch(() => undefined);
    for (const d of disks.reverse()) await d.cleanup().catch(() => undefined);
    await box?.dispose();
  });

  it('refuses a source whose disk is not mounted, says so, and keeps its earlier backups', async () => {
    const before = await snapshotsOf(idC);
    const goodBefore = (await box.entry('C')).lastGoodBackupAt;
    await familyDisk.unmount(); // the folder is there, empty: the disk behind it is not mounted
    try {
      const job = await runNow(idC);
      assert.equal(job.state, 'succeeded', job.message ?? '');
      assert.match(job.message ?? '', /^Nothing was backed up onto drive C \(not backed up: family\); the backups already on it were verified\. Drive C is safe to unplug\.$/);
      const [last] = await box.runs(idC);
      assert.equal(last!.outcome, 'partial');
      assert.equal(last!.sources[0]!.outcome, 'refused');
      assert.match(last!.sources[0]!.message ?? '', /is empty, but its last backup had 400 files\. Is its disk mounted\?/);
      assert.deepEqual(await snapshotsOf(idC), before, 'no snapshot added, none removed');
      assert.equal((await box.entry('C')).lastGoodBackupAt, goodBefore, 'a run that backed nothing up is not a good backup');
      const open = (await box.admin.get('/alerts/open')).json.alerts as Array<{ key: string; message: string }>;
      assert.ok(open.some((a) => a.key === 'source:family'), 'an open alert on the dashboard');
      await box.waitForMail(/Source "family" was not backed up/);
    } finally {
      await run('mount', [familyDisk.device, family]); // the disk is back where it belongs
    }
  });

  it('marks a snapshot suspicious when 60% of the files were overwritten, alerts, and suspends pruning until the owner looks', async () => {
    for (let i = 0; i < 240; i++) await writeFile(join(family, `album-${i % 10}`, `photo-${i}.jpg`), randomBytes(1500));
    const job = await runNow(idC);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    const [last] = await box.runs(idC);
    const source = last!.sources[0]!;
    assert.equal(source.outcome, 'backed-up');
    assert.match(source.suspicious ?? '', /^240 files changed or added \(60% of the 400 files/);
    const entry = await box.entry('C');
    assert.ok(entry.pruneSuspended, 'retention suspended on the drive');
    assert.match(entry.pruneSuspended!.reason, /240 files changed or added/);
    assert.ok((await snapshotsOf(idC)).some((s) => s.suspicious), 'the snapshot is marked');
    await box.waitForMail(/Suspicious backup on drive C/);
    assert.equal((await box.admin.get('/backups/protection')).json.level, 'problem');

    // While suspended, nothing is forgotten: a second backup the same day keeps the suspicious one and the good ones.
    const count = (await snapshotsOf(idC)).length;
    assert.equal((await runNow(idC)).state, 'succeeded');
    assert.equal((await snapshotsOf(idC)).length, count + 1);

    const resumed = await box.admin.post(`/backups/drives/${encodeURIComponent(idC)}/resume-pruning`);
    assert.equal(resumed.status, 200);
    assert.equal(resumed.json.pruneSuspended, null);
  });

  it('says how much space is missing when a drive is too small, and its earlier backups still restore', async () => {
    const d = await createLoopDisk({ sizeMiB: 48, label: 'SMALL-D' });
    disks.push(d);
    const { driveId, backup } = await box.register(d, 'D', 'keep');
    assert.equal(backup.state, 'succeeded', backup.message ?? '');
    const big = join(box.scratch, 'videos');
    await mkdir(big, { recursive: true });
    await writeFile(join(big, 'wedding.mp4'), randomBytes(64 * 1024 * 1024));
    await box.addSource('videos', big);
    try {
      const job = await runNow(driveId);
      assert.equal(job.state, 'failed');
      assert.match(job.message ?? '', /Drive D is full: the backup of "videos" \(67 MB\) did not fit; about [1-3]\d MB more space is needed \(\d\d MB was free\)/);
      assert.match(job.message ?? '', /The earlier backups on the drive are untouched/);
      await box.waitForMail(/Backup onto drive D failed/);
      assert.equal(await box.somethingMounted(), false, 'unmounted after the failure');
      const entry = await box.entry('D');
      assert.equal(entry.lastRun?.outcome, 'failed');

      // The earlier backup restores byte for byte, and the repository is sound.
      await d.mount();
      const look = join(box.scratch, 'look-d');
      try {
        const snaps = JSON.parse(await resticOn(d.mountpoint!, ['snapshots', '--json', '--tag', 'family'])) as Array<{ id: string }>;
        assert.equal(snaps.length, 1);
        await resticOn(d.mountpoint!, ['restore', snaps[0]!.id, '--target', look, '--include', join(family, 'album-3')]);
        for (const i of [3, 13, 393]) {
          assert.deepEqual(await readFile(join(look, family, 'album-3', `photo-${i}.jpg`)), await readFile(join(family, 'album-3', `photo-${i}.jpg`)));
        }
        assert.match(await resticOn(d.mountpoint!, ['check']), /no errors were found/);
      } finally {
        await d.unmount();
        await rm(look, { recursive: true, force: true });
      }
    } finally {
      await box.admin.request('DELETE', '/sources/videos');
      await rm(big, { recursive: true, force: true });
      await d.detach();
    }
  });

  it('ends as interrupted when the cable is pulled mid-backup, marks nothing good, and completes when plugged in again', async () => {
    const c = disks[1]!;
    const videos = join(box.scratch, 'films');
    await mkdir(videos, { recursive: true });
    for (let i = 0; i < 6; i++) await writeFile(join(videos, `film-${i}.mkv`), randomBytes(48 * 1024 * 1024));
    await box.addSource('films', videos);
    const goodBefore = (await box.entry('C')).lastGoodBackupAt;
    const res = await box.admin.post(`/backups/drives/${encodeURIComponent(idC)}/run`);
    const jobId = res.json.job.id as number;
    await waitFor(async () => {
      const job = (await box.admin.get(`/jobs/${jobId}`)).json;
      return job.state === 'running' && /Backing up films/.test(job.progress.current ?? '') && job.progress.bytesDone > 16 * 1024 * 1024;
    }, 60_000, 'the backup of films under way');

    // What is on the drive at the moment the cable goes: frozen, copied, then the drive is gone.
    const mountpoint = join(box.svc.dataDir, 'mnt', idC);
    const copy = `${c.image}.at-the-pull`;
    await run('fsfreeze', ['--freeze', mountpoint]);
    try {
      await run('cp', ['--sparse=always', c.image, copy]);
    } finally {
      await run('fsfreeze', ['--unfreeze', mountpoint]);
    }
    await pullOut(c);

    const job = await box.jobEnded('backup.rotation', idC, jobId - 1);
    assert.equal(job.state, 'interrupted', job.message ?? '');
    assert.match(
      job.message ?? '',
      /^Drive C was unplugged or stopped answering during the backup\. "family" was backed up before that \(snapshot [0-9a-f]{8}\), but not verified: this run does not count as a good backup\. "films" was cut short: nothing of it was kept\. The earlier backups on the drive are untouched\./,
    );
    const [last] = await box.runs(idC);
    assert.equal(last!.outcome, 'interrupted');
    assert.deepEqual(last!.sources.map((s) => [s.name, s.outcome]), [['family', 'backed-up'], ['films', 'interrupted']], 'the page says what the message says');
    assert.equal(last!.safeToUnplug, false);
    assert.equal((await box.entry('C')).lastGoodBackupAt, goodBefore, 'nothing marked good');
    await box.waitForMail(/Backup onto drive C interrupted/);
    assert.equal(await box.somethingMounted(), false, 'the dead mount is gone');

    // Unplug the dead one, plug the drive in again (as it was when the cable went).
    await c.detach();
    await waitFor(async () => !(await box.entry('C')).connected, 10_000, 'drive C away');
    const since = await box.lastJobId();
    const again = await attachImage(copy);
    disks.push(again);
    const retry = await box.jobEnded('backup.rotation', idC, since, 180_000);
    assert.equal(retry.state, 'succeeded', retry.message ?? '');
    assert.match(retry.message ?? '', /2 of 2 sources backed up onto drive C, verified\. Drive C is safe to unplug\./);
    const entry = await box.entry('C');
    assert.notEqual(entry.lastGoodBackupAt, goodBefore);
    assert.equal(entry.lastCheck?.ok, true);
  });

  it('runs the backup again by itself after a power cut in the middle of it', async () => {
    const films = join(box.scratch, 'films');
    for (const i of [1, 2]) await writeFile(join(films, `film-${i}.mkv`), randomBytes(48 * 1024 * 1024));
    const res = await box.admin.post(`/backups/drives/${encodeURIComponent(idC)}/run`);
    const jobId = res.json.job.id as number;
    await waitFor(async () => {
      const job = (await box.admin.get(`/jobs/${jobId}`)).json;
      return job.state === 'running' && /Backing up films/.test(job.progress.current ?? '') && job.progress.bytesDone > 0;
    }, 60_000, 'the backup of films under way');
    await box.powerCut();

    const crashed = (await box.admin.get(`/jobs/${jobId}`)).json;
    assert.equal(crashed.state, 'interrupted', 'the job the power cut stopped');
    const retry = await box.jobEnded('backup.rotation', idC, jobId, 180_000);
    assert.equal(retry.state, 'succeeded', retry.message ?? '');
    const runs = await box.runs(idC);
    assert.equal(runs[1]!.outcome, 'interrupted', 'the cut run is recorded as interrupted');
    assert.equal(runs[0]!.outcome, 'good');
    assert.equal(await box.somethingMounted(), false, 'unmounted at the end');
  });
});
