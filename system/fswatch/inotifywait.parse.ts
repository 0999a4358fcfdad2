/**
 * inotifywait's output, parsed (pure: bytes in, typed records out; judging is the adapter's).
 *
 * Standard output, with `--format '%c%0%e%0%w%f%0' --no-newline`: per event three NUL-terminated
 * fields, the move cookie (hexadecimal, 0 for events that are not moves), the event names
 * (comma-separated) and the path (the watched path given to inotifywait, `/`, and the path from
 * there; empty for Q_OVERFLOW). A file name holds any byte but NUL, so this is unambiguous for
 * every name (newlines, quotes, bytes that are not UTF-8). inotifywait 3.22 formats an event
 * into a 4096-byte buffer and prints garbage past it: a record longer than `MAX_RECORD_BYTES`, or
 * one that does not read as a record, is `garbled` and the stream is no longer trusted (the
 * adapter keeps paths that long from being reported at all with `--exclude`).
 *
 * Standard error: set-up progress, the watch limit, folders that could not be watched (captured
 * in test/fixtures/inotifywait/).
 */

/** inotifywait 3.22's longest correct record, in bytes (its buffer of 4096 and the terminator). */
export const MAX_RECORD_BYTES = 4095;
/**
 * Longest `%w%f` that always fits a record: 4095 − an 8-digit cookie − the longest event list the
 * adapter's events give (CLOSE_WRITE,CLOSE: 17) − 3 NULs = 4067, less 3 to spare.
 */
export const MAX_REPORTED_PATH_BYTES = 4064;

const KNOWN_EVENTS = new Set([
  'ACCESS', 'MODIFY', 'ATTRIB', 'CLOSE_WRITE', 'CLOSE_NOWRITE', 'CLOSE', 'OPEN', 'MOVED_FROM', 'MOVED_TO', 'MOVE',
  'CREATE', 'DELETE', 'DELETE_SELF', 'MOVE_SELF', 'UNMOUNT', 'Q_OVERFLOW', 'IGNORED', 'ISDIR', 'ONESHOT',
]);

export interface InotifyRecord {
  /** The move cookie pairing a MOVED_FROM with its MOVED_TO; 0 otherwise. */
  cookie: number;
  /** The event names, e.g. CLOSE_WRITE, CLOSE; ISDIR when it happened to a folder. */
  events: Set<string>;
  /** From the watched folder, without `./`, without a trailing `/` (empty: the folder itself, or an overflow). */
  path: Buffer;
  /** True when the event came from the watch on `path` itself (%f empty: a folder's own ATTRIB, DELETE_SELF…), not from its parent's. */
  self: boolean;
}

export type StdoutItem = { kind: 'record'; record: InotifyRecord } | { kind: 'garbled'; problem: string };

/**
 * Splits standard output into records, across chunk boundaries. After a `garbled` item it yields
 * nothing more. `prefix`: the watched path as given to inotifywait, with a trailing `/`.
 */
export class RecordParser {
  readonly #prefix: Buffer;
  #fields: Buffer[] = [];
  #partial: Buffer[] = [];
  #recordBytes = 0;
  #broken = false;

  constructor(prefix: string | Buffer) {
    this.#prefix = Buffer.from(prefix);
  }

  feed(chunk: Buffer): StdoutItem[] {
    const items: StdoutItem[] = [];
    let start = 0;
    while (!this.#broken && start < chunk.length) {
      const nul = chunk.indexOf(0, start);
      const end = nul < 0 ? chunk.length : nul;
      this.#recordBytes += end - start + (nul < 0 ? 0 : 1);
      if (this.#recordBytes > MAX_RECORD_BYTES) {
        this.#broken = true;
        items.push({ kind: 'garbled', problem: `a record longer than ${MAX_RECORD_BYTES} bytes` });
        break;
      }
      this.#partial.push(chunk.subarray(start, end));
      if (nul < 0) break;
      this.#fields.push(Buffer.concat(this.#partial));
      this.#partial = [];
      start = nul + 1;
      if (this.#fields.length === 3) {
        const item = recordOf(this.#fields, this.#prefix);
        this.#fields = [];
        this.#recordBytes = 0;
        items.push(item);
        if (item.kind === 'garbled') this.#broken = true;
      }
    }
    // The chunk's bytes are copied into fields above only when complete; keep a copy of a partial tail.
    this.#partial = this.#partial.map((part) => Buffer.from(part));
    return items;
  }
}

function recordOf([cookieField, eventsField, pathField]: Buffer[], prefix: Buffer): StdoutItem {
  const cookieText = cookieField!.toString('latin1');
  if (!/^[0-9a-f]{1,8}$/.test(cookieText)) return { kind: 'garbled', problem: `a cookie that is not one: ${JSON.stringify(cookieText.slice(0, 40))}` };
  const names = eventsField!.toString('latin1').split(',');
  if (!names.every((name) => KNOWN_EVENTS.has(name))) return { kind: 'garbled', problem: `unknown events: ${JSON.stringify(eventsField!.toString('latin1').slice(0, 80))}` };
  const events = new Set(names);
  const raw = pathField!;
  let path: Buffer;
  if (raw.length === 0 && events.has('Q_OVERFLOW')) path = raw;
  else if (startsWith(raw, prefix)) path = trimSlashes(raw.subarray(prefix.length));
  else return { kind: 'garbled', problem: `a path not under the watched folder: ${JSON.stringify(raw.toString('utf8').slice(0, 80))}` };
  const self = raw.length > 0 && raw[raw.length - 1] === 0x2f;
  return { kind: 'record', record: { cookie: Number.parseInt(cookieText, 16), events, path, self } };
}

function startsWith(path: Buffer, prefix: Buffer): boolean {
  return path.length >= prefix.length && path.subarray(0, prefix.length).equals(prefix);
}

function trimSlashes(path: Buffer): Buffer {
  let end = path.length;
  while (end > 0 && path[end - 1] === 0x2f) end -= 1;
  return Buffer.from(path.subarray(0, end));
}

export type StderrItem =
  /** "Watches established.": every folder found is watched. */
  | { kind: 'established' }
  /** The watch limit was reached while setting up: inotifywait exits. */
  | { kind: 'limit-at-start' }
  /** A folder made later could not be watched; `limit` when the watch limit is the reason. `path` null when it could not be read. */
  | { kind: 'unwatched'; path: Buffer | null; limit: boolean; reason: string }
  /** The watched folder itself could not be watched at start (inotifywait exits). */
  | { kind: 'start-failed'; reason: string }
  /** A line that is none of the above (or the rest of a name holding a newline). */
  | { kind: 'unknown'; text: string };

const SETTING_UP = 'Setting up watches.';
const ESTABLISHED = 'Watches established.';
const LIMIT_HINT = 'Please increase the amount of inotify watches';
const NEW_FOLDER = "Couldn't watch new directory ";
const AT_START = "Couldn't watch ";
const LIMIT_REASON = 'No space left on device'; // ENOSPC: what inotify_add_watch says at max_user_watches

/** Splits standard error into lines (bytes: a folder's name need not be UTF-8) and reads each. `prefix` as for `RecordParser`. */
export class StderrParser {
  readonly #prefix: Buffer;
  #partial: Buffer[] = [];

  constructor(prefix: string | Buffer) {
    this.#prefix = Buffer.from(prefix);
  }

  feed(chunk: Buffer): StderrItem[] {
    const items: StderrItem[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      this.#partial.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.#partial);
      this.#partial = [];
      start = nl + 1;
      const item = stderrLine(line, this.#prefix);
      if (item) items.push(item);
    }
    if (start < chunk.length) this.#partial.push(Buffer.from(chunk.subarray(start)));
    return items;
  }
}

function stderrLine(line: Buffer, prefix: Buffer): StderrItem | null {
  const text = line.toString('latin1');
  if (text.length === 0 || text.startsWith(SETTING_UP) || text.startsWith(LIMIT_HINT)) return null;
  if (text === ESTABLISHED) return { kind: 'established' };
  if (text.startsWith('Failed to watch ') && text.endsWith('upper limit on inotify watches reached!')) return { kind: 'limit-at-start' };
  if (text.startsWith(NEW_FOLDER)) {
    const colon = text.lastIndexOf(': ');
    const reason = colon < 0 ? '' : text.slice(colon + 2);
    const shown = colon < 0 ? null : line.subarray(NEW_FOLDER.length, colon);
    const path = shown && startsWith(shown, prefix) ? trimSlashes(shown.subarray(prefix.length)) : null;
    return { kind: 'unwatched', path, limit: reason === LIMIT_REASON, reason: reason || text };
  }
  if (text.startsWith('setpriv: ')) return { kind: 'start-failed', reason: text.slice('setpriv: '.length) }; // inotifywait could not be run
  if (text.startsWith(AT_START)) {
    const colon = text.lastIndexOf(': ');
    return { kind: 'start-failed', reason: colon < 0 ? text : text.slice(colon + 2) };
  }
  return { kind: 'unknown', text: line.toString('utf8') };
}
