import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { InvalidInputError } from '../../server/errors.js';
import { formatInterval, refuseTooFrequent, Scheduler, shortestGap, validateCron } from '../../server/jobs/scheduler.js';
import { silentLog } from '../testing/catalog.js';

const local = (...parts: [number, number, number, number, number, number?]) => new Date(...(parts as [number, number, number, number, number, number])).getTime();
const flush = () => new Promise((r) => setImmediate(r));

describe('Scheduler with an injected clock', () => {
  it('runs at the times the expression names, without sleeping', async () => {
    const clock = new ManualClock(local(2026, 0, 5, 12, 3, 20));
    const scheduler = new Scheduler(clock, silentLog());
    const runs: number[] = [];
    scheduler.set('inventory', '*/10 * * * *', () => runs.push(clock.now()));
    assert.equal(scheduler.upcoming()[0]!.next, local(2026, 0, 5, 12, 10, 0));
    clock.advance(60 * 60 * 1000);
    await flush();
    assert.deepEqual(
      runs.map((t) => new Date(t).getMinutes()),
      [10, 20, 30, 40, 50, 0],
    );
    scheduler.stop();
    assert.equal(clock.pending, 0, 'stop leaves no timer armed');
  });

  it('finds a monthly time weeks ahead, and a weekday schedule', () => {
    const clock = new ManualClock(local(2026, 0, 5, 12, 0, 0)); // a Monday
    const scheduler = new Scheduler(clock, silentLog());
    scheduler.set('long-test', '0 3 1 * *', () => {});
    scheduler.set('short-test', '30 2 * * 0', () => {}); // Sundays 02:30
    const next = Object.fromEntries(scheduler.upcoming().map((u) => [u.name, u.next]));
    assert.equal(next['long-test'], local(2026, 1, 1, 3, 0, 0));
    assert.equal(next['short-test'], local(2026, 0, 11, 2, 30, 0));
    scheduler.stop();
  });

  it('keeps going after a run throws, and skips a run while the previous one is busy', async () => {
    const clock = new ManualClock(local(2026, 0, 5, 12, 0, 0));
    const scheduler = new Scheduler(clock, silentLog());
    let calls = 0;
    scheduler.set('flaky', '* * * * *', () => {
      calls++;
      throw new Error('boom');
    });
    clock.advance(3 * 60_000);
    await flush();
    assert.equal(calls, 3);

    let release!: () => void;
    let started = 0;
    scheduler.set('slow', '* * * * *', () => {
      started++;
      return new Promise<void>((r) => (release = r));
    });
    clock.advance(60_000);
    await flush();
    clock.advance(60_000);
    await flush();
    assert.equal(started, 1, 'the second time came while the first run was busy');
    release();
    await flush();
    clock.advance(60_000);
    await flush();
    assert.equal(started, 2);
    scheduler.stop();
  });

  it('refuses a bad expression with the field that is wrong', () => {
    assert.throws(() => validateCron('61 * * * *'), (e: unknown) => e instanceof InvalidInputError && /minute/.test(e.message));
    assert.throws(() => validateCron('every day'), InvalidInputError);
    assert.doesNotThrow(() => validateCron('*/2 * * * * *'));
  });
});

describe('how often a schedule runs', () => {
  const from = local(2026, 0, 5, 12, 3, 20);
  const MIN = 60_000;
  const HOUR = 60 * MIN;
  const DAY = 24 * HOUR;

  it('finds the shortest gap between consecutive runs', () => {
    assert.equal(shortestGap('* * * * * *', from), 1000);
    assert.equal(shortestGap('*/30 * * * *', from), 30 * MIN);
    assert.equal(shortestGap('0,2 * * * *', from), 2 * MIN);
    assert.equal(shortestGap('0 3 * * *', from), DAY);
    assert.equal(shortestGap('0 2 * * 0', from), 7 * DAY);
    assert.equal(shortestGap('0 2 * * 0,1', from), DAY, 'Sunday to Monday');
    assert.equal(shortestGap('0 2 1 * *', from), 28 * DAY, 'February');
  });

  it('sees the gap across midnight, and across the end of a month', () => {
    assert.equal(shortestGap('0 0,23 * * *', from), HOUR, '23:00 to 00:00 the next day');
    // The 31st, then the 1st: only after a month of 31 days (January 31 to February 1).
    assert.equal(shortestGap('58 23 1,31 * *', local(2026, 0, 2, 0, 0, 0)), DAY);
  });

  it('is null for a schedule that runs at most once in the window', () => {
    assert.equal(shortestGap('0 0 29 2 *', from), null, 'February 29 comes once, in 2028');
  });

  it('can stop at the first gap below a bound', () => {
    assert.equal(shortestGap('*/5 * * * * *', from, { below: 10_000 }), 5000);
  });

  it('says an interval in its largest whole unit', () => {
    assert.deepEqual(
      [1000, 2000, MIN, 90 * MIN, 6 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY].map(formatInterval),
      ['1 second', '2 seconds', '1 minute', '90 minutes', '6 hours', '1 day', '2 days', '1 week', '2 weeks'],
    );
  });

  it('refuses a schedule closer than its minimum, with the rule and what it does, on the field', () => {
    const check = (expression: string) => refuseTooFrequent(expression, { minimumMs: 5 * MIN, rule: 'Reads must be at least 5 minutes apart', path: 'pollSchedule', from });
    assert.throws(
      () => check('* * * * * *'),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        e.issues?.[0]?.path === 'pollSchedule' &&
        e.issues[0].message === 'Reads must be at least 5 minutes apart; "* * * * * *" runs 1 second apart',
    );
    assert.throws(() => check('*/4 * * * *'), /runs 4 minutes apart/);
    assert.throws(() => check('61 * * * *'), (e: unknown) => e instanceof InvalidInputError && /minute/.test(e.message));
    assert.doesNotThrow(() => check('*/5 * * * *'));
    assert.doesNotThrow(() => check('0 0 29 2 *'));
  });
});
