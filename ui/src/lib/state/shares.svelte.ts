// The storage pool's shares, household users and what each disk alone holds (GET /shares,
// GET /pool/users, GET /pool/exposure), read when the Storage page (or the overview, for the shares)
// opens, then again on each `shares` and `duplication` event and when a pool job ends (App). The
// jobs this page starts (a duplication pass, deleting a removed share's files) are followed through
// their `job` events in JobsState.
import type { ApiClient } from '../api/client.ts';
import {
  isActiveJob, JOB_POOL_DELETE_SHARE, JOB_POOL_DUPLICATE,
  type GonePreflight, type HouseholdUser, type Job, type PoolExposure, type Share, type ShareAccess, type ShareCopies, type ShareGuest, type ShareInput,
} from '../api/types.ts';
import type { JobsState } from './jobs.svelte.ts';

export class SharesState {
  shares = $state.raw<Share[]>([]);
  loaded = $state(false);
  users = $state.raw<HouseholdUser[]>([]);
  usersLoaded = $state(false);
  /** Drive id -> what it alone holds. */
  exposure = $state.raw<Readonly<Record<string, PoolExposure>>>({});
  exposureLoaded = $state(false);
  /** Drive id -> the pre-flight of "it is gone", once asked. */
  preflights = $state.raw<Readonly<Record<string, GonePreflight>>>({});
  /** Share name -> id of the `pool.delete-share` job this page started. */
  #deleting = $state.raw<Readonly<Record<string, number>>>({});
  #ended = new Set<number>();
  #reads = 0;

  readonly #api: ApiClient;
  readonly #jobs: JobsState;

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  async load(): Promise<void> {
    const read = ++this.#reads;
    const { shares } = await this.#api.shares();
    if (read !== this.#reads) return;
    this.shares = shares;
    this.loaded = true;
  }

  async loadUsers(): Promise<void> {
    const { users } = await this.#api.householdUsers();
    this.users = users;
    this.usersLoaded = true;
  }

  async loadExposure(): Promise<void> {
    const { disks } = await this.#api.poolExposure();
    this.exposure = Object.fromEntries(disks.map((d) => [d.driveId, d]));
    this.exposureLoaded = true;
  }

  /** The `shares` or `duplication` event, or a pool job ended: re-read what the page has read. */
  changed(): Promise<void>[] {
    return [
      ...(this.loaded ? [this.load()] : []),
      ...(this.usersLoaded ? [this.loadUsers()] : []),
      ...(this.exposureLoaded ? [this.loadExposure()] : []),
    ];
  }

  #put(share: Share): void {
    const at = this.shares.findIndex((s) => s.name === share.name);
    this.shares = at < 0 ? [...this.shares, share] : this.shares.map((s, i) => (i === at ? share : s));
  }

  /** 400 with issues `name` or `copies`. */
  async create(input: ShareInput): Promise<Share> {
    const { share } = await this.#api.createShare(input);
    this.#put(share);
    return share;
  }

  async update(name: string, change: { copies?: ShareCopies; guest?: ShareGuest }): Promise<void> {
    this.#put((await this.#api.updateShare(name, change)).share);
  }

  async remove(name: string): Promise<void> {
    this.#put((await this.#api.removeShare(name)).share);
  }

  async restore(name: string): Promise<void> {
    this.#put((await this.#api.restoreShare(name)).share);
  }

  async deleteFiles(name: string, confirm: string): Promise<Job> {
    const { job } = await this.#api.deleteShareFiles(name, confirm);
    this.#jobs.apply(job);
    this.#deleting = { ...this.#deleting, [name]: job.id };
    return job;
  }

  /** The deletion to show for a share: the one this page started, else a running one (another tab). */
  deletionFor(name: string): Job | null {
    const id = this.#deleting[name];
    const mine = id === undefined ? null : this.#jobs.byId(id);
    return mine ?? this.#jobs.jobs.find((j) => j.kind === JOB_POOL_DELETE_SHARE && j.target === name && isActiveJob(j)) ?? null;
  }

  async grant(share: string, user: string, access: ShareAccess): Promise<void> {
    this.#put((await this.#api.grant(share, user, access)).share);
    if (this.usersLoaded) await this.loadUsers();
  }

  async revoke(share: string, user: string): Promise<void> {
    this.#put((await this.#api.revoke(share, user)).share);
    if (this.usersLoaded) await this.loadUsers();
  }

  /** 400 with issues `name` or `password`. */
  async addUser(name: string, password: string): Promise<void> {
    const { user } = await this.#api.createHouseholdUser(name, password);
    this.users = [...this.users.filter((u) => u.name !== user.name), user];
  }

  async setPassword(name: string, password: string): Promise<void> {
    await this.#api.setHouseholdPassword(name, password);
    await this.loadUsers();
  }

  async removeUser(name: string): Promise<void> {
    await this.#api.removeHouseholdUser(name);
    this.users = this.users.filter((u) => u.name !== name);
    if (this.loaded) await this.load();
  }

  /** A duplication pass now (or the one already queued). */
  async duplicateNow(): Promise<Job> {
    const { job } = await this.#api.duplicateNow();
    this.#jobs.apply(job);
    return job;
  }

  /** The duplication pass to show: the newest running or queued one, else the newest that ran. */
  duplication = $derived.by<Job | null>(() => {
    const passes = this.#jobs.jobs.filter((j) => j.kind === JOB_POOL_DUPLICATE);
    return passes.find(isActiveJob) ?? passes[0] ?? null;
  });

  async preflight(driveId: string): Promise<GonePreflight> {
    const { preflight } = await this.#api.gonePreflight(driveId);
    this.preflights = { ...this.preflights, [driveId]: preflight };
    return preflight;
  }

  forgetPreflight(driveId: string): void {
    const rest = { ...this.preflights };
    delete rest[driveId];
    this.preflights = rest;
  }

  async missingChoice(driveId: string, choice: 'wait' | 'gone'): Promise<void> {
    await this.#api.missingChoice(driveId, choice);
    this.forgetPreflight(driveId);
  }

  /** A pool job (duplication, deletion of a share's files) that just ended, once per job; null otherwise. */
  jobChanged(job: Job): Job | null {
    if ((job.kind !== JOB_POOL_DUPLICATE && job.kind !== JOB_POOL_DELETE_SHARE) || isActiveJob(job) || this.#ended.has(job.id)) return null;
    this.#ended.add(job.id);
    return job;
  }

  clear(): void {
    this.shares = [];
    this.loaded = false;
    this.users = [];
    this.usersLoaded = false;
    this.exposure = {};
    this.exposureLoaded = false;
    this.preflights = {};
    this.#deleting = {};
    this.#ended.clear();
    this.#reads++;
  }
}
