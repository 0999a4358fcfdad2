/**
 * Shares on real pool disks (root only): loop devices for the disks, the real service with real
 * mergerfs. A share's pooled folder is one folder over its folder on every pool disk; a file
 * written into it lands on one disk as a plain file; a disk pulled out leaves the view, which keeps
 * serving the rest; removing a share takes it off the box's folders but keeps its files until the
 * owner confirms a second time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, pullOut, removeDataFolder, type LoopDisk } from '../testing/loop-disk.js';
import { freePort, removeAccounts, testAccountPrefix } from '../testing/samba.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

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
  copies: number | 'all';
  path: string;
  state: string;
}

const mountedAt = async (path: string) => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === path);

describe('shares over the pool disks', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let poolRoot: string;
  const disks: LoopDisk[] = [];
  /** The service runs Samba for the shares: on a port of its own, with Unix accounts of this run's (removed after). */
  const accountPrefix = testAccountPrefix();

  before(async () => {
    await cleanupLeftovers();
    poolRoot = await mkdtemp(join(tmpdir(), 'safehold-test-poolroot-'));
    for (const [size, label] of [[96, 'ONE'], [160, 'TWO']] as const) disks.push(await createLoopDisk({ sizeMiB: size, label }));
    svc = await startServiceProcess({ simulate: false, args: ['--pool-root', poolRoot, '--smb-port', String(await freePort())], env: { SAFEHOLD_SMB_ACCOUNT_PREFIX: accountPrefix } });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    for (const disk of disks) {
      const { value: drive } = await waitFor(async () => ((await admin.get('/drives')).json.drives as { id: string; path: string }[]).find((d) => d.path === disk.device), 10_000, 'the disk in the inventory');
      const res = await admin.post('/pool/members', { driveId: drive.id, mode: 'keep' });
      assert.equal(res.status, 202, JSON.stringify(res.json));
      await waitFor(async () => {
        const job = (await admin.get(`/jobs/${res.json.job.id}`)).json as { state: string; message: string };
        if (job.state === 'failed') throw new Error(job.message);
        return job.state === 'succeeded' ? job : null;
      }, 30_000, 'the disk joined');
    }
  });

  after(async () => {
    await svc?.dispose();
    await removeAccounts(accountPrefix);
    for (const disk of disks) await disk.cleanup().catch(() => undefined);
    if (poolRoot) await removeDataFolder(poolRoot).catch(() => undefined); // its view folders are sealed: rm alone leaves them
  });

  const members = async () => (await admin.get('/pool')).json.members as MemberJson[];
  const share = async (name: string) => ((await admin.get('/shares')).json.shares as ShareJson[]).find((s) => s.name === name);
  const onDisks = async (rel: string) => {
    const found: string[] = [];
    for (const m of await members()) {
      if (m.state !== 'mounted') continue;
      if (await stat(join(m.mountpoint, 'Safehold', 'shares', rel)).then(() => true, () => false)) found.push(m.driveId);
    }
    return found;
  };

  it('refuses a name Samba or the disks could not hold, saying why', async () => {
    for (const name of ['../etc', 'homes', 'a b', '-x', '']) {
      const res = await admin.post('/shares', { name, copies: 2 });
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.json)}`);
    }
    const bad = await admin.post('/shares', { name: 'Photos', copies: 4 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.issues[0].path, 'copies');
  });

  it('presents a new share as one folder over its folder on every pool disk; a file written there lands on one disk as a plain file', async () => {
    const res = await admin.post('/shares', { name: 'Photos', copies: 2 });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.share.path, join(poolRoot, 'shares', 'Photos'));
    const view = res.json.share.path as string;
    await waitFor(() => mountedAt(view).then((m) => m || null), 10_000, 'the pooled view mounted');
    for (const m of await members()) assert.ok((await stat(join(m.mountpoint, 'Safehold', 'shares', 'Photos'))).isDirectory(), 'its folder on every disk');

    await writeFile(join(view, 'beach.jpg'), 'sand and sea\n');
    const where = await onDisks('Photos/beach.jpg');
    assert.equal(where.length, 1, 'written once, on one disk (the duplicator makes the second copy)');
    const holder = (await members()).find((m) => m.driveId === where[0])!;
    assert.equal(await readFile(join(holder.mountpoint, 'Safehold', 'shares', 'Photos', 'beach.jpg'), 'utf8'), 'sand and sea\n');
    assert.deepEqual(await readdir(view), ['beach.jpg']);

    const sources = (await admin.get('/sources')).json.sources as { name: string; path: string }[];
    assert.deepEqual(sources.map((x) => [x.name, x.path]), [['photos', view]], 'the share is a backup source: its pooled folder');

    const cli = JSON.parse((await run(process.execPath, [CLI, 'shares', '--json', '--data', svc.dataDir])).stdout) as { shares: ShareJson[] };
    assert.deepEqual(cli.shares.map((s) => [s.name, s.copies, s.state]), [['Photos', 2, 'active']]);
  });

  it('keeps serving the share from the other disk when one is pulled out', async () => {
    const view = (await share('Photos'))!.path;
    const where = await onDisks('Photos/beach.jpg');
    const other = (await members()).find((m) => m.driveId !== where[0])!;
    await writeFile(join(other.mountpoint, 'Safehold', 'shares', 'Photos', 'kept.txt'), 'on the disk that stays\n');
    const holderDevice = (await members()).find((m) => m.driveId === where[0])!.device;
    const pulled = disks.find((d) => d.device === holderDevice)!;
    await pullOut(pulled);
    await waitFor(async () => ((await members()).find((m) => m.driveId === where[0])?.state === 'missing' ? true : null), 20_000, 'the pulled disk missing');
    const { value: names } = await waitFor(async () => {
      const list = await readdir(view).catch(() => null);
      return list && !list.includes('beach.jpg') ? list : null;
    }, 10_000, 'the view without the pulled disk');
    assert.deepEqual(names, ['kept.txt']);
    assert.equal(await readFile(join(view, 'kept.txt'), 'utf8'), 'on the disk that stays\n');
    await writeFile(join(view, 'new.txt'), 'written while a disk is away\n');
    assert.deepEqual(await onDisks('Photos/new.txt'), [other.driveId], 'a new file lands on the disk that is there');
  });

  it('takes a removed share off the box but keeps its files until a second confirmation', async () => {
    const view = (await share('Photos'))!.path;
    const removed = await admin.post('/shares/Photos/remove', {});
    assert.equal(removed.status, 200);
    assert.equal(removed.json.share.state, 'removed');
    assert.equal(await mountedAt(view), false, 'the pooled view is gone');
    assert.deepEqual((await admin.get('/sources')).json.sources, [], 'no longer backed up (its backups are kept)');
    const stays = (await members()).find((m) => m.state === 'mounted')!;
    const folder = join(stays.mountpoint, 'Safehold', 'shares', 'Photos');
    assert.deepEqual((await readdir(folder)).sort(), ['kept.txt', 'new.txt'], 'its files are still on the disk');

    const again = await admin.post('/shares', { name: 'photos', copies: 1 });
    assert.equal(again.status, 400);
    assert.match(again.json.error.message, /removed share Photos still holds its files/);

    const restored = await admin.post('/shares/Photos/restore', {});
    assert.equal(restored.json.share.state, 'active');
    await waitFor(() => mountedAt(view).then((m) => m || null), 10_000, 'the view back');
    assert.deepEqual(((await admin.get('/sources')).json.sources as { name: string }[]).map((x) => x.name), ['photos'], 'backed up again');
    assert.ok((await readdir(view)).includes('kept.txt'));

    await admin.post('/shares/Photos/remove', {});
    const wrong = await admin.post('/shares/Photos/delete-files', { confirm: 'photo' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.issues[0].path, 'confirm');
    const refused = await admin.post('/shares/Photos/delete-files', { confirm: 'Photos' });
    assert.equal(refused.status, 409, 'a disk is missing: its copies could not be deleted');
    assert.match(refused.json.error.message, /missing.*Plug it in first/);
    assert.deepEqual((await readdir(folder)).sort(), ['kept.txt', 'new.txt'], 'nothing was deleted');
  });
});
