/**
 * `safehold restore …`: restore from a plugged-in rotation drive, through the running service's
 * local socket (docs/restore.md).
 *
 *   safehold restore snapshots DRIVE [--source NAME] [--json]
 *   safehold restore ls DRIVE SNAPSHOT [PATH] [--source NAME] [--json]
 *   safehold restore [files] DRIVE SNAPSHOT PATH... [--original --overwrite] [--source NAME] [--json]
 *   safehold restore get DRIVE SNAPSHOT PATH --output FILE|- [--source NAME]
 *
 * DRIVE is the rotation drive's name (`A`). SNAPSHOT is a snapshot id (8 to 64 hex digits) or
 * `latest` (the newest snapshot of `--source NAME`, needed when the drive holds several sources).
 * PATH is a path inside the snapshot as `ls` prints it, absolute or relative to the snapshot's
 * folder. Restoring waits for the job and prints where the files are. `get` never overwrites FILE.
 * Wrong usage throws `UsageError` (exit status 2); a refusal by the service is a `CommandFailure` (exit status 1).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, lstat, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BrowseEntry, SnapshotView } from '../backups/backup.view.js';
import type { RotationView } from '../backups/rotation.view.js';
import type { Config } from '../config.js';
import type { JobView } from '../jobs/job.model.js';
import { CommandFailure, UsageError } from './failures.js';
import { formatSize, formatTime, JOB_STATE_WORDS, plural } from './format.js';
import { callService, localStream, refusal, waitForJob } from './local-client.js';
import type { OptionKinds, ParsedLine } from './options.js';
import { printable } from './printable.js';

const USAGE = [
  'Use one of:',
  '  safehold restore snapshots DRIVE [--source NAME] [--json]',
  '  safehold restore ls DRIVE SNAPSHOT [PATH] [--source NAME] [--json]',
  '  safehold restore DRIVE SNAPSHOT PATH... [--original --overwrite] [--source NAME] [--json]',
  '  safehold restore get DRIVE SNAPSHOT PATH --output FILE',
].join('\n');

/** The options of `safehold restore` (options.ts parses them; `--` ends them, for a PATH starting with "-"). */
export const RESTORE_OPTIONS: OptionKinds = {
  json: { type: 'boolean' },
  source: { type: 'string' },
  output: { type: 'string' },
  original: { type: 'boolean' },
  overwrite: { type: 'boolean' },
};

interface Parsed {
  positional: string[];
  source: string | null;
  output: string | null;
  original: boolean;
  overwrite: boolean;
}

function usage(problem: string): UsageError {
  return new UsageError(`${problem}\n${USAGE}`);
}

export async function restoreCommand(config: Config, args: string[], values: ParsedLine['values'], json: boolean): Promise<number> {
  const parsed: Parsed = {
    positional: args,
    source: (values.source as string | undefined) ?? null,
    output: (values.output as string | undefined) ?? null,
    original: values.original === true,
    overwrite: values.overwrite === true,
  };
  const [first, ...rest] = parsed.positional;
  const dataDir = config.dataDir;
  const only = (allowed: Array<keyof Parsed>, what: string) => {
    for (const key of ['output', 'original', 'overwrite'] as const) {
      if (!allowed.includes(key) && parsed[key]) throw usage(`--${key} does not go with "safehold restore ${what}".`);
    }
  };
  switch (first) {
    case undefined:
      throw usage('Say what to restore.');
    case 'snapshots':
      only([], 'snapshots');
      if (rest.length !== 1) throw usage('"safehold restore snapshots" takes the drive\'s name.');
      return listSnapshots(dataDir, rest[0]!, parsed.source, json);
    case 'ls':
      only([], 'ls');
      if (rest.length < 2 || rest.length > 3) throw usage('"safehold restore ls" takes DRIVE SNAPSHOT [PATH].');
      return ls(dataDir, rest[0]!, rest[1]!, rest[2], parsed.source, json);
    case 'get':
      only(['output'], 'get');
      if (rest.length !== 3 || !parsed.output) throw usage('"safehold restore get" takes DRIVE SNAPSHOT PATH --output FILE.');
      return get(dataDir, rest[0]!, rest[1]!, rest[2]!, parsed.source, parsed.output);
    default: {
      const words = first === 'files' ? rest : parsed.positional;
      only(['original', 'overwrite'], 'DRIVE SNAPSHOT PATH...');
      if (words.length < 3) throw usage('Restoring takes DRIVE SNAPSHOT PATH...');
      if (parsed.original && !parsed.overwrite) throw usage('--original writes over the files where they are now: add --overwrite to confirm.');
      if (parsed.overwrite && !parsed.original) throw usage('--overwrite goes with --original; without it the files go into a new folder and nothing is overwritten.');
      return restoreFiles(dataDir, words[0]!, words[1]!, words.slice(2), parsed.source, parsed.original, json);
    }
  }
}

// --- the commands ---------------------------------------------------------------------------------

async function listSnapshots(dataDir: string, driveName: string, source: string | null, json: boolean): Promise<number> {
  const drive = await driveNamed(dataDir, driveName);
  const snapshots = (await snapshotsOn(dataDir, drive)).filter((s) => source === null || s.source === source);
  if (json) {
    process.stdout.write(`${JSON.stringify({ snapshots }, null, 2)}\n`);
    return 0;
  }
  if (snapshots.length === 0) {
    process.stdout.write(`No snapshots${source ? ` of ${printable(source)}` : ''} on drive ${printable(drive.name)}.\n`);
    return 0;
  }
  for (const s of snapshots) {
    const size = s.bytes === null ? '' : `  ${s.files === null ? '? files' : plural(s.files, 'file')}, ${formatSize(s.bytes)}`;
    process.stdout.write(`${s.shortId}  ${formatTime(s.time)}  ${printable(s.source).padEnd(12)} ${s.paths.map(printable).join(', ')}${size}${s.suspicious ? `  SUSPICIOUS: ${printable(s.suspicious)}` : ''}\n`);
  }
  return 0;
}

async function ls(dataDir: string, driveName: string, snapshotWord: string, pathWord: string | undefined, source: string | null, json: boolean): Promise<number> {
  const drive = await driveNamed(dataDir, driveName);
  const snapshot = await snapshotFor(dataDir, drive, snapshotWord, source);
  const query = pathWord === undefined ? '' : `?path=${encodeURIComponent(inSnapshot(snapshot, pathWord))}`;
  const listing = (await callService(dataDir, 'GET', `${snapshotRoute(drive, snapshot)}/ls${query}`, undefined, 200)) as { path: string; entries: BrowseEntry[] };
  if (json) {
    process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${printable(listing.path)}  (drive ${printable(drive.name)}, snapshot ${snapshot.shortId} of ${formatTime(snapshot.time)})\n`);
  if (listing.entries.length === 0) process.stdout.write('  (empty folder)\n');
  for (const e of listing.entries) {
    const size = e.type === 'file' && e.size !== null ? formatSize(e.size) : '';
    const mark = { dir: '/', file: '', symlink: ' (link)', other: ' (special file)' }[e.type];
    process.stdout.write(`  ${size.padStart(8)}  ${formatTime(e.mtime)}  ${printable(e.name)}${mark}${e.nameIsExact ? '' : '  (name not UTF-8: restore works, typing it needs \uFFFD)'}\n`);
  }
  return 0;
}

async function restoreFiles(dataDir: string, driveName: string, snapshotWord: string, pathWords: string[], source: string | null, original: boolean, json: boolean): Promise<number> {
  const drive = await driveNamed(dataDir, driveName);
  const snapshot = await snapshotFor(dataDir, drive, snapshotWord, source);
  const paths = pathWords.map((p) => inSnapshot(snapshot, p));
  const body = original ? { paths, target: 'original', overwrite: true } : { paths, target: 'beside' };
  const started = (await callService(dataDir, 'POST', `${snapshotRoute(drive, snapshot)}/restore`, body, 202)) as { job: JobView; folder: string };
  if (!json) process.stdout.write(`Restoring from drive ${printable(drive.name)} (snapshot ${snapshot.shortId} of ${formatTime(snapshot.time)}) ${original ? 'over the files in' : 'into'} ${printable(started.folder)}…\n`);
  let said = '';
  const job = await waitForJob(
    dataDir,
    started.job.id,
    (running) => {
      const now = running.progress.current ?? '';
      if (!json && now && now !== said) {
        process.stdout.write(`  ${printable(now)}\n`);
        said = now;
      }
    },
    500,
  );
  if (json) process.stdout.write(`${JSON.stringify({ job, folder: started.folder }, null, 2)}\n`);
  else process.stdout.write(`${job.message ? printable(job.message) : (JOB_STATE_WORDS[job.state] ?? job.state)}\n`);
  return job.state === 'succeeded' ? 0 : 1;
}

async function get(dataDir: string, driveName: string, snapshotWord: string, pathWord: string, source: string | null, output: string): Promise<number> {
  const toStdout = output === '-';
  const file = toStdout ? '' : resolve(output);
  if (!toStdout && (await lstat(file).then(() => true, () => false))) throw new CommandFailure(`${printable(file)} already exists: choose another --output, nothing was written.`);
  const drive = await driveNamed(dataDir, driveName);
  const snapshot = await snapshotFor(dataDir, drive, snapshotWord, source);
  const path = inSnapshot(snapshot, pathWord);
  const res = await localStream(dataDir, `${snapshotRoute(drive, snapshot)}/download?path=${encodeURIComponent(path)}`, 10 * 60_000);
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    throw new CommandFailure(refusal(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
  }
  const cutOff = (error: unknown) => {
    throw error instanceof CommandFailure ? error : new CommandFailure(`The download was cut off (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ${toStdout ? 'what was written is incomplete' : 'nothing was written'}.`);
  };
  if (toStdout) {
    await pipeline(res, process.stdout).catch(cutOff);
    return 0;
  }
  // Written under a temporary name beside FILE, then linked into place: link() fails rather than
  // replace a FILE that appeared meanwhile, and a cut download never leaves a FILE behind.
  const temp = join(dirname(file), `.${basename(file)}.safehold-${randomBytes(4).toString('hex')}.part`);
  try {
    await pipeline(res, createWriteStream(temp, { flags: 'wx', mode: 0o644 })).catch(cutOff);
    const expected = Number(res.headers['content-length']);
    const size = (await lstat(temp)).size;
    if (Number.isFinite(expected) && size !== expected) throw new CommandFailure(`The download was cut off (${size} of ${expected} bytes): nothing was written.`);
    await link(temp, file).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EEXIST' ? new CommandFailure(`${printable(file)} appeared meanwhile: choose another --output, nothing was written.`) : error;
    });
    process.stdout.write(`Saved ${printable(path)} (${formatSize(size)}) from drive ${printable(drive.name)}, snapshot ${snapshot.shortId}, to ${printable(file)}\n`);
    return 0;
  } finally {
    await rm(temp, { force: true });
  }
}

// --- helpers --------------------------------------------------------------------------------------

/** A rotation drive by its name (any case). */
async function driveNamed(dataDir: string, name: string): Promise<RotationView> {
  const { drives } = (await callService(dataDir, 'GET', '/rotation/drives', undefined, 200)) as { drives: RotationView[] };
  const drive = drives.find((d) => d.name === name) ?? drives.find((d) => d.name.toLowerCase() === name.toLowerCase());
  if (!drive) {
    const names = drives.map((d) => printable(d.name)).join(', ');
    throw usage(`There is no rotation drive called "${printable(name)}" (${names ? `the drives are ${names}` : 'none is registered yet'}).`);
  }
  return drive;
}

/** The snapshots on the drive, read from it (it must be plugged in). */
async function snapshotsOn(dataDir: string, drive: RotationView): Promise<SnapshotView[]> {
  const { snapshots } = (await callService(dataDir, 'GET', `/backups/drives/${encodeURIComponent(drive.driveId)}/restore/snapshots`, undefined, 200)) as { snapshots: SnapshotView[] };
  return snapshots;
}

/** `latest` (of `source`, needed when several sources are there) or an id, as one snapshot of the drive. */
async function snapshotFor(dataDir: string, drive: RotationView, word: string, source: string | null): Promise<SnapshotView> {
  const all = await snapshotsOn(dataDir, drive);
  const mine = all.filter((s) => source === null || s.source === source);
  if (word === 'latest') {
    const sources = [...new Set(mine.map((s) => s.source))];
    if (sources.length > 1) throw usage(`Drive ${printable(drive.name)} holds snapshots of several sources (${sources.map(printable).join(', ')}): add --source NAME.`);
    const newest = mine.at(-1);
    if (!newest) throw new CommandFailure(`There are no snapshots${source ? ` of ${printable(source)}` : ''} on drive ${printable(drive.name)}.`);
    return newest;
  }
  if (!/^[0-9a-f]{8,64}$/i.test(word)) throw usage(`"${printable(word)}" is not a snapshot: give its id (8 to 64 hex digits, as "safehold restore snapshots ${printable(drive.name)}" lists) or "latest".`);
  const id = word.toLowerCase();
  const found = mine.filter((s) => s.id.startsWith(id));
  if (found.length > 1) throw usage(`The id ${word} matches ${found.length} snapshots: give more of it.`);
  if (!found[0]) throw new CommandFailure(`There is no snapshot ${word}${source ? ` of ${printable(source)}` : ''} on drive ${printable(drive.name)}.`);
  return found[0];
}

/** An absolute snapshot path as given, or a relative one under the snapshot's folder (not normalized: the service judges it). */
function inSnapshot(snapshot: SnapshotView, word: string): string {
  if (word.startsWith('/')) return word;
  const root = snapshot.paths[0] ?? '/';
  if (word === '' || word === '.') return root;
  return root === '/' ? `/${word}` : `${root}/${word}`;
}

const snapshotRoute = (drive: RotationView, snapshot: SnapshotView) =>
  `/backups/drives/${encodeURIComponent(drive.driveId)}/snapshots/${encodeURIComponent(snapshot.id)}`;
