/**
 * kill -9 of the service at random moments while it duplicates (root only; real loop-device disks,
 * real mergerfs). Between kills the family keeps writing through the share (the pooled view lives
 * on in mergerfs while the service is down). After every restart and a reconcile: every file reads
 * back byte-identical through the share, no temporary file is visible in it, no file has fewer
 * verified copies than before the kill, and the catalog agrees with the disks.
 * `SAFEHOLD_CRASH_KILLS` sets how many kills (default 50; `make torture` runs 1,000).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, removeDataFolder, type LoopDisk } from '../testing/loop-disk.js';
import { freePort, removeAccounts, testAccountPrefix } from '../testing/samba.js';
import { Browserish, STRONG_PASSWORD, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const KILLS = Number(process.env.SAFEHOLD_CRASH_KILLS ?? 50);
const skip =
  loopDiskSkipReason() ??
  ((await run('which', ['mergerfs']).then(() => undefined, () => 'needs mergerfs (make test installs it)')) as string | undefined) ??
  ((await access('/dev/fuse').then(() => undefined, () => 'needs /dev/fuse')) as string | undefined);

interface MemberJson {
  driveId: string;
  mountpoint: string;
  state: string;
}

describe(`kill -9 while duplicating (${KILLS} times)`, { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let dataDir: string;
  let poolRoot: string;
  const accountPrefix = testAccountPrefix();
  let smbPort: number;
  const disks: LoopDisk[] = [];
  /** What each file of the share must hold. */
  const expected = new Map<string, Buffer>();
  const view = () => join(poolRoot, 'shares', 'Photos');

  const start = async () => {
    svc = await startServiceProcess({ simulate: false, dataDir, args: ['--pool-root', poolRoot, '--smb-port', String(smbPort)], env: { SAFEHOLD_SMB_ACCOUNT_PREFIX: accountPrefix } });
    admin = new Browserish(svc.base);
    await admin.get('/session');
  };
  const login = async () => {
    const res = await admin.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  };
  const members = async () => (await admin.get('/pool')).json.members as MemberJson[];
  const allMounted = async () => {
    const list = await members();
    return list.length === 2 && list.every((m) => m.state === 'mounted') ? list : null;
  };
  const finish = async (jobId: number) =>
    (
      await waitFor(async () => {
        const job = (await admin.get(`/jobs/${jobId}`)).json as { state: string; message: string };
        if (job.state === 'failed') throw new Error(job.message);
        return job.state === 'succeeded' ? job : null;
      }, 120_000, `job ${jobId}`)
    ).value;

  /** Verified copies per file, read from the catalog file while the service is down. */
  const verifiedCopies = () => {
    const db = new Database(join(dataDir, 'catalog.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT f.dir, f.name, count(c.drive_id) AS n FROM pool_files f LEFT JOIN pool_copies c ON c.file_id = f.id AND c.hash = f.hash WHERE f.share = 'Photos' GROUP BY f.id").all() as { dir: Buffer; name: Buffer; n: number }[];
      return new Map(rows.map((r) => [r.dir.length ? `${r.dir.toString()}/${r.name.toString()}` : r.name.toString(), r.n]));
    } finally {
      db.close();
    }
  };

  /** Every file under the view, as relative paths (temporaries included: they must not be there). */
  const listed = async (dir = view(), prefix = ''): Promise<string[]> => {
    const out: string[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) out.push(...(await listed(join(dir, entry.name), rel)));
      else out.push(rel);
    }
    return out.sort();
  };

  /** The family at work: new files, overwritten files, through the share. Returns the files written. */
  const write = async (count: number, largest = 1_500_000) => {
    const touched = new Set<string>();
    for (let i = 0; i < count; i++) {
      // At most 40 files (the disks are small): past that, the family overwrites its files.
      const overwrite = expected.size >= 40 || (expected.size > 0 && randomInt(3) === 0);
      const rel = overwrite ? [...expected.keys()][randomInt(expected.size)]! : `album-${randomInt(4)}/photo-${expected.size}-${randomInt(1e6)}.jpg`;
      const bytes = randomBytes(randomInt(1, largest));
      await mkdir(join(view(), rel, '..'), { recursive: true });
      await writeFile(join(view(), rel), bytes);
      expected.set(rel, bytes);
      touched.add(rel);
    }
    return touched;
  };

  before(async () => {
    await cleanupLeftovers();
    dataDir = await mkdtemp(join(tmpdir(), 'safehold-test-data-'));
    poolRoot = await mkdtemp(join(tmpdir(), 'safehold-test-poolroot-'));
    smbPort = await freePort();
    for (const label of ['CRASH-A', 'CRASH-B']) disks.push(await createLoopDisk({ sizeMiB: 256, label }));
    await start();
    await admin.setup(dataDir);
    for (const disk of disks) {
      const { value: drive } = await waitFor(async () => ((await admin.get('/drives')).json.drives as { id: string; path: string }[]).find((d) => d.path === disk.device), 10_000, 'the disk in the inventory');
      const res = await admin.post('/pool/members', { driveId: drive.id, mode: 'keep' });
      await finish(res.json.job.id);
    }
    assert.equal((await admin.post('/shares', { name: 'Photos', copies: 2 })).status, 201);
    await waitFor(() => stat(view()).then(() => true, () => null), 10_000, 'the view');
    await write(30);
  });

  after(async () => {
    await svc?.stop();
    await removeAccounts(accountPrefix);
    await run('umount', ['--lazy', view()]).catch(() => undefined);
    for (const disk of disks) await disk.cleanup().catch(() => undefined);
    await removeDataFolder(dataDir).catch(() => undefined);
    await removeDataFolder(poolRoot).catch(() => undefined);
  });

  // A hung run's limit, not a speed: a kill round takes a few seconds, many more on a busy machine.
  it('keeps every file readable, every verified copy, and the catalog true to the disks', { timeout: Math.max(30 * 60_000, KILLS * 15_000) }, async () => {
    let killedWhileCopying = 0;
    const viewUp = async () => ((await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === view()) ? true : null);
    for (let kill = 0; kill < KILLS; kill++) {
      await waitFor(allMounted, 30_000, 'both disks mounted');
      await waitFor(viewUp, 30_000, 'the share\'s view mounted');
      // Work for the duplicator: new and changed files, settled (2 s) so that the pass copies them.
      const fresh = await write(2, 4_000_000);
      await new Promise((r) => setTimeout(r, 2100));
      const job = (await admin.post('/pool/duplicate', {})).json.job as { id: number };
      const { value: state } = await waitFor(async () => {
        const now = ((await admin.get(`/jobs/${job.id}`)).json as { state: string }).state;
        return now === 'queued' ? null : now;
      }, 10_000, 'the pass started');
      await new Promise((r) => setTimeout(r, randomInt(0, 400)));
      if (state === 'running' && ((await admin.get(`/jobs/${job.id}`)).json as { state: string }).state === 'running') killedWhileCopying++;
      svc.child.kill('SIGKILL');
      await svc.stop();
      const before = verifiedCopies();
      // While the service is down, the family keeps writing through the share (mergerfs lives on).
      const touched = new Set([...fresh, ...(kill % 5 === 0 ? await write(3) : [])]);
      await start();
      await login();
      await waitFor(allMounted, 30_000, 'both disks mounted again');
      // After a restart and a reconcile: no temporary file in the share, no verified copy lost.
      await finish((await admin.post('/pool/duplicate', {})).json.job.id);
      for (const file of await listed()) assert.doesNotMatch(file, /\.safehold-tmp-/, 'no temporary file in the share after a restart and a reconcile');
      const after = verifiedCopies();
      for (const [file, n] of before) {
        if (touched.has(file)) continue; // changed meanwhile: its old copies are no longer copies of it
        assert.ok((after.get(file) ?? 0) >= n, `${file}: ${n} verified copies before kill ${kill}, ${after.get(file) ?? 0} after`);
      }
      if ((kill + 1) % 100 === 0) process.stdout.write(`# ${kill + 1} of ${KILLS} kills done, ${killedWhileCopying} during a running duplication, ${expected.size} files, every check held\n`);
    }
    assert.ok(killedWhileCopying > 0, 'some kills hit a running duplication');

    // Settle: a pass with nothing left to do.
    await new Promise((r) => setTimeout(r, 2500));
    await finish((await admin.post('/pool/duplicate', {})).json.job.id);
    await finish((await admin.post('/pool/duplicate', {})).json.job.id);
    assert.deepEqual(await listed(), [...expected.keys()].sort(), 'the share holds exactly the files written, no temporary file');
    for (const [file, bytes] of expected) assert.ok((await readFile(join(view(), file))).equals(bytes), `${file} reads back byte-identical through the share`);
    const counts = verifiedCopies();
    const disksNow = await members();
    for (const [file, bytes] of expected) {
      assert.equal(counts.get(file), 2, `${file}: two verified copies in the catalog`);
      const held = [];
      for (const m of disksNow) {
        const copy = await readFile(join(m.mountpoint, 'Safehold', 'shares', 'Photos', file)).catch(() => null);
        if (copy) held.push(copy.equals(bytes));
      }
      assert.deepEqual(held, [true, true], `${file}: on both disks, both byte-identical`);
    }
    for (const m of disksNow) {
      const temporaries = (await run('find', [join(m.mountpoint, 'Safehold'), '-name', '.safehold-tmp-*'])).stdout.trim();
      assert.equal(temporaries, '', 'no temporary file left on the disks');
    }
    process.stdout.write(`# ${KILLS} kills, ${killedWhileCopying} during a running duplication, ${expected.size} files\n`);
  });
});
