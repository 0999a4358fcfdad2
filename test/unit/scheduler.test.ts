import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { InvalidInputError } from '../../server/errors.js';
import { Scheduler, validateCron } from '../../server/jobs/scheduler.js';
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
