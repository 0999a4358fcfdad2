// The connected drives as GET /drives and the `drives` event report them, which ones were
// just connected, and the rescan action.
import type { ApiClient } from '../api/client.ts';
import { isActiveJob, type Drive, type DriveList } from '../api/types.ts';
import type { JobsState } from './jobs.svelte.ts';

/** How long a newly connected drive carries its "just connected" badge, in milliseconds. */
export const JUST_CONNECTED_MS = 30_000;

export class DrivesState {
  /** System disk first, as the server orders them. */
  drives = $state.raw<Drive[]>([]);
  refreshedAt = $state<string | null>(null);
  loaded = $state(false);
  /** Ids of drives that appeared since the page first saw the list. */
  justConnected = $state.raw<ReadonlySet<string>>(new Set());
  #rescanJobId = $state<number | null>(null);
  #rescanPosting = $state(false);

  readonly #api: ApiClient;
  readonly #jobs: JobsState;
  #timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** True while a rescan this page asked for is queued or running. */
  rescanning = $derived.by(() => {
    if (this.#rescanPosting) return true;
    if (this.#rescanJobId === null) return false;
    const job = this.#jobs.byId(this.#rescanJobId);
    return job ? isActiveJob(job) : false;
  });

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  async load(): Promise<void> {
    this.apply(await this.#api.drives());
  }

  /** Replaces the list; drives not seen in the previous list are marked just connected. */
  apply(list: DriveList): void {
    if (this.loaded) {
      const before = new Set(this.drives.map((d) => d.id));
      for (const d of list.drives) if (!before.has(d.id)) this.#markNew(d.id);
    }
    this.drives = list.drives;
    this.refreshedAt = list.refreshedAt;
    this.loaded = true;
  }

  /** Asks the server to re-read the inventory now; the new list arrives as a `drives` event. */
  async rescan(): Promise<void> {
    this.#rescanPosting = true;
    try {
      const { job } = await this.#api.refreshDrives();
      this.#jobs.apply(job);
      this.#rescanJobId = job.id;
    } finally {
      this.#rescanPosting = false;
    }
  }

  /** Gives a drive the owner's name (null removes it); the list updates from the answer at once. */
  async rename(id: string, name: string | null): Promise<void> {
    const renamed = await this.#api.renameDrive(id, name);
    this.drives = this.drives.map((d) => (d.id === id ? renamed : d));
  }

  clear(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.drives = [];
    this.refreshedAt = null;
    this.loaded = false;
    this.justConnected = new Set();
  }

  #markNew(id: string): void {
    this.justConnected = new Set([...this.justConnected, id]);
    clearTimeout(this.#timers.get(id));
    this.#timers.set(id, setTimeout(() => {
      this.#timers.delete(id);
      const next = new Set(this.justConnected);
      next.delete(id);
      this.justConnected = next;
    }, JUST_CONNECTED_MS));
  }
}
