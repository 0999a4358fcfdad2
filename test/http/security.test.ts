/**
 * The service over HTTP, as a browser and an attacker on the LAN see it: setup, login, sessions,
 * CSRF, Origin and Host checks, input validation. Every refusal is checked to change nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Browserish, CLI, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, waitFor, type ServiceProcess } from '../testing/service.js';

const exec = promisify(execFile);

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
    assert.deepEqual(wrong.json.error.issues.map((i: { path: string }) => i.path), ['setupCode'], 'the page shows it at the setup code field');

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

  it('sends X-Frame-Options DENY with the page and the API, matching frame-ancestors \'none\'', async () => {
    for (const url of [`${svc.base}/`, `${svc.base}/drives`, `${svc.base}/api/v1/health`]) {
      const res = await fetch(url);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', url);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, url);
    }
  });

  it('marks every API answer Cache-Control: no-store: data, refusals, errors and unknown routes', async () => {
    const stranger = new Browserish(svc.base);
    const answers = {
      'GET /health': await admin.get('/health'),
      'GET /session': await admin.get('/session'),
      'GET /status': await admin.get('/status'),
      'GET /drives': await admin.get('/drives'),
      'GET /settings/health': await admin.get('/settings/health'),
      'GET /activity (400)': await admin.get('/activity?limit=100000'),
      'GET /drives/x (404)': await admin.get('/drives/no-such-drive'),
      'GET /no/such/route (404)': await admin.get('/no/such/route'),
      'POST /drives/refresh (202)': await admin.post('/drives/refresh'),
      'POST without CSRF (403)': await admin.post('/drives/refresh', undefined, { 'x-csrf-token': 'wrong' }),
      'POST bad JSON (400)': await admin.post('/drives/refresh', '{"x": '),
      'GET /drives without a session (401)': await stranger.get('/drives'),
    };
    for (const [what, res] of Object.entries(answers)) assert.equal(res.headers.get('cache-control'), 'no-store', what);
    const withHost = await new Promise<NodeJS.Dict<string | string[]>>((done, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port: svc.port, path: '/api/v1/status', headers: { host: 'rebind.attacker.example' } }, (res) => {
        res.resume();
        done(res.headers);
      });
      req.on('error', fail);
      req.end();
    });
    assert.equal(withHost['cache-control'], 'no-store', 'a refused Host (403)');
    assert.equal(withHost['x-frame-options'], 'DENY', 'a refused Host (403)');
  });

  it('serves no source maps of the page: none is built or linked, and a .map file put there is refused', async () => {
    const index = await (await fetch(`${svc.base}/`)).text();
    const scripts = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    assert.ok(scripts.length > 0, 'the page links its scripts and styles');
    for (const asset of scripts) {
      const res = await fetch(`${svc.base}${asset}`);
      assert.equal(res.status, 200, asset);
      assert.ok(!(await res.text()).includes('sourceMappingURL'), `${asset} names no source map`);
      assert.equal((await fetch(`${svc.base}${asset}.map`)).status, 404, `${asset}.map`);
    }
    const built = (await readdir(join(ROOT, 'ui', 'dist'), { recursive: true })).filter((f) => String(f).endsWith('.map'));
    assert.deepEqual(built, [], 'the build writes no .map files');

    // One left behind by an older build (or copied in by hand) is not served either.
    const stray = join(ROOT, 'ui', 'dist', 'assets', `security-test-${process.pid}.js.map`);
    await writeFile(stray, '{"version":3,"sources":["../src/secret.ts"],"sourcesContent":["const secret = 1"]}');
    try {
      const res = await fetch(`${svc.base}/assets/security-test-${process.pid}.js.map`);
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /sourcesContent/);
    } finally {
      await rm(stray, { force: true });
    }
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

/** Characters that show nothing or something else: bidi override, zero-width space, C1 controls, separators, a lone surrogate, C0, DEL, BOM. */
const INVISIBLE: Array<[string, string]> = [
  ['\u202E', 'U+202E'],
  ['\u200B', 'U+200B'],
  ['\u0085', 'U+0085'],
  ['\u009B', 'U+009B'],
  ['\u2028', 'U+2028'],
  ['\u2029', 'U+2029'],
  ['\uD800', 'U+D800'],
  ['\u0007', 'U+0007'],
  ['\u007F', 'U+007F'],
  ['\uFEFF', 'U+FEFF'],
];

/** Asserts a 400 whose issue names `path` and says which character, and where. */
function assertRefusedName(res: { status: number; json: any }, path: string, code: string, position: number, what = 'Names') {
  assert.equal(res.status, 400, JSON.stringify(res.json));
  const issue = res.json.error.issues.find((i: { path: string }) => i.path === path);
  assert.ok(issue, `an issue for ${path}: ${JSON.stringify(res.json.error.issues)}`);
  assert.equal(issue.message, `${what} cannot contain invisible or control characters (${code} at position ${position})`);
}

describe('what a person types: names and schedules', () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let work: string;
  before(async () => {
    svc = await startServiceProcess();
    admin = new Browserish(svc.base);
    work = await mkdtemp(join(tmpdir(), 'safehold-test-names-'));
  });
  after(async () => {
    await svc.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses them in the setup form\'s user name, and no account is made', async () => {
    await admin.get('/session');
    const code = await readSetupCode(svc.dataDir);
    try {
      for (const [char, hex] of INVISIBLE) {
        const res = await admin.post('/setup', { setupCode: code, username: `adm${char}in`, password: STRONG_PASSWORD });
        assertRefusedName(res, 'username', hex, 4);
      }
      assert.equal(catalogCounts(svc.dataDir).admins, 0);
      assert.equal((await admin.get('/session')).json.setupRequired, true);
    } finally {
      await admin.setup(svc.dataDir); // the next tests need the admin
    }
  });

  it('refuses them in drive names, source names, rotation drive names, notes and alert addresses, changing nothing', async () => {
    const { drives } = (await admin.get('/drives')).json as { drives: Array<{ id: string; name: string }> };
    const drive = drives[0]!;
    const state = async () =>
      JSON.stringify([
        (await admin.get('/drives')).json.drives.map((d: { id: string; name: string }) => [d.id, d.name]),
        (await admin.get('/sources')).json,
        (await admin.get('/rotation/drives')).json,
        (await admin.get('/settings/alerts')).json,
        (await admin.get('/jobs')).json.jobs.filter((j: { kind: string }) => j.kind === 'rotation.register').length,
      ]);
    const before = await state();
    const alertBody = (smtp: Record<string, unknown>) => ({
      enabled: false,
      smtp: { host: '', port: 587, security: 'starttls', user: null, from: '', to: [], ...smtp },
      digest: { enabled: false, hour: 8 },
    });
    for (const [char, hex] of INVISIBLE) {
      assertRefusedName(await admin.request('PUT', `/drives/${drive.id}/name`, { name: `Box${char} A` }), 'name', hex, 4);
      assertRefusedName(await admin.request('PUT', `/drives/${drive.id}/name`, { name: `Box A${char}` }), 'name', hex, 6);
      assertRefusedName(await admin.post('/sources', { name: `pho${char}tos`, path: work }), 'name', hex, 4);
      assertRefusedName(await admin.post('/rotation/drives', { driveId: drive.id, name: `A${char}`, mode: 'keep' }), 'name', hex, 2);
      assertRefusedName(await admin.post(`/drives/${drive.id}/health/acknowledgements`, { key: 'ata:199', note: `new ${char}cable` }), 'note', hex, 5, 'Notes');
      assertRefusedName(await admin.request('PUT', '/settings/alerts', alertBody({ user: `mail${char}er` })), 'smtp.user', hex, 5, 'User names');
      assertRefusedName(await admin.request('PUT', '/settings/alerts', alertBody({ from: `box${char}@family.example` })), 'smtp.from', hex, 4, 'Addresses');
      assertRefusedName(await admin.request('PUT', '/settings/alerts', alertBody({ to: [`owner@fam${char}ily.example`] })), 'smtp.to.0', hex, 10, 'Addresses');
    }
    assert.equal(await state(), before, 'nothing was renamed, added, registered or saved');
  });

  it('lets a folder path hold odd characters, and the command line prints it escaped, on one line', async () => {
    const odd = join(work, 'invoice\u202Efdp.exe\nsecond line\u0085\u001b[2J');
    await mkdir(odd);
    const added = await admin.post('/sources', { name: 'odd', path: odd, excludes: ['*\u2028*'] });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    try {
      const { stdout } = await exec(process.execPath, [CLI, 'sources', '--data', svc.dataDir]);
      const line = stdout.split('\n').find((l) => l.startsWith('odd'));
      assert.ok(line, stdout);
      assert.ok(line.includes(JSON.stringify(odd).replace('\u202E', '\\u202e').replace('\u0085', '\\u0085')), line);
      assert.ok(line.includes('"*\\u2028*"'), line);
      assert.doesNotMatch(stdout.trimEnd(), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e\u2028]/, 'nothing a terminal acts on');
    } finally {
      await admin.request('DELETE', '/sources/odd');
    }
  });

  it('refuses schedules more frequent than each job\'s minimum, with the reason, changing nothing', async () => {
    const before = (await admin.get('/settings/health')).json;
    const ok = { pollSchedule: '*/30 * * * *', shortTestSchedule: '0 3 * * 0', longTestSchedule: '0 2 1 * *' };
    const cases: Array<[keyof typeof ok, string, RegExp]> = [
      ['pollSchedule', '* * * * * *', /at least 5 minutes apart.*1 second/],
      ['pollSchedule', '* * * * *', /at least 5 minutes apart.*1 minute/],
      ['pollSchedule', '0,2 * * * *', /at least 5 minutes apart.*2 minutes/],
      ['shortTestSchedule', '0 */6 * * *', /at least a day apart.*6 hours/],
      ['shortTestSchedule', '0 0,23 * * *', /at least a day apart.*1 hour/],
      ['longTestSchedule', '* * * * * *', /at least a week apart.*1 second/],
      ['longTestSchedule', '0 2 * * 0,1', /at least a week apart.*1 day/],
    ];
    for (const [field, expression, reason] of cases) {
      const res = await admin.request('PUT', '/settings/health', { ...ok, [field]: expression });
      assert.equal(res.status, 400, `${field} ${expression}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.issues[0].path, field);
      assert.match(res.json.error.issues[0].message, reason, `${field} ${expression}`);
    }
    assert.deepEqual((await admin.get('/settings/health')).json, before, 'nothing was saved');
    assert.equal((await admin.get('/activity')).json.entries.filter((e: { kind: string }) => e.kind === 'settings.health').length, 0);

    // The minimums themselves, and the defaults, are accepted.
    const fastest = { pollSchedule: '*/5 * * * *', shortTestSchedule: '0 3 * * *', longTestSchedule: '0 2 * * 0' };
    const saved = await admin.request('PUT', '/settings/health', fastest);
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
    assert.deepEqual((await admin.get('/settings/health')).json, fastest);
    assert.equal((await admin.request('PUT', '/settings/health', ok)).status, 200);
  });
});

describe('a schedule saved before the minimums', () => {
  it('is put back to its default at start, saved, and said in the activity log', async () => {
    let svc = await startServiceProcess();
    try {
      const admin = new Browserish(svc.base);
      await admin.setup(svc.dataDir);
      await svc.stop();
      const db = new Database(join(svc.dataDir, 'catalog.db'));
      db.prepare("INSERT INTO settings (key, value) VALUES ('health', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        JSON.stringify({ pollSchedule: '* * * * * *', shortTestSchedule: '0 3 * * *', longTestSchedule: '0 2 * * 0' }),
      );
      db.close();
      svc = await startServiceProcess({ dataDir: svc.dataDir });
      const again = new Browserish(svc.base);
      await again.get('/session');
      assert.equal((await again.post('/login', { username: 'admin', password: STRONG_PASSWORD })).status, 200);
      const settings = (await again.get('/settings/health')).json;
      assert.notEqual(settings.pollSchedule, '* * * * * *');
      assert.deepEqual([settings.shortTestSchedule, settings.longTestSchedule], ['0 3 * * *', '0 2 * * 0'], 'the other schedules are kept');
      const entry = (await again.get('/activity')).json.entries.find((e: { kind: string; level: string }) => e.kind === 'settings.health' && e.level === 'warning');
      assert.ok(entry, 'a warning in the activity log');
      assert.match(entry.message, /"\* \* \* \* \* \*" was put back to .*at least 5 minutes apart/);
    } finally {
      await svc.dispose();
    }
  });
});

describe('programs come from a fixed PATH, not the one the service inherited', () => {
  const FAKES = ['lsblk', 'blkid', 'smartctl', 'restic'];
  let work: string;
  let fakeDir: string;
  let marker: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'safehold-test-path-'));
    fakeDir = join(work, 'odd-shell-bin');
    marker = join(work, 'ran');
    await mkdir(fakeDir);
    // Each fake leaves a line in the marker, then runs the real program (so the service works either way).
    for (const name of FAKES) {
      const script = `#!/bin/sh\necho "${name} $*" >> '${marker}'\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin exec ${name} "$@"\n`;
      await writeFile(join(fakeDir, name), script, { mode: 0o755 });
    }
  });
  after(() => rm(work, { recursive: true, force: true }));

  /** Starts the real (not simulated) service, waits for its first inventory, and says which fakes ran. */
  async function fakesRunBy(env: Record<string, string>): Promise<string[]> {
    await rm(marker, { force: true });
    const svc = await startServiceProcess({ simulate: false, env });
    try {
      const admin = new Browserish(svc.base);
      await admin.setup(svc.dataDir);
      await waitFor(async () => (await admin.get('/drives')).json.refreshedAt, 20_000, 'the first inventory');
      const ran = await readFile(marker, 'utf8').catch(() => '');
      return [...new Set(ran.split('\n').filter(Boolean).map((line) => line.split(' ')[0]!))].sort();
    } finally {
      await svc.dispose();
    }
  }

  it('does not run a program that only an odd PATH put first', async () => {
    const ran = await fakesRunBy({ PATH: `${fakeDir}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    assert.deepEqual(ran, [], `the service ran the stand-ins: ${ran.join(', ')}`);
  });

  it('runs them when SAFEHOLD_TOOLS_PATH names their folder (how tests put in a stand-in smartctl)', async () => {
    const ran = await fakesRunBy({ SAFEHOLD_TOOLS_PATH: fakeDir });
    assert.ok(ran.includes('lsblk'), `lsblk came from SAFEHOLD_TOOLS_PATH (ran: ${ran.join(', ') || 'none'})`);
  });
});
