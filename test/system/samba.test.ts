/**
 * The SambaServer contract, run against the real smbd (self-run on a loopback port, asserted with
 * smbclient) and the twin (asserted with canAccess): who may read and write which share. Then
 * what only the real one can show: SMB2 refused, a reload without a restart, smbd killed and
 * restarted, nothing of ours left after stop(), the system-Samba include file on a copy of an
 * smb.conf, testparm's word on the rendered file. Judges only the accounts and processes it made.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checked, ProcessCommandRunner, type CommandRunner } from '../../system/process/command-runner.js';
import { renderSambaConfig, SambaInputError, type SambaServer, type SambaShare } from '../../system/samba/samba.js';
import { ensureIncludeLine, processesNaming, SambaAdapter } from '../../system/samba/samba.adapter.js';
import { SimulatedSamba } from '../../system/samba/samba.sim.js';
import { freePort, removeAccounts, sambaSkipReason, SmbClient, testAccountPrefix } from '../testing/samba.js';

const runner = new ProcessCommandRunner();
const skip = await sambaSkipReason();

type Access = 'rw' | 'ro' | 'none';
interface Subject {
  server: SambaServer;
  /** A folder the share can export, with `probe.txt` in it, owned by the files owner. */
  folder(name: string): Promise<string>;
  access(user: string | null, password: string | undefined, share: string): Promise<Access>;
  close(): Promise<void>;
}

const pw = (user: string) => `pw of ${user} ${randomBytes(3).toString('hex')} ü"'$`;

function sambaContract(name: string, open: () => Promise<Subject>) {
  describe(`SambaServer contract: ${name}`, { skip }, () => {
    let subject: Subject;
    const passwords = new Map<string, string>();
    const login = (user: string | null, share: string) => subject.access(user, user === null ? undefined : passwords.get(user), share);
    const setUser = async (user: string) => {
      passwords.set(user, pw(user));
      await subject.server.setUser(user, passwords.get(user)!);
    };
    before(async () => {
      subject = await open();
      await subject.server.start();
    });
    after(async () => {
      await subject?.close();
    });

    it('a user given rw reads and writes, ro only reads, one without a grant and a guest are refused', async () => {
      await setUser('anna');
      await setUser('bob');
      await setUser('carl');
      assert.deepEqual(await subject.server.listUsers(), ['anna', 'bob', 'carl']);
      const photos: SambaShare = { name: 'Photos', path: await subject.folder('Family photos ü'), grants: [{ user: 'anna', access: 'rw' }, { user: 'bob', access: 'ro' }] };
      await subject.server.applyShares([photos]);
      assert.equal(await login('anna', 'Photos'), 'rw');
      assert.equal(await login('bob', 'Photos'), 'ro');
      assert.equal(await login('carl', 'Photos'), 'none');
      assert.equal(await login(null, 'Photos'), 'none');
      assert.equal(await login('anna', 'Nothere'), 'none');
    });

    it('a wrong password is refused', async () => {
      assert.equal(await subject.access('anna', 'not the password', 'Photos'), 'none');
    });

    it('a changed grant takes effect for the next connection', async () => {
      const path = await subject.folder('Family photos ü');
      await subject.server.applyShares([{ name: 'Photos', path, grants: [{ user: 'anna', access: 'ro' }, { user: 'carl', access: 'rw' }] }]);
      assert.equal(await login('anna', 'Photos'), 'ro');
      assert.equal(await login('carl', 'Photos'), 'rw');
      assert.equal(await login('bob', 'Photos'), 'none');
    });

    it('guests get in only where the owner turned it on, and only as far as allowed', async () => {
      const photos = { name: 'Photos', path: await subject.folder('Family photos ü'), grants: [{ user: 'anna', access: 'rw' as const }] };
      const open = { name: 'Public', path: await subject.folder('public stuff'), guest: 'ro' as const, grants: [{ user: 'anna', access: 'rw' as const }] };
      await subject.server.applyShares([photos, open]);
      assert.equal(await login(null, 'Public'), 'ro');
      assert.equal(await login(null, 'Photos'), 'none');
      assert.equal(await login('anna', 'Public'), 'rw');
      assert.equal(await login('carl', 'Public'), 'ro', 'a user without a grant gets what guests get');
    });

    it('bad names and paths are refused with the reason, and nothing changes', async () => {
      const path = await subject.folder('Family photos ü');
      const before = await login('anna', 'Photos');
      await assert.rejects(subject.server.setUser('Root; rm', 'x'), SambaInputError);
      await assert.rejects(subject.server.setUser('dora', ''), SambaInputError);
      for (const bad of [
        { name: 'global', path, grants: [] },
        { name: 'a]b', path, grants: [] },
        { name: 'Photos', path: 'relative/path', grants: [] },
        { name: 'Photos', path: `${path}\n[evil]\npath = /`, grants: [] },
        { name: 'Photos', path: '/srv/%u', grants: [] },
        { name: 'Photos', path, grants: [{ user: 'nobody-here', access: 'rw' as const }] },
      ]) {
        await assert.rejects(subject.server.applyShares([bad]), (e: unknown) => e instanceof SambaInputError && e.message.length > 10, JSON.stringify(bad));
      }
      await assert.rejects(subject.server.applyShares([{ name: 'Photos', path, grants: [] }, { name: 'photos', path, grants: [] }]), SambaInputError);
      assert.equal(await login('anna', 'Photos'), before);
      assert.deepEqual(await subject.server.listUsers(), ['anna', 'bob', 'carl']);
    });

    it('a removed user can reach nothing a guest cannot, and is no longer listed', async () => {
      await subject.server.removeUser('anna');
      assert.equal(await login('anna', 'Photos'), 'none');
      assert.equal(await login('anna', 'Public'), 'ro', 'on a guest share, like any guest');
      assert.deepEqual(await subject.server.listUsers(), ['bob', 'carl']);
      await subject.server.removeUser('anna'); // again: nothing to do
    });
  });
}

/** The real adapter on a loopback port with its own folders, accounts of this run only. */
async function openReal(): Promise<Subject & { adapter: SambaAdapter; port: number; prefix: string; root: string; commandLines: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'samba-test-'));
  const prefix = testAccountPrefix();
  const filesOwner = `${prefix}0files`;
  await checked(runner, 'useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', filesOwner]);
  const port = await freePort();
  const commandLines: string[] = [];
  const recording: CommandRunner = {
    run: (command, args, options) => {
      commandLines.push([command, ...args].join(' '));
      return runner.run(command, args, options);
    },
  };
  const adapter = new SambaAdapter({
    runner: recording,
    mode: { kind: 'self-run', folder: join(root, 'samba data'), port, address: '127.0.0.1' },
    filesOwner: { user: filesOwner, group: filesOwner },
    accountPrefix: prefix,
    restartDelayMs: 100,
  });
  const client = new SmbClient(port);
  const { uid, gid } = await idsOf(filesOwner);
  await chmod(root, 0o755);
  return {
    adapter,
    port,
    prefix,
    root,
    commandLines,
    server: adapter,
    async folder(name) {
      const path = join(root, 'pool', name);
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'probe.txt'), 'probe\n');
      await chown(join(root, 'pool'), uid, gid);
      await chown(path, uid, gid);
      await chown(join(path, 'probe.txt'), uid, gid);
      return path;
    },
    access: (user, password, share) => client.accessOf(share, user === null ? null : { user, password: password ?? '' }),
    async close() {
      try {
        await adapter.stop();
      } finally {
        await removeAccounts(prefix);
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

async function idsOf(account: string): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${account}:`))!;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

sambaContract('the real smbd, asserted with smbclient', openReal);

sambaContract('the twin', async () => {
  const sim = new SimulatedSamba();
  return {
    server: sim,
    folder: async (name) => `/srv/pool/${name}`,
    access: async (user, password, share) => sim.canAccess(user, share, password),
    close: () => sim.stop(),
  };
});

describe('the real smbd: what only it can show', { skip }, () => {
  let real: Awaited<ReturnType<typeof openReal>>;
  const password = pw('eve');
  before(async () => {
    real = await openReal();
    await real.adapter.start();
    await real.adapter.setUser('eve', password);
    await real.adapter.applyShares([{ name: 'Docs', path: await real.folder('-docs with spaces — ü'), grants: [{ user: 'eve', access: 'rw' }] }]);
  });
  after(async () => {
    await real?.close();
  });

  it('a file put through the share reads back with the same bytes, owned by the files owner', async () => {
    const work = await mkdtemp(join(tmpdir(), 'smb-bytes-'));
    try {
      const bytes = randomBytes(300_000);
      await writeFile(join(work, 'in.bin'), bytes);
      const client = new SmbClient(real.port);
      const put = await client.run('Docs', { user: 'eve', password }, 'put in.bin stored.bin', work);
      assert.ok(put.ok, put.output);
      const get = await client.run('Docs', { user: 'eve', password }, 'get stored.bin out.bin', work);
      assert.ok(get.ok, get.output);
      assert.deepEqual(await readFile(join(work, 'out.bin')), bytes);
      const onBox = join(real.root, 'pool', '-docs with spaces — ü', 'stored.bin');
      assert.deepEqual(await readFile(onBox), bytes);
      assert.equal((await stat(onBox)).uid, (await idsOf(`${real.prefix}0files`)).uid);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("refuses a name whose Unix account exists and is not a household user's, and leaves that account alone", async () => {
    const account = `${real.prefix}zed`;
    await checked(runner, 'useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', account]);
    await assert.rejects(real.adapter.setUser('zed', 'a password'), /exists and is not a Safehold household user/);
    await real.adapter.removeUser('zed');
    assert.equal((await runner.run('getent', ['passwd', account])).exitCode, 0, 'the account is still there');
    assert.deepEqual(await real.adapter.listUsers(), ['eve']);
  });

  it('refuses SMB2', async () => {
    const work = await mkdtemp(join(tmpdir(), 'smb2-'));
    try {
      const result = await new SmbClient(real.port).run('Docs', { user: 'eve', password }, 'ls', work, 'SMB2');
      assert.equal(result.ok, false);
      assert.match(result.output, /NT_STATUS_NOT_SUPPORTED|protocol negotiation failed/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('the password is in no command line, log or file of ours', async () => {
    assert.ok(real.commandLines.some((l) => l.startsWith('smbpasswd ')), 'smbpasswd was run');
    assert.ok(!real.commandLines.some((l) => l.includes(password)));
    const log = await readFile(join(real.root, 'samba data', 'log', 'smbd.log'), 'utf8').catch(() => '');
    assert.ok(!log.includes(password));
    const config = await readFile(real.adapter.configFile, 'utf8');
    assert.ok(!config.includes(password));
  });

  it('testparm accepts the rendered configuration', async () => {
    const result = await runner.run('testparm', ['-s', '--suppress-prompt', real.adapter.configFile]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Unknown parameter|Ignoring unknown|ERROR/i);
    assert.match(result.stdout, /server min protocol = SMB3/);
  });

  it('a grant changed and reloaded works without restarting smbd', async () => {
    const pid = await real.adapter.smbdPid();
    assert.ok(pid);
    const client = new SmbClient(real.port);
    assert.equal(await client.accessOf('Docs', { user: 'eve', password }), 'rw');
    await real.adapter.applyShares([{ name: 'Docs', path: await real.folder('-docs with spaces — ü'), grants: [{ user: 'eve', access: 'ro' }] }]);
    assert.equal(await client.accessOf('Docs', { user: 'eve', password }), 'ro');
    assert.equal(await real.adapter.smbdPid(), pid, 'the same smbd serves');
  });

  it('smbd killed with SIGKILL is started again', async () => {
    const pid = (await real.adapter.smbdPid())!;
    process.kill(pid, 'SIGKILL');
    // Wait for the new one (the test's own timeout is the limit).
    let next: number | null = null;
    while (next === null || next === pid) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = await real.adapter.smbdPid();
    }
    let access: Access = 'none';
    while (access === 'none') {
      access = await new SmbClient(real.port).accessOf('Docs', { user: 'eve', password });
    }
    assert.equal(access, 'ro');
    assert.ok(real.adapter.status().restarts >= 1);
  });

  it('lists its shares to a logged-in user (what browsing \\\\box shows), and takes the name in capitals', async () => {
    const work = await mkdtemp(join(tmpdir(), 'smb-list-'));
    try {
      const auth = join(work, 'auth');
      await writeFile(auth, `username = EVE\npassword = ${password}\n`, { mode: 0o600 });
      const result = await runner.run('smbclient', ['-L', '//127.0.0.1', '-p', String(real.port), '-m', 'SMB3', '-A', auth], { secrets: [password] });
      assert.match(result.stdout, /^\s+Docs\s+Disk/m, result.stdout + result.stderr);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('stop() leaves no process of ours running (smbd, its children, the RPC helpers it started)', async () => {
    assert.ok((await processesNaming(real.adapter.configFile)).length > 0);
    await real.adapter.stop();
    assert.deepEqual(await processesNaming(real.adapter.configFile), []);
    assert.equal(real.adapter.status().running, false);
  });
});

describe('the real smbd: a port another program holds', { skip }, () => {
  it('start() says the port is in use, instead of taking the other program for smbd', async () => {
    const other = createServer(() => {});
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const root = await mkdtemp(join(tmpdir(), 'samba-port-'));
    const adapter = new SambaAdapter({
      runner,
      mode: { kind: 'self-run', folder: root, port: (other.address() as AddressInfo).port, address: '127.0.0.1' },
      filesOwner: { user: 'root', group: 'root' },
      accountPrefix: testAccountPrefix(),
    });
    try {
      await assert.rejects(adapter.start(), /already in use by another program/);
      assert.equal(adapter.status().running, false);
    } finally {
      await adapter.stop();
      other.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("the system's Samba: the include line in the owner's smb.conf", { skip }, () => {
  it('appends exactly one include line, keeps the owner\'s lines and the file mode, and testparm reads both files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'smbconf-'));
    try {
      const smbConf = join(root, 'smb.conf');
      const include = join(root, 'safehold.conf');
      const owners = '# the owner\'s own\n[global]\n   workgroup = HOME\n   server string = %h server\n\n[music]\n   path = /srv/music\n   read only = no';
      await writeFile(smbConf, owners, { mode: 0o640 });
      await chmod(smbConf, 0o640);
      assert.equal(await ensureIncludeLine(smbConf, include), true);
      const once = await readFile(smbConf, 'utf8');
      assert.ok(once.startsWith(`${owners}\n`), "the owner's lines are untouched");
      assert.equal(once.split('\n').filter((l) => l.trim() === `include = ${include}`).length, 1);
      assert.equal(await ensureIncludeLine(smbConf, include), false, 'the second time changes nothing');
      assert.equal(await readFile(smbConf, 'utf8'), once);
      assert.equal((await stat(smbConf)).mode & 0o777, 0o640);

      await writeFile(
        include,
        renderSambaConfig({
          mode: { kind: 'include' },
          shares: [{ name: 'Photos', path: '/srv/pool/Family photos ü', grants: [{ user: 'anna', access: 'rw' }] }],
          users: ['anna'],
          accountPrefix: 'sh-',
          filesOwner: { user: 'root', group: 'root' },
          usernameMapFile: join(root, 'safehold.users.map'),
          guestAccount: 'nobody',
        }),
      );
      const result = await runner.run('testparm', ['-s', '--suppress-prompt', smbConf]);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.match(result.stdout, /\[music\]/);
      assert.match(result.stdout, /\[Photos\]\n(\t.*\n)*\tpath = \/srv\/pool\/Family photos ü/);
      assert.match(result.stdout, /workgroup = HOME/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('the adapter in system mode: writes its include file and map, one include line after two starts, and says when smbd did not reload', async () => {
    const root = await mkdtemp(join(tmpdir(), 'smbconf-'));
    try {
      const smbConf = join(root, 'smb.conf');
      const owners = await readFile('/etc/samba/smb.conf', 'utf8').catch(() => '[global]\n   workgroup = WORKGROUP\n');
      await writeFile(smbConf, owners);
      const include = join(root, 'safehold.conf');
      const adapter = new SambaAdapter({ runner, mode: { kind: 'system', includeFile: include, smbConf }, filesOwner: { user: 'root', group: 'root' }, accountPrefix: testAccountPrefix() });
      await adapter.start();
      await adapter.start();
      const after = await readFile(smbConf, 'utf8');
      assert.ok(after.startsWith(owners), "the owner's lines are untouched");
      assert.equal(after.split('\n').filter((l) => l.trim() === `include = ${include}`).length, 1);
      assert.match(await readFile(include, 'utf8'), /server min protocol = SMB3/);
      assert.equal(adapter.usernameMapFile, join(root, 'safehold.users.map'));
      await stat(adapter.usernameMapFile);
      const parsed = await runner.run('testparm', ['-s', '--suppress-prompt', smbConf]);
      assert.equal(parsed.exitCode, 0, parsed.stderr);
      assert.match(parsed.stdout, /server min protocol = SMB3/);
      if (!adapter.status().running) assert.match(adapter.status().problem ?? '', /did not take the new configuration/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
