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
const YEAR_MS = 366 * 24 * 3600 * SECOND;
/** No schedule looks further ahead than this (an expression like "0 0 30 2 *" never matches). */
const HORIZON_MS = 4 * 366 * 24 * 3600 * SECOND;

/** The smallest value of `list` above `value`, or undefined. */
function nextAbove(list: readonly number[], value: number): number | undefined {
  let best: number | undefined;
  for (const x of list) if (x > value && (best === undefined || x < best)) best = x;
  return best;
}

/**
 * The first time strictly after `after` (ms) that `expression` matches, or null within four years.
 * Jumps straight to the next listed second, minute or hour, and asks node-cron about a day (its
 * `match` is slow: ~0.1 ms) only when the day fields restrict it, at most once per day with `days`
 * (a cache by local date the caller keeps across calls), so walking a year of runs
 * (`shortestGap`) stays cheap on a Pi.
 */
export function nextRun(task: ScheduledTask, fields: ReturnType<typeof parse>, after: number, days?: Map<number, boolean>): number | null {
  const t = new Date(Math.floor(after / SECOND) * SECOND + SECOND);
  const end = after + HORIZON_MS;
  const everyDay = fields.dayOfMonth.length >= 31 && fields.dayOfWeek.length >= 7;
  const dayMatches = () => {
    if (everyDay) return true;
    const key = t.getFullYear() * 10_000 + t.getMonth() * 100 + t.getDate();
    let ok = days?.get(key);
    if (ok === undefined) {
      ok = task.match(t);
      days?.set(key, ok);
    }
    return ok;
  };
  while (t.getTime() <= end) {
    if (!fields.month.includes(t.getMonth() + 1)) {
      t.setMonth(t.getMonth() + 1, 1);
      t.setHours(0, 0, 0, 0);
    } else if (!fields.hour.includes(t.getHours())) {
      const hour = nextAbove(fields.hour, t.getHours());
      if (hour === undefined) t.setDate(t.getDate() + 1);
      t.setHours(hour ?? 0, 0, 0, 0);
    } else if (!fields.minute.includes(t.getMinutes())) {
      const minute = nextAbove(fields.minute, t.getMinutes());
      if (minute === undefined) t.setHours(t.getHours() + 1, 0, 0, 0);
      else t.setMinutes(minute, 0, 0);
    } else if (!fields.second.includes(t.getSeconds())) {
      const second = nextAbove(fields.second, t.getSeconds());
      if (second === undefined) t.setMinutes(t.getMinutes() + 1, 0, 0);
      else t.setSeconds(second, 0);
    } else if (dayMatches()) {
      return t.getTime();
    } else {
      // day of month / day of week do not match: go to the next day (node-cron decides day semantics)
      t.setDate(t.getDate() + 1);
      t.setHours(0, 0, 0, 0);
    }
  }
  return null;
}

/** Milliseconds from `t` to the same instant's local wall-clock reading: 02:00 is 02:00 on either side of a DST change. */
const wallClock = (t: number) => t - new Date(t).getTimezoneOffset() * 60_000;

/**
 * The shortest time between two consecutive runs of `expression`, as a wall clock shows it (so a
 * daily schedule is 24 h apart across a DST change), over its runs in the year after `from` (ms),
 * at most `runs` of them (default 1000: three days of a run every 5 minutes, and a cron
 * expression's day repeats its times). Stops at the first gap shorter than `below` ms (default 0:
 * looks at every run). null when it runs fewer than twice in that year. Throws `InvalidInputError`
 * for a bad expression. Pure apart from the time zone.
 */
export function shortestGap(expression: string, from: number, options: { runs?: number; below?: number } = {}): number | null {
  const { runs = 1000, below = 0 } = options;
  validateCron(expression);
  const task = createTask(expression, () => {});
  try {
    const fields = parse(expression);
    const end = from + YEAR_MS;
    const days = new Map<number, boolean>();
    let shortest: number | null = null;
    let previous = nextRun(task, fields, from, days);
    for (let i = 1; previous !== null && previous <= end && i < runs; i++) {
      const next = nextRun(task, fields, previous, days);
      if (next === null || next > end) break;
      const gap = wallClock(next) - wallClock(previous);
      if (shortest === null || gap < shortest) shortest = gap;
      if (shortest < below) break;
      previous = next;
    }
    return shortest;
  } finally {
    void task.destroy();
  }
}

const UNITS: Array<[number, string]> = [
  [7 * 24 * 3600 * SECOND, 'week'],
  [24 * 3600 * SECOND, 'day'],
  [3600 * SECOND, 'hour'],
  [60 * SECOND, 'minute'],
  [SECOND, 'second'],
];

/** `ms` in the largest unit that divides it evenly: "1 second", "90 minutes", "2 days". */
export function formatInterval(ms: number): string {
  const [size, unit] = UNITS.find(([size]) => ms % size === 0) ?? [SECOND, 'second'];
  const count = Math.round(ms / size);
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * Throws `InvalidInputError` on `path` when two runs of `expression` come closer than `minimumMs`
 * (see `shortestGap`), saying the rule and what the expression does: `rule` starts the message,
 * e.g. "SMART reads must be at least 5 minutes apart" gives "SMART reads must be at least 5 minutes
 * apart; \"* * * * * *\" runs 1 second apart". Also refuses a bad expression (`validateCron`).
 */
export function refuseTooFrequent(expression: string, o: { minimumMs: number; rule: string; path: string; from: number }): void {
  validateCron(expression, o.path);
  const gap = shortestGap(expression, o.from, { below: o.minimumMs });
  if (gap !== null && gap < o.minimumMs) {
    const message = `${o.rule}; "${expression}" runs ${formatInterval(gap)} apart`;
    throw new InvalidInputError(`${message}.`, [{ path: o.path, message }]);
  }
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
