/**
 * The admin account: first-start setup with the one-time code, login with growing delays, sessions.
 *
 * Contract:
 * - `setup()` succeeds once, ever: the catalog's one-row `admin` table decides, so two setups racing
 *   cannot both win (the loser gets ConflictError). Wrong code → ForbiddenError, and nothing is written.
 * - Session ids are 256-bit random values; the catalog stores only their SHA-256, so a copy of the
 *   catalog does not let anyone in. A session ends after `idleMs` without use or `maxAgeMs` in all.
 * - Login failures are throttled per address, and per account for addresses that never logged in
 *   (LoginThrottle, LoginHistory): an attempt is counted before its password is checked, so parallel
 *   guesses wait like sequential ones; a wrong password leaves the caller's current session alone.
 * - `changePassword()` checks the current password under the same throttle as a login, then ends
 *   every session and hands back a new one for the browser that asked. `setPassword()` (the
 *   console's, no current password) ends every session.
 * - `resetPassword()` (the console's) removes the password but keeps the account's row: the box is
 *   "setup required" again, every session ends, and a fresh setup code is written; setup with that
 *   code then sets the password (and the user name) again.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../system/clock.js';
import type { ActivityService } from '../activity/activity.service.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotAuthenticatedError, TooManyAttemptsError } from '../errors.js';
import type { AuthRepository } from './auth.repository.js';
import type { FailedLogins } from './auth.model.js';
import type { LoginHistory } from './login-history.js';
import type { LoginThrottle } from './login-throttle.js';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';
import { setupCodeMatches } from './setup-code.js';

export interface AuthServiceOptions {
  repo: AuthRepository;
  throttle: LoginThrottle;
  /** Known addresses and the trace of failures (kept in the catalog). */
  history: LoginHistory;
  activity: ActivityService;
  clock: Clock;
  /** The current setup code, or null once an admin exists. */
  setupCode: () => string | null;
  /** Called once the admin exists (deletes the setup-code file). */
  onSetupDone: () => Promise<void>;
  /** Called when the password was reset: writes a fresh setup code (which `setupCode()` then returns) and returns it. */
  newSetupCode: () => Promise<string>;
  /** Session idle timeout in ms. Default 24 h. */
  idleMs?: number;
  /** Session lifetime in ms. Default 14 days. */
  maxAgeMs?: number;
}

export interface NewSession {
  /** The cookie value (never stored). */
  token: string;
  username: string;
  expiresAt: number;
}

/** What a login gives: the new session, and the failed logins since the previous one (told once). */
export interface LoginResult extends NewSession {
  failedLogins: FailedLogins | null;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A hash made once at start-up, checked when the account does not exist, so a wrong name costs the same time. */
let decoyHash: Promise<string> | null = null;

export class AuthService {
  readonly #o: AuthServiceOptions;
  readonly #idleMs: number;
  readonly #maxAgeMs: number;

  constructor(options: AuthServiceOptions) {
    this.#o = options;
    this.#idleMs = options.idleMs ?? 24 * 3600 * 1000;
    this.#maxAgeMs = options.maxAgeMs ?? 14 * 24 * 3600 * 1000;
  }

  /** True before the first setup and after a password reset (an admin row without a password). */
  setupRequired(): boolean {
    const admin = this.#o.repo.admin();
    return admin === undefined || admin.password_hash === '';
  }

  async setup(input: { setupCode: string; username: string; password: string }, address: string): Promise<NewSession> {
    const { repo, throttle, clock } = this.#o;
    const code = this.#o.setupCode();
    if (!code || !this.setupRequired()) throw new ConflictError('This box is already set up. Log in instead.');
    const keys = [`setup:${address}`];
    this.#begin(keys);
    if (!setupCodeMatches(input.setupCode, code)) {
      throttle.wrong(keys);
      const message = 'That setup code is not right. It is printed on the service console and stored in the file setup-code in the data folder.';
      throw new ForbiddenError(message, [{ path: 'setupCode', message }]);
    }
    throttle.clear(keys);
    const problem = await passwordProblem(input.password, [input.username, code]);
    if (problem) throw new InvalidInputError(problem, [{ path: 'password', message: problem }]);
    const hash = await hashPassword(input.password);
    const afterReset = repo.admin() !== undefined;
    // The hash took a while: another setup may have won meanwhile. The table's single row decides.
    if (!repo.createAdmin(input.username, hash, clock.now())) {
      throw new ConflictError('This box is already set up. Log in instead.');
    }
    this.#o.history.succeeded(address, input.username);
    await this.#o.onSetupDone();
    const message = afterReset ? `Admin password set again after a reset, for "${input.username}".` : `Admin account "${input.username}" created.`;
    this.#o.activity.record({ level: 'info', kind: 'auth.setup', message });
    return this.#newSession(input.username);
  }

  async login(input: { username: string; password: string }, address: string): Promise<LoginResult> {
    const { throttle, history } = this.#o;
    const addressKey = `addr:${address}`;
    // An address that logged in before skips the account's delay: others cannot lock it out.
    const accountKey = history.isKnown(address) ? null : `user:${input.username.toLowerCase()}`;
    const keys = accountKey ? [addressKey, accountKey] : [addressKey];
    this.#begin(keys);
    const admin = this.#o.repo.admin();
    decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
    const isAdmin = admin !== undefined && admin.username === input.username;
    const ok = isAdmin
      ? await verifyPassword(input.password, admin.password_hash)
      : (await verifyPassword(input.password, await decoyHash)) && false;
    if (!ok) {
      throttle.wrong(keys);
      history.failed({
        username: isAdmin ? input.username : null,
        address,
        addressFailures: throttle.failures(addressKey),
        accountFailures: accountKey ? throttle.failures(accountKey) : null,
        freeAttempts: throttle.freeAttempts,
      });
      throw new NotAuthenticatedError('Wrong user name or password.');
    }
    throttle.clear([addressKey]);
    if (accountKey) throttle.undo([accountKey]);
    const failedLogins = history.succeeded(address, input.username);
    return { ...this.#newSession(input.username), failedLogins };
  }

  /** Lifts every login delay (`safehold unlock`); returns how many addresses and accounts were waiting or counting. */
  unlockLogins(): { addresses: number; accounts: number } {
    const gone = this.#o.throttle.clear();
    const addresses = gone.filter((k) => k.startsWith('addr:')).length;
    const accounts = gone.filter((k) => k.startsWith('user:')).length;
    this.#o.activity.record({
      level: 'info',
      kind: 'auth.unlocked',
      message: `Login delays lifted from the command line (${addresses} address${addresses === 1 ? '' : 'es'}, ${accounts} account${accounts === 1 ? '' : 's'}).`,
    });
    return { addresses, accounts };
  }

  /** The user name behind a cookie value, or null when the session is unknown or over. Slides the idle timeout. */
  authenticate(token: string | undefined): string | null {
    if (!token) return null;
    const idHash = hashToken(token);
    const session = this.#o.repo.session(idHash);
    const now = this.#o.clock.now();
    if (!session) return null;
    if (session.expires_at <= now || session.last_seen_at + this.#idleMs <= now) {
      this.#o.repo.deleteSession(idHash);
      return null;
    }
    if (now - session.last_seen_at > 60_000) this.#o.repo.touchSession(idHash, now); // not on every request
    return session.username;
  }

  logout(token: string | undefined): void {
    if (token) this.#o.repo.deleteSession(hashToken(token));
  }

  /**
   * The signed-in admin changes the password: `currentPassword` must be right (a wrong one counts as
   * a failed login of the account and the address), `newPassword` must pass the policy. Then every
   * session ends, and the one returned replaces the caller's.
   */
  async changePassword(input: { currentPassword: string; newPassword: string }, username: string, address: string): Promise<NewSession> {
    const admin = this.#o.repo.admin();
    if (!admin || admin.password_hash === '' || admin.username !== username) throw new NotAuthenticatedError('Please log in.');
    // The same keys as a login from this address, counted and taken back the same way.
    const { throttle, history } = this.#o;
    const addressKey = `addr:${address}`;
    const accountKey = history.isKnown(address) ? null : `user:${username.toLowerCase()}`;
    const keys = accountKey ? [addressKey, accountKey] : [addressKey];
    this.#begin(keys);
    if (!(await verifyPassword(input.currentPassword, admin.password_hash))) {
      throttle.wrong(keys);
      const message = 'The current password is not right.';
      throw new InvalidInputError(message, [{ path: 'currentPassword', message }]);
    }
    throttle.clear([addressKey]);
    if (accountKey) throttle.undo([accountKey]);
    await this.#replacePassword(input.newPassword, 'on the admin page; every other session was ended');
    return this.#newSession(username);
  }

  /** The console sets a new password (whoever can open the local socket is the service's user). Ends every session. */
  async setPassword(newPassword: string): Promise<void> {
    if (this.setupRequired()) throw new ConflictError('There is no admin password to change: set one up on the admin page with the setup code.');
    await this.#replacePassword(newPassword, 'from the console; every session was ended');
  }

  /** The console removes the admin's password: setup is required again, with the returned new setup code. */
  async resetPassword(): Promise<{ setupCode: string }> {
    const { repo } = this.#o;
    const admin = repo.admin();
    if (!admin) throw new ConflictError('This box is not set up yet: use the setup code it printed (also in the file setup-code in the data folder).');
    repo.clearPasswordHash();
    const ended = repo.deleteAllSessions();
    const setupCode = await this.#o.newSetupCode();
    this.#o.activity.record({
      level: 'warning',
      kind: 'auth.password_reset',
      message: `The admin password was reset from the console; ${ended} session${ended === 1 ? '' : 's'} ended. Setup is open again with a new setup code.`,
    });
    return { setupCode };
  }

  pruneSessions(): number {
    const now = this.#o.clock.now();
    return this.#o.repo.deleteExpired(now, now - this.#idleMs);
  }

  /** Judges (400 on the field `newPassword`), hashes and stores a new password, ends every session, writes the activity entry. */
  async #replacePassword(password: string, how: string): Promise<void> {
    const { repo } = this.#o;
    const admin = repo.admin()!;
    const problem =
      (await verifyPassword(password, admin.password_hash)) ? 'Choose a password different from the current one.' : await passwordProblem(password, [admin.username]);
    if (problem) throw new InvalidInputError(problem, [{ path: 'newPassword', message: problem }]);
    repo.setPasswordHash(await hashPassword(password));
    repo.deleteAllSessions();
    this.#o.activity.record({ level: 'info', kind: 'auth.password_changed', message: `The admin password was changed ${how}.` });
  }

  /** Counts an attempt on `keys`, or refuses it with the time to wait. */
  #begin(keys: string[]): void {
    const wait = this.#o.throttle.begin(keys);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new TooManyAttemptsError(`Too many attempts. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`, seconds);
    }
  }

  #newSession(username: string): NewSession {
    const token = randomBytes(32).toString('base64url');
    const now = this.#o.clock.now();
    const expiresAt = now + this.#maxAgeMs;
    this.#o.repo.insertSession({ id_hash: hashToken(token), username, created_at: now, last_seen_at: now, expires_at: expiresAt });
    return { token, username, expiresAt };
  }
}
