/**
 * The real `SambaServer`: Samba 4.17's smbd, smbpasswd, pdbedit and smbcontrol, and the system's
 * useradd/userdel, all through the one command runner.
 *
 * Two modes (docs/samba.md):
 * - `self-run` (a box without systemd, the tests): Safehold writes a whole smb.conf of its own in
 *   `<folder>/smb.conf` with every state folder under `<folder>`, starts
 *   `smbd --foreground --no-process-group -s <conf>` as a child, restarts it with a growing delay
 *   when it dies, and stops it (and every process it started) on `stop()`.
 * - `system`: Safehold writes only its include file (`/etc/samba/safehold.conf`), makes sure the
 *   owner's smb.conf has exactly one `include =` line for it (appended once; the rest of the file
 *   is never rewritten), and tells the system's smbd to reload. systemd runs smbd.
 *
 * Household users: each is a Unix system account `<prefix><name>` (no home, no shell, locked
 * password) that Samba needs to exist, plus an entry in Samba's password database; clients log in
 * with the plain name (a username map). Every share forces one owner for the files (`force user`),
 * so copies written by Safehold and by any user have the same owner and Unix permissions never
 * decide who may do what: the grants in the configuration do.
 */
import { chown, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/files.js';
import { checked, type CommandRunner } from '../process/command-runner.js';
import {
  checkAccountPrefix,
  checkUserName,
  renderSambaConfig,
  renderUsernameMap,
  SambaError,
  SambaInputError,
  selfRunFolders,
  unixAccountOf,
  USER_NAME,
  withIncludeLine,
  type FilesOwner,
  type SambaServer,
  type SambaShare,
  type SambaStatus,
} from './samba.js';

/** The part of a logger (pino's shape) the adapter writes to. Never given a password. */
export interface SambaLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export type SambaAdapterMode =
  | {
      kind: 'self-run';
      /** Safehold's Samba folder, e.g. `<data>/samba`; created if missing. */
      folder: string;
      /** Default 445. */
      port?: number;
      /** Listen only here (e.g. `127.0.0.1`); default every interface. */
      address?: string | null;
    }
  | {
      kind: 'system';
      /** Safehold's include file, e.g. `/etc/samba/safehold.conf`. The username map goes beside it (`safehold.users.map`). */
      includeFile: string;
      /** The owner's smb.conf, e.g. `/etc/samba/smb.conf`. */
      smbConf: string;
    };

export interface SambaAdapterOptions {
  runner: CommandRunner;
  mode: SambaAdapterMode;
  /** Whom the shares' files belong to (`force user`/`force group`); the account must exist. */
  filesOwner: FilesOwner;
  /** Prefix of household users' Unix accounts. Default `sh-`. Tests use one unique to the run. */
  accountPrefix?: string;
  /** The Unix account guests are, on shares that allow them. Default `nobody`. */
  guestAccount?: string;
  log?: SambaLog;
  /** Delay before the first restart of a self-run smbd that died, doubled each time up to `maxRestartDelayMs`. Default 1000. */
  restartDelayMs?: number;
  /** Default 60 000. */
  maxRestartDelayMs?: number;
  /** How long `start()` waits for smbd to take connections. Default 30 000 ms. */
  startTimeoutMs?: number;
}

const silent: SambaLog = { info: () => {}, warn: () => {} };

/** The comment (GECOS) of every Unix account Safehold makes for a household user: it only ever changes or removes those. */
export const ACCOUNT_COMMENT = 'Safehold household user';

export class SambaAdapter implements SambaServer {
  readonly #runner: CommandRunner;
  readonly #mode: SambaAdapterMode;
  readonly #filesOwner: FilesOwner;
  readonly #prefix: string;
  readonly #guestAccount: string;
  readonly #log: SambaLog;
  readonly #supervisor: SmbdSupervisor | null;
  #shares: readonly SambaShare[] = [];
  /** One change at a time: the configuration is written from the state each change leaves. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SambaAdapterOptions) {
    this.#runner = options.runner;
    this.#mode = options.mode;
    this.#filesOwner = options.filesOwner;
    this.#prefix = options.accountPrefix ?? 'sh-';
    checkAccountPrefix(this.#prefix);
    this.#guestAccount = options.guestAccount ?? 'nobody';
    this.#log = options.log ?? silent;
    this.#supervisor =
      this.#mode.kind === 'self-run'
        ? new SmbdSupervisor({
            runner: this.#runner,
            configFile: this.configFile,
            pidFile: join(selfRunFolders(this.#mode.folder).pid, 'smbd.pid'),
            port: this.#mode.port ?? 445,
            address: this.#mode.address ?? null,
            log: this.#log,
            restartDelayMs: options.restartDelayMs ?? 1000,
            maxRestartDelayMs: options.maxRestartDelayMs ?? 60_000,
            startTimeoutMs: options.startTimeoutMs ?? 30_000,
          })
        : null;
  }

  /** The configuration file smbd, smbpasswd and pdbedit are given (self-run: ours; system: the owner's smb.conf). */
  get configFile(): string {
    return this.#mode.kind === 'self-run' ? join(this.#mode.folder, 'smb.conf') : this.#mode.smbConf;
  }

  /** The file Safehold writes its shares into (self-run: the whole smb.conf; system: the include file). */
  get sharesFile(): string {
    return this.#mode.kind === 'self-run' ? this.configFile : this.#mode.includeFile;
  }

  get usernameMapFile(): string {
    if (this.#mode.kind === 'self-run') return join(this.#mode.folder, 'users.map');
    const include = this.#mode.includeFile;
    return join(dirname(include), `${basename(include).replace(/\.conf$/, '')}.users.map`);
  }

  /** The smbd's main process id, when a self-run one is up (for tests and the page's status). */
  async smbdPid(): Promise<number | null> {
    return this.#supervisor ? this.#supervisor.runningPid() : null;
  }

  start(): Promise<void> {
    return this.#serial(async () => {
      await this.#writeFiles(this.#shares, await this.#users());
      if (this.#mode.kind === 'system') {
        await ensureIncludeLine(this.#mode.smbConf, this.#mode.includeFile);
        this.#systemStarted = true;
        await this.#reload();
      } else {
        await this.#supervisor!.start();
      }
    });
  }

  async stop(): Promise<void> {
    await this.#supervisor?.stop();
  }

  status(): SambaStatus {
    if (this.#supervisor) return this.#supervisor.status();
    return { running: this.#systemStarted && this.#systemProblem === null, restarts: 0, problem: this.#systemProblem };
  }

  /** System mode: start() ran; the last reload's complaint, if it failed. */
  #systemStarted = false;
  #systemProblem: string | null = null;

  listUsers(): Promise<string[]> {
    return this.#users();
  }

  async setUser(name: string, password: string): Promise<void> {
    checkUserName(name);
    if (typeof password !== 'string' || password.length === 0) throw new SambaInputError('The password is empty.');
    if (/[\r\n\0]/.test(password)) throw new SambaInputError('The password cannot hold a line break.');
    return this.#serial(async () => {
      const account = unixAccountOf(this.#prefix, name);
      await this.#prepareFolders();
      const existing = await this.#account(account);
      if (existing !== null && existing.comment !== ACCOUNT_COMMENT) {
        throw new SambaError(`The Unix account ${account} exists and is not a Safehold household user: choose another name for "${name}".`);
      }
      if (existing === null) {
        await checked(this.#runner, 'useradd', [
          '--system',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          '--user-group',
          '--comment',
          ACCOUNT_COMMENT,
          account,
        ]).catch((error: unknown) => {
          throw new SambaError(`Could not create the account of "${name}": ${(error as Error).message}`, { cause: error });
        });
        this.#log.info({ user: name, account }, 'household user: Unix account created');
      }
      // smbpasswd -s reads the new password twice from standard input; it never sees a command line.
      await checked(this.#runner, 'smbpasswd', ['-c', this.configFile, '-s', '-a', account], {
        input: `${password}\n${password}\n`,
        secrets: [password],
      }).catch((error: unknown) => {
        throw new SambaError(`Samba did not take the password of "${name}": ${(error as Error).message}`, { cause: error });
      });
      await this.#writeFiles(this.#shares, await this.#users());
      await this.#reload();
      this.#log.info({ user: name }, 'household user: password set');
    });
  }

  async removeUser(name: string): Promise<void> {
    checkUserName(name);
    return this.#serial(async () => {
      const account = unixAccountOf(this.#prefix, name);
      const shares = this.#shares.map((s) => ({ ...s, grants: s.grants.filter((g) => g.user !== name) }));
      const others = (await this.#users()).filter((u) => u !== name);
      await this.#writeFiles(shares, others);
      this.#shares = shares;
      await this.#reload();
      const listed = await this.#runner.run('pdbedit', ['-s', this.configFile, '-L']);
      if (listed.stdout.split('\n').some((l) => l.split(':')[0] === account)) {
        await checked(this.#runner, 'pdbedit', ['-s', this.configFile, '-x', account]);
      }
      const existing = await this.#account(account);
      if (existing?.comment === ACCOUNT_COMMENT) await checked(this.#runner, 'userdel', [account]);
      this.#log.info({ user: name }, 'household user removed');
    });
  }

  applyShares(shares: readonly SambaShare[]): Promise<void> {
    return this.#serial(async () => {
      const copy = shares.map((s) => ({ ...s, grants: s.grants.map((g) => ({ ...g })) }));
      await this.#writeFiles(copy, await this.#users()); // throws SambaInputError before writing anything
      this.#shares = copy;
      await this.#reload();
      this.#log.info({ shares: copy.map((s) => s.name) }, 'samba: shares applied');
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #users(): Promise<string[]> {
    await this.#prepareFolders();
    const result = await this.#runner.run('pdbedit', ['-s', this.configFile, '-L']);
    if (result.exitCode !== 0) {
      // A password database that was never written (its folder is new) holds no users.
      if (/passdb\.tdb: No such file or directory/.test(result.stderr)) return [];
      throw new SambaError(`Could not list Samba's users: ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result.stdout
      .split('\n')
      .map((l) => l.split(':')[0]!)
      .filter((account) => account.startsWith(this.#prefix))
      .map((account) => account.slice(this.#prefix.length))
      .filter((name) => USER_NAME.test(name))
      .sort();
  }

  /** The Unix account's comment (GECOS) field, or null when there is no such account. */
  async #account(account: string): Promise<{ comment: string } | null> {
    const result = await this.#runner.run('getent', ['passwd', account]);
    if (result.exitCode === 2) return null; // getent: "key not found"
    if (result.exitCode !== 0) throw new SambaError(`Could not look up the account ${account}: ${result.stderr.trim()}`);
    return { comment: result.stdout.split(':')[4] ?? '' };
  }

  async #prepareFolders(): Promise<void> {
    if (this.#mode.kind !== 'self-run') return;
    const dirs = selfRunFolders(this.#mode.folder);
    await mkdir(this.#mode.folder, { recursive: true, mode: 0o700 });
    for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
    // smbpasswd and pdbedit read the configuration before smbd ever ran: write a first one.
    try {
      await stat(this.configFile);
    } catch {
      await this.#writeFiles([], []);
    }
  }

  async #writeFiles(shares: readonly SambaShare[], users: readonly string[]): Promise<void> {
    const config = renderSambaConfig({
      mode: this.#mode.kind === 'self-run' ? { kind: 'self-run', folder: this.#mode.folder, port: this.#mode.port ?? 445, address: this.#mode.address ?? null } : { kind: 'include' },
      shares,
      users,
      accountPrefix: this.#prefix,
      filesOwner: this.#filesOwner,
      usernameMapFile: this.usernameMapFile,
      guestAccount: this.#guestAccount,
    });
    // The map first: the configuration that names it is only read once both are there.
    await writeFileAtomic(this.usernameMapFile, renderUsernameMap(users, this.#prefix), 0o644);
    await writeFileAtomic(this.sharesFile, config, 0o644);
  }

  async #reload(): Promise<void> {
    if (this.#supervisor) {
      if (!this.#supervisor.status().running) return; // it reads the new file when it (re)starts
      const result = await this.#runner.run('smbcontrol', [`--configfile=${this.configFile}`, 'smbd', 'reload-config']);
      if (result.exitCode !== 0) this.#log.warn({ output: result.stderr.trim() || result.stdout.trim() }, 'samba: smbd did not take the reload');
      return;
    }
    const result = await this.#runner.run('smbcontrol', [`--configfile=${this.configFile}`, 'smbd', 'reload-config']);
    this.#systemProblem = result.exitCode === 0 ? null : `The system's Samba did not take the new configuration (is smbd running?): ${result.stderr.trim() || result.stdout.trim()}`;
    if (this.#systemProblem) this.#log.warn({}, this.#systemProblem);
  }
}

/** The comment (GECOS) of the Unix account Safehold makes to own the shares' files (`force user`). */
export const FILES_OWNER_COMMENT = 'Safehold pool files';

/**
 * The Unix account that owns every file of the shares: `<prefix>0files` (`sh-0files`). A household
 * user can never have that name (theirs start with a letter), so it is never one of theirs.
 */
export function filesOwnerAccount(prefix: string): string {
  checkAccountPrefix(prefix);
  return `${prefix}0files`;
}

/**
 * Makes sure the files owner `account` exists: a system account with a group of the same name, no
 * home, no login shell, a locked password, the comment `FILES_OWNER_COMMENT`; returns its names and
 * ids. Idempotent. An account of that name that Safehold did not make is refused (`SambaError`),
 * never changed.
 */
export async function ensureFilesOwner(runner: CommandRunner, account: string): Promise<FilesOwner & { uid: number; gid: number }> {
  const look = async () => {
    const result = await runner.run('getent', ['passwd', account]);
    if (result.exitCode === 2) return null; // getent: "key not found"
    if (result.exitCode !== 0) throw new SambaError(`Could not look up the account ${account}: ${result.stderr.trim()}`);
    const [, , uid, gid, comment] = result.stdout.trim().split(':');
    return { uid: Number(uid), gid: Number(gid), comment: comment ?? '' };
  };
  let found = await look();
  if (found === null) {
    await checked(runner, 'useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', '--comment', FILES_OWNER_COMMENT, account]).catch((error: unknown) => {
      throw new SambaError(`Could not create ${account}, the account that owns the shares' files: ${(error as Error).message}`, { cause: error });
    });
    found = await look();
  }
  if (found === null || found.comment !== FILES_OWNER_COMMENT) {
    throw new SambaError(`The Unix account ${account} exists and was not made by Safehold: it cannot own the shares' files.`);
  }
  const group = await runner.run('getent', ['group', String(found.gid)]);
  if (group.exitCode !== 0 || group.stdout.split(':')[0] !== account) throw new SambaError(`The Unix account ${account} does not have its own group ${account}.`);
  return { user: account, group: account, uid: found.uid, gid: found.gid };
}

/**
 * Makes sure `smbConf` has exactly one `include = <includeFile>` line (appended once), writing it
 * through a temporary file, fsync, a read-back check and a rename, with the original's mode and
 * owner. Unchanged (not rewritten) when the line is there. Idempotent.
 */
export async function ensureIncludeLine(smbConf: string, includeFile: string): Promise<boolean> {
  const before = await readFile(smbConf, 'utf8');
  const after = withIncludeLine(before, includeFile);
  if (after === before) return false;
  const facts = await stat(smbConf);
  await writeFileAtomic(smbConf, after, facts.mode & 0o7777);
  await chown(smbConf, facts.uid, facts.gid);
  if ((await readFile(smbConf, 'utf8')) !== after) throw new SambaError(`${smbConf} did not read back as written.`);
  return true;
}

interface SupervisorOptions {
  runner: CommandRunner;
  configFile: string;
  pidFile: string;
  port: number;
  address: string | null;
  log: SambaLog;
  restartDelayMs: number;
  maxRestartDelayMs: number;
  startTimeoutMs: number;
}

/**
 * Runs one smbd as a child and keeps it running: when it exits, it is started again after a delay
 * that doubles up to a maximum (and goes back to the first after it ran a minute). `stop()` ends it
 * and every process of ours (its children, a helper it started, one left by an earlier Safehold
 * that was killed): processes whose command line names our configuration file.
 */
class SmbdSupervisor {
  readonly #o: SupervisorOptions;
  #controller: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #running = false;
  #restarts = 0;
  #problem: string | null = null;
  #wakeUp: (() => void) | null = null;

  constructor(options: SupervisorOptions) {
    this.#o = options;
  }

  status(): SambaStatus {
    return { running: this.#running, restarts: this.#restarts, problem: this.#problem };
  }

  async runningPid(): Promise<number | null> {
    if (!this.#running) return null;
    const pids = await processesNaming(this.#o.configFile);
    try {
      const pid = Number((await readFile(this.#o.pidFile, 'utf8')).trim());
      return pids.includes(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  async start(): Promise<void> {
    if (this.#loop) return;
    // An smbd of ours left by a Safehold that was killed holds the port: end it first.
    await endProcesses(await processesNaming(this.#o.configFile));
    // Another program on the port would answer the readiness check below in smbd's place.
    const host = this.#o.address ?? '127.0.0.1';
    if (await canConnect(host, this.#o.port)) throw new SambaError(`Port ${this.#o.port} is already in use by another program: smbd cannot listen on it.`);
    const controller = new AbortController();
    this.#controller = controller;
    let firstExit: ((message: string) => void) | null = null;
    const exitedEarly = new Promise<string>((resolve) => (firstExit = resolve));
    this.#loop = this.#run(controller.signal, (message) => firstExit?.(message));
    const ready = await Promise.race([waitForPort(host, this.#o.port, this.#o.startTimeoutMs, controller.signal), exitedEarly]);
    firstExit = null;
    if (ready !== true) {
      await this.stop();
      throw new SambaError(typeof ready === 'string' ? `smbd did not start: ${ready}` : `smbd did not take connections on port ${this.#o.port} within ${this.#o.startTimeoutMs} ms.`);
    }
    this.#o.log.info({ port: this.#o.port }, 'samba: smbd is serving');
  }

  async #run(signal: AbortSignal, onExit: (message: string) => void): Promise<void> {
    let delay = this.#o.restartDelayMs;
    // Not --no-process-group: smbd ends by signalling its whole process group, which would then be Safehold's.
    const args = ['--foreground', '-s', this.#o.configFile];
    while (!signal.aborted) {
      const startedAt = Date.now();
      this.#running = true;
      let message: string;
      try {
        const result = await this.#o.runner.run('smbd', args, { timeoutMs: Infinity, signal, killGraceMs: 5000, maxOutputBytes: 1024 * 1024 });
        message = `smbd exited with status ${result.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().slice(-500)}` : ''}`;
      } catch (error) {
        message = (error as Error).message;
      }
      this.#running = false;
      if (signal.aborted) break;
      onExit(message);
      this.#problem = message;
      if (Date.now() - startedAt > 60_000) delay = this.#o.restartDelayMs;
      this.#o.log.warn({ restartInMs: delay }, `samba: ${message}; starting it again`);
      // Its children and helpers notice their parent is gone; ours still holding on are ended.
      await endProcesses(await processesNaming(this.#o.configFile));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = null;
      delay = Math.min(delay * 2, this.#o.maxRestartDelayMs);
      if (!signal.aborted) this.#restarts += 1;
    }
  }

  async stop(): Promise<void> {
    if (!this.#loop) return;
    this.#controller!.abort();
    this.#wakeUp?.();
    await this.#loop;
    this.#loop = null;
    this.#controller = null;
    await endProcesses(await processesNaming(this.#o.configFile));
    this.#o.log.info({}, 'samba: smbd stopped');
  }
}

/** Whether something accepts a TCP connection on host:port now. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves true once a TCP connection to host:port succeeds; false after `timeoutMs` or an abort. */
async function waitForPort(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    if (await canConnect(host, port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Pids of live processes whose command line holds `configFile` as an argument (`-s <file>` or `--configfile=<file>`). */
export async function processesNaming(configFile: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv: string[];
    let state: string;
    try {
      argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      continue; // gone meanwhile
    }
    if (state === 'Z' || state === 'X') continue;
    const program = basename(argv[0] ?? '');
    if (!/^(smbd|samba-dcerpcd|rpcd_\w+|samba-bgqd)$/.test(program)) continue;
    if (argv.includes(configFile) || argv.includes(`--configfile=${configFile}`)) pids.push(Number(entry));
  }
  return pids;
}

/** SIGTERM, then SIGKILL for those still there after 5 s; resolves when all are gone. */
async function endProcesses(pids: number[]): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone meanwhile
    }
  };
  const isZombieOrGone = async (pid: number) => {
    try {
      const s = await readFile(`/proc/${pid}/stat`, 'utf8');
      const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
      return state === 'Z' || state === 'X';
    } catch {
      return true;
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  let left = pids;
  while (left.length > 0) {
    const still: number[] = [];
    for (const pid of left) if (!(await isZombieOrGone(pid))) still.push(pid);
    left = still;
    if (left.length === 0) break;
    if (Date.now() > deadline) {
      for (const pid of left) signal(pid, 'SIGKILL');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
