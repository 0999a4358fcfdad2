/**
 * Guessing the admin password, as an attacker on the LAN tries it against the real service process:
 * parallel guesses, locking the admin out from another address, the traces failures leave, the
 * session a failed login must not end, and the forwarded addresses of a reverse proxy.
 *
 * Other addresses are real: loopback answers on all of 127.0.0.0/8, and a client bound to
 * 127.0.0.2 is, for the service, another machine.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Browserish, readSetupCode, safehold, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const wrong = (i: number) => ({ username: 'admin', password: `wrong password ${i}` });
const right = { username: 'admin', password: STRONG_PASSWORD };

/** A browser on another machine of the LAN (its connections come from `address`). */
async function from(svc: ServiceProcess, address: string): Promise<Browserish> {
  const client = new Browserish(svc.base, svc.base, address);
  await client.get('/session');
  return client;
}

/** A set-up box, its admin logged out (the address 127.0.0.1 has logged in before: at setup). */
async function setUpBox(args: string[] = []): Promise<ServiceProcess> {
  const svc = await startServiceProcess({ args });
  const admin = new Browserish(svc.base);
  await admin.setup(svc.dataDir);
  await admin.post('/logout');
  return svc;
}

/**
 * Sends one login per body from `client`'s address, truly at the same moment, however busy the
 * machine: each request goes out on its own connection with `Expect: 100-continue` and no body; once
 * the service has answered "100 Continue" to every one (it has begun them all and waits for their
 * bodies), all the bodies go out together. Resolves with each final answer's status and Retry-After.
 */
async function loginsAtOnce(svc: ServiceProcess, client: Browserish, bodies: object[]): Promise<{ status: number; retryAfter: number | null }[]> {
  const started = bodies.map(async (body) => {
    const payload = JSON.stringify(body);
    const head = [
      'POST /api/v1/login HTTP/1.1',
      `Host: 127.0.0.1:${svc.port}`,
      `Origin: ${svc.base}`,
      `Cookie: ${[...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}`,
      `X-CSRF-Token: ${client.csrf}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(payload)}`,
      'Expect: 100-continue',
      'Connection: close',
      '',
      '',
    ].join('\r\n');
    const socket = connect({ host: '127.0.0.1', port: svc.port, localAddress: client.localAddress });
    let text = '';
    let onData = () => {};
    socket.on('data', (c: Buffer) => {
      text += c.toString();
      onData();
    });
    const closed = new Promise<string>((done, fail) => {
      socket.once('close', () => done(text));
      socket.once('error', fail);
    });
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write(head);
    await new Promise<void>((done) => {
      onData = () => text.includes('100 Continue') && done();
      onData();
    });
    return { socket, payload, closed };
  });
  const ready = await Promise.all(started);
  for (const r of ready) r.socket.write(r.payload);
  return Promise.all(
    ready.map(async (r) => {
      const text = await r.closed;
      const status = Number([...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].at(-1)?.[1] ?? 0);
      const retry = /\r\nretry-after: (\d+)/i.exec(text)?.[1];
      return { status, retryAfter: retry === undefined ? null : Number(retry) };
    }),
  );
}

const activityAbout = async (admin: Browserish, text: string) =>
  ((await admin.get('/activity?limit=200')).json.entries as { kind: string; message: string }[]).filter((e) => e.message.includes(text));

describe('parallel guesses', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await setUpBox();
  });
  after(() => svc.dispose());

  it('checks only the free attempts of 40 wrong passwords sent at the same moment; the others wait', async () => {
    const attacker = await from(svc, '127.0.0.2');
    const answers = await loginsAtOnce(svc, attacker, Array.from({ length: 40 }, (_, i) => wrong(i)));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 401).length, 3, `checked: ${statuses.join(' ')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 37);
    assert.ok(answers.filter((a) => a.status === 429).every((a) => a.retryAfter! >= 1));
    // even the right password waits at that address now
    assert.equal((await attacker.post('/login', right)).status, 429);
  });
});

describe('locking the admin out from another address', () => {
  let svc: ServiceProcess;
  let attacker: Browserish;
  let newcomer: Browserish;
  let newcomerAnswer: number;
  before(async () => {
    svc = await setUpBox();
    attacker = await from(svc, '127.0.0.2');
    newcomer = await from(svc, '127.0.0.3');
    for (let i = 0; i < 5; i++) await attacker.post('/login', wrong(i));
    assert.equal((await attacker.post('/login', wrong(9))).status, 429, 'the attacker waits');
    newcomerAnswer = (await newcomer.post('/login', right)).status;
  });
  after(() => svc.dispose());

  it('does not delay the admin at an address that logged in before, and tells them of the failures once', async () => {
    const admin = await from(svc, '127.0.0.1');
    const login = await admin.post('/login', right);
    assert.equal(login.status, 200, JSON.stringify(login.json));
    assert.equal(login.json.failedLogins.count, 3, 'the three checked failures; the refused attempts were not checked');
    assert.equal(login.json.failedLogins.latestFrom, '127.0.0.2');
    assert.ok(Date.parse(login.json.failedLogins.latestAt) > 0);
    const again = await admin.post('/login', right);
    assert.equal(again.status, 200);
    assert.equal(again.json.failedLogins, null, 'told once');
  });

  it('still delays an address that never logged in', () => {
    assert.equal(newcomerAnswer, 429, 'the account waits for addresses it does not know');
  });

  it('records failed logins and the delay in the activity log and the service log, not every attempt', async () => {
    const admin = await from(svc, '127.0.0.1');
    await admin.post('/login', right);
    const entries = await activityAbout(admin, '127.0.0.2');
    assert.ok(entries.length >= 2, JSON.stringify(entries));
    assert.ok(entries.length < 6, 'fewer entries than attempts');
    assert.ok(entries.every((e) => e.kind === 'auth.login_failed'));
    assert.ok(entries.some((e) => /wait/.test(e.message)), 'the delay is recorded');
    assert.match(svc.output(), /failed login/i);
    assert.match(svc.output(), /127\.0\.0\.2/);
  });

  it('lifts the delays with "safehold unlock", which only the service\'s user can run', async () => {
    if (process.getuid?.() === 0) {
      const stranger = await safehold(['unlock', '--data', svc.dataDir], { asUser: 'nobody' });
      assert.equal(stranger.code, 3, stranger.stderr);
      assert.match(stranger.stderr, /Not allowed to open/);
    }
    const unlock = await safehold(['unlock', '--data', svc.dataDir]);
    assert.equal(unlock.code, 0, unlock.stderr);
    // what the attacker's failures left: its own address, and the account (for addresses it does not know)
    assert.match(unlock.stdout, /lifted.*1 address and 1 account/i);
    assert.equal((await newcomer.post('/login', right)).status, 200);
    assert.equal((await attacker.post('/login', wrong(10))).status, 401, 'the attacker may try again, and is counted again');

    const admin = await from(svc, '127.0.0.1');
    await admin.post('/login', right);
    assert.equal((await activityAbout(admin, 'lifted')).length, 1);
  });
});

describe('a failed login while logged in', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await setUpBox();
  });
  after(() => svc.dispose());

  it('keeps the session it was sent from: only a successful login replaces it', async () => {
    const admin = await from(svc, '127.0.0.1');
    assert.equal((await admin.post('/login', right)).status, 200);
    const before = admin.cookies.get('safehold_session');
    assert.equal((await admin.post('/login', wrong(1))).status, 401);
    assert.equal((await admin.get('/status')).status, 200, 'still logged in after a wrong password');
    for (let i = 2; i < 6; i++) await admin.post('/login', wrong(i));
    assert.equal((await admin.post('/login', wrong(7))).status, 429);
    assert.equal((await admin.get('/status')).status, 200, 'still logged in after a refused attempt');
    assert.equal(admin.cookies.get('safehold_session'), before);
  });
});

describe('forwarded headers without a trusted proxy', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await setUpBox();
  });
  after(() => svc.dispose());

  it('ignores X-Forwarded-For and X-Forwarded-Proto: a forged one changes neither the throttle key, the activity, nor the cookie', async () => {
    const forger = await from(svc, '127.0.0.2');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await forger.post('/login', wrong(i), { 'x-forwarded-for': `10.9.9.${i}`, 'x-forwarded-proto': 'https' })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429], 'one key for all four, whatever the header says');

    const admin = await from(svc, '127.0.0.1');
    const login = await admin.post('/login', right, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.9.9.9' });
    assert.equal(login.status, 200);
    assert.doesNotMatch(login.headers.getSetCookie().join('\n'), /Secure/i);
    assert.equal((await activityAbout(admin, '10.9.9.')).length, 0);
    assert.ok((await activityAbout(admin, '127.0.0.2')).length > 0);
  });
});

describe('behind a trusted reverse proxy (--trusted-proxy)', () => {
  let svc: ServiceProcess;
  // The proxy runs on the box (127.0.0.1); the browsers are on the LAN behind it.
  const proxied = (client: string, proto = 'https') => ({ 'x-forwarded-for': client, 'x-forwarded-proto': proto });
  before(async () => {
    svc = await startServiceProcess({ args: ['--trusted-proxy', '127.0.0.1'] });
  });
  after(() => svc.dispose());

  it('takes the client from the right-most untrusted hop: each browser has its own delay, and the activity names it', async () => {
    const admin = new Browserish(svc.base);
    await admin.get('/session');
    const setup = await admin.request('POST', '/setup', { setupCode: await readSetupCode(svc.dataDir), password: STRONG_PASSWORD }, proxied('192.168.1.10'));
    assert.equal(setup.status, 201);
    assert.match(setup.headers.getSetCookie().find((c) => c.startsWith('safehold_session='))!, /;\s*Secure/i, 'the page was reached over HTTPS');
    await admin.post('/logout', undefined, proxied('192.168.1.10'));

    const attacker = new Browserish(svc.base);
    await attacker.get('/session');
    const statuses: number[] = [];
    // A forged left-most hop changes nothing: the proxy appended the address it saw.
    for (let i = 0; i < 4; i++) statuses.push((await attacker.post('/login', wrong(i), proxied(`6.6.6.${i}, 192.168.1.66`))).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);

    const login = await admin.post('/login', right, proxied('192.168.1.10'));
    assert.equal(login.status, 200, 'the admin behind the same proxy is not delayed by the attacker');
    assert.equal(login.json.failedLogins.latestFrom, '192.168.1.66');
    const entries = await activityAbout(admin, '192.168.1.66');
    assert.ok(entries.length > 0);
    assert.equal((await activityAbout(admin, '6.6.6.')).length, 0);
    assert.equal((await activityAbout(admin, '127.0.0.1')).length, 0, 'not the proxy\'s address');
  });

  it('ignores forwarded headers from a client that is not the proxy', async () => {
    assert.equal((await safehold(['unlock', '--data', svc.dataDir])).code, 0, 'the account\'s delay of the test before is lifted');
    const direct = await from(svc, '127.0.0.2');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await direct.post('/login', wrong(i), proxied(`10.1.1.${i}`))).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const admin = new Browserish(svc.base);
    await admin.get('/session');
    const login = await admin.post('/login', right, proxied('192.168.1.10'));
    assert.equal(login.status, 200);
    assert.equal(login.json.failedLogins.latestFrom, '127.0.0.2');
    assert.equal((await activityAbout(admin, '10.1.1.')).length, 0);
  });
});
