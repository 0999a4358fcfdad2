import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { LoginThrottle } from '../../server/auth/login-throttle.js';
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
      assert.equal(throttle.waitMs(keys), 0);
      throttle.failed(keys);
    }
    assert.equal(throttle.waitMs(keys), 1000);
    clock.advance(1000);
    assert.equal(throttle.waitMs(keys), 0);
    throttle.failed(keys);
    assert.equal(throttle.waitMs(keys), 2000);
    throttle.failed(keys);
    assert.equal(throttle.waitMs(keys), 4000);
    // another address trying the same account waits too; another account from a fresh address does not
    assert.equal(throttle.waitMs(['user:admin', 'addr:10.0.0.50']), 4000);
    assert.equal(throttle.waitMs(['user:other', 'addr:10.0.0.50']), 0);
    throttle.succeeded(keys);
    assert.equal(throttle.waitMs(keys), 0);
  });

  it('never waits longer than the cap, and forgets after a day', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock, { maxDelayMs: 60_000 });
    for (let i = 0; i < 30; i++) throttle.failed(['k']);
    assert.equal(throttle.waitMs(['k']), 60_000);
    clock.advance(25 * 3600 * 1000);
    assert.equal(throttle.waitMs(['k']), 0);
  });

  it('holds a bounded number of keys', () => {
    const throttle = new LoginThrottle(new ManualClock(), { maxKeys: 100, freeAttempts: 0 });
    for (let i = 0; i < 1000; i++) throttle.failed([`addr:${i}`]);
    assert.equal(throttle.waitMs(['addr:0']), 0, 'the oldest keys were dropped');
    assert.ok(throttle.waitMs(['addr:999']) > 0);
  });
});
