import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { ActivityRepository } from '../../server/activity/activity.repository.js';
import { ActivityService } from '../../server/activity/activity.service.js';
import { LoginHistory } from '../../server/auth/login-history.js';
import { LoginThrottle } from '../../server/auth/login-throttle.js';
import { EventBus } from '../../server/events.js';
import { SettingsRepository } from '../../server/settings/settings.repository.js';
import { tempCatalog } from '../testing/catalog.js';
import { closeStrengthEstimator, hashPassword, passwordProblem, verifyPassword } from '../../server/auth/password.js';
import { newSetupCode, setupCodeMatches } from '../../server/auth/setup-code.js';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one; each hash is salted', async () => {
    const small = { N: 1024, r: 8, p: 1 };
    const a = await hashPassword('correct horse battery staple', small);
    const b = await hashPassword('correct horse battery staple', small);
    assert.match(a, /^scrypt\$1024\$8\$1\$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('correct horse battery staple', a), true);
    assert.equal(await verifyPassword('correct horse battery stapl', a), false);
    assert.equal(await verifyPassword('anything', 'not-a-hash'), false);
  });

  it('uses the default cost when none is given', async () => {
    assert.match(await hashPassword('x'.repeat(12)), /^scrypt\$32768\$8\$1\$/);
  });
});

describe('password policy', () => {
  after(() => closeStrengthEstimator());

  it('refuses guessable passwords that pass a length rule, saying why in the estimator\'s words', async () => {
    for (const weak of ['Password123!', 'P@ssw0rd1234', '1q2w3e4r5t6y', 'qwertyuiop123', 'aaaaaaaaaaaaaaaa', 'abcdefghijklm', 'aB3$'.repeat(64)]) {
      const problem = await passwordProblem(weak);
      assert.ok(problem, `${weak} is refused`);
      assert.match(problem, /easy to guess/, `${weak}: says it is guessable (${problem})`);
    }
    assert.match((await passwordProblem('Password123!'))!, /commonly used password/);
    assert.match((await passwordProblem('P@ssw0rd1234'))!, /predictable letter substitutions/);
  });

  it('keeps the rules of its own: length, the user name, the setup code, the box\'s own words', async () => {
    assert.match((await passwordProblem('short'))!, /at least 12/);
    assert.match((await passwordProblem('x'.repeat(257)))!, /at most 256/);
    assert.match((await passwordProblem('my-admin-box-2026', ['admin']))!, /user name/);
    assert.match((await passwordProblem('zq7-ABCD-EFGH-JKLM', ['ABCD-EFGH-JKLM']))!, /setup code/);
    assert.ok(await passwordProblem('safehold1234'), 'the product\'s name is no secret');
  });

  it('accepts the passphrases the tests and the docs use', async () => {
    assert.equal(await passwordProblem('correct horse battery staple', ['admin', 'ABCD-EFGH-JKLM']), null);
    assert.equal(await passwordProblem('another strong passphrase', ['bob']), null);
    assert.equal(await passwordProblem('a brand new passphrase here', ['admin']), null);
  });
});

describe('setup code', () => {
  it('has 12 characters without look-alikes and matches ignoring case and dashes', () => {
    const code = newSetupCode();
    assert.match(code, /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    assert.equal(setupCodeMatches(code.toLowerCase().replaceAll('-', ' '), code), true);
    assert.equal(setupCodeMatches('AAAA-AAAA-AAAA', code === 'AAAA-AAAA-AAAA' ? 'BBBB-BBBB-BBBB' : code), false);
  });
});

describe('login throttle', () => {
  it('lets three failures pass, then doubles the wait, per key', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock);
    const keys = ['user:admin', 'addr:10.0.0.9'];
    for (let i = 0; i < 3; i++) {
      assert.equal(throttle.begin(keys), 0);
      throttle.wrong(keys);
    }
    assert.equal(throttle.begin(keys), 1000, 'refused');
    assert.equal(throttle.failures('addr:10.0.0.9'), 3, 'a refused attempt is not counted');
    clock.advance(1000);
    assert.equal(throttle.begin(keys), 0);
    throttle.wrong(keys);
    assert.equal(throttle.waitMs(keys), 2000);
    assert.equal(throttle.begin(keys), 2000);
    clock.advance(2000);
    throttle.begin(keys);
    throttle.wrong(keys);
    assert.equal(throttle.waitMs(keys), 4000);
    // another address trying the same account waits too; another account from a fresh address does not
    assert.equal(throttle.waitMs(['user:admin', 'addr:10.0.0.50']), 4000);
    assert.equal(throttle.waitMs(['addr:10.0.0.50']), 0);
    assert.equal(throttle.waitMs(['user:other', 'addr:10.0.0.50']), 0);
  });

  it('counts an attempt when it begins: of attempts begun together only the free ones go ahead', () => {
    const throttle = new LoginThrottle(new ManualClock());
    const keys = ['addr:10.0.0.9'];
    const waits = Array.from({ length: 40 }, () => throttle.begin(keys)); // none answered yet
    assert.deepEqual(waits.slice(0, 3), [0, 0, 0]);
    assert.ok(waits.slice(3).every((w) => w === 1000));
  });

  it('takes a right attempt back with undo (other failures stay), and forgets keys with clear', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock);
    throttle.begin(['user:admin']);
    throttle.wrong(['user:admin']);
    throttle.begin(['user:admin']);
    throttle.undo(['user:admin']);
    assert.equal(throttle.failures('user:admin'), 1);
    throttle.begin(['user:admin']);
    throttle.begin(['addr:a']);
    throttle.begin(['addr:b']);
    assert.deepEqual(throttle.clear(['addr:a', 'addr:zzz']), ['addr:a']);
    assert.deepEqual(throttle.clear().sort(), ['addr:b', 'user:admin']);
    assert.equal(throttle.failures('user:admin'), 0);
  });

  it('never waits longer than the cap, and forgets after a day', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock, { maxDelayMs: 60_000, freeAttempts: 0 });
    for (let i = 0; i < 30; i++) {
      clock.advance(60_000);
      throttle.begin(['k']);
    }
    assert.equal(throttle.failures('k'), 30);
    assert.equal(throttle.waitMs(['k']), 60_000);
    clock.advance(25 * 3600 * 1000);
    assert.equal(throttle.waitMs(['k']), 0);
    assert.equal(throttle.failures('k'), 0);
  });

  it('holds a bounded number of keys', () => {
    const throttle = new LoginThrottle(new ManualClock(), { maxKeys: 100, freeAttempts: 0 });
    for (let i = 0; i < 1000; i++) throttle.begin([`addr:${i}`]);
    assert.equal(throttle.waitMs(['addr:0']), 0, 'the oldest keys were dropped');
    assert.ok(throttle.waitMs(['addr:999']) > 0);
  });
});

describe('login history (a real catalog)', () => {
  const open = () => {
    const cat = tempCatalog();
    const clock = new ManualClock(Date.parse('2026-06-01T10:00:00Z'));
    const activity = (db = cat.db) => new ActivityService(new ActivityRepository(db), new EventBus(), clock);
    const history = (db = cat.db) =>
      new LoginHistory({ settings: new SettingsRepository(db), activity: activity(db), clock, knownMax: 3, tracesPerHour: 4 });
    /** Newest first. */
    const failures = () => activity().list(500).filter((e) => e.kind === 'auth.login_failed');
    return { cat, clock, history, failures };
  };
  const failure = (address: string, addressFailures: number, accountFailures: number | null = null) => ({
    username: 'admin', address, addressFailures, accountFailures, freeAttempts: 3,
  });

  it('remembers the addresses that logged in, across a restart, the last few only', () => {
    const { cat, history } = open();
    try {
      const h = history();
      assert.equal(h.isKnown('10.0.0.1'), false);
      for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) h.succeeded(a, 'admin');
      assert.equal(history(cat.reopen()).isKnown('10.0.0.1'), true, 'kept in the catalog');
      history(cat.db).succeeded('10.0.0.4', 'admin');
      assert.equal(history(cat.db).isKnown('10.0.0.1'), false, 'the oldest of more than three is forgotten');
      assert.equal(history(cat.db).isKnown('10.0.0.4'), true);
    } finally {
      cat.dispose();
    }
  });

  it('tells the failures since the last visit once, with the latest address', () => {
    const { cat, clock, history } = open();
    try {
      const h = history();
      h.succeeded('10.0.0.1', 'admin');
      const visit = new Date(clock.now()).toISOString();
      clock.advance(60_000);
      h.failed(failure('10.0.0.66', 1, 1));
      clock.advance(60_000);
      h.failed(failure('10.0.0.77', 1, 2));
      assert.deepEqual(history(cat.reopen()).succeeded('10.0.0.1', 'admin'), {
        count: 2, since: visit, latestAt: new Date(clock.now()).toISOString(), latestFrom: '10.0.0.77',
      });
      assert.equal(history(cat.db).succeeded('10.0.0.1', 'admin'), null, 'told once');
    } finally {
      cat.dispose();
    }
  });

  it('traces the first failure of an address, the one that makes it wait, and powers of two; at most a few an hour', () => {
    const { cat, clock, history, failures } = open();
    try {
      const h = history();
      for (let n = 1; n <= 16; n++) h.failed(failure('10.0.0.66', n));
      assert.deepEqual(
        failures().reverse().map((e) => e.message.match(/^\S+/)![0]),
        ['Failed', '3', '4', '8'],
        'failures 1, 3 (waits), 4, 8; 16 is over the budget of 4 an hour',
      );
      assert.match(failures().at(-2)!.message, /from 10\.0\.0\.66.*now wait/);
      assert.ok(failures().every((e) => e.subject === '10.0.0.66'));
      clock.advance(3600 * 1000);
      h.failed(failure('10.0.0.99', 1));
      assert.match(failures()[0]!.message, /Failed login as "admin" from 10\.0\.0\.99\. \(1 more failed login was not listed\.\)/);
    } finally {
      cat.dispose();
    }
  });

  it('traces the account waiting for addresses it does not know, and never writes down a user name that does not exist', () => {
    const { cat, history, failures } = open();
    try {
      history().failed(failure('10.0.0.5', 1, 3));
      assert.match(failures()[0]!.message, /3 failed logins as "admin" in a row: logins as "admin" from addresses that never logged in wait too/);
      assert.equal(failures()[0]!.level, 'warning');
      history().failed({ ...failure('10.0.0.6', 1, 3), username: null });
      assert.equal(failures()[0]!.message, 'Failed login with a user name that does not exist from 10.0.0.6.');
    } finally {
      cat.dispose();
    }
  });
});
