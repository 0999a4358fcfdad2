/**
 * A share reached over SMB (root only): two loop devices join the pool, the real service runs its
 * own smbd on a free loopback port (`--smb-port`) over the real mergerfs view, and smbclient is the
 * household's computer. Who the owner made and what they granted is what each login can do; a
 * grant changed is in effect at once, without restarting smbd; a removed share is gone from the
 * network; passwords appear in no output, catalog or command line. The Unix accounts the service
 * makes carry a prefix unique to this run and are removed afterwards, failed or not.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { SambaAdapter } from '../../system/samba/samba.adapter.js';
import { EventBus } from '../../server/events.js';
import { SmbService } from '../../server/pool/smb.service.js';
import { HouseholdUserRepository } from '../../server/pool/user.repository.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, pullOut, removeDataFolder, type LoopDisk } from '../testing/loop-disk.js';
import { freePort, removeAccounts, sambaSkipReason, SmbClient, testAccountPrefix } from '../testing/samba.js';
import { Browserish, safehold, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const skip =
  loopDiskSkipReason() ??
  (await sambaSkipReason()) ??
  ((await run('which', ['mergerfs']).then(() => undefined, () => 'needs mergerfs (make test installs it)')) as string | undefined) ??
  ((await access('/dev/fuse').then(() => undefined, () => 'needs /dev/fuse')) as string | undefined);

interface MemberJson {
  driveId: string;
  mountpoint: string;
  state: string;
}
interface ShareJson {
  name: string;
  path: string;
  state: string;
  grants: { user: string; access: string }[];
  smb: { windows: string | null; macos: string; linux: string } | null;
}

/** Passwords strong enough for the admin's judge, with characters a shell or a config file would trip on. */
const passwords = {
  anna: "Her boat sails at 7 $HOME \"quoted\" ü",
  ben: 'he plants seven tall sunflowers; `date`',
  carl: 'forty-two marbles kept in a jar',
};
type Person = keyof typeof passwords;
const login = (user: Person) => ({ user, password: passwords[user] });

describe('a share reached over SMB with the rights the owner granted', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let poolRoot: string;
  let work: string;
  let smb: SmbClient;
  let smbPort: number;
  const prefix = testAccountPrefix();
  const disks: LoopDisk[] = [];
  /** Every `ps -eo args` line seen while passwords were being set. */
  const processLines = new Set<string>();

  before(async () => {
    await cleanupLeftovers();
    poolRoot = await mkdtemp(join(tmpdir(), 'safehold-test-poolroot-'));
    work = await mkdtemp(join(tmpdir(), 'safehold-test-smb-'));
    for (const [size, label] of [[96, 'ONE'], [128, 'TWO']] as const) disks.push(await createLoopDisk({ sizeMiB: size, label }));
    smbPort = await freePort();
    smb = new SmbClient(smbPort);
    svc = await startServiceProcess({ simulate: false, args: ['--pool-root', poolRoot, '--smb-port', String(smbPort)], env: { SAFEHOLD_SMB_ACCOUNT_PREFIX: prefix } });
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
    try {
      await svc?.dispose();
    } finally {
      await removeAccounts(prefix);
      for (const disk of disks) await disk.cleanup().catch(() => undefined);
      if (poolRoot) await removeDataFolder(poolRoot).catch(() => undefined);
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  });

  const members = async () => (await admin.get('/pool')).json.members as MemberJson[];
  const share = async (name: string) => ((await admin.get('/shares')).json.shares as ShareJson[]).find((s) => s.name === name)!;
  const onDisks = async (rel: string) => {
    const found: string[] = [];
    for (const m of await members()) {
      if (m.state === 'mounted' && (await stat(join(m.mountpoint, 'Safehold', 'shares', rel)).then(() => true, () => false))) found.push(m.driveId);
    }
    return found;
  };
  /** Runs `ps -eo args` every few milliseconds while `action` runs, keeping every line seen. */
  const watchingProcesses = async <T>(action: () => Promise<T>): Promise<T> => {
    let done = false;
    const watcher = (async () => {
      while (!done) {
        for (const line of (await run('ps', ['-eo', 'args'], { maxBuffer: 16 * 1024 * 1024 })).stdout.split('\n')) processLines.add(line);
      }
    })();
    try {
      return await action();
    } finally {
      done = true;
      await watcher;
    }
  };
  const put = (user: Person | null, local: string, remote: string) => smb.run('Photos', user && login(user), `put ${local} ${remote}`, work);
  const get = (user: Person | null, remote: string, local: string) => smb.run('Photos', user && login(user), `get ${remote} ${local}`, work);

  it('exports a new share and makes household users, from the API and the command line', async () => {
    const made = await admin.post('/shares', { name: 'Photos', copies: 2 });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    assert.match(made.json.share.smb.linux, new RegExp(`^smb://[^/:]+:${smbPort}/Photos$`));
    assert.equal(made.json.share.smb.windows, null, 'Windows cannot reach another port than 445');

    await watchingProcesses(async () => {
      for (const user of ['anna', 'ben'] as const) {
        const res = await admin.post('/pool/users', { name: user, password: passwords[user] });
        assert.equal(res.status, 201, JSON.stringify(res.json));
      }
      const file = join(work, 'carl.pw');
      await writeFile(join(work, 'carl.pw'), `${passwords.carl}\n`, { mode: 0o600 });
      const cli = await safehold(['users', 'add', 'carl', '--password-file', file, '--data', svc.dataDir]);
      assert.equal(cli.code, 0, cli.stderr);
      await rm(file);
    });
    const weak = await admin.post('/pool/users', { name: 'dora', password: 'password1234' });
    assert.equal(weak.status, 400);
    assert.equal(weak.json.error.issues[0].path, 'password');

    assert.equal((await admin.request('PUT', '/shares/Photos/grants/anna', { access: 'rw' })).status, 200);
    const cli = await safehold(['shares', 'grant', 'Photos', 'ben', 'ro', '--data', svc.dataDir]);
    assert.equal(cli.code, 0, cli.stderr);
    const listed = JSON.parse((await safehold(['users', '--json', '--data', svc.dataDir])).stdout) as { users: { name: string; grants: unknown[]; canLogIn: boolean }[] };
    assert.deepEqual(
      listed.users.map((u) => [u.name, u.grants, u.canLogIn]),
      [
        ['anna', [{ share: 'Photos', access: 'rw' }], true],
        ['ben', [{ share: 'Photos', access: 'ro' }], true],
        ['carl', [], true],
      ],
    );
    const shares = JSON.parse((await safehold(['shares', '--json', '--data', svc.dataDir])).stdout) as { shares: ShareJson[] };
    assert.deepEqual(shares.shares[0]!.grants, [
      { user: 'anna', access: 'rw' },
      { user: 'ben', access: 'ro' },
    ]);
    assert.match(shares.shares[0]!.smb!.macos, new RegExp(`^smb://[^/]+:${smbPort}/Photos$`));
  });

  it('a file anna puts through the share appears in the pooled view and on one disk, owned by the files owner', async () => {
    await writeFile(join(work, 'beach.jpg'), 'sand and sea\n');
    const done = await put('anna', 'beach.jpg', 'beach.jpg');
    assert.ok(done.ok, done.output);
    const view = (await share('Photos')).path;
    assert.equal(await readFile(join(view, 'beach.jpg'), 'utf8'), 'sand and sea\n');
    const where = await onDisks('Photos/beach.jpg');
    assert.equal(where.length, 1, 'written once, on one disk');
    const holder = (await members()).find((m) => m.driveId === where[0])!;
    const onDisk = join(holder.mountpoint, 'Safehold', 'shares', 'Photos', 'beach.jpg');
    assert.equal(await readFile(onDisk, 'utf8'), 'sand and sea\n');
    const owner = (await run('getent', ['passwd', `${prefix}0files`])).stdout.split(':');
    assert.equal((await stat(onDisk)).uid, Number(owner[2]));
  });

  it('ben can read it but not write; carl, without a grant, and a guest are refused', async () => {
    const got = await get('ben', 'beach.jpg', 'ben-got.jpg');
    assert.ok(got.ok, got.output);
    assert.equal(await readFile(join(work, 'ben-got.jpg'), 'utf8'), 'sand and sea\n');
    await writeFile(join(work, 'ben.txt'), 'from ben\n');
    const refused = await put('ben', 'ben.txt', 'ben.txt');
    assert.equal(refused.ok, false);
    assert.match(refused.output, /NT_STATUS_ACCESS_DENIED/);

    for (const who of ['carl', null] as const) {
      const tried = await get(who, 'beach.jpg', 'nobody-got.jpg');
      assert.equal(tried.ok, false, `${who ?? 'a guest'} got in: ${tried.output}`);
    }
    const wrong = await smb.run('Photos', { user: 'anna', password: 'not her password at all' }, 'ls', work);
    assert.equal(wrong.ok, false);
    assert.deepEqual((await readdir((await share('Photos')).path)).sort(), ['beach.jpg'], 'nothing was written by those refused');
  });

  it("ben given rw can write at once, by the same smbd (no restart)", async () => {
    const pidFile = join(svc.dataDir, 'samba', 'run', 'smbd.pid');
    const pid = (await readFile(pidFile, 'utf8')).trim();
    const res = await admin.request('PUT', '/shares/Photos/grants/ben', { access: 'rw' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.share.grants, [
      { user: 'anna', access: 'rw' },
      { user: 'ben', access: 'rw' },
    ]);
    const now = await put('ben', 'ben.txt', 'ben.txt');
    assert.ok(now.ok, now.output);
    assert.equal(await readFile(join((await share('Photos')).path, 'ben.txt'), 'utf8'), 'from ben\n');
    assert.equal((await readFile(pidFile, 'utf8')).trim(), pid, 'the same smbd serves');
  });

  it('files with hostile names put through the share (leading dash, spaces, non-ASCII, a path of 3,700 bytes) get their second copy, byte for byte', async () => {
    const folders = Array.from({ length: 15 }, (_, i) => `folder-${String(i).padStart(2, '0')}-${'z'.repeat(230)}`);
    const names = ['-rf', 'two words.txt', 'Ünïcödé ✓.txt'];
    const written = new Map<string, Buffer>();
    for (const [i, name] of names.entries()) {
      const bytes = randomBytes(2000 + i * 3000);
      await writeFile(join(work, `h${i}.bin`), bytes);
      const done = await put('anna', `h${i}.bin`, `"${name}"`);
      assert.ok(done.ok, done.output);
      written.set(name, bytes);
    }
    const deep = randomBytes(12_345);
    await writeFile(join(work, 'deep.bin'), deep);
    const walk = folders.map((folder) => `mkdir ${folder}; cd ${folder}`).join('; ');
    const done = await smb.run('Photos', login('anna'), `${walk}; put deep.bin end.txt`, work);
    assert.ok(done.ok, done.output.slice(0, 2000));
    const deepPath = `${folders.join('/')}/end.txt`;
    assert.ok(Buffer.byteLength(deepPath) > 3600, 'a path of about 3,700 bytes');
    written.set(deepPath, deep);

    for (const [rel, bytes] of written) {
      const holders = await waitFor(async () => {
        const where = await onDisks(`Photos/${rel}`);
        return where.length === 2 ? where : null;
      }, 60_000, `two copies of ${rel.slice(0, 40)}`);
      for (const m of (await members()).filter((x) => holders.value.includes(x.driveId))) {
        assert.ok((await readFile(join(m.mountpoint, 'Safehold', 'shares', 'Photos', rel))).equals(bytes), `${rel.slice(0, 40)} on ${m.driveId}`);
      }
      const back = join(work, 'back.bin');
      const got = await smb.run('Photos', login('anna'), rel === deepPath ? `${folders.map((f) => `cd ${f}`).join('; ')}; get end.txt back.bin` : `get "${rel}" back.bin`, work);
      assert.ok(got.ok, got.output.slice(0, 2000));
      assert.ok((await readFile(back)).equals(bytes), `${rel.slice(0, 40)} read back through the share`);
    }
  });

  it('a revoked grant and a removed user are refused from then on', async () => {
    const revoked = await safehold(['shares', 'revoke', 'Photos', 'ben', '--data', svc.dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await get('ben', 'beach.jpg', 'x.jpg')).ok, false);

    assert.equal((await admin.request('DELETE', '/pool/users/anna')).status, 204);
    assert.equal((await get('anna', 'beach.jpg', 'x.jpg')).ok, false);
    assert.equal((await run('getent', ['passwd', `${prefix}anna`]).then(() => 0, (e: { code: number }) => e.code)), 2, 'her Unix account is gone');
    assert.deepEqual((await share('Photos')).grants, []);
  });

  it('a removed share is no longer reachable', async () => {
    assert.equal((await admin.request('PUT', '/shares/Photos/grants/carl', { access: 'rw' })).status, 200);
    assert.ok((await get('carl', 'beach.jpg', 'carl-got.jpg')).ok);
    const removed = await admin.post('/shares/Photos/remove', {});
    assert.equal(removed.status, 200);
    assert.equal(removed.json.share.smb, null);
    const gone = await get('carl', 'beach.jpg', 'carl-again.jpg');
    assert.equal(gone.ok, false);
    assert.match(gone.output, /NT_STATUS_BAD_NETWORK_NAME/);
  });

  it('a share brought back is offered again, and not while none of its disks is there', async () => {
    assert.equal((await admin.post('/shares/Photos/restore', {})).status, 200);
    const back = await get('carl', 'beach.jpg', 'carl-back.jpg');
    assert.ok(back.ok, back.output);
    for (const disk of disks) await pullOut(disk);
    await waitFor(async () => ((await members()).every((m) => m.state === 'missing') ? true : null), 20_000, 'both disks missing');
    // Until Samba has taken the change, the view's folder is sealed (docs/pool-view.md): a write there fails.
    await writeFile(join(work, 'lost.txt'), 'would land on the system disk\n');
    await waitFor(async () => {
      const tried = await put('carl', 'lost.txt', 'lost.txt');
      assert.equal(tried.ok, false, 'nothing is written while no disk is there');
      return /NT_STATUS_BAD_NETWORK_NAME/.test(tried.output) ? tried : null;
    }, 20_000, 'the share off the network');
    assert.deepEqual(await readdir((await share('Photos')).path), [], 'nothing on the system disk');
  });

  it('no password appears in the service output, the catalog or a command line', async () => {
    const catalog = Buffer.concat(
      await Promise.all(['catalog.db', 'catalog.db-wal'].map((f) => readFile(join(svc.dataDir, f)).catch(() => Buffer.alloc(0)))),
    );
    assert.ok(processLines.size > 0);
    for (const password of Object.values(passwords)) {
      assert.ok(!svc.output().includes(password), 'not in the service output');
      assert.ok(!catalog.includes(Buffer.from(password)), 'not in the catalog');
      assert.ok(![...processLines].some((l) => l.includes(password)), 'not in a command line');
    }
    const status = (await admin.get('/status')).json as { features: { id: string }[] };
    assert.ok(!status.features.some((f) => f.id === 'smb'), 'Samba is fine');
  });
});

describe('Samba that cannot start is a problem in words, tried again at the next change', { skip }, () => {
  it('a port another program holds', async () => {
    const other = createServer(() => {});
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as AddressInfo).port;
    const root = await mkdtemp(join(tmpdir(), 'safehold-test-smbfail-'));
    const prefix = testAccountPrefix();
    const cat = tempCatalog();
    const samba = new SambaAdapter({ runner: new ProcessCommandRunner(), mode: { kind: 'self-run', folder: join(root, 'samba'), port, address: '127.0.0.1' }, filesOwner: { user: 'root', group: 'root' }, accountPrefix: prefix });
    const smb = new SmbService({
      samba,
      users: new HouseholdUserRepository(cat.db),
      exported: () => [{ name: 'Photos', path: root, guest: 'none' }],
      filesOwner: async () => null,
      host: () => 'safehold.local',
      port,
      bus: new EventBus(),
      log: silentLog(),
    });
    try {
      await smb.apply();
      assert.match(smb.problem() ?? '', /The shares are not on the network: .*already in use by another program/);
      await new Promise<void>((resolve) => other.close(() => resolve()));
      await smb.apply();
      assert.equal(smb.problem(), null, 'started once the port is free');
      assert.equal(samba.status().running, true);
    } finally {
      other.close();
      await smb.stop();
      await removeAccounts(prefix);
      cat.dispose();
      await rm(root, { recursive: true, force: true });
    }
  });
});
