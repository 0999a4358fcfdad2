/**
 * The data folder is the service's user's alone (root only: a real second local user, made with
 * useradd for this run and removed afterwards, tries to read it): a folder found with looser modes
 * is made 0700 with its files 0600 at start, the service's umask is 0077, and a folder owned by
 * another user is refused with words before anything is written in it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Browserish, freePort, SAFEHOLD, startServiceProcess, ROOT, waitFor } from '../testing/service.js';

const run = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root: makes a second local user to try reading the data folder' : undefined;

const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8).padStart(4, '0');

describe('the data folder is private', { skip }, () => {
  const user = `shtest${process.pid}${randomBytes(2).toString('hex')}`;
  let uid = 0;
  let gid = 0;
  const folders: string[] = [];

  /** Whether the other user can read `file` (they try it themselves). */
  const otherCanRead = (file: string) => run('runuser', ['-u', user, '--', 'cat', file]).then(() => true, () => false);

  before(async () => {
    await run('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    uid = Number((await run('id', ['-u', user])).stdout.trim());
    gid = Number((await run('id', ['-g', user])).stdout.trim());
  });
  after(async () => {
    for (const f of folders) await rm(f, { recursive: true, force: true });
    await run('userdel', [user]).catch(() => undefined);
  });

  const looseFolder = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'safehold-test-data-'));
    folders.push(dir);
    await chmod(dir, 0o755);
    return dir;
  };

  it('makes an existing 0755 folder 0700 and the catalog, its journal, the setup code and the socket 0600; another user reads none of it', async () => {
    const dataDir = await looseFolder();
    const svc = await startServiceProcess({ dataDir });
    try {
      await new Browserish(svc.base).get('/session'); // a write: the WAL holds it
      const files = await readdir(dataDir);
      for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm', 'setup-code', 'safehold.sock']) assert.ok(files.includes(f), `${f} is there`);
      assert.equal(await modeOf(dataDir), '0700');
      for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm', 'setup-code', 'safehold.sock']) assert.equal(await modeOf(join(dataDir, f)), '0600', f);
      assert.equal(await otherCanRead(join(dataDir, 'catalog.db')), false, 'the other user cannot read the catalog');
      assert.equal(await otherCanRead(join(dataDir, 'setup-code')), false, 'nor the setup code');
      const status = await readFile(`/proc/${svc.child.pid}/status`, 'utf8');
      assert.match(status, /^Umask:\s+0077$/m, 'what the service makes later is private too');
    } finally {
      await svc.stop();
    }
  });

  it('tightens what an older Safehold left loose when it starts again', async () => {
    const dataDir = await looseFolder();
    const first = await startServiceProcess({ dataDir });
    const admin = new Browserish(first.base);
    await admin.setup(dataDir);
    const smtp = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: 2525, security: 'none', user: 'box', password: 'hunter2-hunter2', from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(smtp.status, 200, JSON.stringify(smtp.json));
    await first.stop();
    const secrets = join(dataDir, 'secrets');
    const [secret] = await readdir(secrets);
    assert.ok(secret, 'the SMTP password is a secret file');
    await run('chmod', ['-R', 'go+rX', dataDir]);
    assert.equal(await otherCanRead(join(dataDir, 'catalog.db')), true, 'loose before the start (the test is honest)');

    const again = await startServiceProcess({ dataDir });
    try {
      assert.equal(await modeOf(dataDir), '0700');
      assert.equal(await modeOf(secrets), '0700');
      assert.equal(await modeOf(join(secrets, secret)), '0600');
      assert.equal(await modeOf(join(dataDir, 'catalog.db')), '0600');
      assert.equal(await otherCanRead(join(dataDir, 'catalog.db')), false);
      await run('chmod', ['o+x', dataDir]); // even with a way in, the files themselves are closed
      assert.equal(await otherCanRead(join(dataDir, 'catalog.db')), false, 'catalog.db is 0600 itself');
      assert.equal(await otherCanRead(join(secrets, secret)), false, 'the secret is 0600 itself');
    } finally {
      await again.stop();
    }
  });

  it('refuses to start on a folder owned by another user, with words, and writes nothing there', async () => {
    const dataDir = await looseFolder();
    await chown(dataDir, uid, gid);
    await writeFile(join(dataDir, 'theirs.txt'), 'not Safehold');
    const port = await freePort();
    const child = spawn(SAFEHOLD, ['serve', '--port', String(port), '--data', dataDir, '--listen', '127.0.0.1', '--simulate'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    // Should it serve instead of refusing, the test fails at once rather than waiting for ever.
    await waitFor(() => fetch(`http://127.0.0.1:${port}/api/v1/health`).then((r) => r.ok, () => child.exitCode !== null), 20_000, 'the service to serve or exit');
    if (child.exitCode === null) child.kill('SIGKILL');
    const code = await exited;
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`The data folder ${dataDir} belongs to another user \\(uid ${uid}\\), not to root \\(uid 0\\) that runs Safehold: that user could read the secrets and the admin password hash in it\\.`));
    assert.doesNotMatch(out, /\n\s+at /, 'words, not a stack trace');
    assert.deepEqual(await readdir(dataDir), ['theirs.txt'], 'no catalog, no socket, no setup code');
    assert.equal(await modeOf(dataDir), '0755', 'the folder was left as it was');
  });
});
