// Disk health beyond the summary each Drive carries: one disk's full health view
// (GET /drives/:id/health), its self-tests (started here, followed through `job` events), its
// acknowledgements, and "check every disk now" (POST /health/check).
import { ApiError, type ApiClient } from '../api/client.ts';
import { isActiveJob, JOB_HEALTH_POLL, JOB_SELF_TEST, type Drive, type DriveHealthView, type Job } from '../api/types.ts';
import type { JobsState } from './jobs.svelte.ts';

export type SelfTestKind = 'short' | 'long';

export class HealthState {
  /** The last health view read per drive id. */
  views = $state.raw<Readonly<Record<string, DriveHealthView>>>({});
  /** Drive ids whose view is being read. */
  loading = $state.raw<ReadonlySet<string>>(new Set());
  /** Drive ids the server does not know (404). */
  unknown = $state.raw<ReadonlySet<string>>(new Set());
  /** Drive ids for which this page is posting a self-test start. */
  #starting = $state.raw<ReadonlySet<string>>(new Set());
  #checkJobId = $state<number | null>(null);
  #checkPosting = $state(false);

  readonly #api: ApiClient;
  readonly #jobs: JobsState;

  /** True while a "check disks now" this page asked for is queued or running. */
  checking = $derived.by(() => {
    if (this.#checkPosting) return true;
    if (this.#checkJobId === null) return false;
    const job = this.#jobs.byId(this.#checkJobId);
    return job ? isActiveJob(job) : false;
  });

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  /** Reads one drive's health view. A 404 marks the id unknown instead of throwing. */
  async load(driveId: string): Promise<void> {
    this.loading = withItem(this.loading, driveId);
    try {
      const view = await this.#api.driveHealth(driveId);
      this.views = { ...this.views, [driveId]: view };
      this.unknown = withoutItem(this.unknown, driveId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.unknown = withItem(this.unknown, driveId);
      else throw err;
    } finally {
      this.loading = withoutItem(this.loading, driveId);
    }
  }

  /**
   * The newest self-test job of a drive the page knows of (the job's `target` is the drive id):
   * running, queued, or the last one that ended. Its progress is percent done (itemsDone of 100).
   */
  selfTestJob(driveId: string): Job | null {
    return this.#jobs.jobs.find((j) => j.kind === JOB_SELF_TEST && j.target === driveId) ?? null;
  }

  /** A self-test runs on the drive: one this page follows, or one the drive itself reports. */
  selfTestRunning(driveId: string, drive: Drive | undefined): boolean {
    const job = this.selfTestJob(driveId);
    return this.#starting.has(driveId) || (job !== null && isActiveJob(job)) || !!drive?.health?.selfTest;
  }

  /**
   * Percent done of the test running on a drive: the job's progress (itemsDone of itemsTotal = 100),
   * else what the disk reports (percent left); null when not known yet or nothing runs.
   */
  selfTestPercent(driveId: string, drive: Drive | undefined): number | null {
    const job = this.selfTestJob(driveId);
    const active = job !== null && isActiveJob(job);
    if (active && job.state === 'queued') return null;
    const p = job?.progress;
    if (active && p?.itemsTotal) return clampPercent((p.itemsDone / p.itemsTotal) * 100);
    const left = drive?.health?.selfTest?.remainingPercent;
    if (drive?.health?.selfTest && left !== null && left !== undefined) return clampPercent(100 - left);
    return null;
  }

  /** True while the start of a test on this drive is being posted. */
  starting(driveId: string): boolean {
    return this.#starting.has(driveId);
  }

  /** Starts a self-test; 409 when the disk is busy or already testing (thrown to the caller). */
  async startSelfTest(driveId: string, kind: SelfTestKind): Promise<void> {
    this.#starting = withItem(this.#starting, driveId);
    try {
      const { job } = await this.#api.startSelfTest(driveId, kind);
      this.#jobs.apply(job);
    } finally {
      this.#starting = withoutItem(this.#starting, driveId);
    }
  }

  /** Acknowledges counter `key` at its current value, then re-reads the view (the verdict may change). */
  async acknowledge(driveId: string, key: string, note: string | null): Promise<void> {
    const { acknowledgements } = await this.#api.acknowledge(driveId, key, note);
    this.#patch(driveId, { acknowledgements });
    await this.load(driveId);
  }

  async removeAcknowledgement(driveId: string, key: string): Promise<void> {
    const { acknowledgements } = await this.#api.removeAcknowledgement(driveId, key);
    this.#patch(driveId, { acknowledgements });
    await this.load(driveId);
  }

  /** Reads every disk now (job `health.poll`); the results arrive with the `drives` event. */
  async checkNow(): Promise<void> {
    this.#checkPosting = true;
    try {
      const { job } = await this.#api.checkHealth();
      this.#jobs.apply(job);
      this.#checkJobId = job.id;
    } finally {
      this.#checkPosting = false;
    }
  }

  /** A `job` event: a self-test or a poll that ended makes the views it touched stale. */
  jobChanged(job: Job): Promise<void>[] {
    if (isActiveJob(job)) return [];
    if (job.kind === JOB_SELF_TEST && job.target && this.views[job.target]) return [this.load(job.target)];
    if (job.kind === JOB_HEALTH_POLL) return Object.keys(this.views).map((id) => this.load(id));
    return [];
  }

  /** A new drive list: re-read the views whose drive was read again since (new attributes, log). */
  drivesChanged(drives: Drive[]): Promise<void>[] {
    const out: Promise<void>[] = [];
    for (const d of drives) {
      const view = this.views[d.id];
      if (!view || !d.health || this.loading.has(d.id)) continue;
      const held = view.summary;
      if (!held || held.readAt !== d.health.readAt || held.verdict !== d.health.verdict) out.push(this.load(d.id));
    }
    return out;
  }

  /** Re-reads every view held (after a reconnect). */
  reloadAll(): Promise<void>[] {
    return Object.keys(this.views).map((id) => this.load(id));
  }

  clear(): void {
    this.views = {};
    this.loading = new Set();
    this.unknown = new Set();
    this.#starting = new Set();
    this.#checkJobId = null;
  }

  #patch(driveId: string, part: Partial<DriveHealthView>): void {
    const view = this.views[driveId];
    if (view) this.views = { ...this.views, [driveId]: { ...view, ...part } };
  }
}

const clampPercent = (n: number) => Math.max(0, Math.min(100, n));

function withItem<T>(set: ReadonlySet<T>, item: T): ReadonlySet<T> {
  return set.has(item) ? set : new Set([...set, item]);
}

function withoutItem<T>(set: ReadonlySet<T>, item: T): ReadonlySet<T> {
  if (!set.has(item)) return set;
  const next = new Set(set);
  next.delete(item);
  return next;
}
