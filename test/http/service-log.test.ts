/**
 * The service's own log (JSON lines on standard output): one line per thing that happened — the
 * setup, a failed login, the alert settings, a test e-mail and an alert e-mail, a drive plugged in
 * and pulled out, a job's start and end — and never a secret (the admin password, a wrong password
 * tried, the SMTP password, the setup code, the session and CSRF tokens, a repository password).
 * The start banner names the addresses the page is reached at. On the demo's simulated host, whose
 * e-mails go to an outbox folder (the SMTP settings and their password are stored all the same).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isInstalled } from '../../system/tools.js';
import { Browserish, readSetupCode, safehold, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const hasRestic = await isInstalled('restic');

const ADMIN_PASSWORD = 'plum tractor 7 violet harbour';
const WRONG_PASSWORD = 'wrong-guess-Kq83-zebra';
const SMTP_PASSWORD = 'mailbox-secret-Vn41-otter';

interface Line {
  level: number;
  msg: string;
  kind?: string;
  subject?: string | null;
  [field: string]: unknown;
}

const linesOf = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`a line of standard output is not JSON: ${l}`);
      }
    });

describe('the service log: every event once, no secret', { skip: hasRestic ? false : 'restic is not installed (apt-get install restic)' }, () => {
  let svc: ServiceProcess;
  let outbox: string;
  let admin: Browserish;
  let folder: string;
  const secrets: Record<string, string> = { 'admin password': ADMIN_PASSWORD, 'wrong password': WRONG_PASSWORD, 'SMTP password': SMTP_PASSWORD };
  const lines = () => linesOf(svc.stdout());
  const ofKind = (kind: string) => lines().filter((l) => l.kind === kind);

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'safehold-test-log-docs-'));
    await writeFile(join(folder, 'letter.txt'), 'Dear grandma,\n');
    svc = await startServiceProcess();
    outbox = join(svc.dataDir, 'simulated-host', 'outbox');
    secrets['setup code'] = await readSetupCode(svc.dataDir);
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir, ADMIN_PASSWORD);
    secrets['session token'] = admin.cookies.get('safehold_session') ?? '';
    secrets['CSRF token'] = admin.csrf;
    assert.ok(secrets['session token'] && secrets['CSRF token']);
  });
  after(async () => {
    await svc?.dispose();
    await rm(folder, { recursive: true, force: true });
  });

  it('names the one address it listens on in the start banner', () => {
    const [banner] = ofKind('service.listening');
    assert.ok(banner, svc.stdout());
    assert.deepEqual(banner.urls, [`http://127.0.0.1:${svc.port}/`]);
    assert.equal(banner.msg, `Safehold is listening: open http://127.0.0.1:${svc.port}/`);
  });

  it('writes the setup and a failed login once each, without the passwords', async () => {
    const stranger = new Browserish(svc.base);
    await stranger.get('/session');
    assert.equal((await stranger.post('/login', { username: 'admin', password: WRONG_PASSWORD })).status, 401);
    await waitFor(() => ofKind('auth.login_failed').length > 0, 10_000, 'the failed login in the log');
    assert.equal(ofKind('auth.setup').length, 1);
    assert.match(ofKind('auth.setup')[0]!.msg, /Admin account "admin" created/);
    const failed = ofKind('auth.login_failed');
    assert.equal(failed.length, 1, JSON.stringify(failed));
    assert.match(failed[0]!.msg, /Failed login as "admin" from 127\.0\.0\.1/);
  });

  it('writes the alert settings and the test e-mail, without the SMTP password', async () => {
    const saved = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: 2525, security: 'none', user: 'box', password: SMTP_PASSWORD, from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
    assert.equal((await admin.post('/settings/alerts/test')).status, 200);
    // The lines come over the service's standard output, which may arrive after the answers did.
    await waitFor(() => ofKind('settings.alerts').length > 0 && ofKind('alert.test').length > 0, 10_000, 'the alert settings and the test e-mail in the log');
    assert.equal(ofKind('settings.alerts').length, 1);
    assert.equal(ofKind('alert.test').length, 1);
    assert.match(ofKind('alert.test')[0]!.msg, /Test e-mail sent to owner@family\.example/);
    assert.equal(ofKind('alert.mail-sent').length, 0, 'the test e-mail is not an alert');
  });

  it('writes a backup job, its alert e-mail, and the drives plugged and pulled out, once each', { timeout: 120_000 }, async () => {
    assert.equal((await admin.post('/sources', { name: 'documents', path: folder })).status, 201);
    const usb = ((await admin.get('/drives')).json.drives as Array<{ id: string; path: string }>).find((d) => d.path === '/dev/usb-a')!;
    assert.equal((await admin.post('/rotation/drives', { driveId: usb.id, name: 'A', mode: 'format', confirm: 'A' })).status, 202);
    await waitFor(() => ofKind('job.ended').some((l) => l.job === 'backup.rotation'), 90_000, 'the backup job ended');
    const backupStarts = ofKind('job.started').filter((l) => l.job === 'backup.rotation');
    const backupEnds = ofKind('job.ended').filter((l) => l.job === 'backup.rotation');
    assert.equal(backupStarts.length, 1, JSON.stringify(backupStarts));
    assert.equal(backupEnds.length, 1);
    assert.equal(backupStarts[0]!.subject, backupEnds[0]!.subject, 'the same job');
    assert.equal(backupEnds[0]!.outcome, 'succeeded');
    assert.match(backupEnds[0]!.msg, /safe to unplug/);
    assert.equal(ofKind('rotation.registered').length, 1);

    // the alert e-mails the backup sent (the demo's outbox): each one line
    const mailed = async () => {
      const files = (await readdir(outbox)).sort();
      const subjects = await Promise.all(files.map(async (f) => /^Subject: (.*)$/m.exec(await readFile(join(outbox, f), 'utf8'))?.[1]));
      return subjects.filter((s) => !/^Test e-mail from Safehold/.test(s ?? ''));
    };
    await waitFor(async () => (await mailed()).some((s) => /safe to unplug/i.test(s ?? '')), 20_000, 'the backup\'s e-mail');
    await waitFor(async () => ofKind('alert.mail-sent').length >= (await mailed()).length, 10_000, 'the sent e-mails in the log');
    assert.deepEqual(ofKind('alert.mail-sent').map((l) => /\("(.*)"\)\.$/.exec(l.msg)?.[1]), await mailed());

    assert.equal((await safehold(['demo', 'plug', 'usb-b', '--data', svc.dataDir])).code, 0);
    await waitFor(() => ofKind('drive.attached').some((l) => /SanDisk|pSSD/.test(l.msg)), 10_000, 'usb-b plugged in');
    assert.equal((await safehold(['demo', 'unplug', 'usb-b', '--data', svc.dataDir])).code, 0);
    await waitFor(() => ofKind('drive.detached').some((l) => /SanDisk|pSSD/.test(l.msg)), 10_000, 'usb-b pulled out');
    assert.equal(ofKind('drive.attached').filter((l) => /SanDisk|pSSD/.test(l.msg)).length, 1);
    assert.equal(ofKind('drive.detached').filter((l) => /SanDisk|pSSD/.test(l.msg)).length, 1);
  });

  it('never writes a secret, and every line is JSON', async () => {
    const kept = join(svc.dataDir, 'secrets');
    for (const name of await readdir(kept)) secrets[`secret file ${name}`] = (await readFile(join(kept, name), 'utf8')).trim();
    for (const [name, value] of Object.entries(secrets)) {
      if (name.startsWith('secret file')) {
        // a repository password is the file's content; the SMTP one sits inside JSON
        const inner = /"password":"([^"]+)"/.exec(value)?.[1] ?? value;
        assert.ok(inner.length >= 8, `${name} holds a password`);
        assert.ok(!svc.stdout().includes(inner), `the log holds the ${name}`);
      } else {
        assert.ok(!svc.stdout().includes(value), `the log holds the ${name}`);
      }
    }
    assert.ok(Object.keys(secrets).some((n) => n.startsWith('secret file')), 'a repository password was made');
    assert.ok(lines().length > 10);
  });
});

describe('the start banner, bound to every interface', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await startServiceProcess({ args: ['--listen', '0.0.0.0'] });
  });
  after(async () => svc?.dispose());

  it('names this machine\'s LAN addresses, then localhost', () => {
    const banner = linesOf(svc.stdout()).find((l) => l.kind === 'service.listening');
    assert.ok(banner, svc.stdout());
    const urls = banner.urls as string[];
    const lan = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((a) => a.family === 'IPv4' && !a.internal)
      .map((a) => `http://${a.address}:${svc.port}/`);
    for (const url of lan) assert.ok(urls.includes(url), `${url} in ${urls.join(' ')}`);
    assert.equal(urls.at(-1), `http://localhost:${svc.port}/`);
    assert.ok(!urls.some((u) => u.includes('0.0.0.0')), 'not the wildcard address');
    for (const url of urls) assert.ok(banner.msg.includes(url));
  });
});
