/**
 * The composition root: builds every part of the service from its settings, starts it, and stops
 * it gracefully.
 *
 * Contract of `stop()`: no new work is accepted, the page's live streams are closed, running jobs
 * are signalled and given `graceMs` to reach a safe point (what is still running is recorded as
 * interrupted), then the catalog is closed and the local socket removed. Safe to call twice.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { SystemClock, type Clock } from '../system/clock.js';
import type { BlockDevices } from '../system/drives/block-devices.js';
import { LinuxBlockDevices } from '../system/drives/linux-block-devices.adapter.js';
import { DEMO_SMART, SimulatedBlockDevices, SimulatedHost } from '../system/drives/simulated-host.js';
import { LinuxFilePlacer } from '../system/files/linux-file-placer.adapter.js';
import { OutboxMailTransport } from '../system/mail/mail.sim.js';
import type { MailTransport } from '../system/mail/mail.js';
import { SmtpMailTransport } from '../system/mail/smtp-mail.adapter.js';
import { ProcessCommandRunner, type CommandRunner } from '../system/process/command-runner.js';
import { SmartctlAdapter } from '../system/smart/smartctl.adapter.js';
import { SimulatedSmartReader } from '../system/smart/smartctl.sim.js';
import type { SmartReader } from '../system/smart/smartctl.js';
import { isInstalled } from '../system/tools.js';
import { ActivityRepository } from './activity/activity.repository.js';
import { AlertRepository } from './alerts/alert.repository.js';
import { AlertService, type DigestInput } from './alerts/alert.service.js';
import { ActivityService } from './activity/activity.service.js';
import { AuthRepository } from './auth/auth.repository.js';
import { AuthService } from './auth/auth.service.js';
import { LoginHistory } from './auth/login-history.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { ensureSetupCode, removeSetupCode, SETUP_CODE_FILE, writeNewSetupCode } from './auth/setup-code.js';
import { openCatalog, type Catalog } from './catalog/catalog.js';
import { examineDataFolder, prepareDataFolder, undoFreshDataFolder } from './data-folder.js';
import type { Config } from './config.js';
import { DriveWatcher } from './drives/drive-watcher.js';
import { DriveRepository } from './drives/drive.repository.js';
import { DriveService } from './drives/drive.service.js';
import { requestRefresh } from './drives/drives.routes.js';
import { EventBus } from './events.js';
import { HealthService, toAlertDisk } from './health/health.service.js';
import { SmartHistoryRepository } from './health/smart-history.repository.js';
import { SecretStore } from './settings/secrets.js';
import { SourceRepository } from './backups/source.repository.js';
import { SourceService } from './backups/source.service.js';
import { RotationRepository } from './backups/rotation.repository.js';
import { RotationService } from './backups/rotation.service.js';
import { BackupRepository } from './backups/backup.repository.js';
import { BackupService } from './backups/backup.service.js';
import { DriveAccess } from './backups/drive-access.js';
import { RestoreService } from './backups/restore.service.js';
import { RecoveryKitService } from './backups/recovery-kit.service.js';
import { PoolMemberRepository } from './pool/member.repository.js';
import { PoolMemberService } from './pool/member.service.js';
import { ShareRepository } from './pool/share.repository.js';
import { ShareService } from './pool/share.service.js';
import { Duplicator } from './pool/duplicator.js';
import { DuplicationService } from './pool/duplication.service.js';
import { FileCatalogRepository } from './pool/file-catalog.repository.js';
import { filesOpenForWriting } from '../system/process/processes.js';
import { InotifyFileEvents } from '../system/fswatch/inotify.adapter.js';
import { SmbService } from './pool/smb.service.js';
import { HouseholdUserRepository } from './pool/user.repository.js';
import { HouseholdUserService } from './pool/user.service.js';
import type { SambaServer } from '../system/samba/samba.js';
import { ensureFilesOwner, filesOwnerAccount, SambaAdapter } from '../system/samba/samba.adapter.js';
import { SimulatedSamba } from '../system/samba/samba.sim.js';
import { MergerfsPoolView } from '../system/mergerfs/mergerfs.adapter.js';
import { SimulatedPoolView } from '../system/mergerfs/mergerfs.sim.js';
import { LinuxMounts } from '../system/mounts/linux-mounts.adapter.js';
import { SimulatedMounts } from '../system/mounts/mounts.sim.js';
import type { Mounts } from '../system/mounts/mounts.js';
import { ResticAdapter } from '../system/restic/restic.adapter.js';
import { SettingsRepository } from './settings/settings.repository.js';
import { lanApp, localApp, type ApiDeps } from './http/app.js';
import { pageUrls } from './http/page-addresses.js';
import { EventStreams } from './http/events.routes.js';
import { JobRunner } from './jobs/job-runner.js';
import { JobRepository } from './jobs/job.repository.js';
import { Scheduler } from './jobs/scheduler.js';
import { createLogger } from './logger.js';
import { FEATURE_NEEDS, StatusService } from './status/status.service.js';
import { VERSION } from './version.js';

export const SOCKET_FILE = 'safehold.sock';
export const CATALOG_FILE = 'catalog.db';
export const SIMULATED_HOST_DIR = 'simulated-host';

/** Default schedules (cron, local time). */
export const SCHEDULES = {
  /** Re-read the inventory even without a change signal: free space moves. */
  inventory: '*/10 * * * *',
  /** Prune old activity, finished jobs and expired sessions. */
  housekeeping: '23 3 * * *',
};

const DAY = 24 * 3600 * 1000;

export interface ServiceOverrides {
  clock?: Clock;
  log?: Logger;
  runner?: CommandRunner;
  devices?: BlockDevices;
  smart?: SmartReader | null;
  mail?: MailTransport;
  mounts?: Mounts;
  /** Where the built admin page is. Default: ui/dist beside the package. */
  uiDir?: string;
  /** Poll period of the hot-plug watcher in ms. Default 1000. */
  watchIntervalMs?: number;
  /** Time running jobs get to stop at `stop()`, in ms. Default 10 000. */
  graceMs?: number;
}

export interface RunningService {
  config: Config;
  /** The TCP port the page is served on (useful with port 0). */
  port: number;
  socketPath: string;
  catalog: Catalog;
  stop(): Promise<void>;
}

export class AlreadyRunningError extends Error {}
export class PortInUseError extends Error {}

const packageRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/**
 * Starts the service. A start that fails leaves no file behind in a data folder it found missing or
 * empty: a second service on the same data folder and a port in use are refused before anything is
 * written (the port is bound first), and what a later failure had made in such a folder is removed
 * (`undoFreshDataFolder`). A data folder that held anything (a catalog) is never touched by a failure.
 */
export async function startService(config: Config, overrides: ServiceOverrides = {}): Promise<RunningService> {
  // What the service makes from now on is its user's alone (restic's repositories, restores and
  // the drive marker set their own modes); the data folder is made private however it was found.
  process.umask(0o077);
  const before = await examineDataFolder(config.dataDir);
  await refuseSecondService(join(config.dataDir, SOCKET_FILE), config.dataDir);
  const lan = await bindPort(config);
  const undo: (() => unknown)[] = [];
  try {
    return await startOnPort(config, overrides, lan, undo);
  } catch (error) {
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined);
    const closed = close(lan);
    lan.closeAllConnections();
    await closed;
    const left = await undoFreshDataFolder(before);
    if (left.length) process.stderr.write(`safehold: the failed start could not remove ${left.join(', ')}\n`);
    throw error;
  }
}

/** The page's server, bound before anything is written; `serveWith` hands it the page once ready. */
type LanServer = Server & { serveWith(listener: RequestListener): void };

/** Binds the LAN port (`PortInUseError` when taken). Until the page is ready it answers 503 "starting". */
async function bindPort(config: Config): Promise<LanServer> {
  let listener: RequestListener = (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
    res.end('Safehold is starting. Try again in a moment.\n');
  };
  const lan = Object.assign(createServer((req, res) => listener(req, res)), { serveWith: (next: RequestListener) => (listener = next) });
  await listen(lan, () => lan.listen(config.port, config.listen)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') {
      throw new PortInUseError(`Port ${config.port} is already in use by another program. Choose another with --port or SAFEHOLD_PORT. Safehold did not start.`);
    }
    throw error;
  });
  return lan;
}

/** The rest of the start, on the bound port; pushes onto `undo` what a failure must close again. */
async function startOnPort(config: Config, overrides: ServiceOverrides, lan: LanServer, undo: (() => unknown)[]): Promise<RunningService> {
  const clock = overrides.clock ?? new SystemClock();
  const log = overrides.log ?? createLogger(config.logLevel);
  const startedAt = clock.now();
  const dataDir = await prepareDataFolder(config.dataDir);
  const socketPath = join(dataDir, SOCKET_FILE);
  await rm(socketPath, { force: true }); // left by a crash (refuseSecondService found nobody answering)

  const runner = overrides.runner ?? new ProcessCommandRunner();
  const devices = overrides.devices ?? (await chooseDevices(config, runner, log));
  const catalog = openCatalog(join(dataDir, CATALOG_FILE));
  undo.push(() => catalog.close());
  const bus = new EventBus();

  const activity = new ActivityService(new ActivityRepository(catalog), bus, clock, log);
  const jobRepo = new JobRepository(catalog);
  const jobs = new JobRunner({ repo: jobRepo, clock, bus, log });
  const drives = new DriveService({ repo: new DriveRepository(catalog), devices, activity, bus, clock, log, dataDir });
  jobs.define(drives.refreshJob());

  const missing = new Set<string>();
  for (const program of new Set(FEATURE_NEEDS.flatMap((f) => f.programs))) {
    if (!(await isInstalled(program))) missing.add(program);
  }
  for (const program of await devices.missingTools()) missing.add(program);
  if (missing.size) log.warn({ missing: [...missing] }, 'programs missing: the features that need them are unavailable');

  const scheduler = new Scheduler(clock, log);
  undo.push(() => scheduler.stop());
  const settings = new SettingsRepository(catalog);
  const secrets = new SecretStore(dataDir);
  const history = new SmartHistoryRepository(catalog);
  const bound = lan.address();
  const port = typeof bound === 'object' && bound ? bound.port : config.port;
  const alerts = new AlertService({
    repo: new AlertRepository(catalog),
    settings,
    secrets,
    transport: overrides.mail ?? (config.simulate ? new OutboxMailTransport(join(dataDir, SIMULATED_HOST_DIR, 'outbox')) : new SmtpMailTransport()),
    activity,
    bus,
    clock,
    log,
    pageUrl: () => `http://${boxHost(config)}:${port}/`,
    daily: {
      scheduler,
      digest: (): DigestInput => ({
        disks: drives.list().map((d) => ({ disk: toAlertDisk(d), verdict: d.health?.verdict ?? 'unknown', headline: d.health?.headline ?? 'Not read yet', temperatureC: d.health?.temperatureC ?? null })),
        open: alerts.open().map((a) => ({ message: a.message, since: a.since })),
        activity: activity.list(200).filter((e) => Date.parse(e.at) > clock.now() - DAY).map(({ at, level, message }) => ({ at, level, message })),
        backups: backups.protection(),
      }),
    },
  });
  const smart = overrides.smart !== undefined ? overrides.smart : await chooseSmart(config, runner, missing.has('smartctl'), log);
  const health = new HealthService({ reader: smart, history, drives, jobs, alerts, activity, settings, scheduler, bus, clock, log, protection: () => backups.protection() });
  drives.setHealthSource((id) => health.summary(id));
  health.start();
  const mounts: Mounts =
    overrides.mounts ?? (config.simulate ? new SimulatedMounts(await SimulatedHost.open(join(dataDir, SIMULATED_HOST_DIR))) : new LinuxMounts({ runner, protectedPaths: ['/', '/boot', '/boot/firmware', '/boot/efi', '/usr', '/var', dataDir] }));
  const restic = missing.has('restic') ? null : new ResticAdapter({ runner });
  const rotationRepo = new RotationRepository(catalog);
  const backupRepo = new BackupRepository(catalog);
  const sourceRepo = new SourceRepository(catalog);
  const sources = new SourceService({ repo: sourceRepo, activity, clock, dataDir });
  const driveAccess = new DriveAccess({ mounts, drives, repo: rotationRepo, secrets, activity, boxIds: () => rotation.boxIds(), dataDir, log });
  const rotation = new RotationService({
    repo: rotationRepo,
    drives,
    jobs,
    mounts,
    restic,
    secrets,
    settings,
    activity,
    bus,
    clock,
    log,
    dataDir,
  });
  rotation.start();
  const fileCatalog = new FileCatalogRepository(catalog);
  const pool = new PoolMemberService({
    repo: new PoolMemberRepository(catalog),
    drives,
    jobs,
    mounts,
    settings,
    activity,
    bus,
    clock,
    log,
    poolRoot: config.poolRoot,
    alerts,
    reachWithout: (driveId) => fileCatalog.reachWithout(driveId),
  });
  pool.start();
  const views = config.simulate ? new SimulatedPoolView({ root: join(dataDir, SIMULATED_HOST_DIR) }) : new MergerfsPoolView({ runner });
  const shareRepo = new ShareRepository(catalog);
  const duplication = new DuplicationService({
    duplicator: new Duplicator({ catalog: fileCatalog, files: new LinuxFilePlacer(), clock, log, openForWriting: filesOpenForWriting }),
    catalog: fileCatalog,
    shares: shareRepo,
    members: pool,
    jobs,
    scheduler,
    activity,
    bus,
    clock,
    log,
    events: config.simulate ? undefined : new InotifyFileEvents({ runner, log: (line) => log.info({ kind: 'pool.file-events' }, line) }),
  });
  const userRepo = new HouseholdUserRepository(catalog);
  const samba = await chooseSamba(config, runner, missing.has('smbd'), dataDir, userRepo, log);
  // The files owner's account is made with the first share's folder, not on a box without shares.
  let owner: Promise<{ uid: number; gid: number } | null> | null = null;
  const filesOwner = (): Promise<{ uid: number; gid: number } | null> => {
    if (config.simulate || !samba) return Promise.resolve(null);
    owner ??= ensureFilesOwner(runner, filesOwnerAccount(config.smbAccountPrefix)).catch((error: unknown) => {
      owner = null; // tried again next time
      throw error;
    });
    return owner;
  };
  const smb: SmbService | null = samba
    ? new SmbService({ samba, users: userRepo, exported: () => shares.exported(), filesOwner, host: () => boxHost(config), port: config.smbPort ?? 445, bus, log })
    : null;
  const applyShares = async () => {
    await smb?.apply();
  };
  const shares: ShareService = new ShareService({
    repo: shareRepo,
    members: pool,
    drives,
    views,
    jobs,
    activity,
    bus,
    clock,
    log,
    poolRoot: config.poolRoot,
    filesOwner: () => filesOwner().catch((err: unknown) => (log.warn({ err }, "the shares' files owner could not be made"), null)),
    network: { grantsOf: (share) => userRepo.grants(share).map(({ user, access }) => ({ user, access })), addressesOf: (share) => smb?.addressesOf(share) ?? null },
    onViewsApplied: applyShares,
    filesOf: (name) => duplication.filesOf(name),
    sources,
  });
  const users = new HouseholdUserService({ repo: userRepo, shares: shareRepo, samba, applyShares, activity, bus, clock });
  shares.start();
  smb?.start();
  duplication.start();
  const restore = new RestoreService({ access: driveAccess, restic, rotation: rotationRepo, backups: backupRepo, sources: sourceRepo, jobs, activity, files: new LinuxFilePlacer(), clock, log, dataDir });
  restore.start();
  const recoveryKit = new RecoveryKitService({
    rotation: rotationRepo,
    driveRepo: new DriveRepository(catalog),
    backups: backupRepo,
    secrets,
    settings,
    boxIds: () => rotation.boxIds(),
    restic,
    activity,
    clock,
  });
  const backups = new BackupService({
    repo: backupRepo,
    rotation: rotationRepo,
    sources: sourceRepo,
    drives,
    access: driveAccess,
    mounts,
    restic,
    jobs,
    alerts,
    activity,
    settings,
    scheduler,
    bus,
    clock,
    log,
    dataDir,
    boxIds: () => rotation.boxIds(),
    recoveryKitNeeded: () => recoveryKit.needed(),
  });
  backups.start();
  alerts.start();

  const status = new StatusService({
    drives,
    jobs,
    version: VERSION,
    startedAt,
    dataDir,
    simulated: config.simulate,
    missingPrograms: missing,
    openAlerts: () => alerts.open(),
    protection: () => backups.protection(),
    alerts: () => alerts.notSetUp(),
    sharesProblem: () => smb?.problem() ?? null,
  });

  let setupCode: string | null = null;
  const auth = new AuthService({
    repo: new AuthRepository(catalog),
    throttle: new LoginThrottle(clock),
    history: new LoginHistory({ settings, activity, clock }),
    activity,
    clock,
    setupCode: () => setupCode,
    onSetupDone: async () => {
      setupCode = null;
      await removeSetupCode(dataDir);
    },
    newSetupCode: async () => {
      setupCode = await writeNewSetupCode(dataDir);
      log.warn('the admin password was reset from the console: every session ended, setup is open again');
      announceSetupCode(setupCode, dataDir, port, log);
      return setupCode;
    },
  });
  if (auth.setupRequired()) {
    setupCode = await ensureSetupCode(dataDir);
  } else {
    await removeSetupCode(dataDir);
  }

  for (const job of jobs.start()) {
    activity.record({ level: 'warning', kind: 'job.interrupted', subject: String(job.id), message: `${job.title}: interrupted because the service stopped.` });
  }
  activity.record({ level: 'info', kind: 'service.started', message: `Safehold ${VERSION} started${config.simulate ? ' on the simulated host (demo)' : ''}.` });

  const streams = new EventStreams();
  const deps: ApiDeps = { auth, drives, jobs, activity, status, health, alerts, sources, rotation, backups, restore, recoveryKit, pool, shares, users, duplication, bus, streams, log, version: VERSION, startedAt };
  const uiDir = overrides.uiDir ?? join(packageRoot, 'ui', 'dist');
  const local = createServer(localApp(deps));
  await listen(local, () => local.listen(socketPath));
  undo.push(() => close(local));
  await chmod(socketPath, 0o600);
  lan.serveWith(lanApp(deps, { uiDir, allowedHosts: config.allowedHosts, trustedProxies: config.trustedProxies }));
  const urls = pageUrls(config.listen, port);
  log.info({ kind: 'service.listening', port, urls, dataDir, simulated: config.simulate }, `Safehold is listening: open ${urls.join(' or ')}`);
  if (setupCode) announceSetupCode(setupCode, dataDir, port, log);

  // The first health check reads the disks the first inventory read finds.
  const firstInventory = requestRefresh(jobs);
  void jobs
    .settled(firstInventory.id)
    .then(() => {
      health.requestCheck();
      pool.mountAll();
      backups.resumeInterrupted();
      void backups.checkReminders().catch((err: unknown) => log.warn({ err }, 'backup reminders'));
    })
    .catch(() => undefined); // stopping: no check
  const watcher = new DriveWatcher({ devices, clock, log, onChange: () => requestRefresh(jobs), intervalMs: overrides.watchIntervalMs });
  await watcher.start();
  scheduler.set('inventory', SCHEDULES.inventory, () => requestRefresh(jobs));
  scheduler.set('housekeeping', SCHEDULES.housekeeping, () => {
    const now = clock.now();
    activity.pruneOld();
    jobRepo.prune(now - 30 * DAY, now - 400 * DAY);
    history.compact(now - 30 * DAY, now - 400 * DAY);
    auth.pruneSessions();
  });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stopping');
      scheduler.stop();
      watcher.stop();
      const closed = Promise.all([close(lan), close(local)]);
      streams.closeAll();
      lan.closeIdleConnections();
      await jobs.shutdown(overrides.graceMs ?? 10_000);
      await driveAccess.closeIdle();
      await duplication.stop();
      await smb?.stop(); // before the views: no client holds one as they go
      await shares.stop();
      await pool.stop();
      lan.closeAllConnections();
      local.closeAllConnections();
      await closed;
      activity.record({ level: 'info', kind: 'service.stopped', message: 'Safehold stopped.' });
      catalog.close();
      await rm(socketPath, { force: true });
    })());

  return { config, port, socketPath, catalog, stop };
}

/** The name the box is reached by on the LAN: the first of --hosts, else `<hostname>.local`. */
const boxHost = (config: Config) => config.allowedHosts[0] ?? `${hostname()}.local`;

/**
 * The demo's twin; Safehold's own smbd (`<data>/samba`) on a box without systemd or with
 * --smb-port; else the system's Samba with an include file. Null when smbd is not installed.
 */
async function chooseSamba(config: Config, runner: CommandRunner, smbdMissing: boolean, dataDir: string, users: HouseholdUserRepository, log: Logger): Promise<SambaServer | null> {
  const folder = join(dataDir, 'samba');
  const accountPrefix = config.smbAccountPrefix;
  if (config.simulate) {
    // The twin forgets passwords with the process: the demo's users get one back (it has no real smbd).
    const twin = new SimulatedSamba({ folder, port: config.smbPort ?? 445, accountPrefix });
    for (const user of users.list()) await twin.setUser(user.name, 'demo');
    return twin;
  }
  if (smbdMissing) return null;
  const selfRun = config.smbPort !== null || !existsSync('/run/systemd/system');
  const everyAddress = isIP(config.listen) === 0 || config.listen === '0.0.0.0' || config.listen === '::';
  const account = filesOwnerAccount(accountPrefix);
  return new SambaAdapter({
    runner,
    mode: selfRun
      ? { kind: 'self-run', folder, port: config.smbPort ?? 445, address: everyAddress ? null : config.listen }
      : { kind: 'system', includeFile: '/etc/samba/safehold.conf', smbConf: '/etc/samba/smb.conf' },
    filesOwner: { user: account, group: account },
    accountPrefix,
    log,
  });
}

async function chooseDevices(config: Config, runner: CommandRunner, log: Logger): Promise<BlockDevices> {
  if (!config.simulate) return new LinuxBlockDevices({ runner });
  const host = await SimulatedHost.open(join(config.dataDir, SIMULATED_HOST_DIR));
  if ((await host.listNames()).length === 0) await host.seedDemo();
  return new SimulatedBlockDevices(host, { onProblem: (p) => log.warn({ disk: p.name }, p.message) });
}

const demoSmartFolder = (dataDir: string) => join(dataDir, SIMULATED_HOST_DIR, 'smart');
const demoCapture = (file: string) => join(packageRoot, 'test', 'fixtures', 'smartctl', file);

/** The demo answers with the captures of DEMO_SMART; a disk that has none yet gets its own (one copied over by hand is kept). */
async function chooseSmart(config: Config, runner: CommandRunner, smartctlMissing: boolean, log: Logger): Promise<SmartReader | null> {
  if (!config.simulate) return smartctlMissing ? null : new SmartctlAdapter({ runner });
  const folder = demoSmartFolder(config.dataDir);
  await mkdir(folder, { recursive: true });
  const present = new Set(await readdir(folder));
  for (const [disk, { file }] of Object.entries(DEMO_SMART)) {
    if (present.has(`${disk}.json`)) continue;
    await copyFile(demoCapture(file), join(folder, `${disk}.json`)).catch((err: unknown) => log.warn({ err, disk }, 'demo SMART data not found'));
  }
  return SimulatedSmartReader.fromFolder(folder);
}

/** For `safehold demo list`: what each demo disk's SMART shows, for the disks that still answer with the demo's own capture. */
export async function demoSmartStories(dataDir: string): Promise<Map<string, string>> {
  const stories = new Map<string, string>();
  for (const [disk, { file, shows }] of Object.entries(DEMO_SMART)) {
    const [now, seeded] = await Promise.all([readFile(join(demoSmartFolder(dataDir), `${disk}.json`)).catch(() => null), readFile(demoCapture(file)).catch(() => null)]);
    if (now && seeded && now.equals(seeded)) stories.set(disk, shows);
  }
  return stories;
}

/** Refuse to start beside another service on the same data folder (its socket answers). Writes nothing. */
async function refuseSecondService(socketPath: string, dataDir: string): Promise<void> {
  const alive = await new Promise<boolean>((done) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
  if (alive) throw new AlreadyRunningError(`Another Safehold service is already running with the data folder ${dataDir}.`);
}

function listen(server: Server, start: () => void): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolveListen();
    });
    start();
  });
}

function close(server: Server): Promise<void> {
  return new Promise((done) => server.close(() => done()));
}

function announceSetupCode(code: string, dataDir: string, port: number, log: Logger): void {
  const file = join(dataDir, SETUP_CODE_FILE);
  log.info({ setupCodeFile: file }, 'no admin account yet: open the admin page and enter the setup code');
  process.stderr.write(
    [
      '',
      '  Safehold is not set up yet. Open the admin page',
      `  (http://<this box>:${port}/) and enter this one-time setup code:`,
      '',
      `      ${code}`,
      '',
      `  It is also in ${file} (readable only by the service's user).`,
      '',
    ].join('\n') + '\n',
  );
}
