/**
 * The service over HTTP, as a browser and an attacker on the LAN see it: setup, login, sessions,
 * CSRF, Origin and Host checks, input validation. Every refusal is checked to change nothing.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Browserish, readSetupCode, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

/** What a refusal must not change: counted straight from the catalog file. */
function catalogCounts(dataDir: string) {
  const db = new Database(join(dataDir, 'catalog.db'), { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { admins: count('admin'), sessions: count('sessions') };
  } finally {
    db.close();
  }
}

describe('first start and setup', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await startServiceProcess();
  });
  after(() => svc.dispose());

  it('prints the setup code on the console and writes it to <data>/setup-code, mode 0600', async () => {
    const code = await readSetupCode(svc.dataDir);
    assert.match(code, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    assert.ok(svc.output().includes(code), 'the code is on the console');
    assert.equal((await stat(join(svc.dataDir, 'setup-code'))).mode & 0o777, 0o600);
  });

  it('answers health without login, and refuses the API without a session', async () => {
    const client = new Browserish(svc.base);
    assert.equal((await client.get('/health')).status, 200);
    const session = await client.get('/session');
    assert.deepEqual([session.json.setupRequired, session.json.authenticated], [true, false]);
    const drives = await client.get('/drives');
    assert.equal(drives.status, 401);
    assert.equal(drives.json.error.code, 'not_authenticated');
  });

  it('refuses a wrong code, a weak password, bad JSON, an oversized body and a missing CSRF token, changing nothing', async () => {
    const client = new Browserish(svc.base);
    await client.get('/session');
    const code = await readSetupCode(svc.dataDir);
    const before = catalogCounts(svc.dataDir);

    const wrong = await client.post('/setup', { setupCode: 'AAAA-BBBB-CCCC', password: STRONG_PASSWORD });
    assert.equal(wrong.status, 403);
    assert.match(wrong.json.error.message, /setup code is not right/);

    const weak = await client.post('/setup', { setupCode: code, password: 'short' });
    assert.equal(weak.status, 400);
    assert.equal(weak.json.error.issues[0].path, 'password');
    assert.match(weak.json.error.issues[0].message, /at least 12 characters/);

    const common = await client.post('/setup', { setupCode: code, password: 'password1234' });
    assert.equal(common.status, 400);

    const missingField = await client.post('/setup', { setupCode: code });
    assert.equal(missingField.status, 400);
    assert.ok(missingField.json.error.issues.some((i: { path: string }) => i.path === 'password'));

    const unknownField = await client.post('/setup', { setupCode: code, password: STRONG_PASSWORD, admin: true });
    assert.equal(unknownField.status, 400);

    const badJson = await client.post('/setup', '{"setupCode": ');
    assert.equal(badJson.status, 400);
    assert.match(badJson.json.error.message, /not valid JSON/);

    const huge = await client.post('/setup', { setupCode: code, password: 'x'.repeat(20_000) });
    assert.equal(huge.status, 413);

    const noCsrf = await client.post('/setup', { setupCode: code, password: STRONG_PASSWORD }, { 'x-csrf-token': '' });
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.json.error.message, /security token/);

    const otherOrigin = await client.post('/setup', { setupCode: code, password: STRONG_PASSWORD }, { origin: 'http://evil.example' });
    assert.equal(otherOrigin.status, 403);

    assert.deepEqual(catalogCounts(svc.dataDir), before);
    assert.equal((await client.get('/session')).json.setupRequired, true);
  });

  it('lets exactly one of two simultaneous setups win, then closes setup for good', async () => {
    const a = new Browserish(svc.base);
    const b = new Browserish(svc.base);
    await Promise.all([a.get('/session'), b.get('/session')]);
    const code = await readSetupCode(svc.dataDir);
    const [ra, rb] = await Promise.all([
      a.post('/setup', { setupCode: code, username: 'alice', password: STRONG_PASSWORD }),
      b.post('/setup', { setupCode: code, username: 'bob', password: 'another strong passphrase' }),
    ]);
    assert.deepEqual([ra.status, rb.status].sort(), [201, 409]);
    const winner = ra.status === 201 ? a : b;
    assert.equal((await winner.get('/session')).json.authenticated, true);
    assert.equal(catalogCounts(svc.dataDir).admins, 1);

    const replay = await new Browserish(svc.base).get('/session');
    assert.equal(replay.json.setupRequired, false);
    const again = await a.post('/setup', { setupCode: code, password: STRONG_PASSWORD });
    assert.equal(again.status, 409);
    await assert.rejects(stat(join(svc.dataDir, 'setup-code')), 'the setup code file is removed');
  });
});

describe('sessions, login and the checks on every request', () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  before(async () => {
    svc = await startServiceProcess();
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });
  after(() => svc.dispose());

  it('sets the session cookie HttpOnly and SameSite=Strict, with a new id at each login', async () => {
    const client = new Browserish(svc.base);
    await client.get('/session');
    const first = await client.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    assert.equal(first.status, 200);
    const cookie = first.headers.getSetCookie().find((c) => c.startsWith('safehold_session='))!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    const firstId = client.cookies.get('safehold_session');
    await client.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    assert.notEqual(client.cookies.get('safehold_session'), firstId);

    // the old session id no longer works
    const stale = new Browserish(svc.base);
    stale.cookies.set('safehold_session', firstId!);
    assert.equal((await stale.get('/drives')).status, 401);
  });

  it('refuses a forged session cookie, and nothing is created by it', async () => {
    const before = catalogCounts(svc.dataDir);
    const forger = new Browserish(svc.base);
    forger.cookies.set('safehold_session', 'A'.repeat(43));
    assert.equal((await forger.get('/drives')).status, 401);
    assert.equal((await forger.get('/session')).json.authenticated, false);
    assert.deepEqual(catalogCounts(svc.dataDir), before);
  });

  it('needs the CSRF token and this page\'s Origin on a state-changing call, even with a valid session', async () => {
    const noToken = await admin.post('/drives/refresh', undefined, { 'x-csrf-token': 'not-the-token' });
    assert.equal(noToken.status, 403);
    const noOrigin = await admin.request('POST', '/drives/refresh', undefined, { origin: 'http://attacker.lan:8080' });
    assert.equal(noOrigin.status, 403);
    const ok = await admin.post('/drives/refresh');
    assert.equal(ok.status, 202);
    assert.equal(ok.json.job.kind, 'drives.refresh');
  });

  it('refuses a Host name the box does not answer to (DNS rebinding)', async () => {
    // fetch() will not send a Host of our choosing; node:http will, like a rebinding page's browser does.
    const withHost = (path: string, host: string) =>
      new Promise<number>((done, fail) => {
        const req = httpRequest({ host: '127.0.0.1', port: svc.port, path, headers: { host } }, (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        });
        req.on('error', fail);
        req.end();
      });
    assert.equal(await withHost('/api/v1/health', 'rebind.attacker.example'), 403);
    assert.equal(await withHost('/', `rebind.attacker.example:${svc.port}`), 403);
    assert.equal(await withHost('/api/v1/health', `localhost:${svc.port}`), 200);
  });

  it('delays login after repeated failures from an address, with Retry-After', async () => {
    const attacker = new Browserish(svc.base);
    await attacker.get('/session');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await attacker.post('/login', { username: 'admin', password: `wrong password ${i}` })).status);
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
    const limited = await attacker.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    assert.equal(limited.status, 429, 'even the right password waits during the delay');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.match(limited.json.error.message, /Try again in \d+ second/);
  });

  it('sends security headers with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${svc.base}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|upgrade-insecure-requests/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-powered-by'), null);
  });

  it('answers schema errors on queries with 400 and the field', async () => {
    const res = await admin.get('/activity?limit=100000');
    assert.equal(res.status, 400);
    assert.equal(res.json.error.issues[0].path, 'limit');
    assert.equal((await admin.get('/jobs/abc')).status, 400);
    assert.equal((await admin.get('/drives/no-such-drive')).status, 404);
    assert.equal((await admin.get('/no/such/route')).status, 404);
  });

  it('ends the session at logout', async () => {
    const token = admin.cookies.get('safehold_session');
    assert.equal((await admin.post('/logout')).status, 204);
    const reuse = new Browserish(svc.base);
    reuse.cookies.set('safehold_session', token!);
    assert.equal((await reuse.get('/status')).status, 401);
  });
});
