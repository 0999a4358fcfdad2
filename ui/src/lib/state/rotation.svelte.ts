// Rotation backup drives (GET/POST /rotation/drives): the registered drives, plugged in or not,
// and the registrations this page started, followed through their `rotation.register` jobs
// (which arrive live as `job` events in JobsState).
import type { ApiClient } from '../api/client.ts';
import { isActiveJob, JOB_ROTATION_REGISTER, type Job, type RotationDrive, type RotationRegisterInput } from '../api/types.ts';
import type { JobsState } from './jobs.svelte.ts';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class RotationState {
  /** Every registered rotation drive, by name. */
  drives = $state.raw<RotationDrive[]>([]);
  loaded = $state(false);
  /** Drive id → id of the registration job this page started for it. */
  #started = $state.raw<Readonly<Record<string, number>>>({});
  /** Job ids whose end was already reported (a finished job may be sent again after a reconnect). */
  #ended = new Set<number>();

  /** The first letter no registered drive (nor a running registration) is called: "A", then "B"… */
  suggestedName = $derived.by(() => {
    const taken = new Set(this.drives.map((d) => d.name.trim().toUpperCase()));
    for (const id of Object.values(this.#started)) {
      const name = this.#names.get(id);
      const job = this.#jobs.byId(id);
      if (name && job && job.state !== 'failed' && job.state !== 'cancelled' && job.state !== 'interrupted') taken.add(name.toUpperCase());
    }
    for (const letter of LETTERS) if (!taken.has(letter)) return letter;
    return '';
  });

  readonly #api: ApiClient;
  readonly #jobs: JobsState;
  /** Job id → the name it registers (for the suggestion while it runs). */
  #names = new Map<number, string>();

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  async load(): Promise<void> {
    const { drives } = await this.#api.rotationDrives();
    this.drives = [...drives].sort((a, b) => a.name.localeCompare(b.name, 'en'));
    this.loaded = true;
  }

  /**
   * Starts registering a drive (202 with a job). A 400 is thrown with issues `name`, `confirm`,
   * `mode`; a 409 for the system disk, a drive already registered or not connected.
   */
  async register(input: RotationRegisterInput): Promise<Job> {
    const { job } = await this.#api.registerRotationDrive(input);
    this.#names.set(job.id, input.name);
    this.#jobs.apply(job);
    this.#started = { ...this.#started, [input.driveId]: job.id };
    return job;
  }

  /**
   * The registration job to show for a drive: the one this page started, else a queued or running
   * one the jobs list holds (started in another tab, or before a reload).
   */
  jobFor(driveId: string): Job | null {
    const id = this.#started[driveId];
    if (id !== undefined) {
      const job = this.#jobs.byId(id);
      if (job) return job;
    }
    return this.#jobs.jobs.find((j) => j.kind === JOB_ROTATION_REGISTER && j.target === driveId && isActiveJob(j)) ?? null;
  }

  /** Forgets a drive's ended registration (the panel opens afresh); a running one stays. */
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
   * A job changed. For a registration that just ended, returns how it ended and whether this page
   * started it (once per job); null otherwise.
   */
  jobChanged(job: Job): { state: Job['state']; ours: boolean } | null {
    if (job.kind !== JOB_ROTATION_REGISTER || isActiveJob(job) || this.#ended.has(job.id)) return null;
    this.#ended.add(job.id);
    return { state: job.state, ours: Object.values(this.#started).includes(job.id) };
  }

  clear(): void {
    this.drives = [];
    this.loaded = false;
    this.#started = {};
    this.#ended.clear();
    this.#names.clear();
  }
}
