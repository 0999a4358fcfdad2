/**
 * Household users: the people who reach the shares from their computers (docs/samba.md), and what
 * each may do on each share.
 *
 * Contract:
 * - A user's name is in the catalog (`pool_users`); the password goes to Samba only (its own
 *   password database), never to the catalog, a log, the activity log or an error. The admin's
 *   password is a different thing.
 * - Passwords are judged like the admin's (server/auth/password.ts: 12 characters or more, not
 *   guessable, not holding the user's name), and must not hold control characters.
 * - A grant gives one user read-write (`rw`) or read-only (`ro`) on one share; a user without one is
 *   refused there. A grant or revocation is in effect when the call returns (Samba reloaded).
 * - Removing a user takes their grants with them, then their password and Unix account.
 * - Bad input is refused (`InvalidInputError`) before anything changes; Samba refusing is an
 *   `UnavailableError` in words, and the catalog is left as before.
 */
import { z } from 'zod';
import { passwordProblem } from '../auth/password.js';
import { checkUserName, SambaError, SambaInputError, type SambaServer } from '../../system/samba/samba.js';
import type { Clock } from '../../system/clock.js';
import type { ActivityService } from '../activity/activity.service.js';
import { ConflictError, InvalidInputError, NotFoundError, UnavailableError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { ShareRepository } from './share.repository.js';
import type { Access, HouseholdUserRepository } from './user.repository.js';

export const CreateUserBody = z.strictObject({ name: z.string().max(40), password: z.string().max(1024) });
export const PasswordBody = z.strictObject({ password: z.string().max(1024) });
export const GrantBody = z.strictObject({ access: z.enum(['rw', 'ro']) });

export interface HouseholdUserView {
  name: string;
  createdAt: string;
  /** The shares this user may use, and how. */
  grants: { share: string; access: Access }[];
  /** False when Samba has no password for them (its password database was lost or replaced): set one again. */
  canLogIn: boolean;
}

export interface HouseholdUserServiceOptions {
  repo: HouseholdUserRepository;
  shares: ShareRepository;
  /** Null when Samba is not installed: users can be listed, not made. */
  samba: SambaServer | null;
  /** Makes Samba export the shares as the catalog now says (SmbService.apply). */
  applyShares: () => Promise<void>;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
}

export class HouseholdUserService {
  constructor(private readonly o: HouseholdUserServiceOptions) {}

  async list(): Promise<HouseholdUserView[]> {
    const known = new Set(this.o.samba ? await this.o.samba.listUsers().catch(() => []) : []);
    const grants = this.o.repo.grants();
    return this.o.repo.list().map((u) => ({
      name: u.name,
      createdAt: new Date(u.createdAt).toISOString(),
      grants: grants.filter((g) => g.user === u.name).map((g) => ({ share: g.share, access: g.access })),
      canLogIn: known.has(u.name),
    }));
  }

  async get(name: string): Promise<HouseholdUserView> {
    const user = (await this.list()).find((u) => u.name === name);
    if (!user) throw new NotFoundError(`There is no household user called ${JSON.stringify(name)}.`);
    return user;
  }

  async create(input: z.infer<typeof CreateUserBody>): Promise<HouseholdUserView> {
    try {
      checkUserName(input.name);
    } catch (error) {
      if (error instanceof SambaInputError) throw new InvalidInputError(error.message, [{ path: 'name', message: error.message }]);
      throw error;
    }
    if (this.o.repo.get(input.name)) throw new InvalidInputError(`There is already a household user called ${input.name}.`, [{ path: 'name', message: 'Already used' }]);
    await this.#checkPassword(input.name, input.password);
    const samba = this.#samba();
    await this.#inSamba(`${input.name} was not made`, () => samba.setUser(input.name, input.password));
    try {
      this.o.repo.add({ name: input.name, createdAt: this.o.clock.now() });
    } catch (error) {
      await samba.removeUser(input.name).catch(() => undefined);
      throw error;
    }
    this.o.activity.record({ level: 'info', kind: 'pool.user-created', subject: input.name, message: `Household user ${input.name} was made. Give them shares to use.` });
    return this.get(input.name);
  }

  async setPassword(name: string, password: string): Promise<void> {
    const user = this.#user(name);
    await this.#checkPassword(user.name, password);
    const samba = this.#samba();
    await this.#inSamba(`The password of ${user.name} was not changed`, () => samba.setUser(user.name, password));
    this.o.activity.record({ level: 'info', kind: 'pool.user-password', subject: user.name, message: `The password of household user ${user.name} was changed.` });
  }

  /** Their grants, their password and their account go; files they wrote stay in the shares. */
  async remove(name: string): Promise<void> {
    const user = this.#user(name);
    const shares = [...new Set(this.o.repo.grants().filter((g) => g.user === user.name).map((g) => g.share))];
    if (this.o.samba) {
      const samba = this.o.samba;
      await this.#inSamba(`${user.name} was not removed`, () => samba.removeUser(user.name));
    }
    this.o.repo.delete(user.name);
    await this.o.applyShares();
    this.o.activity.record({
      level: 'info',
      kind: 'pool.user-removed',
      subject: user.name,
      message: `Household user ${user.name} was removed${shares.length ? ` and can no longer use ${shares.join(', ')}` : ''}. The files they wrote stay in the shares.`,
    });
    for (const share of shares) this.o.bus.publish('shares', { changed: share });
  }

  /** `user` may read and write (`rw`) or only read (`ro`) `share` from now on. */
  async grant(shareName: string, userName: string, access: Access): Promise<void> {
    const share = this.o.shares.get(shareName);
    if (!share) throw new NotFoundError(`There is no share called ${JSON.stringify(shareName)}.`);
    if (share.removedAt !== null) throw new ConflictError(`Share ${share.name} was removed: bring it back first.`);
    const user = this.#user(userName);
    const before = this.o.repo.grants(share.name).find((g) => g.user === user.name)?.access;
    this.o.repo.setGrant(share.name, user.name, access);
    await this.o.applyShares();
    if (before !== access) {
      this.o.activity.record({
        level: 'info',
        kind: 'share.granted',
        subject: share.name,
        message: `${user.name} may now ${access === 'rw' ? 'read and change' : 'only read'} the files of ${share.name}${before ? ` (before: ${before === 'rw' ? 'read and change' : 'only read'})` : ''}.`,
      });
    }
    this.o.bus.publish('shares', { changed: share.name });
  }

  /** `user` can no longer use `share` (already open connections keep going until they end). Idempotent. */
  async revoke(shareName: string, userName: string): Promise<void> {
    const share = this.o.shares.get(shareName);
    if (!share) throw new NotFoundError(`There is no share called ${JSON.stringify(shareName)}.`);
    const user = this.#user(userName);
    if (!this.o.repo.deleteGrant(share.name, user.name)) return;
    await this.o.applyShares();
    this.o.activity.record({ level: 'info', kind: 'share.revoked', subject: share.name, message: `${user.name} can no longer use ${share.name}.` });
    this.o.bus.publish('shares', { changed: share.name });
  }

  /** The grants of one share, by user (for the share's view). */
  grantsOf(share: string): { user: string; access: Access }[] {
    return this.o.repo.grants(share).map((g) => ({ user: g.user, access: g.access }));
  }

  #user(name: string) {
    const user = this.o.repo.get(name);
    if (!user) throw new NotFoundError(`There is no household user called ${JSON.stringify(name)}.`);
    return user;
  }

  #samba(): SambaServer {
    if (!this.o.samba) throw new UnavailableError('Samba is not installed, so household users cannot be made.', 'Install it: apt-get install samba');
    return this.o.samba;
  }

  async #checkPassword(name: string, password: string): Promise<void> {
    const problem = /\p{Cc}/u.test(password) ? 'The password cannot hold a line break or another control character.' : await passwordProblem(password, [name]);
    if (problem) throw new InvalidInputError(problem, [{ path: 'password', message: problem }]);
  }

  /** Runs a Samba step; its refusal becomes words for the owner (Samba's own messages never hold the password). */
  async #inSamba(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (error instanceof SambaInputError) throw new InvalidInputError(`${what}: ${error.message}`, [], { cause: error });
      if (error instanceof SambaError) throw new UnavailableError(`${what}: ${error.message}`, 'The service log may say more; check that Samba is installed and working.', { cause: error });
      throw error;
    }
  }
}
