/**
 * The simulated `SambaServer` (the demo, service tests): keeps users, passwords and shares in
 * memory, renders the same configuration the real one would write (`config`), and answers what a
 * client could do with `canAccess()` by the same rules (`accessOf`). It refuses what the real one
 * refuses, with the same errors: the contract suite (test/system/samba.test.ts) runs on both.
 */
import {
  accessOf,
  checkAccountPrefix,
  checkUserName,
  renderSambaConfig,
  SambaInputError,
  type FilesOwner,
  type SambaServer,
  type SambaShare,
  type SambaStatus,
  type ShareAccess,
} from './samba.js';

export interface SimulatedSambaOptions {
  filesOwner?: FilesOwner;
  accountPrefix?: string;
  /** Shown in the rendered configuration as the self-run folder. Default `/var/lib/safehold/samba`. */
  folder?: string;
  port?: number;
}

export class SimulatedSamba implements SambaServer {
  readonly #passwords = new Map<string, string>();
  #shares: readonly SambaShare[] = [];
  #running = false;
  readonly #filesOwner: FilesOwner;
  readonly #prefix: string;
  readonly #folder: string;
  readonly #port: number;
  /** The configuration as it would be written now; `null` before the first `start()`/change. */
  config: string | null = null;

  constructor(options: SimulatedSambaOptions = {}) {
    this.#filesOwner = options.filesOwner ?? { user: 'root', group: 'root' };
    this.#prefix = options.accountPrefix ?? 'sh-';
    checkAccountPrefix(this.#prefix);
    this.#folder = options.folder ?? '/var/lib/safehold/samba';
    this.#port = options.port ?? 445;
  }

  async start(): Promise<void> {
    this.#render(this.#shares, this.#users());
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
  }

  status(): SambaStatus {
    return { running: this.#running, restarts: 0, problem: null };
  }

  async listUsers(): Promise<string[]> {
    return this.#users();
  }

  async setUser(name: string, password: string): Promise<void> {
    checkUserName(name);
    if (typeof password !== 'string' || password.length === 0) throw new SambaInputError('The password is empty.');
    if (/[\r\n\0]/.test(password)) throw new SambaInputError('The password cannot hold a line break.');
    this.#passwords.set(name, password);
    this.#render(this.#shares, this.#users());
  }

  async removeUser(name: string): Promise<void> {
    checkUserName(name);
    this.#shares = this.#shares.map((s) => ({ ...s, grants: s.grants.filter((g) => g.user !== name) }));
    this.#passwords.delete(name);
    this.#render(this.#shares, this.#users());
  }

  async applyShares(shares: readonly SambaShare[]): Promise<void> {
    const copy = shares.map((s) => ({ ...s, grants: s.grants.map((g) => ({ ...g })) }));
    this.#render(copy, this.#users()); // throws before anything changes
    this.#shares = copy;
  }

  /**
   * What a client could do on `share` while the server runs: `user` null is a guest (no name), and
   * so is a name that is no user; a user's wrong password, a stopped server or an unknown share: `'none'`.
   */
  canAccess(user: string | null, share: string, password?: string): ShareAccess | 'none' {
    if (!this.#running) return 'none';
    if (user !== null && password !== undefined && this.#passwords.has(user) && this.#passwords.get(user) !== password) return 'none';
    return accessOf(this.#shares, this.#users(), user, share);
  }

  #users(): string[] {
    return [...this.#passwords.keys()].sort();
  }

  #render(shares: readonly SambaShare[], users: readonly string[]): void {
    this.config = renderSambaConfig({
      mode: { kind: 'self-run', folder: this.#folder, port: this.#port, address: null },
      shares,
      users,
      accountPrefix: this.#prefix,
      filesOwner: this.#filesOwner,
      usernameMapFile: `${this.#folder}/users.map`,
      guestAccount: 'nobody',
    });
  }
}
