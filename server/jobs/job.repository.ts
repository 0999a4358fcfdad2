/** Every SQL query about jobs. */
import type { Catalog } from '../catalog/catalog.js';
import type { JobProgress, JobState } from './job.model.js';

export interface JobRow {
  id: number;
  kind: string;
  target: string | null;
  state: JobState;
  resources: string;
  params: string;
  bytes_done: number;
  bytes_total: number | null;
  items_done: number;
  items_total: number | null;
  eta_seconds: number | null;
  current: string | null;
  message: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  cancel_requested: number;
}

export interface NewJob {
  kind: string;
  target: string | null;
  resources: string[];
  params: Record<string, unknown>;
}

export class JobRepository {
  constructor(readonly db: Catalog) {}

  insert(job: NewJob, now: number): JobRow {
    return this.db
      .prepare(
        `INSERT INTO jobs (kind, target, state, resources, params, created_at)
         VALUES (?, ?, 'queued', ?, ?, ?) RETURNING *`,
      )
      .get(job.kind, job.target, JSON.stringify(job.resources), JSON.stringify(job.params), now) as JobRow;
  }

  get(id: number): JobRow | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }

  /** Queued jobs in the order they were submitted. */
  queued(): JobRow[] {
    return this.db.prepare(`SELECT * FROM jobs WHERE state = 'queued' ORDER BY id`).all() as JobRow[];
  }

  findQueued(kind: string, target: string | null): JobRow | undefined {
    return this.db
      .prepare(`SELECT * FROM jobs WHERE state = 'queued' AND kind = ? AND target IS ? ORDER BY id LIMIT 1`)
      .get(kind, target) as JobRow | undefined;
  }

  countByState(state: JobState): number {
    return (this.db.prepare('SELECT count(*) AS n FROM jobs WHERE state = ?').get(state) as { n: number }).n;
  }

  recent(limit: number): JobRow[] {
    return this.db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit) as JobRow[];
  }

  markRunning(id: number, now: number): JobRow {
    return this.db
      .prepare(`UPDATE jobs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued' RETURNING *`)
      .get(now, id) as JobRow;
  }

  /** Move a job to a final state; only from `from` (so a finished job is never rewritten). */
  finish(id: number, from: JobState[], state: JobState, message: string | null, now: number): JobRow | undefined {
    const placeholders = from.map(() => '?').join(',');
    return this.db
      .prepare(
        `UPDATE jobs SET state = ?, message = ?, finished_at = ?, eta_seconds = NULL
         WHERE id = ? AND state IN (${placeholders}) RETURNING *`,
      )
      .get(state, message, now, id, ...from) as JobRow | undefined;
  }

  saveProgress(id: number, p: JobProgress): void {
    this.db
      .prepare(
        `UPDATE jobs SET bytes_done = ?, bytes_total = ?, items_done = ?, items_total = ?, eta_seconds = ?, current = ?
         WHERE id = ?`,
      )
      .run(p.bytesDone, p.bytesTotal, p.itemsDone, p.itemsTotal, p.etaSeconds, p.current, id);
  }

  requestCancel(id: number): void {
    this.db.prepare('UPDATE jobs SET cancel_requested = 1 WHERE id = ?').run(id);
  }

  /** Start-up reconciliation: rows left running become interrupted. Returns them. */
  interruptRunning(message: string, now: number): JobRow[] {
    return this.db
      .prepare(
        `UPDATE jobs SET state = 'interrupted', message = ?, finished_at = ?, eta_seconds = NULL
         WHERE state = 'running' RETURNING *`,
      )
      .all(message, now) as JobRow[];
  }

  /** Delete finished jobs that ended before `cutoff`; failed and interrupted ones are kept until `keepProblemsUntil`. */
  prune(cutoff: number, problemsCutoff: number): number {
    return this.db
      .prepare(
        `DELETE FROM jobs WHERE finished_at IS NOT NULL AND (
           (state IN ('succeeded','cancelled') AND finished_at < ?) OR finished_at < ?)`,
      )
      .run(cutoff, problemsCutoff).changes;
  }
}
