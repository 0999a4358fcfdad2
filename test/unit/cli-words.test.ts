/**
 * The command line's words (server/cli/): sizes and plurals as on the page, times in the box's zone,
 * one strict option parser, and failures as one line with an exit status.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../server/errors.js';
import { CommandFailure, NoServiceError, reportFailure, UsageError } from '../../server/cli/failures.js';
import { formatDate, formatSize, formatTime, healthWords, LEDGER_STATE_WORDS, plural, roleWords } from '../../server/cli/format.js';
import { commandWord, parseLine } from '../../server/cli/options.js';
import { ROOT } from '../testing/service.js';

/** The text of `function NAME(…) {…}` in a TypeScript file, from its parameters to its closing brace at the line start. */
async function functionText(file: string, name: string): Promise<string> {
  const source = await readFile(join(ROOT, file), 'utf8');
  const match = new RegExp(`function ${name}(\\([^)]*\\)[^{]*\\{\\n[\\s\\S]*?\\n\\})`).exec(source);
  assert.ok(match, `${name} in ${file}`);
  return match[1]!;
}

describe('the command line formats like the page', () => {
  it('writes sizes in decimal units with the page\'s rounding', () => {
    assert.equal(formatSize(0), '0 B');
    assert.equal(formatSize(999), '999 B');
    assert.equal(formatSize(14), '14 B');
    assert.equal(formatSize(9_960), '10 kB', 'rounds up to 10 as "10", not "10.0"');
    assert.equal(formatSize(999_600), '1.0 MB', 'not "1000 kB"');
    assert.equal(formatSize(31_914_983_424), '32 GB');
    assert.equal(formatSize(4_000_787_030_016), '4.0 TB');
    assert.equal(formatSize(null), '—');
  });

  it('has the very rule of the page\'s formatBytes (mirrored: a change to one is made to the other)', async () => {
    const cli = await functionText('server/cli/format.ts', 'formatSize');
    const page = await functionText('ui/src/lib/format.ts', 'formatBytes');
    assert.equal(cli, page);
    assert.match(await readFile(join(ROOT, 'ui/src/lib/format.ts'), 'utf8'), /const UNITS = \['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'\];/);
  });

  it('counts in words', () => {
    assert.equal(plural(1, 'snapshot'), '1 snapshot');
    assert.equal(plural(2, 'snapshot'), '2 snapshots');
    assert.equal(plural(0, 'file'), '0 files');
    assert.equal(plural(1234, 'file'), '1,234 files');
    assert.equal(plural(1, 'address', 'addresses'), '1 address');
  });

  it('writes a time on the box\'s clock with its zone, and the day on its calendar', () => {
    assert.equal(formatTime('2026-12-02T13:05:09Z', 'Europe/Berlin'), '2026-12-02 14:05 CET');
    assert.equal(formatTime('2026-07-01T13:05:09Z', 'Europe/Berlin'), '2026-07-01 15:05 CEST');
    assert.equal(formatTime('2026-12-02T13:05:09Z', 'UTC'), '2026-12-02 13:05 UTC');
    assert.equal(formatTime('2026-12-02T13:05:09Z', 'America/New_York'), '2026-12-02 08:05 UTC-05:00');
    assert.equal(formatTime('2026-12-02T13:05:09Z', 'Asia/Kolkata'), '2026-12-02 18:35 UTC+05:30');
    assert.equal(formatTime(null), 'never');
    assert.equal(formatDate('2026-12-02T23:30:00Z', 'Europe/Berlin'), '2026-12-03', 'the local day, not the UTC one');
  });

  it('says states, roles and health in words', () => {
    assert.equal(LEDGER_STATE_WORDS['safe-to-unplug'], 'safe to unplug');
    assert.equal(LEDGER_STATE_WORDS['backing-up'], 'backing up');
    assert.equal(roleWords('unassigned'), 'Not in use');
    assert.equal(roleWords('pool-member'), 'Pool member');
    assert.equal(healthWords({ verdict: 'unknown', state: 'asleep' }), 'Asleep, not read');
    assert.equal(healthWords(null), 'Not checked yet');
  });
});

describe('the command line\'s options', () => {
  const json = { json: { type: 'boolean' as const } };

  it('finds the command after settings, and takes --opt=value and --opt value', () => {
    assert.equal(commandWord(['--data', '/srv/sh', 'status', '--json']), 'status');
    assert.equal(commandWord(['--simulate', 'serve']), 'serve');
    assert.equal(commandWord(['--data=/srv/sh']), undefined);
    const line = parseLine(['status', '--data=/srv/sh', '--port', '9000', '--json', '--simulate'], json, 'safehold status');
    assert.deepEqual(line.positionals, ['status']);
    assert.equal(line.values.json, true);
    assert.deepEqual([...line.settings], [['--data', '/srv/sh'], ['--port', '9000'], ['--simulate', 'true']]);
  });

  it('refuses an unknown option, a missing value and a value where none goes', () => {
    assert.throws(() => parseLine(['drives', '--jsn'], json, 'safehold drives'), (e: unknown) => e instanceof UsageError && e.message === 'Unknown option --jsn for "safehold drives".');
    assert.throws(() => parseLine(['x', '--data'], {}, 'safehold x'), (e: unknown) => e instanceof UsageError && e.message === '--data needs a value.');
    assert.throws(() => parseLine(['x', '--json=yes'], json, 'safehold x'), (e: unknown) => e instanceof UsageError && e.message === '--json takes no value.');
  });

  it('keeps what follows -- as positional, and lists a repeated option', () => {
    const line = parseLine(['sources', 'add', '--exclude', 'a', '--exclude=b', '--', '--json'], { exclude: { type: 'string', multiple: true } }, 'safehold sources');
    assert.deepEqual(line.positionals, ['sources', 'add', '--json']);
    assert.deepEqual(line.values.exclude, ['a', 'b']);
  });
});

describe('the command line\'s failures', () => {
  const report = (error: unknown, debug = false) => {
    let text = '';
    const code = reportFailure(error, { write: (t: string) => (text += t) }, { debug });
    return { code, text };
  };

  it('gives wrong usage exit status 2 with the hint, no service 3, a refusal 1, each in one line of words', () => {
    assert.deepEqual(report(new UsageError('Unknown option --x.')), { code: 2, text: 'safehold: Unknown option --x.\nRun "safehold help" for the commands.\n' });
    assert.equal(report(new InvalidInputError('bad')).code, 2);
    assert.deepEqual(report(new NoServiceError('No Safehold service is running.')), { code: 3, text: 'safehold: No Safehold service is running.\n' });
    assert.deepEqual(report(new CommandFailure('The path does not exist.')), { code: 1, text: 'safehold: The path does not exist.\n' });
    const system = Object.assign(new Error("EACCES: permission denied, mkdir '/srv/x'"), { code: 'EACCES', syscall: 'mkdir' });
    assert.deepEqual(report(system), { code: 1, text: "safehold: EACCES: permission denied, mkdir '/srv/x'\n" });
  });

  it('calls a bug an internal error, with its stack only with SAFEHOLD_DEBUG=1', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'name')");
    const quiet = report(bug);
    assert.equal(quiet.code, 1);
    assert.match(quiet.text, /^safehold: internal error: Cannot read properties of undefined \(reading 'name'\)\nThis is a bug in Safehold.*SAFEHOLD_DEBUG=1/);
    assert.doesNotMatch(quiet.text, /\n\s+at /);
    assert.match(report(bug, true).text, /\n\s+at /);
  });
});
