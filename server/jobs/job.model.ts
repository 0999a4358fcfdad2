/**
 * Jobs: every long operation is a row in the catalog (table `jobs`), so the page, the command line
 * and a restarted service all see the same record. docs/jobs.md describes the states.
 *
 *   queued ──▶ running ──▶ succeeded | failed | cancelled | interrupted
 *      └──────────────────▶ cancelled
 *
 * `interrupted` means the service stopped (or died) while the job ran: at the next start-up every
 * row left `running` becomes `interrupted`, and its locks are free again.
 */

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export interface JobProgress {
  bytesDone: number;
  bytesTotal: number | null;
  itemsDone: number;
  itemsTotal: number | null;
  /** Seconds left, estimated from the rate so far; null when unknown. */
  etaSeconds: number | null;
  /** What is being worked on now (a file name, a disk), or null. */
  current: string | null;
}

export interface JobView {
  id: number;
  kind: string;
  target: string | null;
  title: string;
  state: JobState;
  progress: JobProgress;
  message: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type ProgressUpdate = Partial<Omit<JobProgress, 'etaSeconds'>>;

/** What a running job's code gets. */
export interface JobContext {
  readonly jobId: number;
  readonly target: string | null;
  readonly params: Record<string, unknown>;
  /** Fires on cancel or service stop. Stop at the next safe point and throw `signal.reason`. */
  readonly signal: AbortSignal;
  /** Report progress; cheap to call often (written at most once a second). */
  progress(update: ProgressUpdate): void;
}

/** One kind of job. `run` resolves with an optional message for the owner ("3 drives found"). */
export interface JobDefinition {
  kind: string;
  /** Words for the page: "Read the drive inventory". */
  title(target: string | null): string;
  run(context: JobContext): Promise<string | void>;
}

/**
 * Thrown by a job whose work was cut off from outside (a drive pulled out mid-way): the job ends
 * `interrupted`, not `failed`, with this message, and may run again when the cause is gone.
 */
export class JobInterruptedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JobInterruptedError';
  }
}

/** Why a running job's signal fired. */
export type StopReason = 'cancel' | 'shutdown';

/**
 * Estimated seconds left from the rate so far. Uses bytes when a byte total is known, items
 * otherwise; null until there is a rate to go by.
 */
export function estimateEta(progress: Omit<JobProgress, 'etaSeconds'>, elapsedMs: number): number | null {
  const pick = (done: number, total: number | null) =>
    total !== null && total > 0 && done > 0 && elapsedMs > 0 ? { done, total } : null;
  const basis = pick(progress.bytesDone, progress.bytesTotal) ?? pick(progress.itemsDone, progress.itemsTotal);
  if (!basis) return null;
  const left = Math.max(0, basis.total - basis.done);
  return Math.round((left * elapsedMs) / basis.done / 1000);
}
