/**
 * FileEvents on Linux: one `inotifywait -m -r` per watched folder (inotify-tools 3.22), run through
 * the command runner (under `setpriv --pdeathsig KILL`: it never outlives the service) on a short
 * link to that folder, its output parsed by inotifywait.parse.ts and turned into the contract's events
 * (file-events.ts; docs/file-events.md).
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
import { chmod, open, readdir, stat, symlink, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPORARY_PREFIX } from '../files/file-placer.js';
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
  /** Folder for the short links inotifywait is given to the roots (see `makeLink`). Default: the system's temp folder. */
  linkFolder?: string;
}

/** The events asked for: what the contract reports, and what tells the watch itself is gone or overflowed. */
const EVENTS = 'close_write,moved_to,moved_from,create,delete,attrib,delete_self,move_self,unmount,q_overflow';

/** Arguments of inotifywait watching `path` (the short link to the root). */
export function inotifywaitArgs(path: string): string[] {
  // A path longer than MAX_REPORTED_PATH_BYTES matches: 16 × 254 = 4064, then one more byte.
  const tooLong = `^(.{254}){16}.`;
  if (MAX_REPORTED_PATH_BYTES !== 16 * 254) throw new Error('the --exclude pattern no longer matches MAX_REPORTED_PATH_BYTES');
  return ['-m', '-r', '-e', EVENTS, '--exclude', tooLong, '--format', '%c%0%e%0%w%f%0', '--no-newline', '--', path];
}

/**
 * inotifywait prints every path whole, with the path it was given in front, in a buffer of 4096
 * bytes: it is given a short symbolic link to the root (`<linkFolder>/.sfw<pid>-<n>`) so that
 * paths of 4,000 bytes below the root fit. (Running it in the root on `.` would be shorter still,
 * but its working folder would keep the disk from being unmounted.)
 */
let links = 0;
async function makeLink(folder: string, root: string): Promise<string> {
  await removeStaleLinks(folder);
  for (;;) {
    const link = join(folder, `.sfw${process.pid}-${++links}`);
    try {
      await symlink(root, link);
      return link;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Links left by a Safehold process that is gone (a crash). */
async function removeStaleLinks(folder: string): Promise<void> {
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const pid = /^\.sfw(\d+)-\d+$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !(await isAlive(Number(pid)))) await unlink(join(folder, name)).catch(() => {});
  }
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** One inotifywait process and what is known of its stream. */
interface Instance {
  readonly abort: AbortController;
  established: boolean;
  /** Stopped on purpose (replaced by a re-armed one, or closing): its exit means nothing. */
  retired: boolean;
  limitAtStart: boolean;
  startFailure: string;
  /** A MOVED_FROM waiting for its MOVED_TO (inotify writes the two one after the other). */
  movedFrom: InotifyRecord | null;
  /**
   * New folders this inotifywait may still be setting its watches on. It handles one event at a
   * time (print, then watch a new folder), so any record it prints after a folder's own is proof
   * that it has tried; to have one soon, the root's attributes are touched (`probe`).
   */
  awaitingWatch: Buffer[];
  probing: boolean;
  /**
   * New folders (and what they hold) touched to learn whether they are watched: a touch makes the
   * parent's watch print an ATTRIB for the folder and, right after it, the folder's own watch
   * another; a parent's record not followed by the folder's own means the folder is not watched.
   */
  verifying: Map<string, Buffer>;
  /** The folder whose parent's ATTRIB was the last record: the next record tells whether it is watched. */
  expectOwn: Buffer | null;
  /**
   * Replaced by a second inotifywait, but its output may still hold events from before the
   * hand-over: it is read on until it reports the marker file made in the root at the hand-over
   * (a name of its own, so the kernel cannot merge its event with another), then retired.
   */
  drainUntil: Buffer | null;
  /** While this one sets up to take over: the folders the current one reported made meanwhile (its set-up walk may have missed them). */
  madeDuringSetUp: Buffer[];
}

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
  #current: Instance | null = null;
  /** A second inotifywait being set up beside the current one to watch folders the current one missed. */
  #next: { instance: Instance; holes: Buffer[] } | null = null;
  /** Replaced ones still being read to the hand-over (see `Instance.drainUntil`). */
  #draining = new Set<Instance>();
  /**
   * The hand-over markers made in the root: a temporary file's name (Samba hides it, the
   * duplicator never copies it, a crash's leftover is cleaned like any other), never reported.
   */
  #markers = new Set<string>();
  #running = new Set<Promise<void>>();
  /** Why the current inotifywait was started: the `rescan` owed once its watches are established. */
  #owed: { reason: RescanReason; message: string } | null = null;
  /** Set when the current process is stopped on purpose to be started again at once. */
  #restartFor: { reason: RescanReason; message: string } | null = null;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #downSaid = false;
  #scans: Promise<void> = Promise.resolve();
  /** The short link to the root inotifywait watches (made at the first start, removed at the end). */
  #link: string | null = null;

  constructor(root: string, options: WatchOptions, system: InotifyFileEventsOptions) {
    this.root = root;
    this.#options = options;
    this.#system = system;
    this.#batches = new EventBatches(options, () => {
      if (this.#current) this.#settleMove(this.#current);
    });
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
    void this.#startCurrent();
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
      for (const instance of [this.#current, this.#next?.instance, ...this.#draining]) if (instance) this.#retire(instance);
      this.#batches.close();
      this.#setState({ kind: 'closed' });
    }
    while (this.#running.size > 0) await Promise.all(this.#running);
    await this.#scans;
    await this.#removeLink();
  }

  async #removeLink(): Promise<void> {
    const link = this.#link;
    this.#link = null;
    if (link) await unlink(link).catch(() => {});
  }

  get #stopped(): boolean {
    return this.#closed || this.#ended;
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

  #retire(instance: Instance): void {
    instance.retired = true;
    this.#draining.delete(instance);
    instance.abort.abort();
  }

  /**
   * Retire `old` once it has reported the hand-over marker (made and removed in the root now), or
   * at once when no marker can be made there.
   */
  async #drain(old: Instance): Promise<void> {
    const name = Buffer.from(`${TEMPORARY_PREFIX}${randomBytes(8).toString('hex')}`);
    this.#markers.add(key(name));
    old.drainUntil = name;
    try {
      const file = await open(absolutePath(this.root, name), 'wx');
      await file.close();
      await unlink(absolutePath(this.root, name));
    } catch {
      this.#retire(old); // a read-only or vanished root: its own events say the rest
    }
  }

  async #startCurrent(): Promise<void> {
    if (this.#stopped) return;
    const folder = await stat(this.root).catch(() => null);
    if (!folder?.isDirectory()) {
      this.#end();
      return;
    }
    if (!this.#link) {
      try {
        this.#link = await makeLink(this.#system.linkFolder ?? tmpdir(), this.root);
      } catch (error) {
        this.#onExit(null, `its link could not be made: ${(error as Error).message}`, false);
        return;
      }
      if (this.#stopped) {
        await this.#removeLink();
        return;
      }
    }
    this.#current = this.#spawn(this.#link);
  }

  /** Start one inotifywait on the root; its records and diagnostics are handled as its own. */
  #spawn(link: string): Instance {
    const instance: Instance = {
      abort: new AbortController(),
      established: false,
      retired: false,
      limitAtStart: false,
      startFailure: '',
      movedFrom: null,
      awaitingWatch: [],
      probing: false,
      verifying: new Map(),
      expectOwn: null,
      drainUntil: null,
      madeDuringSetUp: [],
    };
    const records = new RecordParser(`${link}/`);
    const diagnostics = new StderrParser(`${link}/`);
    const live = () => !instance.retired && !this.#stopped;
    // setpriv (util-linux) makes the kernel kill inotifywait when the service dies, however it dies.
    const run = this.#system.runner.run('setpriv', ['--pdeathsig', 'KILL', '--', 'inotifywait', ...inotifywaitArgs(link)], {
      timeoutMs: Infinity,
      signal: instance.abort.signal,
      env: { LC_ALL: 'C' }, // the --exclude pattern counts bytes, and `.` matches any of them
      collectStdout: false,
      collectStderr: false,
      onStdoutChunk: (chunk) => {
        for (const item of records.feed(chunk)) {
          if (!live()) return;
          if (item.kind === 'garbled') {
            this.#restart(instance, 'unexpected-output', `Safehold's watch on this disk printed something it could not read (${item.problem}): it was started again and the whole disk is checked.`);
            return;
          }
          this.#onRecord(instance, item.record);
        }
        if (live() && instance.awaitingWatch.length > 0) void this.#probe(instance);
      },
      onStderrChunk: (chunk) => {
        for (const item of diagnostics.feed(chunk)) if (live()) this.#onDiagnostic(instance, item);
      },
    });
    const ended = run.then(
      (result) => this.#onExit(instance, `exit status ${result.exitCode}`, result.exitCode === 127), // 127: setpriv found no inotifywait
      (error: unknown) => this.#onExit(instance, error instanceof Error ? error.message : String(error), error instanceof ToolMissingError),
    );
    this.#running.add(ended);
    void ended.finally(() => this.#running.delete(ended));
    return instance;
  }

  #onDiagnostic(instance: Instance, item: StderrItem): void {
    switch (item.kind) {
      case 'established': {
        instance.established = true;
        if (this.#next?.instance === instance) {
          this.#takeOver();
          return;
        }
        this.#failures = 0;
        this.#downSaid = false;
        if (this.#state.kind !== 'partial') this.#setState({ kind: 'watching' });
        const owed = this.#owed;
        this.#owed = null;
        if (owed) this.#rescan(ROOT, owed.reason, owed.message);
        return;
      }
      case 'limit-at-start':
        instance.limitAtStart = true;
        return;
      case 'start-failed':
        instance.startFailure = item.reason;
        return;
      case 'unwatched': {
        if (item.limit) {
          const message = this.#limitMessage();
          this.#setState({ kind: 'partial', reason: 'watch-limit', message });
          this.#rescan(ROOT, 'watch-limit', message);
        } else if (item.path && item.reason === 'No such file or directory') {
          // Gone before it could be watched: what it held moved on is looked for where it was.
          const parent = parentOf(item.path);
          this.#rescan(parent, 'unwatched-folder', `A folder vanished while Safehold set up its watch: "${shownPath(parent)}" is checked again.`);
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

  #onRecord(instance: Instance, record: InotifyRecord): void {
    const { events, path } = record;
    const folder = events.has('ISDIR');
    if (this.#markers.has(key(path))) {
      // A hand-over marker: never reported.
      if (instance.drainUntil?.equals(path)) {
        // Everything it printed before the hand-over has been read: the new one reports the rest.
        this.#settleMove(instance);
        this.#retire(instance);
      }
      // Forgotten once gone and no longer awaited (a late record of it is a temporary file's: dropped with those).
      if (events.has('DELETE') && ![...this.#draining].some((other) => other.drainUntil?.equals(path))) this.#markers.delete(key(path));
      return;
    }
    instance.probing = false;
    for (const watched of instance.awaitingWatch.splice(0)) this.#scans = this.#scans.then(() => this.#scanFolder(instance, watched, true));
    if (instance.expectOwn) {
      const touched = instance.expectOwn;
      instance.expectOwn = null;
      instance.verifying.delete(key(touched));
      if (!(events.has('ATTRIB') && record.self && path.equals(touched)) && instance.drainUntil === null) this.#rearm([touched]);
    }
    if (instance.movedFrom && !(events.has('MOVED_TO') && record.cookie === instance.movedFrom.cookie)) this.#settleMove(instance);
    if (events.has('Q_OVERFLOW')) {
      this.#restart(instance, 'overflow', OVERFLOW_MESSAGE);
      return;
    }
    if (events.has('UNMOUNT') || (path.length === 0 && (events.has('DELETE_SELF') || events.has('MOVE_SELF')))) {
      this.#end();
      return;
    }
    if (events.has('ATTRIB')) {
      // A folder's own ATTRIB is never reported (its parent's is, and the root's is the probe's).
      if (record.self) return;
      if (folder && instance.verifying.has(key(path))) instance.expectOwn = path; // the touch, not a change
      else this.#batches.push({ kind: 'attributes', path, folder });
      return;
    }
    if (events.has('DELETE_SELF') || events.has('MOVE_SELF') || events.has('IGNORED')) return; // a folder inside: its parent reported it
    if (events.has('MOVED_FROM')) {
      instance.movedFrom = record;
    } else if (events.has('MOVED_TO')) {
      const from = instance.movedFrom;
      instance.movedFrom = null;
      if (from) this.#batches.push({ kind: 'renamed', from: from.path, path, folder });
      else this.#appeared(instance, path, folder);
    } else if (events.has('CLOSE_WRITE')) {
      this.#batches.push({ kind: 'written', path, folder: false });
    } else if (events.has('CREATE')) {
      if (folder) this.#appeared(instance, path, true); // a new file is reported when it is closed
    } else if (events.has('DELETE')) {
      this.#batches.push({ kind: 'removed', path, folder });
    }
  }

  /** A MOVED_FROM whose MOVED_TO did not follow: moved out of the tree. */
  #settleMove(instance: Instance): void {
    const from = instance.movedFrom;
    instance.movedFrom = null;
    if (from) this.#batches.push({ kind: 'removed', path: from.path, folder: from.events.has('ISDIR') });
  }

  /** A file or folder that appeared in one step (moved in from outside, or a folder made). */
  #appeared(instance: Instance, path: Buffer, folder: boolean): void {
    if (!folder) {
      this.#batches.push({ kind: 'written', path, folder: false });
      return;
    }
    this.#batches.push({ kind: 'folder-created', path, folder: true });
    if (instance === this.#current && this.#next) this.#next.instance.madeDuringSetUp.push(path);
    const current = this.#current;
    if (instance.drainUntil !== null && current) {
      // Told by the one being replaced: whether the new one watches it is what matters.
      current.awaitingWatch.push(path);
      void this.#probe(current);
    } else {
      instance.awaitingWatch.push(path);
    }
  }

  /** Touch the root's attributes (a chmod to its own mode: only its ctime changes) so that inotifywait prints one more record. */
  async #probe(instance: Instance, force = false): Promise<void> {
    if (instance.probing && !force) return;
    instance.probing = true;
    await touch(this.root);
  }

  /**
   * Report what a new folder already holds (inotifywait has tried to watch it by now); the folders
   * found inside are touched to learn whether inotifywait watches them (with `verify`: it may have
   * missed some, see the BUGS of inotifywait(1)).
   */
  async #scanFolder(instance: Instance, top: Buffer, verify: boolean): Promise<void> {
    const limit = this.#options.maxFolderScan ?? DEFAULTS.maxFolderScan;
    const found: FileEvent[] = [];
    const subfolders: Buffer[] = [];
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
            subfolders.push(path);
          } else if (entry.isFile()) {
            found.push({ kind: 'written', path, folder: false });
          }
          if (found.length > limit) {
            this.#rescan(top, 'large-folder', `A folder with more than ${limit} entries appeared ("${shownPath(top)}"): it is checked as a whole.`);
            if (verify) this.#rearm([]); // the folders in it may not all be watched
            return;
          }
        }
      }
    } catch (error) {
      this.#rescan(top, 'unwatched-folder', `Safehold could not read the new folder "${shownPath(top)}" (${(error as Error).message}): it is checked again.`);
      return;
    }
    for (const event of found) this.#batches.push(event);
    if (!verify || instance.retired || instance.drainUntil !== null) return;
    // Top down: the first folder inotifywait missed has a parent it watches, whose record tells.
    for (const folder of [top, ...subfolders]) {
      instance.verifying.set(key(folder), folder);
      if (!(await touch(absolutePath(this.root, folder)))) instance.verifying.delete(key(folder));
    }
    void this.#probe(instance, true); // one more record after the last touch's
  }

  /**
   * Some folders are not watched by the current inotifywait: start a second one beside it (its
   * set-up walk watches every folder there is now), hand over once its watches are established,
   * then read those folders again. No event is lost meanwhile; some may be reported twice.
   */
  #rearm(holes: Buffer[]): void {
    if (this.#stopped) return;
    if (this.#next) {
      this.#next.holes.push(...holes);
      return;
    }
    this.#log(`inotifywait missed ${holes.length} new folder(s) (it sets its watches after they are made): a second one takes over.`);
    if (!this.#link) return;
    this.#next = { instance: this.#spawn(this.#link), holes };
  }

  #takeOver(): void {
    const next = this.#next!;
    this.#next = null;
    const old = this.#current;
    this.#current = next.instance;
    if (old) {
      // Its output may still hold events from before the hand-over that the new one, set up since, will not print.
      this.#draining.add(old);
      // The folders it was still reading or checking are read and checked again against the new one.
      const carried = [...old.awaitingWatch, ...old.verifying.values(), ...next.instance.madeDuringSetUp];
      next.instance.madeDuringSetUp = [];
      old.awaitingWatch = [];
      old.expectOwn = null;
      old.verifying.clear();
      if (carried.length > 0) {
        next.instance.awaitingWatch.push(...carried);
        void this.#probe(next.instance);
      }
      void this.#drain(old);
    }
    for (const hole of next.holes) this.#scans = this.#scans.then(() => this.#scanFolder(next.instance, hole, true));
  }

  /** Stop the current inotifywait and start another at once; the `rescan` follows its set-up. */
  #restart(from: Instance, reason: RescanReason, message: string): void {
    // Trouble in a second inotifywait still setting up, or in a replaced one still read to the hand-over, is trouble for all: the current one restarts.
    const instance = from === this.#next?.instance || this.#draining.has(from) ? this.#current : from;
    if (this.#stopped || !instance || instance !== this.#current || this.#restartFor) return;
    this.#log(message);
    this.#restartFor = { reason, message };
    for (const old of [...this.#draining]) this.#retire(old); // the rescan that follows covers what they held
    if (this.#next) {
      this.#retire(this.#next.instance);
      this.#next = null;
    }
    instance.abort.abort();
  }

  /** The watched folder is gone: say so and end. */
  #end(): void {
    if (this.#stopped) return;
    this.#log(ROOT_GONE_MESSAGE);
    this.#batches.push({ kind: 'rescan', path: ROOT, reason: 'root-gone', message: ROOT_GONE_MESSAGE });
    this.#setState({ kind: 'down', reason: 'root-gone', message: ROOT_GONE_MESSAGE });
    this.#ended = true;
    for (const instance of [this.#current, this.#next?.instance, ...this.#draining]) if (instance) this.#retire(instance);
    this.#batches.finish();
    void Promise.all(this.#running).then(() => this.#removeLink());
  }

  #onExit(instance: Instance | null, how: string, missing: boolean): void {
    if (instance?.retired || this.#stopped) return;
    if (instance && this.#draining.delete(instance)) {
      this.#settleMove(instance);
      return; // replaced already: the new one watches
    }
    if (instance && this.#next?.instance === instance) {
      // The second inotifywait could not be set up (the watch limit, counting both): the folders stay unwatched.
      const holes = this.#next.holes;
      this.#next = null;
      const message = instance.limitAtStart ? this.#limitMessage() : `Safehold could not watch ${holes.length} new folder(s) (${instance.startFailure || how}): changes there are found by the periodic check.`;
      this.#setState({ kind: 'partial', reason: instance.limitAtStart ? 'watch-limit' : 'unwatched-folder', message });
      for (const hole of holes) this.#rescan(hole, 'unwatched-folder', message);
      return;
    }
    if (instance && instance !== this.#current) return;
    const restart = this.#restartFor;
    this.#restartFor = null;
    if (restart) {
      this.#owed = restart;
      void this.#startCurrent();
      return;
    }
    this.#owed = { reason: 'restarted', message: RESTARTED_MESSAGE };
    let delay: number;
    let down: WatchState & { kind: 'down' };
    if (instance?.limitAtStart) {
      delay = this.#system.limitRetryMs ?? 600_000;
      down = { kind: 'down', reason: 'watch-limit', message: this.#limitMessage() };
    } else {
      delay = Math.min(60_000, (this.#system.restartDelayMs ?? 1000) * 2 ** this.#failures);
      this.#failures += 1;
      const why = missing ? 'inotifywait (inotify-tools) is not installed' : instance?.startFailure || how;
      down = { kind: 'down', reason: 'restarted', message: `Safehold's watch on this disk stopped (${why}): changes are found by the periodic check until it runs again.` };
    }
    this.#setState(down);
    if (!this.#downSaid) {
      this.#downSaid = true;
      this.#rescan(ROOT, down.reason, down.message);
    }
    this.#retryTimer = setTimeout(() => void this.#startCurrent(), delay); // close() clears it
  }
}

const key = (path: Buffer) => path.toString('latin1');

/** A chmod of a folder to its own mode: nothing changes but its ctime, and inotify reports an ATTRIB. */
async function touch(path: string | Buffer): Promise<boolean> {
  try {
    const { mode } = await stat(path);
    await chmod(path, mode & 0o7777);
    return true;
  } catch {
    return false; // gone: its own events say so
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
