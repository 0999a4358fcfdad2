/**
 * The one runner for all long work.
 *
 * Contract:
 * - `submit()` writes a `queued` row and returns it at once; the job starts when every resource it
 *   names (e.g. `disk:<drive id>`) is free and fewer than `maxConcurrent` jobs run. Jobs start in
 *   submission order: a queued job reserves its resources, so a later job on the same disk cannot
 *   overtake it. Two jobs naming one disk never run at the same time.
 * - `cancel()` ends a queued job at once and asks a running one to stop at its next safe point
 *   (its AbortSignal fires); it ends `cancelled`.
 * - `shutdown()` refuses new work, signals every running job, waits for them up to a limit, and
 *   marks what is still running `interrupted`.
 * - A job that throws `JobInterruptedError` (cut off from outside: a drive pulled out) ends
 *   `interrupted` with its message; any other error ends it `failed`.
 * - `start()` first turns rows left `running` by a previous process into `interrupted`; since locks
 *   are held only by running jobs, that frees them.
 * Every change of state or progress is written to the catalog and published on the event bus; each
 * job's start and end (kinds `job.started`, `job.ended` with its outcome) is a line of the service log.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../system/clock.js';
import { ConflictError, NotFoundError, UnavailableError } from '../errors.js';
import type { EventBus } from '../events.js';
import {
  estimateEta,
  FINISHED_STATES,
  JobInterruptedError,
  type JobContext,
  type JobDefinition,
  type JobProgress,
  type JobView,
  type ProgressUpdate,
  type StopReason,
} from './job.model.js';
import type { JobRepository, JobRow } from './job.repository.js';

export interface SubmitOptions {
  target?: string | null;
  /** Lock names this job needs alone, e.g. `disk:<drive id>`. */
  resources?: string[];
  params?: Record<string, unknown>;
  /** When a job of the same kind and target is already queued, return it instead of adding another. */
  coalesce?: boolean;
}

export interface JobRunnerOptions {
  repo: JobRepository;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  /** Jobs running at once, whatever their resources. Default 3. */
  maxConcurrent?: number;
  /** Progress is written to the catalog at most this often, in ms. Default 1000. */
  progressIntervalMs?: number;
}

interface Running {
  controller: AbortController;
  resources: string[];
  progress: JobProgress;
  lastWrite: number;
  done: Promise<void>;
}

const SHUTDOWN_MESSAGE = 'The service stopped while this job was running.';

export class JobRunner {
  readonly #definitions = new Map<string, JobDefinition>();
  readonly #running = new Map<number, Running>();
  readonly #repo: JobRepository;
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #log: Logger;
  readonly #maxConcurrent: number;
  readonly #progressIntervalMs: number;
  #accepting = false;

  constructor(options: JobRunnerOptions) {
    this.#repo = options.repo;
    this.#clock = options.clock;
    this.#bus = options.bus;
    this.#log = options.log;
    this.#maxConcurrent = options.maxConcurrent ?? 3;
    this.#progressIntervalMs = options.progressIntervalMs ?? 1000;
  }

  define(definition: JobDefinition): void {
    if (this.#definitions.has(definition.kind)) throw new Error(`job kind ${definition.kind} defined twice`);
    this.#definitions.set(definition.kind, definition);
  }

  /** Reconcile what a previous process left, then start queued work. Returns the rows interrupted. */
  start(): JobView[] {
    const interrupted = this.#repo.interruptRunning(SHUTDOWN_MESSAGE, this.#clock.now()).map((row) => this.view(row));
    for (const job of interrupted) this.#bus.publish('job', job);
    this.#accepting = true;
    this.#pump();
    return interrupted;
  }

  submit(kind: string, options: SubmitOptions = {}): JobView {
    if (!this.#accepting) throw new UnavailableError('The service is stopping; no new work is started.');
    if (!this.#definitions.has(kind)) throw new Error(`unknown job kind ${kind}`);
    const target = options.target ?? null;
    if (options.coalesce) {
      const existing = this.#repo.findQueued(kind, target);
      if (existing) return this.view(existing);
    }
    const row = this.#repo.insert(
      { kind, target, resources: options.resources ?? [], params: options.params ?? {} },
      this.#clock.now(),
    );
    const view = this.view(row);
    this.#bus.publish('job', view);
    this.#pump();
    return this.view(this.#repo.get(row.id)!);
  }

  cancel(id: number): JobView {
    const row = this.#repo.get(id);
    if (!row) throw new NotFoundError(`There is no job ${id}.`);
    if (FINISHED_STATES.includes(row.state)) throw new ConflictError(`Job ${id} has already ended (${row.state}).`);
    if (row.state === 'queued') {
      const ended = this.#repo.finish(id, ['queued'], 'cancelled', 'Cancelled before it started.', this.#clock.now());
      if (ended) {
        this.#bus.publish('job', this.view(ended));
        this.#pump();
        return this.view(ended);
      }
    }
    this.#repo.requestCancel(id);
    this.#running.get(id)?.controller.abort('cancel' satisfies StopReason);
    return this.view(this.#repo.get(id)!);
  }

  get(id: number): JobView {
    const row = this.#repo.get(id);
    if (!row) throw new NotFoundError(`There is no job ${id}.`);
    return this.view(row);
  }

  recent(limit: number): JobView[] {
    return this.#repo.recent(limit).map((row) => this.view(row));
  }

  counts(): { running: number; queued: number } {
    return { running: this.#running.size, queued: this.#repo.countByState('queued') };
  }

  /** Resolves when the job has ended (for tests and the command line). */
  async settled(id: number): Promise<JobView> {
    for (;;) {
      const running = this.#running.get(id);
      if (running) await running.done;
      const row = this.#repo.get(id);
      if (!row) throw new NotFoundError(`There is no job ${id}.`);
      if (FINISHED_STATES.includes(row.state)) return this.view(row);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Stop: no new work, running jobs signalled, waited for up to `graceMs`, the rest marked interrupted. */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.#accepting = false;
    const all = [...this.#running.entries()];
    for (const [, running] of all) running.controller.abort('shutdown' satisfies StopReason);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled(all.map(([, r]) => r.done)), grace]);
    clearTimeout(timer);
    for (const [id] of this.#running) {
      const ended = this.#repo.finish(id, ['running'], 'interrupted', SHUTDOWN_MESSAGE, this.#clock.now());
      if (ended) {
        const view = this.view(ended);
        this.#log.warn({ kind: 'job.ended', subject: String(id), job: ended.kind, target: ended.target, outcome: 'interrupted' }, `${view.title}: interrupted: ${SHUTDOWN_MESSAGE}`);
        this.#bus.publish('job', view);
      }
    }
    this.#running.clear();
  }

  view(row: JobRow): JobView {
    const live = this.#running.get(row.id)?.progress;
    return {
      id: row.id,
      kind: row.kind,
      target: row.target,
      title: this.#definitions.get(row.kind)?.title(row.target) ?? row.kind,
      state: row.state,
      progress: live ?? {
        bytesDone: row.bytes_done,
        bytesTotal: row.bytes_total,
        itemsDone: row.items_done,
        itemsTotal: row.items_total,
        etaSeconds: row.eta_seconds,
        current: row.current,
      },
      message: row.message,
      createdAt: new Date(row.created_at).toISOString(),
      startedAt: row.started_at === null ? null : new Date(row.started_at).toISOString(),
      finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
    };
  }

  #pump(): void {
    if (!this.#accepting) return;
    const held = new Set([...this.#running.values()].flatMap((r) => r.resources));
    for (const row of this.#repo.queued()) {
      if (this.#running.size >= this.#maxConcurrent) return;
      const resources = JSON.parse(row.resources) as string[];
      const free = resources.every((name) => !held.has(name));
      // Either way its resources are now taken: running, or reserved for it ahead of later jobs.
      for (const name of resources) held.add(name);
      if (free) this.#launch(row, resources);
    }
  }

  #launch(queuedRow: JobRow, resources: string[]): void {
    const definition = this.#definitions.get(queuedRow.kind);
    const now = this.#clock.now();
    if (!definition) {
      const ended = this.#repo.finish(queuedRow.id, ['queued'], 'failed', `Unknown kind of job: ${queuedRow.kind}`, now);
      if (ended) this.#bus.publish('job', this.view(ended));
      return;
    }
    const row = this.#repo.markRunning(queuedRow.id, now);
    const controller = new AbortController();
    let resolveDone!: () => void;
    const running: Running = {
      controller,
      resources,
      progress: { bytesDone: 0, bytesTotal: null, itemsDone: 0, itemsTotal: null, etaSeconds: null, current: null },
      lastWrite: 0,
      done: new Promise<void>((resolve) => (resolveDone = resolve)),
    };
    this.#running.set(row.id, running);
    const started = this.view(row);
    this.#log.info({ kind: 'job.started', subject: String(row.id), job: row.kind, target: row.target }, `${started.title}: started.`);
    this.#bus.publish('job', started);

    const startedAt = now;
    const context: JobContext = {
      jobId: row.id,
      target: row.target,
      params: JSON.parse(row.params) as Record<string, unknown>,
      signal: controller.signal,
      progress: (update) => this.#progress(row.id, running, startedAt, update),
    };
    void (async () => {
      let state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
      let message: string | null;
      let failure: unknown;
      try {
        const result = await definition.run(context);
        state = 'succeeded';
        message = result ?? null;
      } catch (error) {
        const reason = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
        if (reason === 'cancel') {
          state = 'cancelled';
          message = 'Cancelled by the owner.';
        } else if (reason === 'shutdown') {
          state = 'interrupted';
          message = SHUTDOWN_MESSAGE;
        } else if (error instanceof JobInterruptedError) {
          state = 'interrupted';
          message = error.message;
        } else {
          state = 'failed';
          message = error instanceof Error ? error.message : String(error);
          failure = error;
        }
      }
      this.#repo.saveProgress(row.id, { ...running.progress, etaSeconds: null });
      this.#running.delete(row.id);
      const ended = this.#repo.finish(row.id, ['running'], state, message, this.#clock.now());
      if (ended) {
        // (null: shutdown() already ended it, and said so)
        const line = { kind: 'job.ended', subject: String(row.id), job: row.kind, target: row.target, outcome: state, ...(failure === undefined ? {} : { err: failure }) };
        this.#log[state === 'succeeded' || state === 'cancelled' ? 'info' : 'warn'](line, `${started.title}: ${state}${message ? `: ${message}` : '.'}`);
        this.#bus.publish('job', this.view(ended));
      }
      resolveDone();
      this.#pump();
    })();
  }

  #progress(id: number, running: Running, startedAt: number, update: ProgressUpdate): void {
    const now = this.#clock.now();
    const merged = { ...running.progress, ...update };
    running.progress = { ...merged, etaSeconds: estimateEta(merged, now - startedAt) };
    if (now - running.lastWrite < this.#progressIntervalMs) return;
    running.lastWrite = now;
    this.#repo.saveProgress(id, running.progress);
    const row = this.#repo.get(id);
    if (row) this.#bus.publish('job', this.view(row));
  }
}
