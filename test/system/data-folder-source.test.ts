/**
 * A source that contains Safehold's own data folder, done for real (root only; real service, real
 * restic, a loop disk as the rotation drive): its snapshot holds the owner's files and nothing of
 * the data folder (no catalog, no secrets, nothing of the drive mounted in it while restic wrote),
 * nor another backup drive's repository found inside it; and a source that became a symbolic link
 * into the data folder after it was added is refused at backup time, with words.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { serializeMarker } from '../../system/marker/drive-marker.js';
import { cleanupLeftovers, createLoopDisk, type LoopDisk } from '../testing/loop-disk.js';
import { BackupBox, backupSkipReason } from '../testing/backups.js';

const run = promisify(execFile);
const skip = await backupSkipReason();

describe('a source that holds the data folder', { skip }, () => {
  let box: BackupBox;
  let disk: LoopDisk;
  let driveId = '';
  /** The source: the folder holding the data folder, the family's photos and an album. */
  let parent = '';
  let dataDir = '';

  /** Every path in the newest snapshot tagged `tag` on the drive, read with restic by hand. */
  const snapshotPaths = async (tag: string): Promise<string[]> => {
    const mountpoint = await disk.mount();
    try {
      const secrets = join(dataDir, 'secrets');
      const [password] = (await readdir(secrets)).filter((f) => f.startsWith('restic-'));
      const restic = (args: string[]) => run('restic', ['-r', join(mountpoint, 'Safehold', 'repository'), '--password-file', join(secrets, password!), '--no-cache', ...args], { maxBuffer: 1 << 26 });
      const snapshots = JSON.parse((await restic(['snapshots', '--json', '--tag', tag])).stdout) as Array<{ id: string }>;
      const newest = snapshots.at(-1);
      assert.ok(newest, `a snapshot of ${tag}`);
      return (await restic(['ls', newest.id])).stdout.split('\n').slice(1).filter(Boolean);
    } finally {
      await disk.unmount();
    }
  };

  before(async () => {
    await cleanupLeftovers();
    parent = await realpath(await mkdtemp(join(tmpdir(), 'safehold-test-parent-')));
    dataDir = join(parent, 'data');
    box = await BackupBox.start({ dataDir });
    await mkdir(join(parent, 'photos', '2024'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(parent, 'photos', '2024', `img-${i}.jpg`), `photo ${i}`);
    await mkdir(join(parent, 'album'));
    await writeFile(join(parent, 'album', 'cover.jpg'), 'cover');
    // Another backup drive, as if mounted inside the source by someone else: its repository stays out.
    const other = join(parent, 'old-drive');
    await mkdir(join(other, 'Safehold', 'repository', 'data'), { recursive: true });
    await writeFile(join(other, 'Safehold', 'repository', 'data', 'pack-0001'), 'encrypted pack');
    await writeFile(
      join(other, 'Safehold', 'drive.json'),
      serializeMarker({
        drive: { name: 'Old', identity: { kind: 'serial', value: 'OLD1' }, serial: 'OLD1', wwn: null, model: null, filesystemUuid: null },
        rotationSetId: 'another-set-1',
        boxId: 'another-box-1',
        registeredAt: '2025-01-01T00:00:00.000Z',
        repository: 'repository',
      }),
    );
    await writeFile(join(other, 'holiday.jpg'), 'a file of the owner beside it');
    await box.addSource('everything', parent);
    await box.addSource('album', join(parent, 'album'));
    disk = await createLoopDisk({ sizeMiB: 128, label: 'BACKUP-A' });
    const registered = await box.register(disk, 'A', 'keep');
    driveId = registered.driveId;
    assert.equal(registered.backup.state, 'succeeded', registered.backup.message ?? '');
  });

  after(async () => {
    await disk?.cleanup().catch(() => undefined);
    await box?.dispose();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it('backs up the files of a parent of the data folder, and nothing of the data folder or of a backup drive inside it', async () => {
    const [last] = await box.runs(driveId);
    const everything = last!.sources.find((s) => s.name === 'everything');
    assert.equal(everything?.outcome, 'backed-up', everything?.message ?? '');
    const paths = await snapshotPaths('everything');
    assert.ok(paths.includes(join(parent, 'photos', '2024', 'img-7.jpg')), 'the photos are in it');
    assert.ok(paths.includes(join(parent, 'old-drive', 'holiday.jpg')), "the owner's file beside another drive's repository is in it");
    const leaked = paths.filter((p) => p === dataDir || p.startsWith(`${dataDir}/`) || /catalog\.db|secrets|restic-|\/mnt\//.test(p));
    assert.deepEqual(leaked, [], 'nothing of the data folder: no catalog, no secrets, nothing of the mounted drive');
    assert.deepEqual(paths.filter((p) => p.includes('/Safehold/repository')), [], "no other backup drive's repository");
  });

  it('refuses at backup time a source that became a symbolic link into the data folder, with words, and saves nothing of it', async () => {
    const before = await snapshotPaths('album');
    await rename(join(parent, 'album'), join(parent, 'album-moved'));
    await symlink(join(dataDir, 'secrets'), join(parent, 'album'));
    const res = await box.admin.post(`/backups/drives/${encodeURIComponent(driveId)}/run`);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const job = await box.jobEnded('backup.rotation', driveId, res.json.job.id - 1);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    const [last] = await box.runs(driveId);
    const album = last!.sources.find((s) => s.name === 'album')!;
    assert.equal(album.outcome, 'refused');
    assert.equal(album.message, `Source "album": ${join(parent, 'album')} (which is ${join(dataDir, 'secrets')}) is inside Safehold's own data folder ${dataDir}, which holds the secrets, the catalog and the mounted backup drives: choose the folders that hold your files. It was not backed up.`);
    assert.equal(last!.sources.find((s) => s.name === 'everything')?.outcome, 'backed-up');
    assert.deepEqual(await snapshotPaths('album'), before, 'the newest snapshot of the album is still the one from before');
    const open = (await box.admin.get('/alerts/open')).json.alerts as Array<{ key: string }>;
    assert.ok(open.some((a) => a.key === 'source:album'), 'an open alert says so');
  });
});
