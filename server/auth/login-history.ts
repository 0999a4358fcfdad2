/**
 * What the box remembers about logins, across restarts (the catalog's `settings` table, key
 * `auth.logins`), and the trace failed logins leave.
 *
 * Contract:
 * - `isKnown(address)`: the address logged in (or set the box up) before; such an address skips the
 *   account's delay, so failures from elsewhere on the LAN cannot lock the admin out. The last
 *   `knownMax` addresses are kept (default 20).
 * - Every checked failure is counted; `succeeded()` returns the failures since the last successful
 *   login (for the notice after login, told once) and starts counting again.
 * - Failures are written to the activity log (kind `auth.login_failed`, which writes its line of the
 *   service log too), rate-limited:
 *   an address's first failure, the one that makes its attempts wait, then each power of two in a row
 *   (8, 16, 32 …), and the account's own milestones alike; at most `tracesPerHour` entries an hour
 *   (default 20), the next entry after a full hour says how many were not listed.
 * - A login from an address not known before is written to the activity log (kind `auth.login`).
 */
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import type { ActivityService } from '../activity/activity.service.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import type { FailedLogins } from './auth.model.js';

export const LOGINS_KEY = 'auth.logins';

const Stored = z.object({
  /** Newest first. */
  known: z.array(z.object({ address: z.string(), at: z.number() })),
  lastLoginAt: z.number().nullable(),
  failed: z.object({ count: z.number().int().min(1), latestAt: z.number(), latestFrom: z.string() }).nullable(),
});
type Stored = z.infer<typeof Stored>;

const EMPTY: Stored = { known: [], lastLoginAt: null, failed: null };
const HOUR = 3600 * 1000;


export interface LoginFailure {
  /** The name tried when it is the admin's; null for any other (it may be a password typed in the wrong field: never written down). */
  username: string | null;
  address: string;
  /** Failures of this address in a row, this one included. */
  addressFailures: number;
  /** Failures of the account from addresses it does not know, this one included; null when the address is known. */
  accountFailures: number | null;
  /** Failures a key may have before it waits (LoginThrottle.freeAttempts). */
  freeAttempts: number;
}

export interface LoginHistoryOptions {
  settings: SettingsRepository;
  activity: ActivityService;
  clock: Clock;
  /** Addresses remembered as known. Default 20. */
  knownMax?: number;
  /** Activity entries about failed logins per hour at most. Default 20. */
  tracesPerHour?: number;
}

export class LoginHistory {
  readonly #o: LoginHistoryOptions;
  readonly #knownMax: number;
  readonly #tracesPerHour: number;
  #windowStart = 0;
  #traced = 0;
  #unlisted = 0;

  constructor(options: LoginHistoryOptions) {
    this.#o = options;
    this.#knownMax = options.knownMax ?? 20;
    this.#tracesPerHour = options.tracesPerHour ?? 20;
  }

  isKnown(address: string): boolean {
    return this.#read().known.some((k) => k.address === address);
  }

  /** A checked login failed: counts it, and traces it when it is a milestone and the hour's budget allows. */
  failed(f: LoginFailure): void {
    const now = this.#o.clock.now();
    const stored = this.#read();
    this.#write({ ...stored, failed: { count: (stored.failed?.count ?? 0) + 1, latestAt: now, latestFrom: f.address } });

    const who = f.username === null ? 'with a user name that does not exist' : `as ${JSON.stringify(f.username)}`;
    const parts: string[] = [];
    const a = f.addressFailures;
    if (a === 1) parts.push(`Failed login ${who} from ${f.address}.`);
    else if (a === f.freeAttempts) parts.push(`${a} failed logins in a row from ${f.address} (the latest ${who}): attempts from there now wait, longer after each failure.`);
    else if (a > f.freeAttempts && isPowerOfTwo(a)) parts.push(`${a} failed logins in a row from ${f.address} (the latest ${who}): attempts from there keep waiting.`);
    const n = f.username === null ? null : f.accountFailures;
    if (n !== null && (n === f.freeAttempts || (n > f.freeAttempts && isPowerOfTwo(n)))) {
      if (parts.length === 0) parts.push(`Failed login ${who} from ${f.address}.`);
      parts.push(`${n} failed logins ${who} in a row: logins ${who} from addresses that never logged in wait too.`);
    }
    if (parts.length === 0) return;

    if (now - this.#windowStart >= HOUR) {
      this.#windowStart = now;
      this.#traced = 0;
    }
    if (this.#traced >= this.#tracesPerHour) {
      this.#unlisted++;
      return;
    }
    this.#traced++;
    const u = this.#unlisted;
    if (u) parts.push(`(${u} more failed login${u === 1 ? ' was' : 's were'} not listed.)`);
    this.#unlisted = 0;
    const message = parts.join(' ');
    this.#o.activity.record({ level: a === 1 && parts.length === 1 ? 'info' : 'warning', kind: 'auth.login_failed', subject: f.address, message });
  }

  /**
   * A login (or the setup) succeeded from `address`: remembers the address as known and returns the
   * failed logins since the previous success (null when there were none), which it then forgets.
   */
  succeeded(address: string, username: string): FailedLogins | null {
    const now = this.#o.clock.now();
    const stored = this.#read();
    const isNew = !stored.known.some((k) => k.address === address);
    const known = [{ address, at: now }, ...stored.known.filter((k) => k.address !== address)].slice(0, this.#knownMax);
    this.#write({ known, lastLoginAt: now, failed: null });
    if (isNew && stored.lastLoginAt !== null) {
      this.#o.activity.record({ level: 'info', kind: 'auth.login', subject: address, message: `${JSON.stringify(username)} logged in from ${address}, an address new to this box.` });
    }
    const f = stored.failed;
    if (!f) return null;
    const iso = (ms: number) => new Date(ms).toISOString();
    return { count: f.count, since: stored.lastLoginAt === null ? null : iso(stored.lastLoginAt), latestAt: iso(f.latestAt), latestFrom: f.latestFrom };
  }

  #read(): Stored {
    return this.#o.settings.get(LOGINS_KEY, Stored, EMPTY);
  }

  #write(value: Stored): void {
    this.#o.settings.put(LOGINS_KEY, value);
  }
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;
