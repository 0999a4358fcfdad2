/**
 * Growing delays for failed logins, per key (an address, an account), held in memory.
 *
 * Contract:
 * - An attempt is counted when it begins (`begin`), before its password is checked, so attempts
 *   sent in parallel cannot all be checked before the first failure is known: of any burst on a key,
 *   only its free attempts are checked. A success takes its count back (`undo`) or clears the key.
 * - The first `freeAttempts` failures of a key cost nothing; after that each further attempt must
 *   wait 2^(failures - freeAttempts) seconds after the last failure, up to `maxDelayMs` (1 s, 2 s,
 *   4 s … 15 min). An attempt that comes too early is refused and not counted.
 * - Failures are forgotten after a day without any. The table holds at most `maxKeys` keys (oldest
 *   dropped), so a flood of addresses cannot exhaust memory.
 * - Nothing is written to disk: a restart forgets every delay, as `clear()` (`safehold unlock`) does.
 */
import type { Clock } from '../../system/clock.js';

export interface ThrottleOptions {
  /** Failures allowed before delays start. Default 3. */
  freeAttempts?: number;
  /** Longest delay in ms. Default 15 minutes. */
  maxDelayMs?: number;
  /** Keys remembered at most. Default 10 000. */
  maxKeys?: number;
}

interface Record {
  failures: number;
  lastFailure: number;
}

const FORGET_AFTER_MS = 24 * 3600 * 1000;

export class LoginThrottle {
  readonly #records = new Map<string, Record>();
  readonly #free: number;
  readonly #maxDelay: number;
  readonly #maxKeys: number;

  constructor(
    private readonly clock: Clock,
    options: ThrottleOptions = {},
  ) {
    this.#free = options.freeAttempts ?? 3;
    this.#maxDelay = options.maxDelayMs ?? 15 * 60 * 1000;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Failures a key may have before its attempts wait. */
  get freeAttempts(): number {
    return this.#free;
  }

  /** Milliseconds to wait before any of `keys` may try again; 0 when they may try now. */
  waitMs(keys: string[]): number {
    const now = this.clock.now();
    let wait = 0;
    for (const key of keys) {
      const record = this.#record(key, now);
      if (!record || record.failures < this.#free) continue;
      const delay = Math.min(this.#maxDelay, 1000 * 2 ** (record.failures - this.#free));
      wait = Math.max(wait, record.lastFailure + delay - now);
    }
    return Math.max(0, wait);
  }

  /**
   * Starts an attempt on `keys`. Returns 0 when it may go ahead: it then counts as a failure of every
   * key until `undo` takes it back. Otherwise returns the milliseconds to wait, and counts nothing.
   */
  begin(keys: string[]): number {
    const wait = this.waitMs(keys);
    if (wait === 0) this.#count(keys);
    return wait;
  }

  /** The attempt begun on `keys` was wrong: it stays counted, and the delay it causes runs from now. */
  wrong(keys: string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      const record = this.#records.get(key);
      if (record) record.lastFailure = now;
    }
  }

  /** The attempt begun on `keys` was right: takes its count back (the other failures stay). */
  undo(keys: string[]): void {
    for (const key of keys) {
      const record = this.#records.get(key);
      if (!record) continue;
      record.failures--;
      if (record.failures <= 0) this.#records.delete(key);
    }
  }

  /** The failures counted for `key` now (0 once forgotten). */
  failures(key: string): number {
    return this.#record(key, this.clock.now())?.failures ?? 0;
  }

  /** Forgets `keys`, or every key without an argument; returns the keys forgotten. */
  clear(keys?: string[]): string[] {
    return (keys ?? [...this.#records.keys()]).filter((key) => this.#records.delete(key));
  }

  #count(keys: string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      const record = this.#record(key, now) ?? { failures: 0, lastFailure: now };
      record.failures++;
      record.lastFailure = now;
      this.#records.delete(key); // re-insert: the Map's order is the eviction order
      this.#records.set(key, record);
    }
    while (this.#records.size > this.#maxKeys) this.#records.delete(this.#records.keys().next().value!);
  }

  #record(key: string, now: number): Record | undefined {
    const record = this.#records.get(key);
    if (record && now - record.lastFailure > FORGET_AFTER_MS) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }
}
