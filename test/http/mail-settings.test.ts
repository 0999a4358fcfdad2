/**
 * The mail settings on the real service, against real SMTP servers and other listening sockets on
 * loopback: the stored SMTP password only ever reaches the server it was given for, a login in plain
 * text over a network is refused, and the test button is not a port scanner (it never repeats what
 * the other end said, answers a closed port and another program's port alike, and is rate-limited).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browserish, freePort, startServiceProcess, type ServiceProcess } from '../testing/service.js';
import { SSH_BANNER, startMailCatcher, startTcpListener, type MailCatcher, type TcpListener } from '../testing/smtp.js';

const SECRET = 'owner-mailbox-password-7Qx';

interface Login {
  port: number;
  user: string;
  password: string;
}

/** A real SMTP server that accepts any login (also in plain text) and writes down each one. */
async function startLoginRecorder(logins: Login[]): Promise<MailCatcher> {
  const catcher: MailCatcher = await startMailCatcher({
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      logins.push({ port: catcher.port, user: auth.username ?? '', password: auth.password ?? '' });
      callback(null, { user: auth.username });
    },
  });
  return catcher;
}

describe('mail settings: the stored password goes only to the server it was given for', () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  const logins: Login[] = [];
  let mine: MailCatcher;
  let elsewhere: MailCatcher;

  before(async () => {
    mine = await startLoginRecorder(logins);
    elsewhere = await startLoginRecorder(logins);
    svc = await startServiceProcess({ simulate: false });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });
  after(async () => {
    await svc?.dispose();
    await mine?.close();
    await elsewhere?.close();
  });

  const settings = (smtp: Record<string, unknown> = {}) => ({
    enabled: true,
    smtp: { host: '127.0.0.1', port: mine.port, security: 'none', user: 'box', from: 'safehold@box.lan', to: ['owner@family.example'], ...smtp },
    digest: { enabled: false, hour: 8 },
  });
  const save = async (smtp: Record<string, unknown> = {}) => {
    const res = await admin.request('PUT', '/settings/alerts', settings(smtp));
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json as { smtp: { passwordSet: boolean } };
  };
  const sawSecret = () => logins.filter((l) => l.password.includes(SECRET));
  // the tests below send 5 test mails in all: as many as the box allows in 5 minutes

  it('forgets the stored password when the host, port, encryption or user changes', async () => {
    assert.equal((await save({ password: SECRET })).smtp.passwordSet, true);
    assert.equal((await admin.post('/settings/alerts/test')).status, 200);
    assert.deepEqual(sawSecret(), [{ port: mine.port, user: 'box', password: SECRET }], 'the server it was given for logs in with it');

    // another host name (this one reaches the same server: an intruder would name their own)
    assert.equal((await save({ host: 'localhost' })).smtp.passwordSet, false);
    const test = await admin.post('/settings/alerts/test');
    assert.equal(test.status, 502);
    assert.equal(test.json.error.kind, 'auth-required');
    assert.match(test.json.error.message, /no password is stored/);
    assert.match(test.json.error.advice, /Type the password again/);

    // another port: another server
    await save({ password: SECRET });
    assert.equal((await save({ port: elsewhere.port })).smtp.passwordSet, false);
    assert.equal((await admin.post('/settings/alerts/test')).status, 502);

    for (const change of [{ user: 'someone-else' }, { security: 'starttls' }, { security: 'tls', port: 465 }]) {
      await save({ password: SECRET });
      assert.equal((await save(change)).smtp.passwordSet, false, JSON.stringify(change));
      assert.equal((await admin.get('/settings/alerts')).json.smtp.passwordSet, false);
    }
    assert.equal(sawSecret().length, 1, 'no other server, and no second login, ever saw the password');
    assert.ok(!logins.some((l) => l.port === elsewhere.port), 'the other server was not even offered a login');
  });

  it('keeps the password when only the sender, recipients or digest change, and takes a new one for a new server', async () => {
    await save({ password: SECRET });
    const kept = await admin.request('PUT', '/settings/alerts', { ...settings({ from: 'box@family.example', to: ['office@family.example'] }), digest: { enabled: true, hour: 7 } });
    assert.equal(kept.json.smtp.passwordSet, true);

    assert.equal((await save({ port: elsewhere.port, password: 'elsewhere-password' })).smtp.passwordSet, true, 'given again, it is kept for the new server');
    assert.equal((await admin.post('/settings/alerts/test')).status, 200);
    assert.deepEqual(logins.at(-1), { port: elsewhere.port, user: 'box', password: 'elsewhere-password' });
    assert.equal(sawSecret().length, 1);
  });

  it('never sends a stored password to a server other than the one it was stored for', async () => {
    // as a crash between two writes, or an older version's file, could leave it
    await save({ port: mine.port });
    const file = join(svc.dataDir, 'secrets', 'smtp-password');
    await writeFile(file, JSON.stringify({ password: SECRET, for: { host: '127.0.0.1', port: elsewhere.port, security: 'none', user: 'box' } }));
    assert.equal((await admin.get('/settings/alerts')).json.smtp.passwordSet, false);
    const test = await admin.post('/settings/alerts/test');
    assert.equal(test.json.error?.kind, 'auth-required');
    assert.equal(sawSecret().length, 1);

    // a bare password (an older version's file) belongs to the settings saved with it, and is bound to them at the next save
    await writeFile(file, 'bare-password');
    assert.equal((await admin.get('/settings/alerts')).json.smtp.passwordSet, true);
    assert.equal((await save({ to: ['office@family.example'] })).smtp.passwordSet, true);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { password: 'bare-password', for: { host: '127.0.0.1', port: mine.port, security: 'none', user: 'box' } });
    assert.equal((await save({ port: elsewhere.port })).smtp.passwordSet, false);
  });

  it('refuses a login without encryption to a server off this box, and changes nothing', async () => {
    const before = (await admin.get('/settings/alerts')).json;
    for (const host of ['192.168.1.10', 'mail.example.org']) {
      const bad = await admin.request('PUT', '/settings/alerts', settings({ host, password: SECRET }));
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.json.error.issues.map((i: { path: string }) => i.path), ['smtp.security']);
      assert.match(bad.json.error.issues[0].message, /plain text/);
      assert.match(bad.json.error.issues[0].message, /STARTTLS or TLS/);
    }
    const keptLogin = await admin.request('PUT', '/settings/alerts', settings({ host: '192.168.1.10' }));
    assert.equal(keptLogin.status, 400, 'a user name without a new password is refused too');
    assert.deepEqual((await admin.get('/settings/alerts')).json, before, 'nothing changed');

    // what a home owner's setups need: a relay on the LAN with no login, or a login with encryption
    assert.equal((await save({ host: '192.168.1.10', user: null })).smtp.passwordSet, false);
    assert.equal((await save({ host: 'mail.example.org', security: 'starttls', port: 587, password: SECRET })).smtp.passwordSet, true);
  });
});

describe('the test e-mail button is not a port scanner', () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let ssh: TcpListener;

  before(async () => {
    ssh = await startTcpListener((socket) => socket.write(`${SSH_BANNER}\r\n`));
    svc = await startServiceProcess({ simulate: false });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });
  after(async () => {
    await svc?.dispose();
    await ssh?.close();
  });

  const pointAt = async (port: number) => {
    const res = await admin.request('PUT', '/settings/alerts', {
      enabled: false,
      smtp: { host: '127.0.0.1', port, security: 'none', user: null, from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  };

  it('answers a port where SSH speaks in its own words, the same as a closed port', async () => {
    await pointAt(ssh.port);
    const spoken = await admin.post('/settings/alerts/test');
    assert.equal(spoken.status, 502);
    assert.equal(ssh.connections, 1, 'it did knock');
    const text = JSON.stringify(spoken.json);
    assert.doesNotMatch(text, /SSH|OpenSSH|Debian|peer-text|greeting|response=/i, `the banner is not repeated: ${text}`);
    assert.equal(spoken.json.error.kind, 'no-mail-server');

    const closedPort = await freePort();
    await pointAt(closedPort);
    const closed = await admin.post('/settings/alerts/test');
    assert.equal(closed.status, 502);
    assert.deepEqual(
      JSON.parse(JSON.stringify(closed.json).replaceAll(String(closedPort), '<port>')),
      JSON.parse(text.replaceAll(String(ssh.port), '<port>')),
      'a closed port and a port where another program answers look the same',
    );
    assert.match(closed.json.error.message, /^No mail server answered at 127\.0\.0\.1:\d+\.$/);
    assert.match(closed.json.error.advice, /server name and the port/);
  });

  it('allows a few tests in five minutes, then answers 429 with Retry-After and words, without knocking', async () => {
    await pointAt(ssh.port);
    // two tests were sent above; three more are allowed
    for (let i = 0; i < 3; i++) assert.equal((await admin.post('/settings/alerts/test')).status, 502);
    const knocks = ssh.connections;
    const limited = await admin.post('/settings/alerts/test');
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, 'too_many_attempts');
    assert.match(limited.json.error.message, /5 test e-mails were tried in the last 5 minutes/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 300, `Retry-After: ${limited.headers.get('retry-after')}`);
    assert.match(limited.json.error.message, new RegExp(`Try again in ${limited.json.error.retryAfterSeconds} seconds`));
    assert.equal(ssh.connections, knocks, 'a refused test opens no connection');
  });
});
