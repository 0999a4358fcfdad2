// The storage pool (GET /pool, POST /pool/members): its disks, connected or not, and the joins this
// page started, followed through their `pool.add` jobs (which arrive live as `job` events in
// JobsState). Read when the Storage page opens, then again on each `pool` event and whenever a
// join or a mount ends (App).
import type { ApiClient } from '../api/client.ts';
import { isActiveJob, JOB_POOL_ADD, JOB_POOL_MOUNT, type Job, type PoolAddInput, type PoolMember } from '../api/types.ts';
import type { JobsState } from './jobs.svelte.ts';

export class PoolState {
  /** Every disk of the pool, as the server lists them. */
  members = $state.raw<PoolMember[]>([]);
  loaded = $state(false);
  /** Drive id -> id of the `pool.add` job this page started for it. */
  #started = $state.raw<Readonly<Record<string, number>>>({});
  /** Job ids whose end was already reported (a finished job may be sent again after a reconnect). */
  #ended = new Set<number>();
  /** Raised by each read: an answer overtaken by a later read is dropped. */
  #reads = 0;

  readonly #api: ApiClient;
  readonly #jobs: JobsState;

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  async load(): Promise<void> {
    const read = ++this.#reads;
    const { members } = await this.#api.pool();
    if (read !== this.#reads) return;
    this.members = members;
    this.loaded = true;
  }

  /** The `pool` event: a disk joined, was mounted, refused or went missing. Re-read once the page read the pool. */
  changed(): Promise<void>[] {
    return this.loaded ? [this.load()] : [];
  }

  /**
   * Starts a disk's join (202 with a job). A 400 is thrown with issues `mode` or `confirm`; a 409
   * for the system disk, a rotation drive, a disk already in the pool or a read-only one.
   */
  async add(input: PoolAddInput): Promise<Job> {
    const { job } = await this.#api.addPoolMember(input);
    this.#jobs.apply(job);
    this.#started = { ...this.#started, [input.driveId]: job.id };
    return job;
  }

  /** The join to show for a disk: the one this page started, else a queued or running one (another tab, a reload). */
  jobFor(driveId: string): Job | null {
    const id = this.#started[driveId];
    if (id !== undefined) {
      const job = this.#jobs.byId(id);
      if (job) return job;
    }
    return this.#jobs.jobs.find((j) => j.kind === JOB_POOL_ADD && j.target === driveId && isActiveJob(j)) ?? null;
  }

  /** Forgets a disk's ended join (the panel opens afresh); a running one stays. */
  forget(driveId: string): void {
    const id = this.#started[driveId];
    if (id === undefined) return;
    const job = this.#jobs.byId(id);
    if (job && isActiveJob(job)) return;
    const rest = { ...this.#started };
    delete rest[driveId];
    this.#started = rest;
  }

  /**
   * A job changed. For a join or a mount that just ended, returns its kind, how it ended and
   * whether this page started it (once per job); null otherwise.
   */
  jobChanged(job: Job): { kind: string; state: Job['state']; ours: boolean } | null {
    if ((job.kind !== JOB_POOL_ADD && job.kind !== JOB_POOL_MOUNT) || isActiveJob(job) || this.#ended.has(job.id)) return null;
    this.#ended.add(job.id);
    return { kind: job.kind, state: job.state, ours: Object.values(this.#started).includes(job.id) };
  }

  /** Free and total space of the disks mounted now. */
  space = $derived.by(() => {
    let freeBytes = 0;
    let sizeBytes = 0;
    for (const m of this.members) {
      if (m.state !== 'mounted' || m.sizeBytes === null || m.freeBytes === null) continue;
      freeBytes += m.freeBytes;
      sizeBytes += m.sizeBytes;
    }
    return { freeBytes, sizeBytes };
  });

  clear(): void {
    this.members = [];
    this.loaded = false;
    this.#started = {};
    this.#ended.clear();
    this.#reads++;
  }
}
