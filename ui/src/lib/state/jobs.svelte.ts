// Jobs (every long operation) as GET /jobs lists them, kept current by `job` events.
import type { ApiClient } from '../api/client.ts';
import { isActiveJob, type Job } from '../api/types.ts';

export class JobsState {
  /** Newest first. */
  jobs = $state.raw<Job[]>([]);
  loaded = $state(false);
  /** Queued and running jobs, oldest first (the order they will finish in). */
  active = $derived(this.jobs.filter(isActiveJob).reverse());
  /** The few most recently ended jobs. */
  recent = $derived(this.jobs.filter((j) => !isActiveJob(j)).slice(0, 5));

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    const { jobs } = await this.#api.jobs({ limit: 20 });
    this.jobs = jobs;
    this.loaded = true;
  }

  byId(id: number): Job | undefined {
    return this.jobs.find((j) => j.id === id);
  }

  /**
   * Inserts or replaces one job (from an event or an action's answer). A job that ended never runs
   * again: an action's answer (queued) that arrives after the event of its end changes nothing.
   */
  apply(job: Job): void {
    const known = this.byId(job.id);
    if (known && !isActiveJob(known) && isActiveJob(job)) return;
    const rest = this.jobs.filter((j) => j.id !== job.id);
    this.jobs = [job, ...rest].sort((a, b) => b.id - a.id).slice(0, 50);
  }

  async cancel(id: number): Promise<void> {
    const { job } = await this.#api.cancelJob(id);
    this.apply(job);
  }

  clear(): void {
    this.jobs = [];
    this.loaded = false;
  }
}
