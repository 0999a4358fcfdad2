/** What the login answer tells about the logins before it. Pure types: the page imports them too. */

/** The failed logins since the last successful login or setup (docs/api.md, `POST /login`). */
export interface FailedLogins {
  count: number;
  /** When the previous successful login was (ISO 8601), or null when there was none. */
  since: string | null;
  /** When the latest failure was (ISO 8601). */
  latestAt: string;
  /** The address the latest failure came from. */
  latestFrom: string;
}
