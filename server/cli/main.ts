/**
 * `safehold`: the command line.
 *
 *   safehold serve [--port N] [--data DIR] [--hosts A,B] [--simulate]
 *   safehold status [--json]            overall status of the running service
 *   safehold drives [--json]            drives, the same fields as the Drives page
 *   safehold demo list|plug NAME|unplug NAME   the simulated host of `make demo`
 *   safehold smart assess FILE|- [--json]       judge a saved `smartctl --json` output, offline
 *   safehold sources [list] [--json] | add NAME PATH [--exclude PATTERN…] | remove NAME
 *   safehold rotation [list] [--json] | add DEVICE --name NAME [--format --yes]
 *   safehold backups [--json] | run NAME   the rotation ledger, "am I protected?"; back up now
 *   safehold restore snapshots|ls|get|DRIVE …   restore from a plugged-in rotation drive (restore.command.ts)
 *   safehold shares … | users …         the pool's shares, household users and grants (shares.command.ts, users.command.ts)
 *   safehold recovery-kit [--json]      the recovery kit: every backup drive, its password, the restic commands
 *   safehold unlock                     lift every login delay (after failed logins locked the admin out)
 *   safehold password | reset-password  set a new admin password; or remove it, printing a new setup code (password.command.ts)
 *
 * Every command but `serve`, `demo` and `smart assess` talks to the running service over its local socket, found
 * through the same --data / SAFEHOLD_DATA setting as `serve`. Exit status: 0 done, 1 failed,
 * 2 wrong usage, 3 no service running. Options are parsed by one strict parser (options.ts): an
 * option a command does not know is wrong usage. Failures are one line in words (failures.ts);
 * what is printed for a person uses the page's words and units (format.ts), `--json` the API's JSON.
 */
import { join, resolve } from 'node:path';
import type { Source } from '../backups/source.repository.js';
import type { RotationView } from '../backups/rotation.service.js';
import type { BackupRunView, LedgerEntry, ProtectionView } from '../backups/backup.view.js';
import { FILE_NOTE_LABELS, FILE_NOTES_SHOWN } from '../backups/file-notes.js';
import type { DriveView } from '../drives/drive.model.js';
import { busName } from '../drives/drive.model.js';
import { loadConfig, type Config } from '../config.js';
import { DataFolderError } from '../data-folder.js';
import { AlreadyRunningError, demoSmartStories, PortInUseError, SIMULATED_HOST_DIR, startService } from '../service.js';
import type { StatusView } from '../status/status.service.js';
import { SimulatedHost, UnknownSimulatedDiskError } from '../../system/drives/simulated-host.js';
import { toolsPath } from '../../system/tools.js';
import { CommandFailure, reportFailure, UsageError } from './failures.js';
import { formatDate, formatSize, formatTime, healthWords, JOB_STATE_WORDS, LEDGER_STATE_WORDS, plural, roleWords } from './format.js';
import { callService, waitForJob } from './local-client.js';
import { commandWord, parseLine, type OptionKinds, type ParsedLine } from './options.js';
import { smartAssessCommand } from './smart-assess.command.js';
import { restoreCommand, RESTORE_OPTIONS } from './restore.command.js';
import { recoveryKitCommand } from './recovery-kit.command.js';
import { poolCommand, POOL_OPTIONS } from './pool.command.js';
import { sharesCommand, SHARES_OPTIONS } from './shares.command.js';
import { usersCommand, USERS_OPTIONS } from './users.command.js';
import { printable } from './printable.js';
import { passwordCommand, resetPasswordCommand } from './password.command.js';

const USAGE = `Usage: safehold <command> [options]

Commands:
  serve                 run the service in the foreground
  status [--json]       the overall status of the running service
  drives [--json]       every connected drive
  demo list             the simulated host's disks (make demo)
  demo plug NAME        plug a simulated disk in
  demo unplug NAME      unplug a simulated disk
  sources [--json]      the folders backups protect
  sources add NAME PATH [--exclude PATTERN]...
                        add a folder to protect (its name tags its backups)
  sources remove NAME   stop protecting a folder (its backups are kept)
  pool [--json]         the storage pool's disks: device, state, filesystem, free space
  pool add DEVICE [--format --yes]
                        add the disk at DEVICE to the storage pool, keeping its files (ext4, xfs,
                        btrfs), or with --format --yes erasing it first (ext4)
  pool exposure [--json]
                        what if a disk died now: per disk and share, the files it alone holds
  pool missing DISK wait|gone [--yes]
                        a missing pool disk: it will come back (no more reminders), or it is gone
                        for good (its files get new copies on the others; --yes after the check)
  pool remove DISK [--yes]
                        copy away what would lose a copy, then release the disk (its files stay on it)
  pool replace DISK DEVICE [--format] --yes
                        the disk at DEVICE joins (erased with --format), then DISK leaves (copied away
                        when it is here; "gone" when it is missing)
  shares [--json]       the shared folders of the storage pool
  shares add NAME --copies 1|2|3|all
                        a new share, each file on that many disks ("all": every disk)
  shares set NAME --copies 1|2|3|all
  shares remove NAME    take a share off the network; its files stay on the disks
  shares restore NAME   bring a removed share back
  shares delete-files NAME --yes
                        delete a removed share's files from every pool disk
  shares grant SHARE USER rw|ro
                        let a household user read and change (rw) or only read (ro) a share
  shares revoke SHARE USER
                        a household user can no longer use a share
  users [--json]        the household users who reach the shares from their computers
  users add NAME --password-file FILE
                        a new household user; the password is the first line of FILE ("-":
                        standard input, or asked twice on a terminal), never on the command line
  users password NAME --password-file FILE
                        a household user's new password
  users remove NAME     remove a household user and every share they were given
  rotation [--json]     the rotation backup drives
  backups [--json]      am I protected? and every rotation drive's backups (the ledger)
  backups run NAME      back up onto the plugged-in rotation drive NAME now
  rotation add DEVICE --name NAME [--format --yes]
                        make the drive at DEVICE (e.g. /dev/sdb) rotation drive NAME; keeps its
                        files, or with --format --yes erases it first
  restore snapshots DRIVE [--source NAME] [--json]
                        the snapshots on rotation drive DRIVE (plugged in), read from the drive
  restore ls DRIVE SNAPSHOT [PATH] [--source NAME] [--json]
                        one folder of a snapshot (SNAPSHOT: an id, or latest)
  restore DRIVE SNAPSHOT PATH... [--original --overwrite] [--source NAME]
                        restore files or folders into a new folder beside the source
                        (<source>-restored-<date>), or over the originals with --original --overwrite
  restore get DRIVE SNAPSHOT PATH --output FILE
                        download one file of a snapshot (FILE must not exist; "-": standard output)
  recovery-kit [--json] the recovery kit to print and keep safe: every backup drive, its
                        password and the restic commands to restore without this box
  unlock                lift every login delay (failed logins from elsewhere locked you out)
  password              set a new admin password (asked twice without echo, or the first line of
                        standard input); every session of the admin page ends
  reset-password        forgot it? remove the admin password, end every session and print a new
                        setup code: the admin page then asks for setup again
  smart assess FILE [--json]
                        judge a saved "smartctl --json -x" output offline (FILE "-": standard input)

Options (all commands):
  --data DIR            data folder (SAFEHOLD_DATA; default ./var, ./var/demo for demo)
  --port N              TCP port of the admin page (SAFEHOLD_PORT; default 8080)
  --listen ADDR         address to listen on (SAFEHOLD_LISTEN; default 0.0.0.0)
  --hosts A,B           extra host names the page is reached by (SAFEHOLD_HOSTS)
  --simulate            serve the simulated host instead of real disks (SAFEHOLD_SIMULATE=1)
  --trusted-proxy A,B   HTTPS reverse proxies whose X-Forwarded-For/-Proto count (SAFEHOLD_TRUSTED_PROXY)
  --pool-root DIR       where pool disks are mounted and shares shown (SAFEHOLD_POOL_ROOT; default
                        /srv/safehold)
  --smb-port N          run Safehold's own Samba on this port (SAFEHOLD_SMB_PORT; default 445; for
                        tests: Windows only reaches 445)
  --log-level L         the service log's level (SAFEHOLD_LOG; default info)
  -h, --help            this text
An option a command does not take is refused (exit status 2); "--" ends the options.
Exit status: 0 done, 1 failed, 2 wrong usage, 3 no service running. SAFEHOLD_DEBUG=1 shows the
details of an internal error.
`;

/** Each command's own options, besides the settings every command takes (options.ts). */
const COMMAND_OPTIONS: Record<string, OptionKinds> = {
  serve: {},
  status: { json: { type: 'boolean' } },
  drives: { json: { type: 'boolean' } },
  sources: { json: { type: 'boolean' }, exclude: { type: 'string', multiple: true } },
  rotation: { json: { type: 'boolean' }, name: { type: 'string' }, format: { type: 'boolean' }, yes: { type: 'boolean' } },
  pool: POOL_OPTIONS,
  shares: SHARES_OPTIONS,
  users: USERS_OPTIONS,
  backups: { json: { type: 'boolean' } },
  restore: RESTORE_OPTIONS,
  'recovery-kit': { json: { type: 'boolean' } },
  unlock: {},
  password: {},
  'reset-password': {},
  smart: { json: { type: 'boolean' } },
  demo: {},
  help: {},
};

export async function main(argv: string[]): Promise<number> {
  const word = commandWord(argv);
  const known = word !== undefined && Object.hasOwn(COMMAND_OPTIONS, word);
  if (word !== undefined && !known) throw new UsageError(`Unknown command "${word}".`);
  const { positionals, values, settings } = parseLine(argv, known ? COMMAND_OPTIONS[word]! : {}, known ? `safehold ${word}` : 'safehold');
  const [command, ...more] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const json = values.json === true;
  const config = () => loadConfig(settings);
  switch (command) {
    case 'serve':
      if (more.length) throw new UsageError(`Unexpected "${more[0]}": "safehold serve" takes only options.`);
      return serve(config());
    case 'status':
      return status(config(), json, more);
    case 'drives':
      return drives(config(), json, more);
    case 'sources':
      return sourcesCommand(config(), more, json, (values.exclude as string[] | undefined) ?? []);
    case 'rotation':
      return rotationCommand(config(), more, json, values);
    case 'pool':
      return poolCommand(config(), more, values, json);
    case 'shares':
      return sharesCommand(config(), more, values, json);
    case 'users':
      return usersCommand(config(), more, values, json, process);
    case 'backups':
      return backupsCommand(config(), more, json);
    case 'restore':
      return restoreCommand(config(), more, values, json);
    case 'recovery-kit':
      return recoveryKitCommand(config(), more, json);
    case 'unlock': {
      if (more.length) throw new UsageError(`Unexpected "${more[0]}". Use "safehold unlock".`);
      const { addresses: a, accounts: n } = (await callService(config().dataDir, 'POST', '/login-delays/unlock', undefined, 200)) as { addresses: number; accounts: number };
      process.stdout.write(`Login delays lifted: ${plural(a, 'address', 'addresses')} and ${plural(n, 'account')} start counting failures again.\n`);
      return 0;
    }
    case 'password':
    case 'reset-password':
      return (command === 'password' ? passwordCommand : resetPasswordCommand)(config(), more, process);
    case 'smart':
      if (more[0] !== 'assess') throw new UsageError('Use "safehold smart assess FILE [--json]".');
      return smartAssessCommand([...more.slice(1), ...(json ? ['--json'] : [])], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case 'demo': {
      if (!settings.has('--data') && !process.env.SAFEHOLD_DATA) settings.set('--data', './var/demo');
      return demo(config(), more);
    }
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

async function serve(config: Config): Promise<number> {
  // What libraries start by themselves (drivelist runs lsblk) comes from the tools path too, like
  // everything the command runner starts (system/tools.ts).
  process.env.PATH = toolsPath();
  const service = await startService(config);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`\n${signal}: stopping Safehold…\n`);
      void service.stop().then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}

async function getJson<T>(config: Config, path: string): Promise<T> {
  return (await callService(config.dataDir, 'GET', path, undefined, 200)) as T;
}

function noMore(more: string[], use: string): void {
  if (more.length) throw new UsageError(`Unexpected "${printable(more[0]!)}". Use "${use}".`);
}

async function status(config: Config, json: boolean, more: string[]): Promise<number> {
  noMore(more, 'safehold status [--json]');
  const body = await getJson<StatusView>(config, '/status');
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const mark = { ok: 'OK', attention: 'ATTENTION', problem: 'PROBLEM' }[body.overall];
  const lines = [
    `${mark}: ${printable(body.headline)}`,
    `Box: ${printable(body.box.hostname)}, Safehold ${body.box.version}${body.box.simulated ? ' (simulated host)' : ''}, data in ${printable(body.box.dataDir)}`,
    `Drives: ${body.drives.connected} connected (${body.drives.system} system, ${body.drives.rotation} rotation, ${body.drives.pool} pool, ${body.drives.unassigned} unassigned)`,
    `Jobs: ${body.jobs.running} running, ${body.jobs.queued} queued`,
    ...body.features.filter((f) => !f.available).map((f) => `Unavailable: ${f.name}: ${f.reason}. Fix: ${f.fix}`),
    ...(body.alerts.notice ? [printable(body.alerts.notice)] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function drives(config: Config, json: boolean, more: string[]): Promise<number> {
  noMore(more, 'safehold drives [--json]');
  const body = await getJson<{ drives: DriveView[]; refreshedAt: string | null }>(config, '/drives');
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  if (body.drives.length === 0) process.stdout.write('No drives connected.\n');
  for (const d of body.drives) {
    process.stdout.write(`${printable(d.name).padEnd(10)} ${formatSize(d.sizeBytes).padStart(8)}  ${busName(d.bus).padEnd(12)} ${roleWords(d.role).padEnd(15)} ${healthWords(d.health).padEnd(20)} ${printable(d.displayName)}\n`);
    if (d.health && d.health.verdict !== 'healthy' && d.health.headline) process.stdout.write(`  ${printable(d.health.headline)}\n`);
    for (const p of d.partitions) {
      const where = p.mountpoints.length ? `on ${p.mountpoints.map(printable).join(', ')}` : 'not mounted';
      const free = p.freeBytes === null ? '' : `, ${formatSize(p.freeBytes)} free`;
      process.stdout.write(`  ${printable(p.name).padEnd(12)} ${formatSize(p.sizeBytes).padStart(8)}  ${(p.fsType ?? 'no filesystem').padEnd(8)} ${printable(p.label ?? '')} ${where}${free}\n`);
    }
  }
  return 0;
}

async function sourcesCommand(config: Config, args: string[], json: boolean, excludes: string[]): Promise<number> {
  const [action = 'list', ...rest] = args;
  const use = 'Use "safehold sources", "safehold sources add NAME PATH [--exclude PATTERN]..." or "safehold sources remove NAME".';
  if (action !== 'add' && excludes.length) throw new UsageError(`--exclude goes with "safehold sources add". ${use}`);
  if (action === 'list' && rest.length === 0) {
    const body = await getJson<{ sources: Source[] }>(config, '/sources');
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.sources.length === 0) process.stdout.write('No sources yet. Add one with "safehold sources add NAME PATH".\n');
    else for (const src of body.sources) process.stdout.write(`${printable(src.name).padEnd(16)} ${printable(src.path)}${src.excludes.length ? `  (excluding ${src.excludes.map(printable).join(', ')})` : ''}\n`);
    return 0;
  }
  if (action === 'add') {
    const [name, path] = rest;
    if (!name || !path || rest.length > 2) throw new UsageError('Use "safehold sources add NAME PATH [--exclude PATTERN]...".');
    const added = (await callService(config.dataDir, 'POST', '/sources', { name, path: resolve(path), excludes }, 201)) as Source;
    process.stdout.write(`Source "${printable(name)}" added: ${printable(added.path)}\n`);
    return 0;
  }
  if (action === 'remove' && rest.length === 1) {
    await callService(config.dataDir, 'DELETE', `/sources/${encodeURIComponent(rest[0]!)}`, undefined, 204);
    process.stdout.write(`Source "${printable(rest[0]!)}" removed; its backups are kept.\n`);
    return 0;
  }
  throw new UsageError(use);
}

async function rotationCommand(config: Config, args: string[], json: boolean, values: ParsedLine['values']): Promise<number> {
  const [action = 'list', ...rest] = args;
  const name = values.name as string | undefined;
  const format = values.format === true;
  const use = 'Use "safehold rotation [--json]" or "safehold rotation add DEVICE --name NAME [--format --yes]".';
  if (action === 'list' && rest.length === 0) {
    if (name !== undefined || format || values.yes) throw new UsageError(`--name, --format and --yes go with "safehold rotation add". ${use}`);
    const body = await getJson<{ drives: RotationView[] }>(config, '/rotation/drives');
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.drives.length === 0) process.stdout.write('No rotation drives yet. Add one with "safehold rotation add DEVICE --name A".\n');
    else for (const d of body.drives) process.stdout.write(`${printable(d.name).padEnd(6)} ${d.connected ? 'plugged in ' : 'away      '} ${printable(d.model ?? '')} ${printable(d.serial ?? '')}  registered ${formatDate(d.registeredAt)}\n`);
    return 0;
  }
  if (action !== 'add') throw new UsageError(use);
  const [device] = rest;
  if (!device || !name || rest.length > 1) throw new UsageError('Use "safehold rotation add DEVICE --name NAME [--format --yes]".');
  if (format && !values.yes) throw new UsageError(`--format erases everything on ${printable(device)}: add --yes to confirm.`);
  const { drives } = await getJson<{ drives: DriveView[] }>(config, '/drives');
  const drive = drives.find((d) => d.path === device || d.partitions.some((p) => p.path === device));
  if (!drive) throw new CommandFailure(`No connected drive is ${printable(device)}. "safehold drives" lists them.`);
  const body = { driveId: drive.id, name, mode: format ? 'format' : 'keep', ...(format ? { confirm: name } : {}) };
  const { job } = (await callService(config.dataDir, 'POST', '/rotation/drives', body, 202)) as { job: { id: number } };
  process.stdout.write(`Registering ${printable(drive.displayName)} as rotation drive ${printable(name)}…\n`);
  return waitForJobMessage(config, job.id);
}

async function backupsCommand(config: Config, args: string[], json: boolean): Promise<number> {
  const [action = 'list', name, ...extra] = args;
  if (action === 'list' && name === undefined) {
    const protection = await getJson<ProtectionView>(config, '/backups/protection');
    const { drives } = await getJson<{ drives: LedgerEntry[] }>(config, '/backups/ledger');
    if (json) {
      process.stdout.write(`${JSON.stringify({ protection, drives }, null, 2)}\n`);
      return 0;
    }
    const lines = [`${protection.level.toUpperCase()}: ${printable(protection.headline)}`];
    if (protection.recoveryKitNeeded) lines.push('Save the recovery kit: safehold recovery-kit');
    for (const d of drives) {
      lines.push(
        `Drive ${printable(d.name)}: ${LEDGER_STATE_WORDS[d.state] ?? d.state}${d.connected ? '' : ` since ${formatTime(d.awaySince)}`}; last good backup ${formatTime(d.lastGoodBackupAt)}; ` +
          `${plural(d.snapshotCount, 'snapshot')}${d.oldestSnapshotAt ? ` (${formatTime(d.oldestSnapshotAt)}${d.newestSnapshotAt && d.newestSnapshotAt !== d.oldestSnapshotAt ? ` to ${formatTime(d.newestSnapshotAt)}` : ''})` : ''}` +
          `${d.freeBytes !== null ? `; ${formatSize(d.freeBytes)} free` : ''}${d.fullBy ? `, full by ${formatDate(d.fullBy)}` : ''}`,
      );
      if (d.lastRun?.message) lines.push(`  last run: ${printable(d.lastRun.message)}`);
      if (d.lastRun) lines.push(...fileNoteLines(d.lastRun));
      if (d.pruneSuspended) lines.push(`  retention suspended: ${printable(d.pruneSuspended.reason)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  if (action === 'run' && name && extra.length === 0) {
    const { drives } = await getJson<{ drives: LedgerEntry[] }>(config, '/backups/ledger');
    const drive = drives.find((d) => d.name.toLowerCase() === name.toLowerCase());
    if (!drive) throw new UsageError(`There is no rotation drive called ${printable(name)}${drives.length ? ` (the drives are ${drives.map((d) => printable(d.name)).join(', ')})` : ' (none is registered yet)'}.`);
    const { job } = (await callService(config.dataDir, 'POST', `/backups/drives/${encodeURIComponent(drive.driveId)}/run`, undefined, 202)) as { job: { id: number } };
    process.stdout.write(`Backing up onto drive ${printable(drive.name)}…\n`);
    const status = await waitForJobMessage(config, job.id);
    const { runs } = await getJson<{ runs: BackupRunView[] }>(config, `/backups/runs?drive=${encodeURIComponent(drive.driveId)}&limit=1`);
    const notes = runs[0]?.jobId === job.id ? fileNoteLines(runs[0]) : [];
    if (notes.length) process.stdout.write(`${notes.join('\n')}\n`);
    return status;
  }
  throw new UsageError('Use "safehold backups [--json]" or "safehold backups run NAME".');
}

/** A run's words on single files, one line each ("  photos: changed while it was read, …: /srv/photos/a.log"). */
function fileNoteLines(run: BackupRunView): string[] {
  const lines: string[] = [];
  for (const s of run.sources) {
    for (const n of s.fileNotes) lines.push(`  ${printable(s.name)}: ${FILE_NOTE_LABELS[n.kind]}: ${printable(n.path)}${n.detail ? ` (${printable(n.detail)})` : ''}`);
    const unnamed = Object.values(s.fileNoteCounts).reduce((a, b) => a + b, 0) - s.fileNotes.length;
    if (unnamed > 0) lines.push(`  ${printable(s.name)}: and ${unnamed} more (the first ${FILE_NOTES_SHOWN} of each kind are named)`);
  }
  return lines;
}

/** Waits for a job to end and prints its message; exit status 0 when it succeeded. */
async function waitForJobMessage(config: Config, id: number): Promise<number> {
  const job = await waitForJob(config.dataDir, id);
  process.stdout.write(`${job.message ? printable(job.message) : (JOB_STATE_WORDS[job.state] ?? job.state)}\n`);
  return job.state === 'succeeded' ? 0 : 1;
}

async function demo(config: Config, args: string[]): Promise<number> {
  const host = await SimulatedHost.open(join(config.dataDir, SIMULATED_HOST_DIR));
  const [action, name, ...extra] = args;
  if (action === 'list' && name === undefined) {
    const { disks } = await host.readDisks();
    if (disks.length === 0) process.stdout.write('The simulated host has no disks yet: start it once with "make demo".\n');
    const stories = await demoSmartStories(config.dataDir);
    for (const d of disks) {
      const story = stories.get(d.name);
      process.stdout.write(`${printable(d.name).padEnd(12)} ${d.plugged ? 'plugged in' : 'unplugged '}  ${formatSize(d.sizeBytes).padStart(8)}  ${printable(d.model ?? '').padEnd(24)}${story ? `  health: ${story}` : ''}\n`.replace(/ +\n$/, '\n'));
    }
    return 0;
  }
  if ((action === 'plug' || action === 'unplug') && name && extra.length === 0) {
    await (action === 'plug' ? host.plug(name) : host.unplug(name));
    process.stdout.write(`${printable(name)} ${action === 'plug' ? 'plugged in' : 'unplugged'}.\n`);
    return 0;
  }
  throw new UsageError('Use "safehold demo list", "safehold demo plug NAME" or "safehold demo unplug NAME".');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const debug = process.env.SAFEHOLD_DEBUG === '1';
    process.exitCode = reportFailure(error, process.stderr, { explained: [AlreadyRunningError, PortInUseError, UnknownSimulatedDiskError, DataFolderError], debug });
  },
);
