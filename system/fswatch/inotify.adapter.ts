/**
 * FileEvents on Linux: one `inotifywait -m -r` per watched folder (inotify-tools 3.22), run through
 * the command runner in that folder, its output parsed by inotifywait.parse.ts and turned into the
 * contract's events (file-events.ts; docs/file-events.md).
 *
 * How it keeps the contract's promise to say what it may have missed:
 * - a queue overflow (Q_OVERFLOW) or output it cannot read: inotifywait is started again (folders
 *   made while events were lost would otherwise stay unwatched), and once its watches are
 *   established again a `rescan` of the root follows;
 * - inotifywait exiting by itself: started again after a pause (1 s, doubling to a minute), then a
 *   `rescan` of the root;
 * - the watch limit: at start inotifywait gives up, so the watcher is `down` with a `rescan` of the
 *   root in words, and tries again every `limitRetryMs`; reached later, the folder is left
 *   unwatched, the watcher is `partial` and a `rescan` of the root says so;
 * - a new folder could not be watched for another reason: a `rescan` of it;
 * - a new folder (made, or moved in) is read here after inotifywait watches it, and what is
 *   already inside is reported (`written`, `folder-created`), since files can land before the
 *   watch is set;
 * - paths longer than `MAX_REPORTED_PATH_BYTES` below the root are left out by inotifywait itself
 *   (`--exclude`): 3.22 cannot print them whole. Only the periodic check sees those files.
 */
import type { Dirent } from 'node:fs';
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { ToolMissingError, type CommandRunner } from '../process/command-runner.js';
import {
  absolutePath,
  ROOT,
  shownPath,
  watchLimitMessage,
  type FileEvent,
  type FileEvents,
  type RescanReason,
  type WatchOptions,
  type Watcher,
  type WatchState,
} from './file-events.js';
import { DEFAULTS, EventBatches } from './event-batches.js';
import { MAX_REPORTED_PATH_BYTES, RecordParser, StderrParser, type InotifyRecord, type StderrItem } from './inotifywait.parse.js';

export interface InotifyFileEventsOptions {
  runner: CommandRunner;
  /** First pause before starting inotifywait again after it stopped by itself, in ms; doubles up to a minute. Default 1000. */
  restartDelayMs?: number;
  /** Pause between attempts while the watch limit keeps inotifywait from starting, in ms. Default 600 000 (10 minutes). */
  limitRetryMs?: number;
  /** Where the watcher's log lines go (what it missed and why, in words). Default: nowhere. */
  log?: (line: string) => void;
}

/** The events asked for: what the contract reports, and what tells the watch itself is gone or overflowed. */
const EVENTS = 'close_write,moved_to,moved_from,create,delete,attrib,delete_self,move_self,unmount,q_overflow';

/** Arguments of inotifywait, run in the watched folder. */
export function inotifywaitArgs(): string[] {
  // A path longer than MAX_REPORTED_PATH_BYTES (with `./`) matches: 24 × 169 = 4056, then one more byte.
  const tooLong = `^(.{169}){24}.`;
  return ['-m', '-r', '-e', EVENTS, '--exclude', tooLong, '--format', '%c%0%e%0%w%f%0', '--no-newline', '.'];
}

export class InotifyFileEvents implements FileEvents {
  readonly #options: InotifyFileEventsOptions;

  constructor(options: InotifyFileEventsOptions) {
    this.#options = options;
  }

  watch(root: string, options: WatchOptions = {}): Watcher {
    return new InotifyWatcher(root, options, this.#options);
  }
}

const RESTARTED_MESSAGE = "Safehold's watch on this disk stopped and was started again: the whole disk is checked for what changed meanwhile.";
const OVERFLOW_MESSAGE = 'Too many changes at once for the system to report them all: the whole disk is checked again.';
const ROOT_GONE_MESSAGE = "The disk's shares folder is gone (the disk was unmounted, or the folder was removed or moved): Safehold stopped watching it.";

class InotifyWatcher implements Watcher {
  readonly root: string;
  readonly ready: Promise<WatchState>;
  readonly #options: WatchOptions;
  readonly #system: InotifyFileEventsOptions;
  readonly #batches: EventBatches;
  #state: WatchState = { kind: 'starting' };
  #resolveReady!: (state: WatchState) => void;
  #settled = false;
  #closed = false;
  /** The watched folder is gone: nothing is started again. */
  #ended = false;
  /** The inotifywait of now: its stop switch and its end. */
  #abort: AbortController | undefined;
  #running: Promise<void> = Promise.resolve();
  #generation = 0;
  /** Why the inotifywait of now was started: the `rescan` owed once its watches are established. */
  #owed: { reason: RescanReason; message: string } | null = null;
  /** Set when the process is stopped on purpose to be started again at once. */
  #restartFor: { reason: RescanReason; message: string } | null = null;
  #limitAtStart = false;
  #startFailure = '';
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #downSaid = false;
  /** A MOVED_FROM waiting for its MOVED_TO (inotify writes the two one after the other). */
  #movedFrom: InotifyRecord | null = null;
  #scans: Promise<void> = Promise.resolve();

  constructor(root: string, options: WatchOptions, system: InotifyFileEventsOptions) {
    this.root = root;
    this.#options = options;
    this.#system = system;
    this.#batches = new EventBatches(options, () => this.#settleMove());
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
    void this.#start();
  }

  get state(): WatchState {
    return this.#state;
  }

  [Symbol.asyncIterator](): AsyncIterator<FileEvent[]> {
    return this.#batches[Symbol.asyncIterator]();
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearTimeout(this.#retryTimer);
      this.#abort?.abort();
      this.#batches.close();
      this.#setState({ kind: 'closed' });
    }
    await this.#running;
    await this.#scans;
  }

  #setState(state: WatchState): void {
    this.#state = state;
    if ((state.kind !== 'starting' && !this.#settled) || state.kind === 'closed') {
      this.#settled = true;
      this.#resolveReady(state);
    }
  }

  #log(line: string): void {
    this.#system.log?.(`${this.root}: ${line}`);
  }

  #rescan(path: Buffer, reason: RescanReason, message: string): void {
    this.#log(message);
    this.#batches.push({ kind: 'rescan', path, reason, message });
  }

  get #stopped(): boolean {
    return this.#closed || this.#ended;
  }

  async #start(): Promise<void> {
    if (this.#stopped) return;
    const folder = await stat(this.root).catch(() => null);
    if (!folder?.isDirectory()) {
      this.#end();
      return;
    }
    const generation = ++this.#generation;
    const abort = new AbortController();
    this.#abort = abort;
    this.#limitAtStart = false;
    this.#startFailure = '';
    this.#movedFrom = null;
    const records = new RecordParser();
    const diagnostics = new StderrParser();
    const current = () => generation === this.#generation && !this.#stopped;
    const run = this.#system.runner.run('inotifywait', inotifywaitArgs(), {
      cwd: this.root,
      timeoutMs: Infinity,
      signal: abort.signal,
      env: { LC_ALL: 'C' }, // the --exclude pattern counts bytes, and `.` matches any of them
      collectStdout: false,
      collectStderr: false,
      maxOutputBytes: 1 << 20,
      onStdoutChunk: (chunk) => {
        if (!current()) return;
        for (const item of records.feed(chunk)) {
          if (item.kind === 'garbled') {
            this.#restart('unexpected-output', `Safehold's watch on this disk printed something it could not read (${item.problem}): it was started again and the whole disk is checked.`);
            return;
          }
          this.#onRecord(item.record);
          if (!current() || this.#restartFor) return;
        }
      },
      onStderrChunk: (chunk) => {
        if (!current()) return;
        for (const item of diagnostics.feed(chunk)) this.#onDiagnostic(item);
      },
    });
    this.#running = run.then(
      (result) => this.#onExit(generation, `exit status ${result.exitCode}`, false),
      (error: unknown) => this.#onExit(generation, error instanceof Error ? error.message : String(error), error instanceof ToolMissingError),
    );
  }

  #onDiagnostic(item: StderrItem): void {
    switch (item.kind) {
      case 'established': {
        this.#failures = 0;
        this.#downSaid = false;
        if (this.#state.kind !== 'partial') this.#setState({ kind: 'watching' });
        const owed = this.#owed;
        this.#owed = null;
        if (owed) this.#rescan(ROOT, owed.reason, owed.message);
        return;
      }
      case 'limit-at-start':
        this.#limitAtStart = true;
        return;
      case 'start-failed':
        this.#startFailure = item.reason;
        return;
      case 'unwatched': {
        if (item.limit) {
          const message = this.#limitMessage();
          this.#setState({ kind: 'partial', reason: 'watch-limit', message });
          this.#rescan(ROOT, 'watch-limit', message);
        } else if (item.path && item.reason === 'No such file or directory') {
          // Gone before it could be watched: nothing in it to miss, but what it held moved on is looked at.
          this.#rescan(parentOf(item.path), 'unwatched-folder', `A folder vanished while Safehold set up its watch: "${shownPath(parentOf(item.path))}" is checked again.`);
        } else {
          const path = item.path ?? ROOT;
          this.#setState({ kind: 'partial', reason: 'unwatched-folder', message: `Safehold cannot watch "${shownPath(path)}" (${item.reason}): changes there are found by the periodic check.` });
          this.#rescan(path, 'unwatched-folder', `Safehold could not watch the folder "${shownPath(path)}" (${item.reason}): it is checked now, and later changes in it are found by the periodic check.`);
        }
        return;
      }
      case 'unknown':
        this.#rescan(ROOT, 'unexpected-output', `Safehold's watch on this disk said something unexpected ("${item.text.slice(0, 200)}"): the whole disk is checked again.`);
    }
  }

  #limitMessage(): string {
    return watchLimitMessage(maxUserWatches(), this.#options.checkEveryMinutes);
  }

  #onRecord(record: InotifyRecord): void {
    const { events, path } = record;
    const folder = events.has('ISDIR');
    if (this.#movedFrom && !(events.has('MOVED_TO') && record.cookie === this.#movedFrom.cookie)) this.#settleMove();
    if (events.has('Q_OVERFLOW')) {
      this.#restart('overflow', OVERFLOW_MESSAGE);
      return;
    }
    if (events.has('UNMOUNT') || (path.length === 0 && (events.has('DELETE_SELF') || events.has('MOVE_SELF')))) {
      this.#end();
      return;
    }
    if (events.has('DELETE_SELF') || events.has('MOVE_SELF') || events.has('IGNORED')) return; // a folder inside: its parent reported it
    if (events.has('MOVED_FROM')) {
      this.#movedFrom = record;
    } else if (events.has('MOVED_TO')) {
      const from = this.#movedFrom;
      this.#movedFrom = null;
      if (from) this.#batches.push({ kind: 'renamed', from: from.path, path, folder });
      else this.#appeared(path, folder);
    } else if (events.has('CLOSE_WRITE')) {
      this.#batches.push({ kind: 'written', path, folder: false });
    } else if (events.has('CREATE')) {
      if (folder) this.#appeared(path, true); // a new file is reported when it is closed
    } else if (events.has('DELETE')) {
      this.#batches.push({ kind: 'removed', path, folder });
    } else if (events.has('ATTRIB')) {
      this.#batches.push({ kind: 'attributes', path, folder });
    }
  }

  /** A MOVED_FROM whose MOVED_TO did not follow: moved out of the tree. */
  #settleMove(): void {
    const from = this.#movedFrom;
    this.#movedFrom = null;
    if (from) this.#batches.push({ kind: 'removed', path: from.path, folder: from.events.has('ISDIR') });
  }

  /** A file or folder that appeared in one step (moved in from outside, or a folder made). */
  #appeared(path: Buffer, folder: boolean): void {
    if (!folder) {
      this.#batches.push({ kind: 'written', path, folder: false });
      return;
    }
    this.#batches.push({ kind: 'folder-created', path, folder: true });
    this.#scans = this.#scans.then(() => this.#scanFolder(path));
  }

  /** Report what a new folder already holds (it is watched by now: inotifywait printed its event after watching it). */
  async #scanFolder(top: Buffer): Promise<void> {
    const limit = this.#options.maxFolderScan ?? DEFAULTS.maxFolderScan;
    const found: FileEvent[] = [];
    const folders = [top];
    try {
      while (folders.length > 0) {
        if (this.#stopped) return;
        const folder = folders.pop()!;
        let entries: Dirent<Buffer>[];
        try {
          entries = await readdir(absolutePath(this.root, folder), { withFileTypes: true, encoding: 'buffer' });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
          // Moved or removed before it was read: what landed in it before its watch is found by a walk of where it was.
          const parent = parentOf(folder);
          this.#rescan(parent, 'unwatched-folder', `A new folder moved or vanished before Safehold could read it: "${shownPath(parent)}" is checked again.`);
          continue;
        }
        for (const entry of entries) {
          const path = Buffer.concat([folder, Buffer.from('/'), entry.name]);
          if (entry.isDirectory()) {
            found.push({ kind: 'folder-created', path, folder: true });
            folders.push(path);
          } else if (entry.isFile()) {
            found.push({ kind: 'written', path, folder: false });
          }
          if (found.length > limit) {
            this.#rescan(top, 'large-folder', `A folder with more than ${limit} entries appeared ("${shownPath(top)}"): it is checked as a whole.`);
            return;
          }
        }
      }
    } catch (error) {
      this.#rescan(top, 'unwatched-folder', `Safehold could not read the new folder "${shownPath(top)}" (${(error as Error).message}): it is checked again.`);
      return;
    }
    for (const event of found) this.#batches.push(event);
  }

  /** Stop the inotifywait of now and start another at once; the `rescan` follows its set-up. */
  #restart(reason: RescanReason, message: string): void {
    if (this.#restartFor || this.#stopped) return;
    this.#log(message);
    this.#restartFor = { reason, message };
    this.#abort?.abort();
  }

  /** The watched folder is gone: say so and end. */
  #end(): void {
    if (this.#stopped) return;
    this.#log(ROOT_GONE_MESSAGE);
    this.#batches.push({ kind: 'rescan', path: ROOT, reason: 'root-gone', message: ROOT_GONE_MESSAGE });
    this.#setState({ kind: 'down', reason: 'root-gone', message: ROOT_GONE_MESSAGE });
    this.#ended = true;
    this.#abort?.abort();
    this.#batches.finish();
  }

  #onExit(generation: number, how: string, missing: boolean): void {
    if (generation !== this.#generation || this.#stopped) return;
    this.#movedFrom = null;
    const restart = this.#restartFor;
    this.#restartFor = null;
    if (restart) {
      this.#owed = restart;
      void this.#start();
      return;
    }
    this.#owed = { reason: 'restarted', message: RESTARTED_MESSAGE };
    let delay: number;
    let down: WatchState & { kind: 'down' };
    if (this.#limitAtStart) {
      delay = this.#system.limitRetryMs ?? 600_000;
      down = { kind: 'down', reason: 'watch-limit', message: this.#limitMessage() };
    } else {
      delay = Math.min(60_000, (this.#system.restartDelayMs ?? 1000) * 2 ** this.#failures);
      this.#failures += 1;
      const why = missing ? 'inotifywait (inotify-tools) is not installed' : this.#startFailure || how;
      down = { kind: 'down', reason: 'restarted', message: `Safehold's watch on this disk stopped (${why}): changes are found by the periodic check until it runs again.` };
    }
    this.#setState(down);
    if (!this.#downSaid) {
      this.#downSaid = true;
      this.#rescan(ROOT, down.reason, down.message);
    }
    this.#retryTimer = setTimeout(() => void this.#start(), delay); // close() clears it
  }
}

function parentOf(path: Buffer): Buffer {
  const at = path.lastIndexOf(0x2f);
  return at < 0 ? ROOT : path.subarray(0, at);
}

/** fs.inotify.max_user_watches, for the words of the limit message (null when unreadable). Read only when the limit is hit. */
function maxUserWatches(): number | null {
  try {
    return Number.parseInt(readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8'), 10) || null;
  } catch {
    return null;
  }
}
