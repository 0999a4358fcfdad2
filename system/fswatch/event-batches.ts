/**
 * The batching both watchers share (file-events.ts states the contract): events go in one at a
 * time, merged by path, and come out as batches of at most `maxBatch`, `batchMs` after the first
 * one, to one reader through an async iterator.
 */
import { isTemporary, ROOT, type FileEvent, type WatchOptions } from './file-events.js';

export const DEFAULTS = { batchMs: 200, maxBatch: 1000, maxPending: 50_000, maxFolderScan: 10_000 } as const;

export class EventBatches implements AsyncIterable<FileEvent[]> {
  readonly #batchMs: number;
  readonly #maxBatch: number;
  readonly #maxPending: number;
  readonly #ignoreTemporaries: boolean;
  readonly #beforeTake: () => void;
  /** Pending events in order; the key merges events on one path within a segment (segments end at a rename). */
  #pending = new Map<string, FileEvent>();
  #segment = 0;
  #unique = 0;
  #timer: NodeJS.Timeout | undefined;
  #due = false;
  #closed = false;
  #finished = false;
  #wake: (() => void) | undefined;

  /** `beforeTake` runs just before a batch is cut (the inotify watcher settles moves there). */
  constructor(options: WatchOptions = {}, beforeTake: () => void = () => {}) {
    this.#batchMs = options.batchMs ?? DEFAULTS.batchMs;
    this.#maxBatch = options.maxBatch ?? DEFAULTS.maxBatch;
    this.#maxPending = options.maxPending ?? DEFAULTS.maxPending;
    this.#ignoreTemporaries = options.ignoreTemporaries ?? true;
    this.#beforeTake = beforeTake;
  }

  /** Add one event (dropped after `close()`). */
  push(input: FileEvent): void {
    if (this.#closed || this.#finished) return;
    const event = this.#ignoreTemporaries ? withoutTemporaries(input) : input;
    if (!event) return;
    if (event.kind === 'renamed') {
      this.#pending.set(`r${this.#unique++}`, event);
      this.#segment += 1;
    } else {
      const key = event.kind === 'rescan' ? `s${event.path.toString('latin1')}` : `${this.#segment}:${event.path.toString('latin1')}`;
      const before = this.#pending.get(key);
      this.#pending.delete(key);
      this.#pending.set(key, before ? merged(before, event) : event);
    }
    if (this.#pending.size > this.#maxPending) {
      this.#pending.clear();
      this.#pending.set(`s`, {
        kind: 'rescan',
        path: ROOT,
        reason: 'too-many-changes',
        message: `More than ${this.#maxPending} changes piled up before they could be handled: the whole disk is checked again.`,
      });
    }
    if (this.#pending.size >= this.#maxBatch) this.#ready();
    else if (!this.#timer && !this.#due) {
      this.#timer = setTimeout(() => this.#ready(), this.#batchMs); // held only while events wait
    }
  }

  /** Events held and not yet handed over. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** No more events: what is pending is handed over at once, then the iteration ends. */
  finish(): void {
    if (this.#closed || this.#finished) return;
    this.#finished = true;
    this.#ready();
  }

  /** End the iteration: a reader waiting is released with `done`; what is pending is dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#pending.clear();
    this.#wake?.();
  }

  #ready(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = true;
    this.#wake?.();
  }

  #take(): FileEvent[] {
    this.#beforeTake();
    const batch: FileEvent[] = [];
    for (const [key, event] of this.#pending) {
      if (batch.length >= this.#maxBatch) break;
      batch.push(event);
      this.#pending.delete(key);
    }
    this.#due = this.#pending.size > 0; // what is left has waited its time already
    return batch;
  }

  async next(): Promise<IteratorResult<FileEvent[]>> {
    while (!this.#closed) {
      if (this.#due && this.#pending.size > 0) return { done: false, value: this.#take() };
      if (this.#finished && this.#pending.size === 0) break;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterator<FileEvent[]> {
    return {
      next: () => this.next(),
      return: async () => ({ done: true, value: undefined }),
    };
  }
}

/** Two events on one path, in order: the later one wins, except that a change of attributes does not hide a write or a new folder. */
function merged(before: FileEvent, after: FileEvent): FileEvent {
  if (after.kind === 'attributes' && (before.kind === 'written' || before.kind === 'folder-created')) return before;
  if (after.kind === 'written' && before.kind === 'folder-created') return before; // cannot both be true of one path
  return after;
}

/** The event as the caller sees it when Safehold's own temporary files are ignored, or null. */
function withoutTemporaries(event: FileEvent): FileEvent | null {
  if (event.kind === 'rescan') return event;
  if (event.kind === 'renamed') {
    const fromTemp = isTemporary(event.from);
    const toTemp = isTemporary(event.path);
    if (fromTemp && toTemp) return null;
    if (fromTemp) return { kind: 'written', path: event.path, folder: event.folder };
    if (toTemp) return { kind: 'removed', path: event.from, folder: event.folder };
    return event;
  }
  return isTemporary(event.path) ? null : event;
}
