/**
 * Growing delays for failed logins, per account and per address.
 *
 * Contract: the first `freeAttempts` failures of a key cost nothing; after that each further
 * attempt must wait 2^(failures - freeAttempts) seconds after the last failure, up to `maxDelayMs`
 * (1 s, 2 s, 4 s … 15 min). An attempt that comes too early is refused without looking at the
 * password. A success clears the keys. Failures are forgotten after a day without any. The table
 * holds at most `maxKeys` keys (oldest dropped), so a flood of addresses cannot exhaust memory.
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

  /** Milliseconds to wait before any of `keys` may try again; 0 when they may try now. */
  waitMs(keys: string[]): number {
    const now = this.clock.now();
    let wait = 0;
    for (const key of keys) {
      const record = this.#records.get(key);
      if (!record) continue;
      if (now - record.lastFailure > FORGET_AFTER_MS) {
        this.#records.delete(key);
        continue;
      }
      if (record.failures < this.#free) continue;
      const delay = Math.min(this.#maxDelay, 1000 * 2 ** (record.failures - this.#free));
      wait = Math.max(wait, record.lastFailure + delay - now);
    }
    return Math.max(0, wait);
  }

  failed(keys: string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      const record = this.#records.get(key) ?? { failures: 0, lastFailure: now };
      record.failures++;
      record.lastFailure = now;
      this.#records.delete(key); // re-insert: the Map's order is the eviction order
      this.#records.set(key, record);
    }
    while (this.#records.size > this.#maxKeys) this.#records.delete(this.#records.keys().next().value!);
  }

  succeeded(keys: string[]): void {
    for (const key of keys) this.#records.delete(key);
  }
}
