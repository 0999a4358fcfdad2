/**
 * The rotation as an owner lives it (root only; real service, real restic, loop disks as USB
 * drives, a real SMTP server): register drive A keeping its files and drive B erased; each backs up
 * by itself, is verified, drilled and unmounted, and is announced "safe to unplug" on the page and
 * by mail; the sources change; B is plugged in, then A again; the ledger and the snapshots on each
 * drive are what happened.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { attachImage, cleanupLeftovers, createLoopDisk, type LoopDisk } from '../testing/loop-disk.js';
import { BackupBox, backupSkipReason } from '../testing/backups.js';
import { CLI, waitFor } from '../testing/service.js';
import { blockAfter, commandOf, runRestic } from '../testing/recovery-kit.js';
import { describeTree, makeHostileTree } from '../testing/restic.js';

const run = promisify(execFile);
const skip = await backupSkipReason();

describe('backups onto rotated drives', { skip }, () => {
  let box: BackupBox;
  const disks: LoopDisk[] = [];
  let photos: string;
  let documents: string;
  let odd: string;
  let idA = '';
  let idB = '';

  before(async () => {
    await cleanupLeftovers();
    box = await BackupBox.start();
    photos = join(box.scratch, 'photos');
    documents = join(box.scratch, 'documents');
    for (let i = 0; i < 30; i++) {
      await mkdir(join(photos, `20${10 + (i % 5)}`), { recursive: true });
      await writeFile(join(photos, `20${10 + (i % 5)}`, `img-${i}.jpg`), Buffer.alloc(20_000 + i * 1000, i));
    }
    await mkdir(documents, { recursive: true });
    await writeFile(join(documents, 'letter.txt'), 'Dear grandma,\n');
    await writeFile(join(documents, 'taxes.tmp'), 'scratch');
    await box.addSource('photos', photos);
    await box.addSource('documents', documents, ['*.tmp']);
    // Names that break naive code: newlines, leading dashes, bytes that are not UTF-8, a very long path.
    odd = makeHostileTree(join(box.scratch, 'odd')).src;
    await box.addSource('odd-names', odd);
  });

  after(async () => {
    for (const d of disks) await d.cleanup().catch(() => undefined);
    await box?.dispose();
  });

  it('backs up onto drive A right after it is registered, verifies it, unmounts it and says it is safe to unplug', async () => {
    const a = await createLoopDisk({ sizeMiB: 128, label: 'FAMILY-A' });
    disks.push(a);
    await a.mount();
    await writeFile(join(a.mountpoint!, 'keep-me.txt'), 'the owner\'s own file\n');
    await a.unmount();
    const { driveId, backup } = await box.register(a, 'A', 'keep');
    idA = driveId;
    assert.equal(backup.state, 'succeeded', backup.message ?? '');
    assert.match(backup.message ?? '', /3 of 3 sources backed up onto drive A, verified\. Drive A is safe to unplug\./);
    assert.equal(await box.somethingMounted(), false, 'the drive is unmounted');
    // and the drive's card and `safehold drives` say so, not its old mount folder
    type Listed = Array<{ id: string; partitions: Array<{ name: string; mountpoints: string[] }> }>;
    const card = ((await box.admin.get('/drives')).json.drives as Listed).find((d) => d.id === idA)!;
    assert.deepEqual(card.partitions.flatMap((p) => p.mountpoints), [], 'the page shows drive A not mounted');
    const listed = JSON.parse((await run(process.execPath, [CLI, 'drives', '--json', '--data', box.svc.dataDir])).stdout).drives as Listed;
    assert.deepEqual(listed.find((d) => d.id === idA)!.partitions.flatMap((p) => p.mountpoints), [], '`safehold drives --json` shows drive A not mounted');
    const human = (await run(process.execPath, [CLI, 'drives', '--data', box.svc.dataDir])).stdout;
    for (const p of card.partitions) assert.match(human, new RegExp(`^  ${p.name} .* not mounted`, 'm'), human);
    assert.ok(!human.includes(join(box.svc.dataDir, 'mnt')), 'no drive is shown on its mount folder');

    const entry = await box.entry('A');
    assert.equal(entry.state, 'safe-to-unplug');
    assert.equal(entry.snapshotCount, 3);
    assert.ok(entry.lastGoodBackupAt);
    assert.deepEqual(entry.lastCheck && { ok: entry.lastCheck.ok, slice: entry.lastCheck.slice }, { ok: true, slice: '1/8' });
    assert.equal(entry.readBackFraction, 1 / 8);
    assert.equal(entry.lastDrill?.ok, true);
    assert.ok(entry.lastDrill!.files > 0 && entry.lastDrill!.files <= 20, `the drill restored ${entry.lastDrill!.files} files`);
    assert.ok(entry.capacityBytes! > 100 * 1024 * 1024 && entry.freeBytes! > 0);

    const [last] = await box.runs(idA);
    assert.equal(last!.outcome, 'good');
    assert.equal(last!.safeToUnplug, true);
    assert.deepEqual(last!.sources.map((s) => [s.name, s.outcome, s.files]), [['documents', 'backed-up', 1], ['odd-names', 'backed-up', describeTree(odd).filter((e) => e.type === 'file').length], ['photos', 'backed-up', 30]]);

    assert.ok((await box.activity()).some((e) => e.kind === 'alert.backup.safe-to-unplug' && /Drive A is safe to unplug/.test(e.message)));
    assert.match(await box.waitForMail(/Drive A is safe to unplug/), /^Drive A is safe to unplug — /);

    // The overview's headline is the backups' own answer, and the command line tells the same.
    const status = (await box.admin.get('/status')).json;
    assert.equal(status.overall, 'attention');
    assert.match(status.headline, /^Protected: the newest backup is from today, on drive A\. Save the recovery kit/);
    const cli = await run(process.execPath, [CLI, 'backups', '--data', box.svc.dataDir]);
    assert.match(cli.stdout, /^ATTENTION: Protected: the newest backup is from today, on drive A\. Save the recovery kit/m);
    assert.match(cli.stdout, /^Drive A: safe to unplug; last good backup \d{4}-\d\d-\d\d \d\d:\d\d \S+; 3 snapshots/m);

    // Seen as another computer would: the owner's file, and the snapshots in the repository.
    const snapshots = await box.admin.get(`/backups/drives/${encodeURIComponent(idA)}/snapshots`);
    assert.deepEqual(snapshots.json.snapshots.map((s: { source: string }) => s.source).sort(), ['documents', 'odd-names', 'photos']);
    await a.mount();
    const restored = await mkdtemp(join(box.scratch, 'from-the-kit-'));
    try {
      assert.equal(await readFile(join(a.mountpoint!, 'keep-me.txt'), 'utf8'), 'the owner\'s own file\n');
      // The box is gone: only the recovery kit's text, its password and the stock restic command.
      const kit = (await box.admin.get('/recovery-kit')).json as { repositories: Array<{ driveName: string; password: string }> };
      const text = (await box.admin.get('/recovery-kit/text')).json as string;
      const lines = text.split('\n');
      const section = lines.findIndex((l) => l.includes('BACKUP DRIVE "A"'));
      assert.ok(section > 0, 'the kit has a section for drive A');
      const passwordFile = join(box.scratch, 'typed-password');
      await writeFile(passwordFile, `${kit.repositories.find((r) => r.driveName === 'A')!.password}\n`, { mode: 0o600 });
      for (const command of blockAfter(lines, 'Restore everything', section)) {
        const ran = await runRestic([...commandOf(command, a.mountpoint!, restored), '--password-file', passwordFile], { home: box.scratch });
        assert.equal(ran.code, 0, ran.stderr);
      }
      assert.deepEqual(describeTree(join(restored, photos)), describeTree(photos), 'photos as they were, byte for byte');
      assert.deepEqual(describeTree(join(restored, odd)), describeTree(odd), 'the odd names as they were, byte for byte');
      assert.equal(await readFile(join(restored, documents, 'letter.txt'), 'utf8'), 'Dear grandma,\n');
      await assert.rejects(readFile(join(restored, documents, 'taxes.tmp')), 'the excluded file was not backed up');
    } finally {
      await a.unmount();
      await rm(restored, { recursive: true, force: true });
    }
  });

  it('shows drive A away once unplugged, and backs up onto drive B (erased) with the sources as they are now', async () => {
    const a = disks[0]!;
    await a.detach();
    await waitFor(async () => !(await box.entry('A')).connected, 10_000, 'drive A away');
    assert.ok((await box.entry('A')).awaySince);

    await writeFile(join(photos, '2010', 'img-0.jpg'), Buffer.alloc(5000, 99)); // changed
    await writeFile(join(photos, 'new.jpg'), Buffer.alloc(7000, 7)); // added

    const b = await createLoopDisk({ sizeMiB: 128, label: 'OLD-STUFF' });
    disks.push(b);
    const { driveId, backup } = await box.register(b, 'B', 'format');
    idB = driveId;
    assert.equal(backup.state, 'succeeded', backup.message ?? '');
    const entry = await box.entry('B');
    assert.equal(entry.snapshotCount, 3);
    assert.equal(entry.state, 'safe-to-unplug');
    const [last] = await box.runs(idB);
    assert.equal(last!.sources.find((s) => s.name === 'photos')!.files, 31);

    const protection = (await box.admin.get('/backups/protection')).json;
    assert.equal(protection.newestBackup.driveName, 'B');
    assert.equal(protection.longestAway.driveName, 'A');
    assert.equal(protection.recoveryKitNeeded, true, 'a new drive: the kit must be saved again');
  });

  it('backs up by itself when drive A is plugged in again, on top of its earlier backups', async () => {
    await disks[1]!.detach();
    await waitFor(async () => !(await box.entry('B')).connected, 10_000, 'drive B away');
    const since = await box.lastJobId();
    const again = await attachImage(disks[0]!.image);
    disks.push(again);
    const backup = await box.jobEnded('backup.rotation', idA, since);
    assert.equal(backup.state, 'succeeded', backup.message ?? '');

    const entry = await box.entry('A');
    assert.equal(entry.connected, true);
    // Retention keeps one backup a day (the newest): the morning's snapshots gave way to these.
    assert.equal(entry.snapshotCount, 3, 'one snapshot a day per source');
    assert.equal(entry.lastCheck?.slice, '2/8', 'the next slice of the data is read back');
    assert.equal(entry.readBackFraction, 2 / 8);
    const runs = await box.runs(idA);
    assert.equal(runs.length, 2);
    const photosRun = runs[0]!.sources.find((s) => s.name === 'photos')!;
    assert.deepEqual([photosRun.files, photosRun.filesNew, photosRun.filesChanged], [31, 1, 1], 'only what changed since drive A\'s last backup is new');

    // The newest snapshot of photos on A has the changed file's new bytes.
    const snaps = (await box.admin.get(`/backups/drives/${encodeURIComponent(idA)}/snapshots`)).json.snapshots as Array<{ id: string; source: string; time: string }>;
    const newest = snaps.filter((s) => s.source === 'photos').pop()!;
    const look = join(box.scratch, 'look');
    await again.mount();
    try {
      const secrets = join(box.svc.dataDir, 'secrets');
      const password = (await run('ls', [secrets])).stdout.split('\n').filter((f) => f.startsWith('restic-'));
      let restored = false;
      for (const p of password) {
        const res = await run('restic', ['-r', join(again.mountpoint!, 'Safehold', 'repository'), '--password-file', join(secrets, p), '--no-cache', '--no-lock', 'restore', newest.id, '--target', look, '--include', join(photos, '2010', 'img-0.jpg')]).catch(() => null);
        if (res) restored = true;
      }
      assert.ok(restored, 'one of the stored passwords opens drive A');
      assert.deepEqual(await readFile(join(look, photos, '2010', 'img-0.jpg')), Buffer.alloc(5000, 99));
    } finally {
      await again.unmount();
      await rm(look, { recursive: true, force: true });
    }
    assert.equal(await box.somethingMounted(), false);

    // The odd names come back exactly through the page's restore, beside the original.
    const oddSnapshot = snaps.filter((s) => s.source === 'odd-names').pop()!;
    const res = await box.admin.post(`/backups/drives/${encodeURIComponent(idA)}/snapshots/${oddSnapshot.id}/restore`, { paths: [odd] });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const restore = await box.jobEnded('backup.restore', idA, res.json.job.id - 1);
    assert.equal(restore.state, 'succeeded', restore.message ?? '');
    assert.deepEqual(describeTree(res.json.folder), describeTree(odd));
    await rm(res.json.folder, { recursive: true, force: true });
    const outside = await box.admin.get(`/backups/drives/${encodeURIComponent(idA)}/snapshots/${oddSnapshot.id}/ls?path=${encodeURIComponent(`${odd}/../..`)}`);
    assert.equal(outside.status, 400, 'a path outside the snapshot folder is refused');
  });
});
