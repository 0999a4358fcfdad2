/**
 * Restoring from a rotation drive, end to end with real parts (root only): a loop device is drive A,
 * registered through the real service process; a snapshot of a tree of hostile names (newlines,
 * leading dashes, bytes that are not UTF-8, a path near PATH_MAX) is written onto it by the real
 * restic; then, through the API and the command line, the snapshot is browsed, folders and files
 * are restored beside the source and over it, one file is downloaded, and every path outside the
 * snapshot's folder is refused before anything runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, testName, type LoopDisk } from '../testing/loop-disk.js';
import { bytesPath, describeTree, HOSTILE, makeHostileTree } from '../testing/restic.js';
import { allJobsSettled, driveWithSnapshot, settledJob } from '../testing/restore.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const skip = loopDiskSkipReason() ?? ((await run('which', ['restic']).then(() => undefined, () => 'needs restic (make test installs it)')) as string | undefined);

interface Job {
  id: number;
  kind: string;
  state: string;
  title: string;
  message: string | null;
  progress: { itemsDone: number; itemsTotal: number | null; bytesDone: number; current: string | null };
}
interface Entry {
  name: string;
  type: string;
  path: string;
  size: number | null;
  nameIsExact: boolean;
}

describe('restoring from a rotation drive', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let disk: LoopDisk;
  let work: string;
  let src: string;
  let longRelative: string;
  let driveId: string;
  let snapshotId: string;
  let shortId: string;
  let date: string;
  let base: string;

  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, 'restore', ...args, '--data', svc.dataDir], { encoding: 'buffer' }).then(
      (r) => ({ code: 0, stdout: r.stdout.toString(), stderr: r.stderr.toString() }),
      (e: { code: number; stdout: Buffer; stderr: Buffer }) => ({ code: e.code, stdout: e.stdout.toString(), stderr: e.stderr.toString() }),
    );
  const jobs = async () => (await admin.get('/jobs?limit=500')).json.jobs as Job[];
  const settled = (id: number) => settledJob<Job>(admin, id);
  const allSettled = () => allJobsSettled(admin);
  const ls = (path?: string, snap = shortId) => admin.get(`${base}/snapshots/${snap}/ls${path === undefined ? '' : `?path=${encodeURIComponent(path)}`}`);
  const restore = (body: unknown) => admin.post(`${base}/snapshots/${shortId}/restore`, body);
  const download = (path: string) => fetch(`${svc.base}/api/v1${base}/snapshots/${shortId}/download?path=${encodeURIComponent(path)}`, { headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
  const stagingLeft = () => readdirSync(work).filter((n) => n.startsWith('.safehold-restore-'));

  before(async () => {
    await cleanupLeftovers();
    work = join(tmpdir(), testName('-restore'));
    await mkdir(work);
    ({ src, longRelative } = makeHostileTree(work));
    disk = await createLoopDisk({ sizeMiB: 128, label: 'RESTORE-A' });
    svc = await startServiceProcess({ simulate: false });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);

    let snapshot;
    ({ driveId, base, snapshot } = await driveWithSnapshot(svc, admin, disk, [src], 'hostile'));
    snapshotId = snapshot.id;
    shortId = snapshot.shortId;
    date = snapshot.time.slice(0, 10);
  });

  after(async () => {
    await svc?.dispose();
    await disk?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists the snapshots from the drive and browses them, folders first, hostile names as restic prints them', async () => {
    const snapshots = await admin.get(`${base}/restore/snapshots`);
    assert.equal(snapshots.status, 200, JSON.stringify(snapshots.json));
    const listed = (snapshots.json.snapshots as Array<{ id: string; source: string; paths: string[] }>).find((s) => s.id === snapshotId);
    assert.deepEqual([listed?.source, listed?.paths], ['hostile', [src]]);

    const top = await ls();
    assert.equal(top.status, 200, JSON.stringify(top.json));
    assert.equal(top.json.path, src, 'without a path: the snapshot\'s own folder');
    const entries = top.json.entries as Entry[];
    const firstFile = entries.findIndex((e) => e.type !== 'dir');
    assert.ok(entries.slice(firstFile).every((e) => e.type !== 'dir'), 'folders first');
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.equal(byName.get(HOSTILE.dash)?.path, `${src}/-rf`);
    assert.equal(byName.get(HOSTILE.newline)?.type, 'file');
    assert.equal(byName.get('caf\uFFFD.txt')?.nameIsExact, false);
    assert.equal(byName.get('bad\uFFFD')?.type, 'dir');
    assert.equal(byName.get('link-to-dash')?.type, 'symlink');
    assert.equal((await ls(undefined, snapshotId)).status, 200, 'the full id works too');

    const docs = await ls(`${src}/docs`);
    assert.deepEqual((docs.json.entries as Entry[]).map((e) => [e.name, e.type]), [['nested', 'dir'], ['a.txt', 'file']]);
    const bad = await ls(`${src}/bad\uFFFD`);
    assert.equal(bad.status, 200, JSON.stringify(bad.json));
    assert.deepEqual((bad.json.entries as Entry[]).map((e) => [e.name, e.size]), [['n\uFFFD.bin', 3000]]);
    const deep = await ls(dirname(join(src, longRelative)));
    assert.deepEqual((deep.json.entries as Entry[]).map((e) => e.name), ['deep-file.txt']);
  });

  it('restores the whole folder beside the source, byte for byte, with progress, an activity entry and no staging left', async () => {
    const res = await restore({ paths: [src] });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.folder, `${src}-restored-${date}`);
    assert.equal(res.json.job.kind, 'backup.restore');
    assert.equal(res.json.job.title, 'Restore from drive A');
    const job = await settled(res.json.job.id);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    assert.match(job.message!, /Restored \d+ files/);
    assert.equal(job.progress.itemsTotal, 5, 'steps shown');
    assert.deepEqual(describeTree(res.json.folder), describeTree(src), 'names (non-UTF-8 too), bytes, links, modes and the long path');
    assert.deepEqual(stagingLeft(), []);
    const activity = (await admin.get('/activity?limit=20')).json.entries as Array<{ kind: string; message: string }>;
    assert.ok(activity.some((e) => e.kind === 'backup.restored' && e.message.includes(res.json.folder) && e.message.includes('drive A')));
  });

  it('restores single files beside the source into a new folder (-2), their paths kept relative to the source', async () => {
    const res = await restore({ paths: [`${src}/docs/nested/b.bin`, `${src}/bad\uFFFD/n\uFFFD.bin`, join(src, longRelative), `${src}/${HOSTILE.newline}`] });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const folder = res.json.folder as string;
    assert.equal(folder, `${src}-restored-${date}-2`, 'never over the first restore');
    assert.equal((await settled(res.json.job.id)).state, 'succeeded');
    assert.deepEqual(readFileSync(join(folder, 'docs', 'nested', 'b.bin')), readFileSync(join(src, 'docs', 'nested', 'b.bin')));
    assert.deepEqual(readFileSync(bytesPath(bytesPath(folder, HOSTILE.badDir), HOSTILE.badFile)), readFileSync(bytesPath(bytesPath(src, HOSTILE.badDir), HOSTILE.badFile)));
    assert.equal(readFileSync(join(folder, longRelative), 'utf8'), 'deep\n');
    assert.equal(readFileSync(join(folder, HOSTILE.newline), 'utf8'), 'two\nlines\n');
    const files = describeTree(folder).filter((e) => e.type !== 'dir').map((e) => e.path);
    assert.equal(files.length, 4, `only what was asked: ${files.join(', ')}`);
    assert.deepEqual(stagingLeft(), []);
  });

  it('writes over the originals only with overwrite: true, and leaves files that are not in the snapshot', async () => {
    const refused = await restore({ paths: [`${src}/docs/a.txt`], target: 'original' });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.issues[0].path, 'overwrite');

    writeFileSync(join(src, 'docs', 'a.txt'), 'ransomware was here');
    writeFileSync(join(src, 'docs', 'new-since.txt'), 'kept');
    const res = await restore({ paths: [`${src}/docs`], target: 'original', overwrite: true });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.folder, src);
    const job = await settled(res.json.job.id);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    assert.equal(readFileSync(join(src, 'docs', 'a.txt'), 'utf8'), 'alpha\n');
    assert.equal(readFileSync(join(src, 'docs', 'new-since.txt'), 'utf8'), 'kept');
    await rm(join(src, 'docs', 'new-since.txt'));
    assert.deepEqual(stagingLeft(), []);
  });

  it('downloads one file as an attachment (RFC 5987 name) and deletes its temporary copy; a folder is refused', async () => {
    const res = await download(`${src}/docs/nested/b.bin`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="b.bin"');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(join(src, 'docs', 'nested', 'b.bin')));

    const latin = await download(`${src}/caf\uFFFD.txt`);
    assert.equal(latin.status, 200);
    assert.equal(latin.headers.get('content-disposition'), `attachment; filename="caf_.txt"; filename*=UTF-8''caf%EF%BF%BD.txt`);
    assert.equal(await latin.text(), 'latin-1 name');
    const newline = await download(`${src}/${HOSTILE.newline}`);
    assert.equal(await newline.text(), 'two\nlines\n');
    assert.match(newline.headers.get('content-disposition')!, /filename\*=UTF-8''new%0Aline\.txt$/);

    const folder = await download(`${src}/docs`);
    assert.equal(folder.status, 400);
    assert.match(((await folder.json()) as { error: { message: string } }).error.message, /download a file, or restore the folder/);
    const downloads = join(svc.dataDir, 'tmp', 'downloads');
    await waitFor(async () => (await readdir(downloads)).length === 0, 5000, 'the temporary copies removed');
  });

  it('refuses every path outside the snapshot folder with 400 naming the field, before anything runs', async () => {
    const outside = ['/etc/passwd', `${src}/../x`, 'docs/a.txt', `${src}/docs\0x`, `${src}//docs`, `${src}/docs/`, `${src}/./docs`, dirname(src), `${src}-restored-${date}`, '/'];
    const before = (await jobs()).length;
    for (const path of outside) {
      const listed = await ls(path);
      assert.equal(listed.status, 400, `ls ${JSON.stringify(path)}: ${JSON.stringify(listed.json)}`);
      assert.equal(listed.json.error.issues[0].path, 'path');
      const restored = await restore({ paths: [`${src}/docs/a.txt`, path] });
      assert.equal(restored.status, 400, `restore ${JSON.stringify(path)}`);
      assert.equal(restored.json.error.issues[0].path, 'paths.1');
      assert.equal((await download(path)).status, 400, `download ${JSON.stringify(path)}`);
    }
    assert.equal((await jobs()).length, before, 'no restore job was started');
    assert.equal(existsSync('/x'), false);
    assert.equal((await ls(undefined, 'zz')).status, 400, 'a snapshot id is hex');
    assert.equal((await ls(undefined, 'deadbeef')).status, 404, 'a snapshot not on the drive');
    assert.equal((await restore({ paths: [] })).status, 400);
    assert.equal((await restore({ paths: [`${src}/docs`], target: 'elsewhere' })).status, 400);
    assert.equal((await admin.get('/backups/drives/no-such-drive/snapshots/deadbeef/ls')).status, 404);
  });

  it('works from the command line: snapshots, ls, restore (waiting for the job), get (never over a file)', async () => {
    const listed = await cli('snapshots', 'A', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as { snapshots: Array<{ id: string }> }).snapshots.some((s) => s.id === snapshotId));
    const text = await cli('snapshots', 'A');
    assert.match(text.stdout, new RegExp(`${shortId} .* hostile`));

    const folder = await cli('ls', 'A', 'latest', 'docs');
    assert.equal(folder.code, 0, folder.stderr);
    assert.match(folder.stdout, /nested\//);
    assert.match(folder.stdout, /a\.txt/);
    const top = await cli('ls', 'a', shortId);
    assert.match(top.stdout, /"new\\nline\.txt"/, 'a name with a newline is shown quoted on one line');

    const restored = await cli('A', 'latest', 'docs/a.txt', '--source', 'hostile');
    assert.equal(restored.code, 0, restored.stderr);
    const into = `${src}-restored-${date}-3`;
    assert.match(restored.stdout, new RegExp(`into ${into.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(readFileSync(join(into, 'docs', 'a.txt'), 'utf8'), 'alpha\n');

    const out = join(work, 'got-b.bin');
    const got = await cli('get', 'A', 'latest', `${src}/docs/nested/b.bin`, '--output', out);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(readFileSync(out), readFileSync(join(src, 'docs', 'nested', 'b.bin')));
    const again = await cli('get', 'A', 'latest', 'docs/a.txt', '--output', out);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assert.deepEqual(readFileSync(out), readFileSync(join(src, 'docs', 'nested', 'b.bin')), 'untouched');

    const refused = await cli('A', 'latest', '/etc/passwd');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not inside the snapshot's folder/);
    assert.equal((await cli('A', 'latest', 'docs', '--original')).code, 2, '--original needs --overwrite');
    assert.equal((await cli('ls', 'Z', 'latest')).code, 2, 'no such drive');
  });

  it('says in words that a drive that is not plugged in must be plugged in', async () => {
    // Browsing keeps the drive mounted for a while; a restore job gives it back at once, so it can be pulled.
    const res0 = await restore({ paths: [`${src}/${HOSTILE.empty}`] });
    assert.equal((await settled(res0.json.job.id)).state, 'succeeded');
    await waitFor(async () => !(await readFile('/proc/self/mountinfo', 'utf8')).includes(join(svc.dataDir, 'mnt')), 10_000, 'the drive unmounted');
    await disk.detach();
    await waitFor(async () => !((await admin.get('/drives')).json.drives as Array<{ id: string }>).some((d) => d.id === driveId), 10_000, 'drive A gone from the inventory');
    const res = await ls();
    assert.equal(res.status, 409);
    assert.equal(res.json.error.message, 'Rotation drive A is not plugged in: plug it in to restore from it.');
  });
});

