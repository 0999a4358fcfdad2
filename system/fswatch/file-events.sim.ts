/**
 * The in-memory twin of FileEvents (file-events.ts) for domain tests: no process, no disk. A test
 * says what happened under a watched root (`wrote`, `removed`, `renamed`, `madeFolder`, or any
 * event with `emit`) or what went wrong (`overflowed`, `reachedWatchLimit`, `restarted`,
 * `rootGone`), and every open watcher of that root reports it as the real one would: the same
 * event shapes, the same temporary-name filter, merging, batching and bounds (event-batches.ts).
 */
import { ROOT, watchLimitMessage, type FileEvent, type FileEvents, type WatchOptions, type Watcher, type WatchState } from './file-events.js';
import { EventBatches } from './event-batches.js';

type PathLike = string | Buffer;
const bytes = (path: PathLike): Buffer => (typeof path === 'string' ? Buffer.from(path) : path);

export class SimulatedFileEvents implements FileEvents {
  readonly #watchers = new Map<string, Set<SimulatedWatcher>>();

  watch(root: string, options: WatchOptions = {}): Watcher {
    const watcher = new SimulatedWatcher(root, options, () => this.#watchers.get(root)?.delete(watcher));
    let set = this.#watchers.get(root);
    if (!set) this.#watchers.set(root, (set = new Set()));
    set.add(watcher);
    return watcher;
  }

  /** Open watchers of `root` (a closed one is not counted). */
  watching(root: string): number {
    return this.#watchers.get(root)?.size ?? 0;
  }

  /** Report events under `root` as they happened, in order. */
  emit(root: string, ...events: FileEvent[]): void {
    for (const watcher of this.#watchers.get(root) ?? []) for (const event of events) watcher.batches.push(event);
  }

  /** A file was written and closed (or moved in from outside). */
  wrote(root: string, ...paths: PathLike[]): void {
    this.emit(root, ...paths.map((path) => ({ kind: 'written', path: bytes(path), folder: false }) as const));
  }

  removed(root: string, path: PathLike, folder = false): void {
    this.emit(root, { kind: 'removed', path: bytes(path), folder });
  }

  renamed(root: string, from: PathLike, to: PathLike, folder = false): void {
    this.emit(root, { kind: 'renamed', from: bytes(from), path: bytes(to), folder });
  }

  /** A folder appeared holding these files (paths under the root): reported as the real watcher reads it. */
  madeFolder(root: string, path: PathLike, files: PathLike[] = []): void {
    this.emit(root, { kind: 'folder-created', path: bytes(path), folder: true }, ...files.map((file) => ({ kind: 'written', path: bytes(file), folder: false }) as const));
  }

  /** The kernel's queue overflowed: the real watcher restarts and asks for the whole root. */
  overflowed(root: string): void {
    this.emit(root, { kind: 'rescan', path: ROOT, reason: 'overflow', message: 'Too many changes at once for the system to report them all: the whole disk is checked again.' });
  }

  /** The watch limit was reached: watchers become `partial` and ask for the whole root. */
  reachedWatchLimit(root: string, limit = 8192): void {
    for (const watcher of this.#watchers.get(root) ?? []) {
      const message = watchLimitMessage(limit, watcher.options.checkEveryMinutes);
      watcher.setState({ kind: 'partial', reason: 'watch-limit', message });
      watcher.batches.push({ kind: 'rescan', path: ROOT, reason: 'watch-limit', message });
    }
  }

  /** The watcher's process died and was started again. */
  restarted(root: string): void {
    this.emit(root, { kind: 'rescan', path: ROOT, reason: 'restarted', message: "Safehold's watch on this disk stopped and was started again: the whole disk is checked for what changed meanwhile." });
  }

  /** The watched folder was removed or its disk unmounted: watchers say so and end. */
  rootGone(root: string): void {
    const message = "The disk's shares folder is gone (the disk was unmounted, or the folder was removed or moved): Safehold stopped watching it.";
    for (const watcher of this.#watchers.get(root) ?? []) {
      watcher.batches.push({ kind: 'rescan', path: ROOT, reason: 'root-gone', message });
      watcher.setState({ kind: 'down', reason: 'root-gone', message });
      watcher.batches.finish();
    }
  }
}

class SimulatedWatcher implements Watcher {
  readonly root: string;
  readonly ready: Promise<WatchState>;
  readonly batches: EventBatches;
  readonly options: WatchOptions;
  readonly #forget: () => void;
  #state: WatchState = { kind: 'watching' };

  constructor(root: string, options: WatchOptions, forget: () => void) {
    this.root = root;
    this.options = options;
    this.batches = new EventBatches(options);
    this.#forget = forget;
    this.ready = Promise.resolve(this.#state);
  }

  get state(): WatchState {
    return this.#state;
  }

  setState(state: WatchState): void {
    if (this.#state.kind !== 'closed') this.#state = state;
  }

  [Symbol.asyncIterator](): AsyncIterator<FileEvent[]> {
    return this.batches[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    this.#state = { kind: 'closed' };
    this.batches.close();
    this.#forget();
  }
}
