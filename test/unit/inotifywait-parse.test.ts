/**
 * inotifywait's output read back, from real captures of inotifywait 3.22
 * (test/fixtures/inotifywait/capture.sh, watching `.`): hostile names whole, an overflow, the
 * watch limit at start and later, and the garbage 3.22 prints after a record longer than its buffer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RecordParser, StderrParser, type InotifyRecord, type StdoutItem } from '../../system/fswatch/inotifywait.parse.js';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), '../../../test/fixtures/inotifywait');
const fixture = (name: string) => readFileSync(join(fixtures, name));

/** Feed in pieces of `size` bytes, so that every field is split across chunks somewhere. */
function parseIn(bytes: Buffer, size: number): StdoutItem[] {
  const parser = new RecordParser('./');
  const items: StdoutItem[] = [];
  for (let at = 0; at < bytes.length; at += size) items.push(...parser.feed(bytes.subarray(at, at + size)));
  return items;
}

const records = (items: StdoutItem[]): InotifyRecord[] => items.map((item) => (item.kind === 'record' ? item.record : assert.fail(`garbled: ${item.problem}`)));
const shown = (record: InotifyRecord) => `${[...record.events].join(',')} ${record.path.toString('latin1')}`;

describe("inotifywait's standard output", () => {
  it('reads names with newlines, tabs, quotes, commas, a leading dash and bytes that are not UTF-8, whole, in any chunking', () => {
    const bytes = fixture('names.stdout');
    const expected = [
      'CREATE new\nline\ttab "quoted" \'single\'',
      'CLOSE_WRITE,CLOSE new\nline\ttab "quoted" \'single\'',
      'CREATE -leading dash',
      'CLOSE_WRITE,CLOSE -leading dash',
      'CREATE bad\xff\xfeutf8',
      'CLOSE_WRITE,CLOSE bad\xff\xfeutf8',
      'MOVED_FROM -leading dash',
      'MOVED_TO renamed, with comma',
      'CREATE,ISDIR folder',
      'DELETE renamed, with comma',
    ];
    for (const size of [1, 3, 7, 64, bytes.length]) assert.deepEqual(records(parseIn(bytes, size)).map(shown), expected, `in chunks of ${size}`);
    const [from, to] = records(parseIn(bytes, 5)).filter((record) => record.events.has('MOVED_FROM') || record.events.has('MOVED_TO'));
    assert.ok(from!.cookie !== 0 && from!.cookie === to!.cookie, 'a move pair shares its cookie');
    assert.deepEqual(records(parseIn(bytes, 5))[4]!.path, Buffer.from('bad\xff\xfeutf8', 'latin1'));
  });

  it('reads a queue overflow as a record with an empty path', () => {
    const items = records(parseIn(fixture('overflow.stdout'), 13));
    const last = items.at(-1)!;
    assert.ok(last.events.has('Q_OVERFLOW'));
    assert.equal(last.path.length, 0);
    assert.ok(items.slice(0, -1).every((record) => record.path.toString().startsWith('f')));
  });

  it('calls a record longer than the buffer of inotifywait 3.22 garbled, and reads nothing after it', () => {
    const bytes = fixture('too-long.stdout');
    assert.ok(bytes.includes('CLOSE_WRITE'), 'the capture holds two events, a CREATE and the CLOSE_WRITE after it');
    const items = parseIn(bytes, 512);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.kind, 'garbled');
  });
});

describe("inotifywait's standard error", () => {
  const read = (name: string, size = 5) => {
    const parser = new StderrParser('./');
    const bytes = fixture(name);
    const items = [];
    for (let at = 0; at < bytes.length; at += size) items.push(...parser.feed(bytes.subarray(at, at + size)));
    return items;
  };

  it('tells when the watches are established', () => {
    assert.deepEqual(read('names.stderr'), [{ kind: 'established' }]);
  });

  it('tells the watch limit at start', () => {
    assert.deepEqual(read('limit-at-start.stderr'), [{ kind: 'limit-at-start' }]);
  });

  it('tells a new folder left unwatched by the limit, with its path', () => {
    const items = read('limit-later.stderr');
    assert.equal(items.length, 2);
    assert.deepEqual(items[0], { kind: 'established' });
    assert.deepEqual(items[1], { kind: 'unwatched', path: Buffer.from('new folder'), limit: true, reason: 'No space left on device' });
  });

  it('reads a line it does not know as unknown (the rest of a folder name holding a newline)', () => {
    const parser = new StderrParser('./');
    const items = parser.feed(Buffer.from("Couldn't watch new directory ./two\nlines/: Permission denied\n"));
    assert.equal(items[0]!.kind, 'unwatched');
    assert.deepEqual(items[1], { kind: 'unknown', text: 'lines/: Permission denied' });
  });
});
