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
 *   safehold recovery-kit [--json]      the recovery kit: every backup drive, its password, the restic commands
 *   safehold unlock                     lift every login delay (after failed logins locked the admin out)
 *   safehold password | reset-password  set a new admin password; or remove it, printing a new setup code (password.command.ts)
 *
 * Every command but `serve`, `demo` and `smart assess` talks to the running service over its local socket, found
 * through the same --data / SAFEHOLD_DATA setting as `serve`. Exit status: 0 done, 1 failed,
 * 2 wrong usage, 3 no service running.
 */
import { join, resolve } from 'node:path';
import type { Source } from '../backups/source.repository.js';
import type { RotationView } from '../backups/rotation.service.js';
import type { LedgerEntry, ProtectionView } from '../backups/backup.view.js';
import type { DriveView } from '../drives/drive.model.js';
import { busName, formatSize } from '../drives/drive.model.js';
import { InvalidInputError } from '../errors.js';
import { loadConfig, parseFlags, type Config } from '../config.js';
import { AlreadyRunningError, PortInUseError, SIMULATED_HOST_DIR, startService } from '../service.js';
import type { StatusView } from '../status/status.service.js';
import { SimulatedHost, UnknownSimulatedDiskError } from '../../system/drives/simulated-host.js';
import { toolsPath } from '../../system/tools.js';
import { localRequest, NoServiceError, waitForJob } from './local-client.js';
import { smartAssessCommand } from './smart-assess.command.js';
import { restoreCommand } from './restore.command.js';
import { recoveryKitCommand } from './recovery-kit.command.js';
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
`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv);
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  const [command, ...more] = args;
  switch (command) {
    case 'serve':
      return serve(loadConfig(flags));
    case 'status':
      return status(loadConfig(flags), json);
    case 'drives':
      return drives(loadConfig(flags), json);
    case 'sources':
      return sourcesCommand(loadConfig(flags), more, json);
    case 'rotation':
      return rotationCommand(loadConfig(flags), more, json);
    case 'backups':
      return backupsCommand(loadConfig(flags), more, json);
    case 'restore':
      return restoreCommand(loadConfig(flags), more, json);
    case 'recovery-kit':
      return recoveryKitCommand(loadConfig(flags), more, json);
    case 'unlock': {
      const res = await localRequest(loadConfig(flags).dataDir, 'POST', '/login-delays/unlock');
      if (res.status !== 200) throw new Error(refusal(res));
      const { addresses: a, accounts: n } = res.body as { addresses: number; accounts: number };
      process.stdout.write(`Login delays lifted: ${a} address${a === 1 ? '' : 'es'} and ${n} account${n === 1 ? '' : 's'} start counting failures again.\n`);
      return 0;
    }
    case 'password':
    case 'reset-password':
      return (command === 'password' ? passwordCommand : resetPasswordCommand)(loadConfig(flags), more, process);
    case 'smart':
      if (more[0] !== 'assess') throw new UsageError('Use "safehold smart assess FILE [--json]".');
      return smartAssessCommand([...more.slice(1), ...(json ? ['--json'] : [])], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case 'demo': {
      if (!flags.has('--data') && !process.env.SAFEHOLD_DATA) flags.set('--data', './var/demo');
      return demo(loadConfig(flags), more);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
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
  const res = await localRequest(config.dataDir, 'GET', path);
  if (res.status !== 200) throw new Error(`The service refused: ${refusal(res)}`);
  return res.body as T;
}

async function status(config: Config, json: boolean): Promise<number> {
  const body = await getJson<StatusView>(config, '/status');
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const mark = { ok: 'OK', attention: 'ATTENTION', problem: 'PROBLEM' }[body.overall];
  const lines = [
    `${mark}: ${printable(body.headline)}`,
    `Box: ${printable(body.box.hostname)}, Safehold ${body.box.version}${body.box.simulated ? ' (simulated host)' : ''}, data in ${printable(body.box.dataDir)}`,
    `Drives: ${body.drives.connected} connected (${body.drives.system} system, ${body.drives.rotation} rotation, ${body.drives.unassigned} unassigned)`,
    `Jobs: ${body.jobs.running} running, ${body.jobs.queued} queued`,
    ...body.features.filter((f) => !f.available).map((f) => `Unavailable: ${f.name}: ${f.reason}. Fix: ${f.fix}`),
    ...(body.alerts.notice ? [printable(body.alerts.notice)] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function drives(config: Config, json: boolean): Promise<number> {
  const body = await getJson<{ drives: DriveView[]; refreshedAt: string | null }>(config, '/drives');
  if (json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  if (body.drives.length === 0) process.stdout.write('No drives connected.\n');
  for (const d of body.drives) {
    const health = d.health ? `${d.health.verdict}${d.health.state === 'asleep' ? ' (asleep)' : ''}` : 'not read';
    process.stdout.write(`${printable(d.name).padEnd(10)} ${formatSize(d.sizeBytes).padStart(8)}  ${busName(d.bus).padEnd(12)} ${d.role.padEnd(11)} ${health.padEnd(18)} ${printable(d.displayName)}\n`);
    if (d.health && d.health.verdict !== 'healthy' && d.health.headline) process.stdout.write(`  ${printable(d.health.headline)}\n`);
    for (const p of d.partitions) {
      const where = p.mountpoints.length ? `on ${p.mountpoints.map(printable).join(', ')}` : 'not mounted';
      const free = p.freeBytes === null ? '' : `, ${formatSize(p.freeBytes)} free`;
      process.stdout.write(`  ${printable(p.name).padEnd(12)} ${formatSize(p.sizeBytes).padStart(8)}  ${(p.fsType ?? 'no filesystem').padEnd(8)} ${printable(p.label ?? '')} ${where}${free}\n`);
    }
  }
  return 0;
}

async function sourcesCommand(config: Config, args: string[], json: boolean): Promise<number> {
  const [action = 'list', ...rest] = args;
  if (action === 'list') {
    const body = await getJson<{ sources: Source[] }>(config, '/sources');
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.sources.length === 0) process.stdout.write('No sources yet. Add one with "safehold sources add NAME PATH".\n');
    else for (const src of body.sources) process.stdout.write(`${printable(src.name).padEnd(16)} ${printable(src.path)}${src.excludes.length ? `  (excluding ${src.excludes.map(printable).join(', ')})` : ''}\n`);
    return 0;
  }
  if (action === 'add') {
    const excludes: string[] = [];
    const positional: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '--exclude') {
        const pattern = rest[++i];
        if (pattern === undefined) throw new UsageError('--exclude needs a pattern.');
        excludes.push(pattern);
      } else positional.push(rest[i]!);
    }
    const [name, path] = positional;
    if (!name || !path || positional.length > 2) throw new UsageError('Use "safehold sources add NAME PATH [--exclude PATTERN]...".');
    const res = await localRequest(config.dataDir, 'POST', '/sources', { name, path: resolve(path), excludes });
    if (res.status !== 201) throw new Error(refusal(res));
    process.stdout.write(`Source "${printable(name)}" added: ${printable((res.body as Source).path)}\n`);
    return 0;
  }
  if (action === 'remove' && rest.length === 1) {
    const res = await localRequest(config.dataDir, 'DELETE', `/sources/${encodeURIComponent(rest[0]!)}`);
    if (res.status !== 204) throw new Error(refusal(res));
    process.stdout.write(`Source "${printable(rest[0]!)}" removed; its backups are kept.\n`);
    return 0;
  }
  throw new UsageError('Use "safehold sources", "safehold sources add NAME PATH [--exclude PATTERN]..." or "safehold sources remove NAME".');
}

async function rotationCommand(config: Config, args: string[], json: boolean): Promise<number> {
  const [action = 'list', ...rest] = args;
  if (action === 'list') {
    const body = await getJson<{ drives: RotationView[] }>(config, '/rotation/drives');
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.drives.length === 0) process.stdout.write('No rotation drives yet. Add one with "safehold rotation add DEVICE --name A".\n');
    else for (const d of body.drives) process.stdout.write(`${printable(d.name).padEnd(6)} ${d.connected ? 'plugged in ' : 'away      '} ${printable(d.model ?? '')} ${printable(d.serial ?? '')}  registered ${d.registeredAt.slice(0, 10)}\n`);
    return 0;
  }
  if (action !== 'add') throw new UsageError('Use "safehold rotation" or "safehold rotation add DEVICE --name NAME [--format --yes]".');
  let name: string | undefined;
  let format = false;
  let yes = false;
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--name') name = rest[++i];
    else if (rest[i] === '--format') format = true;
    else if (rest[i] === '--yes') yes = true;
    else positional.push(rest[i]!);
  }
  const [device] = positional;
  if (!device || !name || positional.length > 1) throw new UsageError('Use "safehold rotation add DEVICE --name NAME [--format --yes]".');
  if (format && !yes) throw new UsageError(`--format erases everything on ${device}: add --yes to confirm.`);
  const { drives } = await getJson<{ drives: DriveView[] }>(config, '/drives');
  const drive = drives.find((d) => d.path === device || d.partitions.some((p) => p.path === device));
  if (!drive) throw new Error(`No connected drive is ${device}. "safehold drives" lists them.`);
  const res = await localRequest(config.dataDir, 'POST', '/rotation/drives', { driveId: drive.id, name, mode: format ? 'format' : 'keep', ...(format ? { confirm: name } : {}) });
  if (res.status !== 202) throw new Error(refusal(res));
  const job = (res.body as { job: { id: number } }).job;
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
    const day = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : 'never');
    const lines = [`${protection.level.toUpperCase()}: ${printable(protection.headline)}`];
    if (protection.recoveryKitNeeded) lines.push('Save the recovery kit: safehold recovery-kit');
    for (const d of drives) {
      lines.push(
        `Drive ${printable(d.name)}: ${d.state}${d.connected ? '' : ` since ${day(d.awaySince)}`}; last good backup ${day(d.lastGoodBackupAt)}; ` +
          `${d.snapshotCount} snapshots${d.oldestSnapshotAt ? ` (${day(d.oldestSnapshotAt)} to ${day(d.newestSnapshotAt)})` : ''}` +
          `${d.freeBytes !== null ? `; ${formatSize(d.freeBytes)} free` : ''}${d.fullBy ? `, full by ${d.fullBy.slice(0, 10)}` : ''}`,
      );
      if (d.lastRun?.message) lines.push(`  last run: ${printable(d.lastRun.message)}`);
      if (d.pruneSuspended) lines.push(`  retention suspended: ${printable(d.pruneSuspended.reason)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  if (action === 'run' && name && extra.length === 0) {
    const { drives } = await getJson<{ drives: LedgerEntry[] }>(config, '/backups/ledger');
    const drive = drives.find((d) => d.name.toLowerCase() === name.toLowerCase());
    if (!drive) throw new InvalidInputError(`There is no rotation drive called ${printable(name)}.`);
    const res = await localRequest(config.dataDir, 'POST', `/backups/drives/${encodeURIComponent(drive.driveId)}/run`);
    if (res.status !== 202) throw new Error(refusal(res));
    const job = (res.body as { job: { id: number } }).job;
    process.stdout.write(`Backing up onto drive ${printable(drive.name)}…\n`);
    return waitForJobMessage(config, job.id);
  }
  throw new UsageError('Use "safehold backups [--json]" or "safehold backups run NAME".');
}

/** Waits for a job to end and prints its message; exit status 0 when it succeeded. */
async function waitForJobMessage(config: Config, id: number): Promise<number> {
  const job = await waitForJob(config.dataDir, id);
  process.stdout.write(`${printable(job.message ?? job.state)}\n`);
  return job.state === 'succeeded' ? 0 : 1;
}

/** The service's words for a refusal. */
function refusal(res: { status: number; body: unknown }): string {
  const error = (res.body as { error?: { message?: string } } | null)?.error;
  return error?.message ? printable(error.message) : `The service answered ${res.status}.`;
}

async function demo(config: Config, args: string[]): Promise<number> {
  const host = await SimulatedHost.open(join(config.dataDir, SIMULATED_HOST_DIR));
  const [action, name] = args;
  if (action === 'list') {
    const { disks } = await host.readDisks();
    if (disks.length === 0) process.stdout.write('The simulated host has no disks yet: start it once with "make demo".\n');
    for (const d of disks) process.stdout.write(`${printable(d.name).padEnd(12)} ${d.plugged ? 'plugged in' : 'unplugged '}  ${formatSize(d.sizeBytes).padStart(8)}  ${printable(d.model ?? '')}\n`);
    return 0;
  }
  if ((action === 'plug' || action === 'unplug') && name) {
    await (action === 'plug' ? host.plug(name) : host.unplug(name));
    process.stdout.write(`${name} ${action === 'plug' ? 'plugged in' : 'unplugged'}.\n`);
    return 0;
  }
  throw new UsageError('Use "safehold demo list", "safehold demo plug NAME" or "safehold demo unplug NAME".');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`safehold: ${message}\n`);
    if (error instanceof UsageError || error instanceof InvalidInputError) {
      process.stderr.write('Run "safehold help" for the commands.\n');
      process.exitCode = 2;
    } else if (error instanceof NoServiceError) {
      process.exitCode = 3;
    } else {
      // A failure the message explains needs no stack; anything else is a bug worth its stack.
      const explained = error instanceof AlreadyRunningError || error instanceof PortInUseError || error instanceof UnknownSimulatedDiskError;
      if (!explained && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    }
  },
);
