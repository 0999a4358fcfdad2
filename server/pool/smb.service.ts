/**
 * The pool's shares on the network: keeps Samba (system/samba) exporting what the catalog and the
 * pool say (docs/samba.md, "How the service runs Samba").
 *
 * Contract:
 * - Exported are exactly the active shares whose pooled view is mounted now (a share without a
 *   disk is not on the network), each with its guest access and its grants to the household users
 *   Samba knows (a user whose password Samba lost gets nothing until it is set again).
 * - `apply()` after every change of shares, users, grants or views: one at a time, and a call made
 *   while one waits joins it. It resolves when Samba serves the state the catalog had when that run
 *   began; it never throws (a failure is logged and kept as `problem()`).
 * - smbd is started by the first `apply()` that has a share to export (a box without shares runs
 *   no Samba), after the files owner's account is made; a start that failed is tried again by the
 *   next `apply()`. `stop()` stops it; nothing is applied after that.
 */
import type { Logger } from 'pino';
import { shareAddresses, type GuestAccess, type SambaServer, type SambaShare } from '../../system/samba/samba.js';
import type { EventBus } from '../events.js';
import type { SmbAddresses } from './share.service.js';
import type { HouseholdUserRepository } from './user.repository.js';

export interface SmbServiceOptions {
  samba: SambaServer;
  users: HouseholdUserRepository;
  /** The shares that may be on the network now (active, view mounted). */
  exported: () => { name: string; path: string; guest: GuestAccess }[];
  /**
   * Makes sure the account that owns the shares' files exists (once; later calls answer the same);
   * null when there is none to make (the simulated host). Throws with the reason.
   */
  filesOwner: () => Promise<{ uid: number; gid: number } | null>;
  /** The name the box is reached by (`safehold.local`). */
  host: () => string;
  /** The TCP port clients reach Samba on (445 unless moved for tests). */
  port: number;
  bus: EventBus;
  log: Logger;
}

export class SmbService {
  #started = false;
  #stopped = false;
  /** Why the last run could not make Samba serve the shares, in words; null when it could. */
  #problem: string | null = null;
  #last: Promise<void> = Promise.resolve();
  #waiting: Promise<void> | null = null;

  constructor(private readonly o: SmbServiceOptions) {}

  /** Follows every change of the shares (the bus); the views' changes come through `apply()`. */
  start(): void {
    this.o.bus.subscribe('shares', () => void this.apply());
  }

  apply(): Promise<void> {
    if (this.#waiting) return this.#waiting;
    const run = this.#last.then(() => {
      this.#waiting = null;
      return this.#applyNow();
    });
    this.#waiting = run;
    this.#last = run;
    return run;
  }

  async #applyNow(): Promise<void> {
    if (this.#stopped) return;
    try {
      const known = new Set(await this.o.samba.listUsers());
      const shares: SambaShare[] = this.o.exported().map((s) => ({
        name: s.name,
        path: s.path,
        guest: s.guest,
        grants: this.o.users
          .grants(s.name)
          .filter((g) => known.has(g.user))
          .map((g) => ({ user: g.user, access: g.access })),
      }));
      await this.o.samba.applyShares(shares);
      if (!this.#started && shares.length > 0) {
        await this.o.filesOwner();
        await this.o.samba.start();
        this.#started = true;
        this.o.log.info({ shares: shares.map((s) => s.name), port: this.o.port }, 'samba: the shares are on the network');
      }
      this.#problem = null;
    } catch (error) {
      this.#problem = `The shares are not on the network: ${(error as Error).message}`;
      this.o.log.warn({ err: error }, 'samba: exporting the shares failed');
    }
  }

  /**
   * Why the shares are not reachable now, in words, or null: the last apply failed, or smbd is
   * not running (a self-run one between restarts, the system's one not taking the configuration).
   */
  problem(): string | null {
    if (this.#problem) return this.#problem;
    if (!this.#started || this.#stopped) return null;
    const status = this.o.samba.status();
    return status.running ? null : `Samba is not running, so the shares cannot be reached${status.problem ? `: ${status.problem}` : '.'}`;
  }

  /** What to type on each computer to reach `share`. */
  addressesOf(share: string): SmbAddresses {
    const a = shareAddresses(this.o.host(), share, this.o.port);
    return { windows: a.windows, macos: a.mac, linux: a.linux };
  }

  /** Stops Samba (before the views go, so no client holds one); waits for an apply under way. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#last;
    await this.o.samba.stop();
  }
}
