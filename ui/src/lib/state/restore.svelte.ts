// Restoring from a rotation drive (docs/api.md, "Restore"): the drive, the source and the snapshot
// chosen, the snapshot folder being browsed (GET …/ls), the files and folders ticked, and the
// restore this page started (its `backup.restore` job, followed through `job` events, and the folder
// the files go to). A drive that is away cannot be browsed; its snapshots are still listed from the
// catalog.
import type { ApiClient } from '../api/client.ts';
import { isActiveJob, type BrowseEntry, type Job, type RestoreTarget, type SnapshotView } from '../api/types.ts';
import type { JobsState } from './jobs.svelte.ts';

/** The restore this page started: its job id, the snapshot and the folder the files went to. */
export interface StartedRestore {
  jobId: number;
  driveId: string;
  snapshot: SnapshotView;
  folder: string;
  target: RestoreTarget;
  paths: string[];
}

export class RestoreState {
  driveId = $state<string | null>(null);
  /** The chosen drive's snapshots, oldest first as the server lists them. */
  snapshots = $state.raw<SnapshotView[]>([]);
  snapshotsLoading = $state(false);
  source = $state<string | null>(null);
  snapshotId = $state<string | null>(null);
  /** The folder shown (restic's absolute path), and its entries: folders first, then by name. */
  path = $state<string | null>(null);
  entries = $state.raw<BrowseEntry[]>([]);
  browsing = $state(false);
  /** The last failure to list the folder (the server's words), shown in place of the listing. */
  browseError = $state<string | null>(null);
  /** Ticked paths, in the order they were ticked. */
  selected = $state.raw<string[]>([]);
  started = $state.raw<StartedRestore | null>(null);
  posting = $state(false);

  /** The sources that have snapshots on the chosen drive, by name. */
  sources = $derived([...new Set(this.snapshots.map((s) => s.source))].sort());
  /** The chosen source's snapshots, newest first. */
  sourceSnapshots = $derived(this.snapshots.filter((s) => s.source === this.source).reverse());
  snapshot = $derived(this.snapshots.find((s) => s.id === this.snapshotId) ?? null);
  /** The snapshot's own folder (the source's path when it was taken): the top of the breadcrumb. */
  root = $derived(this.snapshot?.paths[0] ?? null);
  job = $derived.by<Job | null>(() => (this.started ? (this.#jobs.byId(this.started.jobId) ?? null) : null));
  restoring = $derived(this.posting || (this.job !== null && isActiveJob(this.job)));

  readonly #api: ApiClient;
  readonly #jobs: JobsState;
  /** Bumped on every new listing request, so a slow answer for an older folder is dropped. */
  #browseSeq = 0;

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  /**
   * Chooses a drive and reads its snapshots; the newest snapshot of the first source (or of the
   * source chosen before, when the drive has it) is chosen. `connected`: whether to open its folder.
   */
  async chooseDrive(driveId: string, connected: boolean): Promise<void> {
    const keepSource = this.source;
    this.driveId = driveId;
    this.#resetSnapshot();
    this.snapshots = [];
    this.source = null;
    this.snapshotsLoading = true;
    try {
      const { snapshots } = await this.#api.snapshots(driveId);
      if (this.driveId !== driveId) return;
      this.snapshots = snapshots;
    } finally {
      if (this.driveId === driveId) this.snapshotsLoading = false;
    }
    const source = keepSource && this.sources.includes(keepSource) ? keepSource : (this.sources[0] ?? null);
    if (source) await this.chooseSource(source, connected);
  }

  /**
   * Reads the chosen drive's snapshots again (a backup added one, retention removed some), keeping
   * the source, snapshot and folder being looked at; when that snapshot is gone, the newest of the
   * source is chosen instead.
   */
  async refreshSnapshots(connected: boolean): Promise<void> {
    const driveId = this.driveId;
    if (!driveId || this.snapshotsLoading) return;
    const { snapshots } = await this.#api.snapshots(driveId);
    if (this.driveId !== driveId) return;
    this.snapshots = snapshots;
    if (this.snapshotId && !snapshots.some((s) => s.id === this.snapshotId)) {
      const source = this.source && this.sources.includes(this.source) ? this.source : (this.sources[0] ?? null);
      if (source) await this.chooseSource(source, connected);
      else this.#resetSnapshot();
    }
  }

  /** Chooses a source and its newest snapshot. */
  async chooseSource(source: string, connected: boolean): Promise<void> {
    this.source = source;
    const newest = this.sourceSnapshots[0];
    this.#resetSnapshot();
    if (newest) await this.chooseSnapshot(newest.id, connected);
  }

  /** Chooses a snapshot and, when the drive is plugged in, opens its top folder. */
  async chooseSnapshot(snapshotId: string, connected: boolean): Promise<void> {
    this.#resetSnapshot();
    this.snapshotId = snapshotId;
    if (connected) await this.open(this.root ?? undefined);
  }

  /** Lists one folder of the chosen snapshot (its top folder without `path`). */
  async open(path?: string): Promise<void> {
    const driveId = this.driveId;
    const snapshotId = this.snapshotId;
    if (!driveId || !snapshotId) return;
    const seq = ++this.#browseSeq;
    this.browsing = true;
    this.browseError = null;
    try {
      const listing = await this.#api.browse(driveId, snapshotId, path);
      if (seq !== this.#browseSeq) return;
      this.path = listing.path;
      this.entries = [...listing.entries].sort(foldersFirst);
    } catch (err) {
      if (seq === this.#browseSeq) this.browseError = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      if (seq === this.#browseSeq) this.browsing = false;
    }
  }

  isSelected(path: string): boolean {
    return this.selected.includes(path);
  }

  toggle(path: string, on: boolean): void {
    const rest = this.selected.filter((p) => p !== path);
    this.selected = on ? [...rest, path] : rest;
  }

  clearSelection(): void {
    this.selected = [];
  }

  /**
   * Restores the ticked paths (202: the job is then followed live). `original` writes over the
   * files where they are and is sent with `overwrite: true`, which the page asks the owner for.
   */
  async restore(target: RestoreTarget): Promise<StartedRestore> {
    const driveId = this.driveId;
    const snapshot = this.snapshot;
    if (!driveId || !snapshot || this.selected.length === 0) throw new Error('Choose the files to restore first.');
    const paths = [...this.selected];
    this.posting = true;
    try {
      const { job, folder } = await this.#api.restore(driveId, snapshot.id, target === 'original' ? { paths, target, overwrite: true } : { paths, target });
      this.#jobs.apply(job);
      const started: StartedRestore = { jobId: job.id, driveId, snapshot, folder, target, paths };
      this.started = started;
      this.selected = [];
      return started;
    } finally {
      this.posting = false;
    }
  }

  /** Where the browser downloads one file of the chosen snapshot. */
  downloadUrl(path: string): string | null {
    return this.driveId && this.snapshotId ? this.#api.downloadUrl(this.driveId, this.snapshotId, path) : null;
  }

  /** Forgets a finished restore's result (a new one can be started). */
  dismissResult(): void {
    if (this.job && isActiveJob(this.job)) return;
    this.started = null;
  }

  clear(): void {
    this.driveId = null;
    this.snapshots = [];
    this.snapshotsLoading = false;
    this.source = null;
    this.#resetSnapshot();
    this.started = null;
    this.posting = false;
  }

  #resetSnapshot(): void {
    this.#browseSeq++;
    this.snapshotId = null;
    this.path = null;
    this.entries = [];
    this.browsing = false;
    this.browseError = null;
    this.selected = [];
  }
}

const RANK: Record<BrowseEntry['type'], number> = { dir: 0, file: 1, symlink: 1, other: 1 };

/** Folders first, then by name as a person reads it. */
function foldersFirst(a: BrowseEntry, b: BrowseEntry): number {
  return RANK[a.type] - RANK[b.type] || a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' });
}
