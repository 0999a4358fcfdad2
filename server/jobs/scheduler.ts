/**
 * Schedules: run a function at the times a cron expression names (node-cron's syntax, 5 fields, or
 * 6 with seconds first), in the box's local time zone.
 *
 * Contract: the next run is computed from the injected `Clock`, and armed as one clock timer, so a
 * test moves a `ManualClock` forward instead of sleeping. A run that throws (or rejects) is logged
 * and the schedule goes on. A run still busy when its next time comes is skipped, not stacked.
 * node-cron supplies parsing, validation and matching; this module supplies time.
 */
import { createTask, parse, validateDetailed, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../system/clock.js';
import { InvalidInputError } from '../errors.js';

/** Throws `InvalidInputError` naming the wrong field, e.g. "minute: 61 is a invalid expression for minute". */
export function validateCron(expression: string, path = 'schedule'): void {
  const result = validateDetailed(expression);
  if (!result.valid) {
    const detail = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'not a cron expression';
    throw new InvalidInputError(`"${expression}" is not a valid schedule (${detail}).`, [{ path, message: detail }]);
  }
}

const SECOND = 1000;
/** No schedule looks further ahead than this (an expression like "0 0 30 2 *" never matches). */
const HORIZON_MS = 4 * 366 * 24 * 3600 * SECOND;

/** The first time strictly after `after` (ms) that `expression` matches, or null within four years. */
export function nextRun(task: ScheduledTask, fields: ReturnType<typeof parse>, after: number): number | null {
  const t = new Date(Math.floor(after / SECOND) * SECOND + SECOND);
  const end = after + HORIZON_MS;
  while (t.getTime() <= end) {
    if (!fields.month.includes(t.getMonth() + 1)) {
      t.setMonth(t.getMonth() + 1, 1);
      t.setHours(0, 0, 0, 0);
    } else if (!fields.hour.includes(t.getHours())) {
      t.setHours(t.getHours() + 1, 0, 0, 0);
    } else if (!fields.minute.includes(t.getMinutes())) {
      t.setMinutes(t.getMinutes() + 1, 0, 0);
    } else if (!fields.second.includes(t.getSeconds())) {
      t.setSeconds(t.getSeconds() + 1, 0);
    } else if (task.match(t)) {
      return t.getTime();
    } else {
      // day of month / day of week do not match: go to the next day (node-cron decides day semantics)
      t.setDate(t.getDate() + 1);
      t.setHours(0, 0, 0, 0);
    }
  }
  return null;
}

interface Entry {
  name: string;
  expression: string;
  task: ScheduledTask;
  fields: ReturnType<typeof parse>;
  run: () => unknown;
  timer: TimerHandle | null;
  busy: boolean;
  next: number | null;
}

export class Scheduler {
  readonly #entries = new Map<string, Entry>();
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Add or replace the schedule called `name`. Throws `InvalidInputError` for a bad expression. */
  set(name: string, expression: string, run: () => unknown): void {
    validateCron(expression);
    this.remove(name);
    const entry: Entry = {
      name,
      expression,
      task: createTask(expression, () => {}),
      fields: parse(expression),
      run,
      timer: null,
      busy: false,
      next: null,
    };
    this.#entries.set(name, entry);
    this.#arm(entry);
  }

  remove(name: string): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    entry.timer?.cancel();
    void entry.task.destroy();
    this.#entries.delete(name);
  }

  /** When each schedule runs next (ms since epoch), for the page and tests. */
  upcoming(): { name: string; expression: string; next: number | null }[] {
    return [...this.#entries.values()].map(({ name, expression, next }) => ({ name, expression, next }));
  }

  stop(): void {
    this.#stopped = true;
    for (const name of [...this.#entries.keys()]) this.remove(name);
  }

  #arm(entry: Entry): void {
    if (this.#stopped) return;
    entry.next = nextRun(entry.task, entry.fields, this.clock.now());
    if (entry.next === null) {
      this.log.warn({ schedule: entry.name, expression: entry.expression }, 'schedule never matches');
      return;
    }
    entry.timer = this.clock.setTimer(entry.next - this.clock.now(), () => this.#fire(entry));
  }

  #fire(entry: Entry): void {
    if (this.#entries.get(entry.name) !== entry) return;
    if (entry.busy) {
      this.log.info({ schedule: entry.name }, 'previous run still busy; skipped');
    } else {
      // Started synchronously, so the run sees the clock at its due time.
      entry.busy = true;
      const failed = (err: unknown) => this.log.error({ err, schedule: entry.name }, 'scheduled run failed');
      try {
        const result = entry.run();
        if (result instanceof Promise) {
          result.catch(failed).finally(() => (entry.busy = false));
        } else {
          entry.busy = false;
        }
      } catch (err) {
        failed(err);
        entry.busy = false;
      }
    }
    this.#arm(entry);
  }
}
