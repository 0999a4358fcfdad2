// Backups onto rotation drives: the rotation ledger (GET /backups/ledger), the dashboard's "am I
// protected?" (GET /backups/protection), the recent runs (GET /backups/runs) and the backup
// settings. A drive's running `backup.rotation` job arrives live as `job` events in JobsState;
// when one of those (or a restore) changes state, App re-reads what it changes.
import type { ApiClient } from '../api/client.ts';
import {
  isActiveJob, JOB_BACKUP_RESTORE, JOB_BACKUP_ROTATION, JOB_ROTATION_REGISTER, type BackupRunView, type BackupSettings, type Drive, type Job,
  type LedgerEntry, type ProtectionView,
} from '../api/types.ts';
import { isOpenForRestore } from '../ledger.ts';
import type { JobsState } from './jobs.svelte.ts';

/** How many runs the Backups page lists. */
export const RUNS_SHOWN = 20;

/** The job kinds whose changes of state change the ledger, the protection or the runs. */
const WATCHED = new Set([JOB_BACKUP_ROTATION, JOB_BACKUP_RESTORE, JOB_ROTATION_REGISTER]);

export class BackupsState {
  /** Every registered drive, plugged in or not, by name. */
  ledger = $state.raw<LedgerEntry[]>([]);
  ledgerLoaded = $state(false);
  protection = $state.raw<ProtectionView | null>(null);
  /** Newest first. */
  runs = $state.raw<BackupRunView[]>([]);
  runsLoaded = $state(false);
  settings = $state.raw<BackupSettings | null>(null);
  /** A drive is mounted for restoring: its "safe to unplug" comes back with no event, so the page re-reads the ledger meanwhile. */
  anyOpenForRestore = $derived(this.ledger.some(isOpenForRestore));
  /** Drive ids whose "Back up now" or "resume pruning" is being posted. */
  posting = $state.raw<ReadonlySet<string>>(new Set());

  readonly #api: ApiClient;
  readonly #jobs: JobsState;
  /** Job id → the last state seen, so that progress events (once a second) cause no re-reads. */
  #seen = new Map<number, Job['state']>();
  /** The rotation drives plugged in, as the last `drives` event told (ids, sorted, joined). */
  #pluggedKey: string | null = null;

  constructor(api: ApiClient, jobs: JobsState) {
    this.#api = api;
    this.#jobs = jobs;
  }

  async loadLedger(): Promise<void> {
    const { drives } = await this.#api.ledger();
    this.ledger = [...drives].sort((a, b) => a.name.localeCompare(b.name, 'en'));
    this.ledgerLoaded = true;
  }

  async loadProtection(): Promise<void> {
    this.protection = await this.#api.protection();
  }

  async loadRuns(): Promise<void> {
    const { runs } = await this.#api.backupRuns({ limit: RUNS_SHOWN });
    this.runs = runs;
    this.runsLoaded = true;
  }

  async loadSettings(): Promise<void> {
    this.settings = await this.#api.backupSettings();
  }

  /** What the Backups page shows: the ledger, the runs and the settings (for the slices). */
  loadPage(): Promise<void>[] {
    return [this.loadLedger(), this.loadRuns(), this.loadSettings()];
  }

  /** The re-reads after a change: protection always, the ledger and runs once the page read them. */
  reloadAll(): Promise<void>[] {
    return [
      this.loadProtection(),
      ...(this.ledgerLoaded ? [this.loadLedger()] : []),
      ...(this.runsLoaded ? [this.loadRuns()] : []),
    ];
  }

  byDrive(driveId: string): LedgerEntry | undefined {
    return this.ledger.find((d) => d.driveId === driveId);
  }

  /**
   * The backup job to show on a drive's card: the one the ledger names, else a queued or running
   * `backup.rotation` job for the drive that the jobs list holds (started since the ledger was read).
   */
  jobFor(driveId: string): Job | null {
    const entry = this.byDrive(driveId);
    if (entry?.jobId != null) {
      const job = this.#jobs.byId(entry.jobId);
      if (job) return job;
    }
    return this.#jobs.jobs.find((j) => j.kind === JOB_BACKUP_ROTATION && j.target === driveId && isActiveJob(j)) ?? null;
  }

  /** "Back up now": 202 with the job (followed live); a 409 when the drive is not plugged in. */
  async runNow(driveId: string): Promise<Job> {
    this.#posting(driveId, true);
    try {
      const { job } = await this.#api.runBackup(driveId);
      this.#jobs.apply(job);
      this.#seen.set(job.id, job.state);
      this.ledger = this.ledger.map((d) => (d.driveId === driveId ? { ...d, state: 'backing-up', jobId: job.id } : d));
      return job;
    } finally {
      this.#posting(driveId, false);
    }
  }

  /** The owner looked at the suspicious snapshots: retention runs again at the next plug-in. */
  async resumePruning(driveId: string): Promise<void> {
    this.#posting(driveId, true);
    try {
      const entry = await this.#api.resumePruning(driveId);
      this.ledger = this.ledger.map((d) => (d.driveId === driveId ? entry : d));
    } finally {
      this.#posting(driveId, false);
    }
  }

  /** Saves the settings; a 400 is thrown with its field issues (`retention.daily`, `drill.maxBytes`…). */
  async saveSettings(input: BackupSettings): Promise<void> {
    this.settings = await this.#api.saveBackupSettings(input);
  }

  /**
   * A job changed. For a backup, restore or registration whose state is new to the page (it
   * started, or ended), returns that change: then the ledger, protection and runs are worth reading
   * again; `endedHere` when the page saw it queued or running before it ended (worth telling). A
   * progress event of a job already seen in that state, or any other job, is null.
   */
  jobChanged(job: Job): { endedHere: boolean } | null {
    if (!WATCHED.has(job.kind)) return null;
    const before = this.#seen.get(job.id);
    this.#seen.set(job.id, job.state);
    if (before === job.state) return null;
    const wasActive = before === 'queued' || before === 'running';
    return { endedHere: wasActive && !isActiveJob(job) };
  }

  /**
   * The drive list changed: true when a rotation drive was plugged in or pulled out, or mounted or
   * unmounted (for browsing, and its lease ending: "safe to unplug" again).
   */
  drivesChanged(drives: readonly Drive[]): boolean {
    const key = drives
      .filter((d) => d.role === 'rotation')
      .map((d) => `${d.id}:${d.partitions.map((p) => p.mountpoints.join(',')).join(';')}`)
      .sort()
      .join('\n');
    const changed = this.#pluggedKey !== null && key !== this.#pluggedKey;
    this.#pluggedKey = key;
    return changed;
  }

  clear(): void {
    this.ledger = [];
    this.ledgerLoaded = false;
    this.protection = null;
    this.runs = [];
    this.runsLoaded = false;
    this.settings = null;
    this.posting = new Set();
    this.#seen.clear();
    this.#pluggedKey = null;
  }

  #posting(driveId: string, on: boolean): void {
    const next = new Set(this.posting);
    if (on) next.add(driveId);
    else next.delete(driveId);
    this.posting = next;
  }
}
