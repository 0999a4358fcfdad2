/**
 * Helpers for tests of FileEvents (system/fswatch): reading a watcher until what is expected has
 * arrived (no sleeps; a wait that outlasts `HANG_MS` fails with what did arrive, so that a hang
 * names its test instead of stopping the whole file: it judges no speed), and the inotifywait
 * processes this test process started (only its own children are judged).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { FileEvent, Watcher } from '../../system/fswatch/file-events.js';

/** How long a wait for events may last before it counts as hung (5 minutes: far beyond any busy machine's delay). */
export const HANG_MS = 300_000;

/** The iterator's next batch, or a failure naming `what` once `HANG_MS` have passed. */
async function nextOrHang(iterator: AsyncIterator<FileEvent[]>, what: () => string, seen: () => FileEvent[]): Promise<IteratorResult<FileEvent[]>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} did not arrive in ${HANG_MS / 60_000} minutes; the watcher said: ${describe(seen())}`)), HANG_MS);
  });
  try {
    return await Promise.race([iterator.next(), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the test reads off a watcher: every batch, and the events in order. */
export class EventLog {
  readonly batches: FileEvent[][] = [];
  readonly #iterator: AsyncIterator<FileEvent[]>;
  #ended = false;

  constructor(watcher: Watcher) {
    this.#iterator = watcher[Symbol.asyncIterator]();
  }

  get events(): FileEvent[] {
    return this.batches.flat();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Read batches until `done(events)` holds; returns the events read so far. Fails when the iteration ends first. */
  async until(done: (events: FileEvent[]) => boolean, what: string | ((events: FileEvent[]) => string) = 'the expected events'): Promise<FileEvent[]> {
    const words = () => (typeof what === 'string' ? what : what(this.events));
    while (!done(this.events)) {
      const next = await nextOrHang(this.#iterator, words, () => this.events);
      if (next.done) {
        this.#ended = true;
        if (!done(this.events)) throw new Error(`the watcher ended before ${words()} arrived; it said: ${describe(this.events)}`);
        break;
      }
      this.batches.push(next.value);
    }
    return this.events;
  }

  /** Read until the iteration ends. */
  async untilEnd(): Promise<FileEvent[]> {
    for (;;) {
      const next = await nextOrHang(this.#iterator, () => 'the end of the watch', () => this.events);
      if (next.done) break;
      this.batches.push(next.value);
    }
    this.#ended = true;
    return this.events;
  }
}

export const text = (path: Buffer) => path.toString('latin1');

/** True when some event is of `kind` on `path` (a string, or a Buffer for names that are not UTF-8). */
export function has(events: FileEvent[], kind: FileEvent['kind'], path: string | Buffer, from?: string | Buffer): boolean {
  const want = typeof path === 'string' ? Buffer.from(path) : path;
  const wantFrom = from === undefined ? undefined : typeof from === 'string' ? Buffer.from(from) : from;
  return events.some((event) => event.kind === kind && event.path.equals(want) && (wantFrom === undefined || (event.kind === 'renamed' && event.from.equals(wantFrom))));
}

/** The events touching `path`, as `kind` names (renames on either side). */
export function kindsOn(events: FileEvent[], path: string): string[] {
  const want = Buffer.from(path);
  return events.filter((event) => event.path.equals(want) || (event.kind === 'renamed' && event.from.equals(want))).map((event) => event.kind);
}

export function describe(events: FileEvent[]): string {
  const shown = events.slice(0, 30).map((event) => (event.kind === 'renamed' ? `renamed ${event.from.toString()} → ${event.path.toString()}` : `${event.kind} ${event.path.toString()}`));
  return shown.join('; ') + (events.length > 30 ? `; … (${events.length} in all)` : '');
}

/** Pids of running (not zombie) inotifywait processes whose parent is this test process (watching `root` when given). */
export async function ownInotifywaits(root?: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (comm !== 'inotifywait' || Number(ppid) !== process.pid || state === 'Z') continue;
    if (root !== undefined) {
      // It watches a short link to its root: the last argument of its command line.
      const watched = (await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '')).split('\0').filter(Boolean).at(-1) ?? '';
      if ((await readlink(watched).catch(() => '')) !== root) continue;
    }
    pids.push(Number(name));
  }
  return pids;
}
