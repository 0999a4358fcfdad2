/**
 * `Restic` over the real restic binary (0.14, Debian 12), run through the command runner.
 *
 * Contract:
 * - One restic command per call, with an argument array; positional paths come after `--` and
 *   every flag value is passed as `--flag=value`, so no name (`-rf`, spaces, newlines) is ever read
 *   as an option.
 * - The password reaches restic only through `--password-file`; RESTIC_PASSWORD and friends are
 *   blanked in restic's environment; the password is redacted from every error.
 * - restic runs as `ionice -c 3 nice -n 19 restic …` (when those exist) with GOMAXPROCS = cores − 1,
 *   so the service and its page stay responsive.
 * - Stopping (AbortSignal or timeout) sends SIGINT first: restic 0.14 then removes its lock and
 *   exits; SIGKILL follows after `graceMs` (a stale lock may stay: `unlock` removes it).
 * - Failures become `ResticError` with a `kind` (see `classifyFailure`).
 * Commands, flags and restic 0.14's quirks are written down in docs/restic-adapter.md.
 */
import { availableParallelism } from 'node:os';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { CommandAbortedError, describeCommand, redact, type CommandResult, type CommandRunner } from '../process/command-runner.js';
import { isInstalled } from '../tools.js';
import {
  ResticError,
  type BackupOptions,
  type BackupProgress,
  type BackupSummary,
  type BackupWarning,
  type CheckOptions,
  type CheckResult,
  type DumpOptions,
  type ForgetOptions,
  type ForgetPolicy,
  type ForgetResult,
  type InitResult,
  type KeptSnapshot,
  type RepositoryStats,
  type Restic,
  type ResticErrorKind,
  type ResticLockInfo,
  type ResticRepository,
  type ResticVersion,
  type RestoreOptions,
  type Snapshot,
  type SnapshotEntry,
  type SnapshotEntryType,
} from './restic.js';

export interface ResticAdapterOptions {
  runner: CommandRunner;
  /** The restic program. Default `restic` (looked up on the runner's tools path, system/tools.ts). */
  binary?: string;
  /** GOMAXPROCS for restic. Default: cores − 1, at least 1 (one core stays with the service). */
  cpuLimit?: number;
  /** Run restic through `ionice -c 3` (idle I/O class) and `nice -n 19`, each when installed. Default true. */
  idlePriority?: boolean;
  /**
   * restic's local cache folder (`--cache-dir`), e.g. under Safehold's data folder. Default null:
   * `--no-cache`. Repositories here are on local USB drives, where a cache saves little and costs
   * writes on the box's SD card; an offsite (SFTP) repository should be given a cache.
   */
  cacheDir?: string | null;
  /** Milliseconds between SIGINT and SIGKILL when stopping restic. Default 15 000. */
  graceMs?: number;
  /** How often restic reports backup progress (RESTIC_PROGRESS_FPS). Default 2 per second. */
  progressPerSecond?: number;
  /** Timeout of the short commands (init, snapshots, unlock, ls, stats, version), in ms. Default 10 minutes. */
  shortTimeoutMs?: number;
}

/** The longest timer Node keeps (about 24.8 days): long jobs end by their AbortSignal, not a clock. */
const NO_TIMEOUT = 2_147_483_647;
const SNAPSHOT_ID = /^(latest|[0-9a-f]{8,64})$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/**
 * The environment every restic runs with: `cpuLimit` cores (GOMAXPROCS), progress lines per second,
 * and every variable that could give restic another password or repository emptied: only
 * `--password-file` may carry the password, a variable in the service's environment must not win.
 */
function resticEnvironment(cpuLimit: number, progressPerSecond: number): Record<string, string> {
  return {
    GOMAXPROCS: String(cpuLimit),
    RESTIC_PASSWORD: '',
    RESTIC_PASSWORD_COMMAND: '',
    RESTIC_PASSWORD_FILE: '',
    RESTIC_REPOSITORY: '',
    RESTIC_REPOSITORY_FILE: '',
    RESTIC_KEY_HINT: '',
    RESTIC_PROGRESS_FPS: String(progressPerSecond),
  };
}

function parseJsonLine(line: string): Json | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation (pure)

function invalid(message: string): ResticError {
  return new ResticError(message, 'invalid-input');
}

function assertNoNul(value: string, what: string): void {
  if (value.includes('\0')) throw invalid(`${what} contains a NUL character.`);
}

/** An absolute path on the box (backup source, restore target). */
export function assertHostPath(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty path.`);
  assertNoNul(value, what);
  if (!isAbsolute(value)) throw invalid(`${what} must be an absolute path: ${JSON.stringify(value)}`);
}

/**
 * A path inside a snapshot: absolute, normalized (no `.`, `..`, `//` or trailing `/`), no NUL. So a
 * caller cannot reach outside the folder it names, whatever a user typed.
 */
export function assertSnapshotPath(value: unknown, what = 'The path'): asserts value is string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw invalid(`${what} must start with "/" inside the snapshot.`);
  assertNoNul(value, what);
  const segments = value.split('/').slice(1);
  if (value !== '/' && segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`${what} must be a normalized path without "." or ".." parts: ${JSON.stringify(value)}`);
  }
  if (posix.normalize(value) !== value) throw invalid(`${what} is not normalized: ${JSON.stringify(value)}`);
}

function assertSnapshotId(value: unknown): asserts value is string {
  if (typeof value !== 'string' || !SNAPSHOT_ID.test(value)) throw invalid(`Not a snapshot id: ${JSON.stringify(value)}`);
}

function assertTag(tag: unknown): asserts tag is string {
  if (typeof tag !== 'string' || tag.length === 0 || /[,\0\n]/.test(tag)) {
    throw invalid(`A tag must be non-empty, without commas or line breaks: ${JSON.stringify(tag)}`);
  }
}

function assertCount(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalid(`${what} must be a whole number ≥ 0.`);
}

/** `--read-data-subset` values restic 0.14 takes: `n/t`, `x%`/`x.y%`, or a size (`500M`). */
export function assertReadDataSubset(value: string): void {
  const group = /^(\d+)\/(\d+)$/.exec(value);
  if (group) {
    const n = Number(group[1]);
    const t = Number(group[2]);
    if (n >= 1 && t >= 1 && n <= t) return;
  } else if (/^\d+(\.\d+)?%$/.test(value) || /^\d+[kKmMgGtT]?$/.test(value)) {
    return;
  }
  throw invalid(`Not a read-data subset (n/t, x%, or a size): ${JSON.stringify(value)}`);
}

/**
 * A restic include pattern that matches exactly `path`: glob characters escaped, and each U+FFFD
 * (a byte restic's JSON could not show) turned into `?`, which matches that one byte.
 */
export function includePatternFor(path: string): string {
  return path.replace(/[\\*?[]/g, (c) => `\\${c}`).replaceAll('\uFFFD', '?');
}

/** `YYYY-MM-DD HH:MM:SS` in local time: restic 0.14's `--time` format. */
export function resticTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw invalid('The backup time is not a valid date.');
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

// ---------------------------------------------------------------------------------------------
// Parsing and classification (pure)

/** restic's status message → progress. */
export function parseStatus(message: Json): BackupProgress {
  const remaining = message.seconds_remaining;
  return {
    percent: Math.min(100, Math.max(0, num(message.percent_done) * 100)),
    filesDone: num(message.files_done),
    totalFiles: num(message.total_files),
    bytesDone: num(message.bytes_done),
    totalBytes: num(message.total_bytes),
    currentFiles: strings(message.current_files),
    etaSeconds: typeof remaining === 'number' && remaining > 0 ? remaining : null,
    elapsedSeconds: num(message.seconds_elapsed),
    errorCount: num(message.error_count),
  };
}

export function parseSummary(message: Json, warnings: BackupWarning[]): BackupSummary {
  return {
    snapshotId: str(message.snapshot_id),
    filesNew: num(message.files_new),
    filesChanged: num(message.files_changed),
    filesUnmodified: num(message.files_unmodified),
    dirsNew: num(message.dirs_new),
    dirsChanged: num(message.dirs_changed),
    dirsUnmodified: num(message.dirs_unmodified),
    dataBlobs: num(message.data_blobs),
    treeBlobs: num(message.tree_blobs),
    dataAdded: num(message.data_added),
    totalFilesProcessed: num(message.total_files_processed),
    totalBytesProcessed: num(message.total_bytes_processed),
    durationSeconds: num(message.total_duration),
    complete: warnings.length === 0,
    warnings,
  };
}

const ERRNO = getSystemErrorMap();

/** restic's `{"message_type":"error"}` lines (on stderr) → warnings about unreadable files. */
export function parseBackupErrors(stderr: string): BackupWarning[] {
  const warnings: BackupWarning[] = [];
  for (const line of stderr.split('\n')) {
    const message = parseJsonLine(line.trim());
    if (message?.message_type !== 'error') continue;
    const error = message.error;
    let text = 'could not be read';
    if (isObject(error)) {
      const op = str(error.Op);
      const errno = typeof error.Err === 'number' ? ERRNO.get(-error.Err) : undefined;
      if (errno) text = `${op ? `${op}: ` : ''}${errno[1]} (${errno[0]})`;
      else if (op) text = `${op} failed`;
    } else if (typeof error === 'string' && error) {
      text = error;
    }
    warnings.push({ item: str(message.item), during: str(message.during), message: text });
  }
  return warnings;
}

export function parseSnapshot(raw: unknown): Snapshot {
  const s = isObject(raw) ? raw : {};
  return {
    id: str(s.id),
    shortId: str(s.short_id) || str(s.id).slice(0, 8),
    time: str(s.time),
    hostname: str(s.hostname),
    username: str(s.username),
    paths: strings(s.paths),
    tags: strings(s.tags),
    parent: typeof s.parent === 'string' ? s.parent : null,
    tree: str(s.tree),
  };
}

const ENTRY_TYPES: readonly SnapshotEntryType[] = ['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular'];

export function parseEntry(node: Json): SnapshotEntry {
  const type = ENTRY_TYPES.find((t) => t === node.type) ?? 'irregular';
  const name = str(node.name);
  return {
    name,
    type,
    path: str(node.path),
    size: type === 'file' ? num(node.size) : null,
    mtime: str(node.mtime),
    nameIsExact: !name.includes('\uFFFD'),
  };
}

/**
 * restic's words, cleaned for a person: terminal escapes, Go stack traces, retry chatter and
 * repeated lines removed; at most ~1000 characters (the end is kept: restic's verdict is last).
 */
export function resticWords(output: string): string {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const raw of output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n')) {
    const line = raw.trimEnd();
    if (line.trim() === '' || /^\t/.test(raw)) continue; // stack frame file:line
    if (/^(github\.com|golang\.org|gopkg\.in|main\.|runtime\.)\S*$/.test(line.trim())) continue; // stack frame function
    if (/^Save\(<.+?>\) returned error, retrying after/.test(line) || /^Load\(<.+?>\) returned error, retrying/.test(line)) continue;
    if (/^\[\d+:\d+\]/.test(line) || line.startsWith('{"message_type"')) continue; // progress bars, JSON messages
    if (seen.has(line)) continue;
    seen.add(line);
    kept.push(line);
  }
  const text = kept.join('\n');
  return text.length > 1000 ? `…${text.slice(-1000)}` : text;
}

const LOCKED =
  /repository is already locked (exclusively )?by PID (\d+) on (\S+) by (.+?) \(UID (\d+), GID (\d+)\)\s*\nlock was created at (.+?) \((.+?) ago\)\s*\nstorage ID ([0-9a-f]+)( \(stale\))?/;

export function parseLock(output: string): ResticLockInfo | null {
  const m = LOCKED.exec(output);
  if (!m) return null;
  return {
    exclusive: m[1] !== undefined,
    pid: Number(m[2]),
    host: m[3]!,
    user: m[4]!,
    uid: Number(m[5]),
    gid: Number(m[6]),
    createdAt: m[7]!,
    age: m[8]!,
    storageId: m[9]!,
    stale: m[10] !== undefined,
  };
}

/** The rules, in order: the first that matches restic's output decides the kind. Data, not code. */
const RULES: ReadonlyArray<{ kind: ResticErrorKind; pattern: RegExp; say: string }> = [
  { kind: 'failed', pattern: /Resolving password failed/, say: 'The repository password file cannot be read.' },
  { kind: 'locked', pattern: /repository is already locked/, say: 'The repository is locked by another restic.' },
  { kind: 'wrong-password', pattern: /wrong password or no key found/, say: 'The password does not open this repository.' },
  { kind: 'repository-exists', pattern: /config file already exists|already initialized/, say: 'There is already a repository there.' },
  {
    kind: 'repository-missing',
    pattern: /unable to open config file|Is there a repository at the following location\?|repository does not exist/,
    say: 'There is no restic repository at this location (not created yet, wrong drive, or the drive is not mounted).',
  },
  { kind: 'no-space', pattern: /no space left on device|ENOSPC|disk quota exceeded/i, say: 'The drive is full: no space left on the device.' },
  {
    kind: 'io-error',
    pattern: /input\/output error|no such device|read-only file system|transport endpoint is not connected|stale file handle|EIO\b/i,
    say: 'The drive could not be read or written (input/output error, the device is gone or read-only). Was it unplugged?',
  },
  {
    kind: 'not-found',
    pattern: /no matching ID found|failed to find snapshot|no snapshot found|snapshot .* not found|path .* not found/i,
    say: 'The snapshot or the path does not exist.',
  },
  { kind: 'interrupted', pattern: /signal interrupt received/, say: 'restic was interrupted before it finished.' },
];

/** The kind of a failed restic run, from its output and exit status. Pure. */
export function classifyFailure(output: string, exitCode: number | null): { kind: ResticErrorKind; say: string; lock: ResticLockInfo | null } {
  for (const rule of RULES) {
    if (rule.pattern.test(output)) {
      const lock = rule.kind === 'locked' ? parseLock(output) : null;
      return { kind: rule.kind, say: lock ? lockSentence(lock) : rule.say, lock };
    }
  }
  if (exitCode === 130) return { kind: 'interrupted', say: 'restic was interrupted before it finished.', lock: null };
  return { kind: 'failed', say: 'restic failed.', lock: null };
}

function lockSentence(lock: ResticLockInfo): string {
  const how = lock.exclusive ? 'exclusively ' : '';
  const stale = lock.stale ? ' The lock is stale: unlock removes it.' : ' If that process is gone, unlock removes the lock.';
  return `The repository is locked ${how}by restic PID ${lock.pid} on ${lock.host} (user ${lock.user}) since ${lock.createdAt} (${lock.age} ago).${stale}`;
}

// ---------------------------------------------------------------------------------------------
// The adapter

interface RunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  onStdoutLine?: (line: string) => void;
  collectStdout?: boolean;
}

interface Ran extends CommandResult {
  shown: string;
  secrets: string[];
}

export class ResticAdapter implements Restic {
  readonly #runner: CommandRunner;
  readonly #binary: string;
  readonly #cpuLimit: number;
  readonly #idlePriority: boolean;
  readonly #cacheDir: string | null;
  readonly #graceMs: number;
  readonly #shortTimeoutMs: number;
  readonly #progressPerSecond: number;
  #prefix: Promise<string[]> | undefined;

  constructor(options: ResticAdapterOptions) {
    this.#runner = options.runner;
    this.#binary = options.binary ?? 'restic';
    this.#cpuLimit = Math.max(1, Math.floor(options.cpuLimit ?? availableParallelism() - 1));
    this.#idlePriority = options.idlePriority ?? true;
    this.#cacheDir = options.cacheDir ?? null;
    this.#graceMs = options.graceMs ?? 15_000;
    this.#shortTimeoutMs = options.shortTimeoutMs ?? 10 * 60_000;
    this.#progressPerSecond = options.progressPerSecond ?? 2;
  }

  /** `ionice -c 3 nice -n 19 restic`, or as much of it as is installed; looked up once. */
  #commandPrefix(): Promise<string[]> {
    this.#prefix ??= (async () => {
      if (!this.#idlePriority) return [this.#binary];
      const [ionice, nice] = await Promise.all([isInstalled('ionice'), isInstalled('nice')]);
      return [...(ionice ? ['ionice', '-c', '3'] : []), ...(nice ? ['nice', '-n', '19'] : []), this.#binary];
    })();
    return this.#prefix;
  }

  /** The environment restic is run with (see `resticEnvironment`), for a benchmark running it by hand alike. */
  environment(): Record<string, string> {
    return resticEnvironment(this.#cpuLimit, this.#progressPerSecond);
  }

  /** The command line restic would be run with (for docs, logs and tests). */
  async commandFor(repo: ResticRepository, args: readonly string[]): Promise<string[]> {
    return [...(await this.#commandPrefix()), ...args.slice(0, 1), ...this.#globalFlags(repo), ...args.slice(1)];
  }

  #globalFlags(repo: ResticRepository): string[] {
    return [
      `--repo=${repo.path}`,
      `--password-file=${repo.passwordFile}`,
      ...(this.#cacheDir === null ? ['--no-cache'] : [`--cache-dir=${this.#cacheDir}`]),
    ];
  }

  /** The password, read only to redact it should restic ever echo it. */
  async #secrets(repo: ResticRepository): Promise<string[]> {
    try {
      const password = (await readFile(repo.passwordFile, 'utf8')).trim();
      return password.length > 0 ? [password] : [];
    } catch {
      return []; // restic will say it cannot read the file
    }
  }

  async #run(repo: ResticRepository | null, args: readonly string[], options: RunOptions = {}): Promise<Ran> {
    if (repo !== null) {
      assertNoNul(repo.path, 'The repository path');
      assertHostPath(repo.passwordFile, 'The password file');
      if (repo.path.length === 0) throw invalid('The repository path is empty.');
    }
    const [command, ...prefixArgs] = repo === null ? [this.#binary] : await this.commandFor(repo, args);
    const fullArgs = repo === null ? [...args] : prefixArgs;
    const secrets = repo === null ? [] : await this.#secrets(repo);
    const shown = describeCommand(command!, fullArgs, secrets);
    try {
      const result = await this.#runner.run(command!, fullArgs, {
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? this.#shortTimeoutMs,
        secrets,
        onStdoutLine: options.onStdoutLine,
        collectStdout: options.collectStdout,
        killSignal: 'SIGINT',
        killGraceMs: this.#graceMs,
        env: this.environment(),
      });
      return { ...result, shown, secrets };
    } catch (error) {
      if (error instanceof CommandAbortedError) {
        const why = error.reason === 'timeout' ? 'restic took too long and was stopped.' : 'restic was stopped before it finished (cancelled).';
        throw new ResticError(why, 'interrupted', { command: shown, exitCode: null, output: resticWords(error.output) }, { cause: error });
      }
      throw error;
    }
  }

  /** A `ResticError` for a run that failed. */
  #failure(ran: Ran, doing: string): ResticError {
    const output = `${ran.stderr}\n${ran.stdout}`;
    const { kind, say, lock } = classifyFailure(output, ran.exitCode);
    const words = resticWords(redact(output, ran.secrets));
    const fatal = words.split('\n').filter((l) => l.startsWith('Fatal:')).at(-1) ?? words.split('\n').at(-1) ?? '';
    const message = `${doing}: ${say}${fatal && kind !== 'locked' ? ` (restic: ${fatal.replace(/^Fatal: /, '')})` : ''}`;
    return new ResticError(message, kind, { command: ran.shown, exitCode: ran.exitCode, output: words, lock });
  }

  async version(): Promise<ResticVersion> {
    const ran = await this.#run(null, ['version']);
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Reading the restic version');
    const text = ran.stdout.trim();
    const m = /^restic (\S+)/.exec(text);
    return { version: m?.[1] ?? '', text };
  }

  async init(repo: ResticRepository, options: { signal?: AbortSignal } = {}): Promise<InitResult> {
    const ran = await this.#run(repo, ['init'], options);
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Creating the repository');
    return { id: /created restic repository ([0-9a-f]+)/.exec(ran.stdout)?.[1] ?? null };
  }

  async backup(repo: ResticRepository, options: BackupOptions): Promise<BackupSummary> {
    const { paths, excludes = [], excludeIfPresent = [], oneFileSystem = false, tags, host, time, signal, onProgress } = options;
    if (!Array.isArray(paths) || paths.length === 0) throw invalid('A backup needs at least one path.');
    paths.forEach((p) => assertHostPath(p, 'A backup path'));
    excludes.forEach((e) => assertNoNul(e, 'An exclude pattern'));
    excludeIfPresent.forEach((e) => assertNoNul(e, 'An exclude-if-present file'));
    tags.forEach(assertTag);
    if (host !== undefined && (host.length === 0 || /[\0\n]/.test(host))) throw invalid('The host name is not valid.');
    const args = [
      'backup',
      '--json',
      ...tags.map((t) => `--tag=${t}`),
      ...(host === undefined ? [] : [`--host=${host}`]),
      ...(time === undefined ? [] : [`--time=${resticTime(time)}`]),
      ...excludes.map((e) => `--exclude=${e}`),
      ...excludeIfPresent.map((e) => `--exclude-if-present=${e}`),
      ...(oneFileSystem ? ['--one-file-system'] : []),
      '--',
      ...paths,
    ];
    let summary: Json | null = null;
    const ran = await this.#run(repo, args, {
      signal,
      timeoutMs: NO_TIMEOUT,
      collectStdout: false,
      onStdoutLine: (line) => {
        const message = parseJsonLine(line);
        if (message?.message_type === 'status') onProgress?.(parseStatus(message));
        else if (message?.message_type === 'summary') summary = message;
      },
    });
    // restic 0.14: exit 3 = "at least one source file could not be read"; the snapshot was written.
    if ((ran.exitCode === 0 || ran.exitCode === 3) && summary !== null) {
      const warnings = parseBackupErrors(ran.stderr);
      if (ran.exitCode === 3 && warnings.length === 0) {
        warnings.push({ item: '', during: '', message: resticWords(ran.stderr) || 'at least one source file could not be read' });
      }
      return parseSummary(summary, warnings);
    }
    throw this.#failure(ran, 'The backup failed');
  }

  async snapshots(repo: ResticRepository, options: { tags?: string[]; signal?: AbortSignal } = {}): Promise<Snapshot[]> {
    const tags = options.tags ?? [];
    tags.forEach(assertTag);
    const args = ['snapshots', '--json', ...(tags.length > 0 ? [`--tag=${tags.join(',')}`] : [])];
    const ran = await this.#run(repo, args, { signal: options.signal });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Listing the snapshots');
    const list = jsonValue(ran.stdout, '[');
    if (!Array.isArray(list)) throw this.#notJson(ran, 'snapshots');
    return list.map(parseSnapshot).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }

  async forget(repo: ResticRepository, policy: ForgetPolicy, options: ForgetOptions): Promise<ForgetResult> {
    const rules: Array<[keyof ForgetPolicy, string]> = [
      ['keepLast', 'keep-last'],
      ['keepDaily', 'keep-daily'],
      ['keepWeekly', 'keep-weekly'],
      ['keepMonthly', 'keep-monthly'],
      ['keepYearly', 'keep-yearly'],
    ];
    const flags: string[] = [];
    for (const [key, flag] of rules) {
      const value = policy[key];
      if (value === undefined && key === 'keepLast') continue;
      assertCount(value, `The policy's ${key}`);
      if (value > 0) flags.push(`--${flag}=${value}`);
    }
    if (flags.length === 0) throw invalid('A retention policy must keep something (every count is 0).');
    const tags = options.tags ?? [];
    tags.forEach(assertTag);
    if (options.groupBy !== undefined && !/^((host|paths|tags)(,(host|paths|tags))*)?$/.test(options.groupBy)) {
      throw invalid(`Not a group-by value: ${JSON.stringify(options.groupBy)}`);
    }
    const args = [
      'forget',
      '--json',
      ...flags,
      ...(tags.length > 0 ? [`--tag=${tags.join(',')}`] : []),
      ...(options.groupBy === undefined ? [] : [`--group-by=${options.groupBy}`]),
      ...(options.dryRun ? ['--dry-run'] : []),
    ];
    const ran = await this.#run(repo, args, { signal: options.signal, timeoutMs: NO_TIMEOUT });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Applying the retention policy');
    // restic 0.14 prints nothing at all for a repository without snapshots (a new one): no groups.
    const groups = ran.stdout.trim() === '' ? [] : jsonValue(ran.stdout, '[');
    if (!Array.isArray(groups)) throw this.#notJson(ran, 'forget');
    const kept: KeptSnapshot[] = [];
    const removed: Snapshot[] = [];
    for (const group of groups.filter(isObject)) {
      // restic 0.14's reasons carry the snapshot without its id: matched by time and tree.
      const reasons = (Array.isArray(group.reasons) ? group.reasons : []).filter(isObject);
      for (const raw of Array.isArray(group.keep) ? group.keep : []) {
        const snapshot = parseSnapshot(raw);
        const reason = reasons.find((r) => isObject(r.snapshot) && r.snapshot.time === snapshot.time && r.snapshot.tree === snapshot.tree);
        kept.push({ snapshot, reasons: strings(reason?.matches) });
      }
      for (const raw of Array.isArray(group.remove) ? group.remove : []) removed.push(parseSnapshot(raw));
    }
    const pruned = options.prune && !options.dryRun && removed.length > 0;
    if (pruned) await this.prune(repo, { signal: options.signal });
    return { kept, removed, pruned };
  }

  async prune(repo: ResticRepository, options: { signal?: AbortSignal } = {}): Promise<void> {
    const ran = await this.#run(repo, ['prune'], { signal: options.signal, timeoutMs: NO_TIMEOUT });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Pruning the repository');
  }

  async check(repo: ResticRepository, options: CheckOptions = {}): Promise<CheckResult> {
    if (options.readDataSubset !== undefined) assertReadDataSubset(options.readDataSubset);
    const args = ['check', ...(options.readDataSubset === undefined ? [] : [`--read-data-subset=${options.readDataSubset}`])];
    const ran = await this.#run(repo, args, { signal: options.signal, timeoutMs: NO_TIMEOUT });
    const said = resticWords(redact(`${ran.stdout}\n${ran.stderr}`, ran.secrets))
      .split('\n')
      .filter((line) => line !== '' && !CHECK_CHATTER.some((p) => p.test(line)));
    if (ran.exitCode === 0) return { ok: true, problems: [], notes: said };
    const failure = this.#failure(ran, 'Checking the repository');
    if (failure.kind !== 'failed') throw failure;
    const problems = said.filter((l) => !/^Fatal: repository contains errors/.test(l));
    if (/repository contains errors/.test(ran.stdout + ran.stderr) || problems.length > 0) {
      return { ok: false, problems: problems.length > 0 ? problems : ['restic: repository contains errors'], notes: [] };
    }
    throw failure;
  }

  async ls(repo: ResticRepository, snapshotId: string, folder: string, options: { signal?: AbortSignal } = {}): Promise<SnapshotEntry[]> {
    assertSnapshotId(snapshotId);
    assertSnapshotPath(folder, 'The folder');
    // restic compares the filter with the stored bytes: a name that was not UTF-8 (U+FFFD here) can
    // only be found by listing its nearest exact ancestor recursively and filtering here.
    const exact = !folder.includes('\uFFFD');
    const query = exact ? folder : (folder.slice(0, folder.indexOf('\uFFFD')).replace(/\/[^/]*$/, '') || '/');
    const entries: SnapshotEntry[] = [];
    let sawSnapshot = false;
    let found = folder === '/';
    let foundType: string | null = folder === '/' ? 'dir' : null;
    const ran = await this.#run(repo, ['ls', '--json', ...(exact ? [] : ['--recursive']), '--', snapshotId, query], {
      signal: options.signal,
      collectStdout: false,
      onStdoutLine: (line) => {
        const node = parseJsonLine(line);
        if (node === null) return;
        if (node.struct_type === 'snapshot') {
          sawSnapshot = true;
          return;
        }
        const path = str(node.path);
        if (path === folder) {
          found = true;
          foundType = str(node.type);
        } else if (posix.dirname(path) === folder) {
          entries.push(parseEntry(node));
        }
      },
    });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Listing the folder');
    if (!sawSnapshot) {
      throw new ResticError(`There is no snapshot ${snapshotId} in this repository.`, 'not-found', { command: ran.shown, exitCode: 0, output: resticWords(ran.stderr) });
    }
    if (!found || foundType !== 'dir') {
      throw new ResticError(`There is no folder ${JSON.stringify(folder)} in snapshot ${snapshotId}.`, 'not-found', { command: ran.shown, exitCode: 0 });
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async restore(repo: ResticRepository, snapshotId: string, options: RestoreOptions): Promise<void> {
    assertSnapshotId(snapshotId);
    assertHostPath(options.target, 'The restore target');
    const include = options.include ?? [];
    include.forEach((p) => assertSnapshotPath(p, 'An included path'));
    await mkdir(options.target, { recursive: true });
    if (!options.allowNonEmptyTarget && (await readdir(options.target)).length > 0) {
      throw invalid(`The restore target ${options.target} is not empty; restic would overwrite files there.`);
    }
    const args = ['restore', `--target=${options.target}`, ...include.map((p) => `--include=${includePatternFor(p)}`), '--', snapshotId];
    const ran = await this.#run(repo, args, { signal: options.signal, timeoutMs: NO_TIMEOUT });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'The restore failed');
    // restic 0.14 says nothing when an include matched nothing: an exact path must now exist.
    for (const path of include) {
      if (path.includes('\uFFFD')) continue;
      try {
        await lstat(join(options.target, path));
      } catch {
        throw new ResticError(`There is no ${JSON.stringify(path)} in snapshot ${snapshotId}: nothing was restored for it.`, 'not-found', { command: ran.shown, exitCode: 0 });
      }
    }
  }

  async dump(repo: ResticRepository, snapshotId: string, filePath: string, options: DumpOptions): Promise<{ size: number }> {
    assertSnapshotId(snapshotId);
    assertSnapshotPath(filePath, 'The file');
    if (filePath === '/') throw invalid('The file must be a file, not the top of the snapshot.');
    assertHostPath(options.target, 'The download target');
    if (await exists(options.target)) throw invalid(`${options.target} already exists.`);
    // restic 0.14's `dump` writes the bytes to stdout, which the command runner reads as text, and
    // needs the exact name bytes in argv: restoring the one file into a private folder beside the
    // target and linking it into place keeps binary content and non-UTF-8 names exact.
    const scratch = await mkdtemp(join(dirname(options.target), '.safehold-dump-'));
    try {
      await this.restore(repo, snapshotId, { target: scratch, include: [filePath], signal: options.signal });
      const leaves = await leavesOf(Buffer.from(scratch));
      if (leaves.length === 0) throw new ResticError(`There is no file ${JSON.stringify(filePath)} in snapshot ${snapshotId}.`, 'not-found');
      if (leaves.length > 1 || !leaves[0]!.isFile) {
        throw invalid(`${JSON.stringify(filePath)} is not a single file in snapshot ${snapshotId}.`);
      }
      await link(leaves[0]!.path, options.target); // fails rather than replace a file that appeared meanwhile
      return { size: (await lstat(options.target)).size };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async unlock(repo: ResticRepository, options: { signal?: AbortSignal; removeAll?: boolean } = {}): Promise<void> {
    const ran = await this.#run(repo, options.removeAll ? ['unlock', '--remove-all'] : ['unlock'], { signal: options.signal });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Removing stale locks');
  }

  async stats(repo: ResticRepository, options: { mode?: 'restore-size' | 'raw-data'; signal?: AbortSignal } = {}): Promise<RepositoryStats> {
    const mode = options.mode ?? 'restore-size';
    if (mode !== 'restore-size' && mode !== 'raw-data') throw invalid(`Not a stats mode: ${String(mode)}`);
    const ran = await this.#run(repo, ['stats', '--json', `--mode=${mode}`], { signal: options.signal, timeoutMs: NO_TIMEOUT });
    if (ran.exitCode !== 0) throw this.#failure(ran, 'Reading the repository statistics');
    const raw = jsonValue(ran.stdout, '{');
    if (!isObject(raw)) throw this.#notJson(ran, 'stats');
    return {
      totalSize: num(raw.total_size),
      totalFileCount: num(raw.total_file_count),
      snapshotsCount: num(raw.snapshots_count),
      totalBlobCount: typeof raw.total_blob_count === 'number' ? raw.total_blob_count : null,
    };
  }

  #notJson(ran: Ran, what: string): ResticError {
    return new ResticError(`restic ${what} did not print the JSON expected (is it restic 0.14 or newer?).`, 'failed', {
      command: ran.shown,
      exitCode: ran.exitCode,
      output: resticWords(redact(ran.stdout, ran.secrets)),
    });
  }
}

/** Lines of `restic check` that are progress, not findings. */
const CHECK_CHATTER: readonly RegExp[] = [
  /^using temporary cache in /,
  /^create exclusive lock for repository/,
  /^load indexes/,
  /^check all packs/,
  /^check snapshots, trees and blobs/,
  /^read (group #\d+ of \d+ data packs|all data|\d+(\.\d+)?% of data packs|.* of data packs)/,
  /^no errors were found/,
];

/** The first JSON value in stdout that starts with `open` (`[` or `{`), skipping any text before it. */
function jsonValue(stdout: string, open: '[' | '{'): unknown {
  const at = stdout.indexOf(open);
  if (at < 0) return undefined;
  const line = stdout.slice(at).split('\n')[0]!;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Every non-directory under `dir` (names as raw bytes), with whether it is a regular file. */
async function leavesOf(dir: Buffer): Promise<Array<{ path: Buffer; isFile: boolean }>> {
  const out: Array<{ path: Buffer; isFile: boolean }> = [];
  for (const entry of await readdir(dir, { encoding: 'buffer', withFileTypes: true })) {
    const path = Buffer.concat([dir, Buffer.from('/'), entry.name as unknown as Buffer]);
    if (entry.isDirectory()) out.push(...(await leavesOf(path)));
    else out.push({ path, isFile: entry.isFile() });
  }
  return out;
}
