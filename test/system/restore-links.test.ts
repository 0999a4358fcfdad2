/**
 * Restoring into folders another local user controls (root only): a real second user (made with
 * `useradd` for this run, removed again afterwards) owns the folders that hold the backed-up
 * sources, and swaps them for symbolic links to a root-owned folder, before the restore is asked
 * for and while it runs. Through the real service, a real loop-device drive and the real restic,
 * the root-owned folder must never receive a file, whatever the user does; the user's own files
 * are restored where they belong.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { FolderPathError, openFolder, type Folder } from '../../system/folders.js';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, testName, type LoopDisk } from '../testing/loop-disk.js';
import { describeTree } from '../testing/restic.js';
import { allJobsSettled, driveWithSnapshot, settledJob } from '../testing/restore.js';
import { Browserish, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const userSkip =
  process.getuid?.() !== 0
    ? 'needs root to make a second local user'
    : ((await run('which', ['useradd', 'userdel']).then(() => undefined, () => 'needs useradd and userdel (package passwd) to make a second local user')) as string | undefined);
const skip = loopDiskSkipReason() ?? ((await run('which', ['restic']).then(() => undefined, () => 'needs restic (make test installs it)')) as string | undefined) ?? userSkip;

interface Job {
  id: number;
  kind: string;
  state: string;
  message: string | null;
}

/** A second local user for this run only: `shtest<random>`, with its own group. */
interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  /** Runs a program as the user (argument array, no shell). */
  run(file: string, args: string[]): Promise<{ stdout: string }>;
  remove(): Promise<void>;
}

async function makeLocalUser(): Promise<LocalUser> {
  const name = `shtest${randomBytes(4).toString('hex')}`;
  await run('useradd', ['--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
  const uid = Number((await run('id', ['-u', name])).stdout.trim());
  const gid = Number((await run('id', ['-g', name])).stdout.trim());
  return {
    name,
    uid,
    gid,
    run: (file, args) => run(file, args, { uid, gid, encoding: 'utf8' }),
    remove: async () => {
      await run('userdel', [name]).catch(() => undefined);
    },
  };
}

/**
 * A root-owned folder for the test (mode 0755, under the temporary folder) holding `home`, owned by
 * `user` (like /home/alice), and `victim`, root's folder with a file, that the user would like root
 * to write into.
 */
async function sandbox(user: LocalUser, suffix: string): Promise<{ work: string; home: string; victim: string }> {
  const work = join(tmpdir(), testName(suffix));
  await mkdir(work, { mode: 0o755 });
  await chmod(work, 0o755);
  const home = join(work, 'home');
  const victim = join(work, 'victim');
  await mkdir(home);
  await chown(home, user.uid, user.gid);
  await mkdir(victim, { mode: 0o755 });
  await writeFile(join(victim, 'keep.txt'), "root's own file\n");
  return { work, home, victim };
}

/** Every entry under `dir` with its bytes, to see that nothing in it changed. */
const snapshotOf = (dir: string) => JSON.stringify(describeTree(dir));

describe('restoring into folders a second local user controls', { skip }, () => {
  let user: LocalUser | undefined;
  let svc: ServiceProcess;
  let admin: Browserish;
  let disk: LoopDisk;
  let work: string;
  /** Like /home/alice: owned by the user, in a folder owned by root. */
  let home: string;
  /** Root's folder the user would like to write into. */
  let victim: string;
  /** Root's empty folder (restic would write into it, where it refuses a folder with files). */
  let emptyVictim: string;
  let victimBefore: string;
  let photos: string;
  let summer: string;
  /** A tmpfs mounted inside `photos`. */
  let mounted: string | undefined;
  let shortId: string;
  let date: string;
  let base: string;

  const settled = (id: number) => settledJob<Job>(admin, id);
  const allSettled = () => allJobsSettled(admin);
  const restore = (body: unknown) => admin.post(`${base}/snapshots/${shortId}/restore`, body);
  const restoreJobs = async () => ((await admin.get('/jobs?limit=500')).json.jobs as Job[]).filter((j) => j.kind === 'backup.restore').length;
  const asUser = (file: string, ...args: string[]) => user!.run(file, args);
  /** The user puts `folder` aside and a link to root's folder in its place (as they may: they own its parent). */
  const swapForLink = async (folder: string) => {
    await asUser('mv', '--', folder, `${folder}.real`);
    await asUser('ln', '-s', '--', victim, folder);
  };
  const swapBack = async (folder: string) => {
    await asUser('rm', '--', folder);
    await asUser('mv', '--', `${folder}.real`, folder);
  };

  /**
   * The user watching `dir`: the first time a Safehold staging folder appears there, `dir/<swap>`
   * (the staging folder itself when `swap` is null) is moved aside (`moved…`, `….real`) and a link
   * to `linkTo` put under its name.
   */
  const swapWhenStaging = async (dir: string, swap: string | null, linkTo: string) => {
    const script = `
      const fs = require('fs');
      const [dir, swap, linkTo] = process.argv.slice(1);
      let done = false;
      fs.watch(dir, (event, name) => {
        if (done || !name || !name.startsWith('.safehold-restore-')) return;
        done = true;
        const target = dir + '/' + (swap || name);
        try { fs.renameSync(target, swap ? target + '.real' : dir + '/moved' + name); fs.symlinkSync(linkTo, target); console.log('swapped'); }
        catch (e) { console.log('could not swap: ' + e.code); }
      });
      console.log('watching');`;
    const watcher = spawn(process.execPath, ['-e', script, dir, swap ?? '', linkTo], { uid: user!.uid, gid: user!.gid, stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    watcher.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await waitFor(() => said.includes('watching'), 10_000, 'the watcher to start');
    return { said: () => said, stop: () => watcher.kill() };
  };

  before(async () => {
    await cleanupLeftovers();
    user = await makeLocalUser();
    ({ work, home, victim } = await sandbox(user, '-restore-links'));
    photos = join(home, 'photos');
    summer = join(home, 'albums', 'summer');
    await mkdir(join(victim, 'tmp'));
    await writeFile(join(victim, 'tmp', 'note'), 'root\n');
    victimBefore = snapshotOf(victim);
    emptyVictim = join(work, 'empty-victim');
    await mkdir(emptyVictim, { mode: 0o755 });
    await mkdir(summer, { recursive: true });
    await mkdir(photos);
    await writeFile(join(photos, 'keep.txt'), "the user's keep.txt\n");
    await writeFile(join(photos, 'a.jpg'), randomBytes(5000));
    await writeFile(join(summer, 'keep.txt'), "the user's summer\n");
    // A second filesystem inside the source (a disk mounted there): restoring over it copies across filesystems.
    mounted = join(photos, 'disk');
    await mkdir(mounted);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'safehold-test-links', mounted]);
    await mkdir(join(mounted, 'sub'));
    await writeFile(join(mounted, 'd.txt'), 'on the other disk\n', { mode: 0o640 });
    await writeFile(join(mounted, 'sub', 'e.txt'), 'deeper\n');
    const owned = [join(home, 'albums'), summer, photos, join(photos, 'keep.txt'), join(photos, 'a.jpg'), join(summer, 'keep.txt'), mounted, join(mounted, 'sub'), join(mounted, 'd.txt'), join(mounted, 'sub', 'e.txt')];
    for (const path of owned) await chown(path, user.uid, user.gid);
    await chmod(join(mounted, 'd.txt'), 0o640);

    disk = await createLoopDisk({ sizeMiB: 128, label: 'LINKS-A' });
    svc = await startServiceProcess({ simulate: false });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    let snapshot;
    ({ base, snapshot } = await driveWithSnapshot(svc, admin, disk, [photos, summer], 'home'));
    shortId = snapshot.shortId;
    date = snapshot.time.slice(0, 10);
  });

  after(async () => {
    await svc?.dispose();
    await disk?.cleanup();
    if (mounted) await run('umount', [mounted]).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
    await user?.remove();
  });

  it('refuses to restore over the originals when the user swapped the source folder for a link, and writes nothing there', async () => {
    await writeFile(join(photos, 'keep.txt'), 'changed since the backup\n');
    await swapForLink(photos);
    try {
      const before = await restoreJobs();
      const res = await restore({ paths: [photos], target: 'original', overwrite: true });
      assert.equal(res.status, 409, JSON.stringify(res.json));
      assert.match(res.json.error.message, /symbolic link/);
      assert.ok(res.json.error.message.includes(photos), res.json.error.message);
      await allSettled();
      assert.equal(await restoreJobs(), before, 'no restore job was started');
      assert.equal(snapshotOf(victim), victimBefore, "root's folder is untouched");
    } finally {
      await swapBack(photos);
    }
    assert.equal(readFileSync(join(photos, 'keep.txt'), 'utf8'), 'changed since the backup\n', 'nothing restored');
  });

  it('refuses to restore beside the source when the user swapped the folder holding it for a link', async () => {
    const albums = join(home, 'albums');
    await swapForLink(albums);
    try {
      const res = await restore({ paths: [summer] });
      assert.equal(res.status, 409, JSON.stringify(res.json));
      assert.match(res.json.error.message, /symbolic link/);
      await allSettled();
      assert.equal(snapshotOf(victim), victimBefore, "root's folder is untouched");
    } finally {
      await swapBack(albums);
    }
  });

  it('puts the files into the folder it checked even when the user swaps the staging folder for a link while restic writes', async () => {
    const albums = join(home, 'albums');
    // The moment Safehold makes its staging folder in the user's folder, the user moves it aside and
    // puts a link to root's empty folder under its name (the user owns the folder: they may).
    const swapper = await swapWhenStaging(albums, null, emptyVictim);
    try {
      const res = await restore({ paths: [summer] });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      const job = await settled(res.json.job.id);
      assert.match(swapper.said(), /swapped/, 'the user did swap the staging folder');
      assert.deepEqual(readdirSync(emptyVictim), [], "root's folder is still empty");
      // Either the swap came just after the staging folder was made and before Safehold opened it
      // (refused: nothing restored), or after (restic wrote into the folder Safehold holds open).
      if (job.state === 'failed') {
        assert.match(job.message ?? '', /was replaced by a symbolic link just after it was made: someone is changing .*: nothing was restored\./);
        assert.equal(existsSync(res.json.folder), false);
      } else {
        assert.equal(job.state, 'succeeded', job.message ?? '');
        assert.equal(res.json.folder, `${summer}-restored-${date}`);
        assert.equal(readFileSync(join(res.json.folder, 'keep.txt'), 'utf8'), "the user's summer\n");
        assert.equal(statSync(res.json.folder).uid, user!.uid, 'owned as in the snapshot');
      }
      if (job.state === 'succeeded') {
        const left = readdirSync(albums).filter((n) => n.includes('.safehold-restore-') && !lstatSync(join(albums, n)).isSymbolicLink());
        assert.deepEqual(left, [], 'the staging folder is removed, under whatever name the user gave it');
      }
    } finally {
      swapper.stop();
      for (const name of readdirSync(albums)) if (name.includes('.safehold-restore-')) await rm(join(albums, name), { recursive: true, force: true });
      await rm(`${summer}-restored-${date}`, { recursive: true, force: true });
    }
  });

  it('writes over the originals into the folder it checked when the user swaps it for a link after the job has begun', async () => {
    await writeFile(join(photos, 'keep.txt'), 'changed since the backup\n');
    // The request is checked with the real folder in place; once the job has made its staging
    // folder (beside the source), the user swaps the source folder for a link to root's folder.
    const swapper = await swapWhenStaging(home, 'photos', victim);
    try {
      const res = await restore({ paths: [photos], target: 'original', overwrite: true });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      const job = await settled(res.json.job.id);
      assert.match(swapper.said(), /swapped/, 'the user did swap the source folder');
      assert.equal(job.state, 'succeeded', job.message ?? '');
      assert.equal(snapshotOf(victim), victimBefore, "root's folder is untouched");
      assert.equal(readFileSync(join(`${photos}.real`, 'keep.txt'), 'utf8'), "the user's keep.txt\n", 'restored into the folder that was checked, under the name the user gave it');
    } finally {
      swapper.stop();
      await swapBack(photos);
    }
  });

  it('writes over the originals only into folders owned by root or by their owner in the snapshot', async () => {
    await writeFile(join(photos, 'keep.txt'), 'changed since the backup\n');
    await chown(photos, 65534, 65534); // someone else's now (nobody)
    try {
      const res = await restore({ paths: [photos], target: 'original', overwrite: true });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      const job = await settled(res.json.job.id);
      assert.equal(job.state, 'failed');
      assert.match(job.message ?? '', /owned by user 65534/);
      assert.equal(readFileSync(join(photos, 'keep.txt'), 'utf8'), 'changed since the backup\n', 'nothing written there');
    } finally {
      await chown(photos, user!.uid, user!.gid);
    }
    await writeFile(join(mounted!, 'd.txt'), 'changed\n');
    await rm(join(mounted!, 'sub'), { recursive: true });
    const res = await restore({ paths: [photos], target: 'original', overwrite: true });
    const job = await settled(res.json.job.id);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    assert.equal(readFileSync(join(photos, 'keep.txt'), 'utf8'), "the user's keep.txt\n", 'restored once the owner is as in the snapshot');
    const copied = statSync(join(mounted!, 'd.txt'));
    assert.deepEqual([readFileSync(join(mounted!, 'd.txt'), 'utf8'), copied.uid, copied.mode & 0o7777], ['on the other disk\n', user!.uid, 0o640], 'copied across filesystems with its owner and mode');
    assert.deepEqual([readFileSync(join(mounted!, 'sub', 'e.txt'), 'utf8'), statSync(join(mounted!, 'sub')).uid], ['deeper\n', user!.uid], 'a folder too');
    assert.deepEqual(readdirSync(mounted!).filter((n) => n.includes('.safehold-')), [], 'no temporary copies left');
    assert.equal(existsSync(join(victim, 'a.jpg')), false);
    assert.equal(snapshotOf(victim), victimBefore);
  });
});

describe('folders held by descriptor, against a second local user', { skip: userSkip }, () => {
  let user: LocalUser | undefined;
  let work: string;
  let home: string;
  let victim: string;
  const asUser = (file: string, ...args: string[]) => user!.run(file, args);
  const refusal = async (path: string, problem: FolderPathError['problem'], at: string) => {
    const error = await openFolder(path).then((f: Folder) => f.close().then(() => null), (e: unknown) => e);
    assert.ok(error instanceof FolderPathError, `${path}: ${String(error)}`);
    assert.deepEqual([error.problem, error.path], [problem, at]);
  };

  before(async () => {
    user = await makeLocalUser();
    ({ work, home, victim } = await sandbox(user, '-folders'));
    await mkdir(join(home, 'photos', '2024'), { recursive: true });
    for (const path of [join(home, 'photos'), join(home, 'photos', '2024')]) await chown(path, user.uid, user.gid);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    await user?.remove();
  });

  it('opens a folder part by part from "/", refusing a link the user put anywhere on the way, a file, or a missing part', async () => {
    const folder = await openFolder(join(home, 'photos', '2024'));
    assert.deepEqual(folder.trail.map((s) => s.path).slice(-3), [home, join(home, 'photos'), join(home, 'photos', '2024')]);
    assert.deepEqual(folder.trail.slice(-1).map((s) => s.uid), [user!.uid]);
    await folder.close();
    await asUser('ln', '-s', '--', victim, join(home, 'link'));
    await refusal(join(home, 'link'), 'link', join(home, 'link'));
    await refusal(join(home, 'link', 'keep.txt'), 'link', join(home, 'link'));
    await refusal(join(victim, 'keep.txt'), 'not-a-folder', join(victim, 'keep.txt'));
    await refusal(join(home, 'nothing', 'here'), 'missing', join(home, 'nothing'));
  });

  it('keeps naming the folder it checked when the user renames it and puts a link to root\'s folder under its name', async () => {
    const photos = await openFolder(join(home, 'photos'));
    try {
      await asUser('mv', '--', join(home, 'photos'), join(home, 'photos.real'));
      await asUser('ln', '-s', '--', victim, join(home, 'photos'));
      await writeFile(join(work, 'new.txt'), 'restored\n');
      await rename(join(work, 'new.txt'), photos.at('keep.txt'));
      assert.equal(readFileSync(join(home, 'photos.real', 'keep.txt'), 'utf8'), 'restored\n', 'into the folder that was checked');
      assert.equal(readFileSync(join(victim, 'keep.txt'), 'utf8'), "root's own file\n", "root's folder untouched");
      const inner = await photos.child('2024');
      assert.equal(inner.path, join(home, 'photos', '2024'), 'named by the path it was opened by');
      await inner.close();
    } finally {
      await photos.close();
      await asUser('rm', '--', join(home, 'photos'));
      await asUser('mv', '--', join(home, 'photos.real'), join(home, 'photos'));
    }
  });

  it('makes a private folder the user cannot enter, and removes it under the name the user moved it to, never through their link', async () => {
    const parent = await openFolder(home);
    try {
      const staging = await parent.makePrivateChild('.staging');
      await mkdir(join(staging.fdPath, 'deep', 'er'), { recursive: true });
      await writeFile(join(staging.fdPath, 'deep', 'er', 'f'), 'x');
      await assert.rejects(asUser('ls', '--', join(home, '.staging')), 'the user cannot look inside');
      await asUser('mv', '--', join(home, '.staging'), join(home, 'renamed'));
      await asUser('ln', '-s', '--', victim, join(home, '.staging'));
      assert.equal(await parent.removePrivateChild(staging), true);
      await staging.close();
      assert.equal(existsSync(join(home, 'renamed')), false, 'removed under its new name');
      assert.equal(lstatSync(join(home, '.staging')).isSymbolicLink(), true, "the user's link is left alone");
      assert.equal(readFileSync(join(victim, 'keep.txt'), 'utf8'), "root's own file\n");
    } finally {
      await parent.close();
    }
  });
});
