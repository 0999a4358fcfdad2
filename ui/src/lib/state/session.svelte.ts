// Who is using the page: whether the box still needs its first setup, whether this browser
// has a session, and the CSRF token (held by the API client) that goes with it.
import type { ApiClient } from '../api/client.ts';
import { ApiError } from '../api/client.ts';
import type { ChangePasswordRequest, FailedLogins, LoginAnswer, SetupRequest } from '../api/types.ts';

export class Session {
  /** False until the first GET /session answered. */
  loaded = $state(false);
  setupRequired = $state(false);
  authenticated = $state(false);
  username = $state<string | null>(null);
  /** Epoch ms until which the server refuses logins (after a 429). */
  loginBlockedUntil = $state<number | null>(null);
  /** The failed logins since the last visit, from this browser's login answer; shown until dismissed, once. */
  failedLogins = $state<FailedLogins | null>(null);

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  /** Reads GET /session; also renews the CSRF token. Throws when the service is unreachable. */
  async load(): Promise<void> {
    const s = await this.#api.session();
    this.#api.setCsrfToken(s.csrfToken);
    this.setupRequired = s.setupRequired;
    this.authenticated = s.authenticated;
    this.username = s.username;
    this.loaded = true;
  }

  /** Creates the admin account; on success this browser is logged in as it. */
  async setup(request: SetupRequest): Promise<void> {
    this.#signedIn(await this.#api.setup(request));
    this.setupRequired = false;
  }

  /** Logs in; a 429 records until when the server refuses and is rethrown. */
  async login(username: string, password: string): Promise<void> {
    try {
      const answer = await this.#api.login({ username, password });
      this.#signedIn(answer);
      this.loginBlockedUntil = null;
      this.failedLogins = answer.failedLogins ?? null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        this.loginBlockedUntil = Date.now() + (err.retryAfterSeconds ?? 30) * 1000;
      }
      throw err;
    }
  }

  /** Changes the password; the server ends every other session and gives this browser a new one. */
  async changePassword(request: ChangePasswordRequest): Promise<void> {
    this.#signedIn(await this.#api.changePassword(request));
  }

  /** Ends the session on the server, then fetches a fresh token for the next login. */
  async logout(): Promise<void> {
    try {
      await this.#api.logout();
    } finally {
      this.ended();
      await this.load().catch(() => undefined);
    }
  }

  dismissFailedLogins(): void {
    this.failedLogins = null;
  }

  /** The server no longer knows this session (a 401, or after logout). */
  ended(): void {
    this.authenticated = false;
    this.username = null;
    this.failedLogins = null;
  }

  #signedIn(answer: LoginAnswer): void {
    this.#api.setCsrfToken(answer.csrfToken);
    this.authenticated = true;
    this.username = answer.username;
  }
}
