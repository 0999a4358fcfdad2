/**
 * The admin password over the real service: guessable passwords are refused with the reason, the
 * admin page changes it (checking the current one, ending the other sessions), and the console sets
 * it (`safehold password`) or resets it (`safehold reset-password`, which opens setup again with a
 * new setup code).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browserish, CLI, readSetupCode, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

/** Run `safehold ARGS` with `input` on standard input (not a terminal); resolves whatever the exit code. */
function safehold(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

/**
 * Run `safehold ARGS` on a terminal (`script`, from Debian's essential bsdutils, gives it a pty), typing each of `lines`
 * once the prompt before it has appeared; resolves with the exit code and everything the terminal showed.
 */
function safeholdOnTerminal(args: string[], prompts: RegExp[], lines: string[]): Promise<{ code: number | null; screen: string }> {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].map(quote).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let typed = 0;
  const onOutput = (chunk: Buffer) => {
    screen += chunk.toString();
    while (typed < lines.length && prompts[typed]!.test(screen)) child.stdin.write(`${lines[typed++]}\r`);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, screen })));
}

async function loggedIn(svc: ServiceProcess, password: string): Promise<Browserish> {
  const client = new Browserish(svc.base);
  await client.get('/session');
  const res = await client.post('/login', { username: 'admin', password });
  assert.equal(res.status, 200, `login with ${password}: ${JSON.stringify(res.json)}`);
  return client;
}

const activityKinds = async (admin: Browserish): Promise<string[]> =>
  ((await admin.get('/activity?limit=200')).json.entries as { kind: string }[]).map((e) => e.kind);

describe('the admin password', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await startServiceProcess();
  });
  after(() => svc?.dispose());

  it('refuses guessable passwords at setup, saying why beside the password field', async () => {
    const client = new Browserish(svc.base);
    await client.get('/session');
    const code = await readSetupCode(svc.dataDir);
    for (const weak of ['Password123!', 'P@ssw0rd1234', '1q2w3e4r5t6y', 'qwertyuiop123']) {
      const res = await client.post('/setup', { setupCode: code, password: weak });
      assert.equal(res.status, 400, `${weak} is refused`);
      const issue = res.json.error.issues.find((i: { path: string }) => i.path === 'password');
      assert.match(issue?.message ?? '', /easy to guess: .*(common|similar)/i, `${weak}: ${issue?.message}`);
      assert.equal(res.json.error.message, issue.message);
    }
    assert.equal((await client.get('/session')).json.setupRequired, true, 'nothing was created');
    await client.setup(svc.dataDir);
  });

  it('changes on the admin page: checks the current one, refuses a weak new one, ends every other session', async () => {
    const me = await loggedIn(svc, STRONG_PASSWORD);
    const other = await loggedIn(svc, STRONG_PASSWORD);
    const oldCookie = me.cookies.get('safehold_session');

    const wrong = await me.post('/password', { currentPassword: 'not the password', newPassword: 'a brand new passphrase here' });
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.json.error.issues.map((i: { path: string }) => i.path), ['currentPassword']);
    const weak = await me.post('/password', { currentPassword: STRONG_PASSWORD, newPassword: 'Password123!' });
    assert.equal(weak.status, 400);
    assert.equal(weak.json.error.issues[0].path, 'newPassword');
    assert.match(weak.json.error.issues[0].message, /easy to guess/);
    assert.equal((await other.get('/status')).status, 200, 'a refused change ends nothing');

    const noSession = new Browserish(svc.base);
    await noSession.get('/session');
    assert.equal((await noSession.post('/password', { currentPassword: STRONG_PASSWORD, newPassword: 'a brand new passphrase here' })).status, 401);

    const ok = await me.post('/password', { currentPassword: STRONG_PASSWORD, newPassword: 'a brand new passphrase here' });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.notEqual(me.cookies.get('safehold_session'), oldCookie, 'this browser got a new session');
    assert.equal((await me.get('/status')).status, 200, 'and stays logged in');
    assert.equal((await other.get('/status')).status, 401, 'the other session ended');
    const stale = new Browserish(svc.base);
    stale.cookies.set('safehold_session', oldCookie!);
    assert.equal((await stale.get('/status')).status, 401, 'the old cookie of this browser is dead too');

    const guest = new Browserish(svc.base);
    await guest.get('/session');
    assert.equal((await guest.post('/login', { username: 'admin', password: STRONG_PASSWORD })).status, 401, 'the old password is refused');
    await loggedIn(svc, 'a brand new passphrase here');
    assert.ok((await activityKinds(me)).includes('auth.password_changed'));
  });

  it('is set from the console with "safehold password", reading standard input', async () => {
    const page = await loggedIn(svc, 'a brand new passphrase here');
    const weak = await safehold(['password', '--data', svc.dataDir], 'qwertyuiop123\n');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /not changed: Too easy to guess/);
    assert.equal((await page.get('/status')).status, 200, 'a refused password changes nothing');

    const set = await safehold(['password', '--data', svc.dataDir], `${STRONG_PASSWORD}\n`);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /password is changed/);
    assert.equal((await page.get('/status')).status, 401, 'every session ended');
    const back = await loggedIn(svc, STRONG_PASSWORD);
    assert.ok((await activityKinds(back)).includes('auth.password_changed'));
  });

  it('asks twice without echo on a terminal, and changes nothing when the two differ', { skip: existsSync('/usr/bin/script') ? undefined : 'needs /usr/bin/script (Debian package bsdutils)' }, async () => {
    const prompts = [/New admin password: /, /Repeat it: /];
    const differ = await safeholdOnTerminal(['password', '--data', svc.dataDir], prompts, ['first passphrase typed here', 'second passphrase typed here']);
    assert.equal(differ.code, 2, differ.screen);
    assert.match(differ.screen, /not the same; nothing was changed/);
    await loggedIn(svc, STRONG_PASSWORD);

    const typed = await safeholdOnTerminal(['password', '--data', svc.dataDir], prompts, ['typed on the terminal quietly', 'typed on the terminal quietly']);
    assert.equal(typed.code, 0, typed.screen);
    assert.match(typed.screen, /password is changed/);
    assert.ok(!typed.screen.includes('typed on the terminal'), `the password is not echoed:\n${typed.screen}`);
    await loggedIn(svc, 'typed on the terminal quietly');
    assert.equal((await safehold(['password', '--data', svc.dataDir], `${STRONG_PASSWORD}\n`)).code, 0, 'back to the password the next test uses');
  });

  it('is reset from the console: the old password and session are dead, setup works with the printed code', async () => {
    const page = await loggedIn(svc, STRONG_PASSWORD);
    const reset = await safehold(['reset-password', '--data', svc.dataDir]);
    assert.equal(reset.code, 0, reset.stderr);
    const printed = /^\s+([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})$/m.exec(reset.stdout)?.[1];
    assert.ok(printed, `a setup code is printed:\n${reset.stdout}`);
    assert.equal(await readSetupCode(svc.dataDir), printed, 'and written to <data>/setup-code');
    assert.ok(reset.stdout.includes(join(svc.dataDir, 'setup-code')));
    assert.match(svc.output(), /admin password was reset from the console/, 'a log line');

    assert.equal((await page.get('/status')).status, 401, 'the old session cookie is dead');
    const guest = new Browserish(svc.base);
    assert.equal((await guest.get('/session')).json.setupRequired, true);
    assert.equal((await guest.post('/login', { username: 'admin', password: STRONG_PASSWORD })).status, 401, 'the old password is refused');
    assert.equal((await guest.post('/setup', { setupCode: 'AAAA-BBBB-CCCC', password: STRONG_PASSWORD })).status, 403, 'only with the new code');

    const setup = await guest.post('/setup', { setupCode: printed, username: 'admin', password: 'a brand new passphrase here' });
    assert.equal(setup.status, 201, JSON.stringify(setup.json));
    assert.equal((await guest.get('/status')).status, 200, 'setup logs in');
    assert.equal((await guest.post('/setup', { setupCode: printed, password: STRONG_PASSWORD })).status, 409, 'and closes setup again');
    await assert.rejects(readFile(join(svc.dataDir, 'setup-code')), 'the code file is gone once used');
    assert.ok((await activityKinds(guest)).includes('auth.password_reset'));
    const entries = (await guest.get('/activity')).json.entries as { kind: string; message: string }[];
    assert.match(entries.find((e) => e.kind === 'auth.setup')!.message, /set again after a reset/);
  });

  it('throttles guesses of the current password like logins', async () => {
    const me = await loggedIn(svc, 'a brand new passphrase here');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await me.post('/password', { currentPassword: `guess ${i}`, newPassword: 'yet another good passphrase' })).status);
    assert.deepEqual(statuses, [400, 400, 400]);
    const limited = await me.post('/password', { currentPassword: 'a brand new passphrase here', newPassword: 'yet another good passphrase' });
    assert.equal(limited.status, 429, 'even the right password waits during the delay');
    const browser = new Browserish(svc.base);
    await browser.get('/session');
    assert.equal((await browser.post('/login', { username: 'admin', password: 'a brand new passphrase here' })).status, 429, 'the account\'s logins wait as well');
  });
});
