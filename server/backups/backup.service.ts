/**
 * Backups onto rotation drives: what happens when a registered drive is plugged in, the rotation
 * ledger, the dashboard's "am I protected?" and the reminders. docs/backup-drives.md ("Backing up
 * when a drive is plugged in") is the long form of this contract.
 *
 * Contract of the job `backup.rotation` (target: the drive id; holds `disk:<drive id>`), started by
 * itself when a registered drive is plugged in or has just been registered, or by the owner:
 * 1. the drive is mounted at Safehold's own folder (`DriveAccess`: read-only first, read-write only
 *    when its marker matches the catalog and its repository is there); nothing is written into a
 *    folder with no device behind it (checked again before every source, and watched);
 * 2. a stale restic lock (a pulled cable, a crash) does not stop it: a call refused for a lock is
 *    tried again after `unlock`, and after `unlock --remove-all` when the lock's process is dead;
 * 3. every source passes the interlocks first: a missing, unreadable or suddenly empty source is not
 *    backed up and raises an alert; the others each get one snapshot tagged with the source's name;
 * 4. the mass-change tripwire marks a snapshot that changed or added more than `percent`% of the
 *    previous snapshot's files (and at least `minFiles`) suspicious, alerts, and suspends retention
 *    on the drive until the owner looks;
 * 5. space: a run that follows an interrupted one, or finds the drive short of space, prunes before
 *    it writes (an interrupted backup leaves packs no snapshot uses and no later backup reuses);
 *    retention: `forget` by the policy on every run, `prune` when worthwhile (forget removed something
 *    and the last prune is a month old, space is short, or the repository is well above what its
 *    snapshots reference); a full drive is forgotten as far as retention allows, pruned whatever that
 *    removed, and the backup retried once; only then "use a larger drive";
 * 6. verify: `restic check --read-data-subset n/t`, n rotating so every pack is read within t runs;
 * 7. restore drill: a random sample of unchanged files is restored into a scratch folder and
 *    compared byte for byte with the box's copies;
 * 8. sync, unmount, flush; only then "Drive A is safe to unplug" (page, activity log, e-mail).
 * A drive pulled out mid-way ends the job `interrupted` with words for the owner and an alert;
 * nothing is marked good; the next plug-in starts again. Every run is a row of `backup_runs`.
 */
import { lstat, mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../system/clock.js';
import { folderSize, groupsOfUser, inspectFolder, sameBytes, sampleFiles, walkTree } from '../../system/files/files.js';
import type { UrgentStop } from '../../system/process/command-runner.js';
import { isProgramRunning } from '../../system/process/processes.js';
import type { Mounts } from '../../system/mounts/mounts.js';
import { ResticError, type BackupSummary, type Restic, type ResticRepository, type Snapshot } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import type { AlertService } from '../alerts/alert.service.js';
import type { DriveService } from '../drives/drive.service.js';
import { formatSize } from '../drives/drive.model.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { JobInterruptedError, type JobContext, type JobDefinition, type JobView, type StopReason } from '../jobs/job.model.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import { BACKUP_SETTINGS_KEY, BackupSettingsSchema, DEFAULT_BACKUP_SETTINGS } from './backup-settings.js';
import type { BackupRepository, RunRow, SnapshotRow } from './backup.repository.js';
import type { BackupRunView, BackupSettings, CheckView, DrillView, LedgerEntry, ProtectionView, SnapshotView, SourceRunView } from './backup.view.js';
import type { DriveAccess, DriveLease } from './drive-access.js';
import { forecastFull, judgeProtection } from './protection.js';
import type { RotationDriveRow, RotationRepository } from './rotation.repository.js';
import { checkFailedNotice, drillFailedNotice, runFailedNotice, safeToUnplugNotice, sourceCondition, staleCondition, suspiciousCondition, swapCondition } from './backup-notices.js';
import { FileNotes } from './file-notes.js';
import { backupGuards, checkSource, keptBy } from './source-safety.js';
import { massChange } from './tripwire.js';
import type { Source, SourceRepository } from './source.repository.js';

export const BACKUP_JOB = 'backup.rotation';
const DAY = 24 * 3600 * 1000;
/** Prune (which rewrites packs: slow on a USB disk) at most this often, unless space is short. */
const PRUNE_EVERY_MS = 30 * DAY;
/** Below this share of free space, prune at the start of a run and after retention, whatever forget removed. */
const LOW_SPACE_SHARE = 0.1;
/**
 * Prune after retention, whatever forget removed, when the repository takes this share more room
 * than the data its snapshots reference (`restic stats --mode raw-data`)…
 */
const WASTE_SHARE = 0.25;
/** …and at least this many bytes more (a small repository is not rewritten for a few megabytes). */
const WASTE_MIN_BYTES = 64 * 1024 * 1024;
/** How often a running backup checks that its drive is still there (and not full), in ms. */
const DRIVE_WATCH_MS = 2000;
/** How long restic may take to stop once its drive is gone, before it is killed (it cannot clean up there). */
const DRIVE_GONE_GRACE_MS = 2000;
/** A drive with less free space than this, seen `FULL_CHECKS` times in a row while restic writes, is full. */
const FULL_BELOW_BYTES = 2 * 1024 * 1024;
const FULL_CHECKS = 3;

export interface BackupServiceOptions {
  repo: BackupRepository;
  rotation: RotationRepository;
  sources: SourceRepository;
  drives: DriveService;
  access: DriveAccess;
  mounts: Mounts;
  /** null when restic is not installed. */
  restic: Restic | null;
  jobs: JobRunner;
  alerts: AlertService;
  activity: ActivityService;
  settings: SettingsRepository;
  scheduler: Scheduler;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** The data folder's real path (symbolic links resolved). */
  dataDir: string;
  /** This box's ids (the marker must name them). */
  boxIds: () => { boxId: string; rotationSetId: string };
  /** Whether the dashboard should ask the owner to save the recovery kit. */
  recoveryKitNeeded: () => boolean;
  /** Random numbers for the restore drill's sample (tests pass a seeded one). */
  random?: () => number;
}

/** A run's facts as the job gathers them. */
interface RunState {
  row: RunRow;
  drive: RotationDriveRow;
  settings: BackupSettings;
  /**
   * Snapshots made in this run: restic's id (short until the drive's list gives the full one) and
   * the source's result shown to the owner.
   */
  made: Array<{ source: Source; snapshotId: string; result: SourceRunView }>;
  /** The source being backed up now (named as cut short when the run stops), or null. */
  current: Source | null;
  /** Fires on cancel, service stop, or when the drive is seen gone (every restic call gets it). */
  signal: AbortSignal;
}

export class BackupService {
  constructor(private readonly o: BackupServiceOptions) {}

  /** Defines the job, reconciles runs a dead process left, starts backups on plug-in, arms the daily reminder check. */
  start(): void {
    this.o.jobs.define(this.#backupJob());
    // Runs a dead process left: each says what it had written (its sources are saved as they end).
    for (const row of this.o.repo.runsLeftRunning()) {
      const words = cutShort(row.sources, this.o.sources.list(), null);
      this.o.repo.saveRun({ ...row, outcome: 'interrupted', finishedAt: this.o.clock.now(), safeToUnplug: false, message: `The service stopped while this backup ran. ${words}` });
    }
    this.o.bus.subscribe('inventory', ({ connected, disconnected }) => {
      const now = this.o.clock.now();
      for (const d of disconnected) if (this.o.rotation.get(d.id)) this.o.repo.setPlugged(d.id, false, now);
      for (const d of connected) {
        if (!this.o.rotation.get(d.id)) continue;
        this.o.repo.setPlugged(d.id, true, now);
        this.#submitQuietly(d.id, 'plugged in');
      }
    });
    this.o.bus.subscribe('rotation', ({ registered }) => {
      // A drive just registered is plugged in: back up onto it as soon as the registration's lock is free.
      this.o.repo.setPlugged(registered, true, this.o.clock.now());
      this.#submitQuietly(registered, 'registered');
    });
    this.o.scheduler.set('backups.reminders', '0 9 * * *', () => this.checkReminders());
  }

  /**
   * After the first inventory read: a registered drive that is plugged in and whose last run was
   * cut short (the service died, the power went) is backed up again.
   */
  resumeInterrupted(): void {
    for (const row of this.o.rotation.list()) {
      if (!this.o.drives.list().some((d) => d.id === row.driveId)) continue;
      const last = this.o.repo.lastRun(row.driveId);
      if (!last || last.outcome === 'interrupted') this.#submitQuietly(row.driveId, 'resumed after a restart');
    }
  }

  settings(): BackupSettings {
    return this.o.settings.get(BACKUP_SETTINGS_KEY, BackupSettingsSchema, DEFAULT_BACKUP_SETTINGS);
  }

  saveSettings(settings: BackupSettings): BackupSettings {
    this.o.settings.put(BACKUP_SETTINGS_KEY, settings);
    const r = settings.retention;
    this.o.activity.record({
      level: 'info',
      kind: 'settings.backups',
      message: `Backup settings saved: keep ${r.daily} daily, ${r.weekly} weekly, ${r.monthly} monthly and ${r.yearly} yearly backups; tripwire at ${settings.tripwire.percent}% of the files.`,
    });
    return this.settings();
  }

  /** Starts a backup onto a plugged-in rotation drive now (the owner's "Back up now"). */
  runNow(driveId: string): JobView {
    const row = this.o.rotation.get(driveId);
    if (!row) throw new NotFoundError('That drive is not a rotation drive.');
    if (!this.o.drives.list().some((d) => d.id === driveId)) throw new ConflictError(`Rotation drive ${row.name} is not plugged in.`);
    if (!this.o.restic) throw new ConflictError('restic is not installed on this box (apt-get install restic): backups cannot be made.');
    return this.#submit(driveId);
  }

  /** The owner looked at the suspicious snapshots: retention may run again on this drive. */
  resumePruning(driveId: string): LedgerEntry {
    const row = this.o.rotation.get(driveId);
    if (!row) throw new NotFoundError('That drive is not a rotation drive.');
    this.o.repo.suspendPruning(driveId, null, null);
    this.o.activity.record({ level: 'info', kind: 'backup.pruning-resumed', subject: driveId, message: `Retention resumed on drive ${row.name}: the owner looked at the suspicious backups.` });
    void this.o.alerts
      .observeCondition(suspiciousCondition(row.name, driveId, null))
      .catch(() => undefined);
    return this.ledgerEntry(row);
  }

  ledger(): LedgerEntry[] {
    return this.o.rotation.list().map((row) => this.ledgerEntry(row));
  }

  ledgerEntry(row: RotationDriveRow): LedgerEntry {
    const l = this.o.repo.ledger(row.driveId);
    const drive = this.o.drives.list().find((d) => d.id === row.driveId);
    const known = drive ? null : this.o.drives.lastKnown(row.driveId);
    const snapshots = this.o.repo.snapshots(row.driveId);
    const lastRun = this.o.repo.lastRun(row.driveId);
    const lastGood = this.o.repo.lastGoodRun(row.driveId);
    const lastChecked = this.o.repo.runs({ driveId: row.driveId, limit: 50 }).find((r) => r.check);
    const lastDrilled = this.o.repo.runs({ driveId: row.driveId, limit: 50 }).find((r) => r.drill);
    const job = this.o.jobs.recent(50).find((j) => j.kind === BACKUP_JOB && j.target === row.driveId && (j.state === 'running' || j.state === 'queued'));
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
    let state: LedgerEntry['state'] = 'away';
    if (drive) {
      const ended = lastRun && (lastRun.outcome === 'good' || lastRun.outcome === 'partial') && lastRun.safeToUnplug;
      state = job ? 'backing-up' : this.o.access.isOpen(row.driveId) ? 'in-use' : ended ? 'safe-to-unplug' : 'attention';
    }
    const slices = this.settings().checkSlices;
    return {
      driveId: row.driveId,
      name: row.name,
      model: drive?.model ?? known?.model ?? null,
      serial: drive?.serial ?? known?.serial ?? null,
      connected: drive !== undefined,
      state,
      jobId: job?.id ?? null,
      capacityBytes: l.capacityBytes,
      freeBytes: l.freeBytes,
      registeredAt: new Date(row.registeredAt).toISOString(),
      lastPluggedAt: iso(l.lastPluggedAt),
      awaySince: drive ? null : iso(l.lastUnpluggedAt) ?? iso(l.lastPluggedAt) ?? new Date(row.registeredAt).toISOString(),
      lastGoodBackupAt: iso(lastGood?.finishedAt),
      lastRun: lastRun ? this.#runView(lastRun, row.name) : null,
      snapshotCount: snapshots.length,
      oldestSnapshotAt: iso(snapshots[0]?.time),
      newestSnapshotAt: iso(snapshots[snapshots.length - 1]?.time),
      lastCheck: lastChecked?.check ? { ...lastChecked.check, at: iso(lastChecked.finishedAt ?? lastChecked.startedAt)! } : null,
      readBackFraction: Math.min(1, l.slicesRead.filter((n) => n <= slices).length / slices),
      fullyReadBackAt: iso(l.fullyReadAt),
      lastDrill: lastDrilled?.drill ? { ...lastDrilled.drill, at: iso(lastDrilled.finishedAt ?? lastDrilled.startedAt)! } : null,
      pruneSuspended: l.pruneSuspendedAt ? { since: iso(l.pruneSuspendedAt)!, reason: l.pruneSuspendedReason ?? 'A suspicious backup' } : null,
      fullBy: iso(forecastFull(this.o.repo.usageHistory(row.driveId))),
    };
  }

  protection(): ProtectionView {
    return judgeProtection({
      drives: this.ledger(),
      sources: this.o.sources.list().length,
      settings: this.settings(),
      recoveryKitNeeded: this.o.recoveryKitNeeded(),
      now: this.o.clock.now(),
    });
  }

  runs(options: { driveId?: string; limit: number }): BackupRunView[] {
    const names = new Map(this.o.rotation.list().map((r) => [r.driveId, r.name]));
    return this.o.repo.runs(options).map((r) => this.#runView(r, names.get(r.driveId) ?? r.driveId));
  }

  snapshots(driveId: string): SnapshotView[] {
    if (!this.o.rotation.get(driveId)) throw new NotFoundError('That drive is not a rotation drive.');
    return this.o.repo.snapshots(driveId).map(snapshotView);
  }

  /** The reminders: a swap that is due, no good backup for too long. Told by e-mail at most once a day (alert policy). */
  async checkReminders(): Promise<void> {
    const view = this.protection();
    await this.o.alerts.observeCondition(swapCondition(view.swapDue));
    await this.o.alerts.observeCondition(staleCondition(view.stale));
  }

  #submit(driveId: string): JobView {
    return this.o.jobs.submit(BACKUP_JOB, { target: driveId, resources: [`disk:${driveId}`], coalesce: true });
  }

  #submitQuietly(driveId: string, why: string): void {
    if (!this.o.restic) return;
    try {
      this.#submit(driveId);
    } catch (err) {
      this.o.log.warn({ err, driveId, why }, 'backup not started');
    }
  }

  #runView(r: RunRow, driveName: string): BackupRunView {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      id: r.id,
      driveId: r.driveId,
      driveName,
      jobId: r.jobId,
      startedAt: iso(r.startedAt)!,
      finishedAt: iso(r.finishedAt),
      outcome: r.outcome,
      message: r.message,
      sources: r.sources,
      check: r.check,
      drill: r.drill,
      safeToUnplug: r.safeToUnplug,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The job.

  #backupJob(): JobDefinition {
    return {
      kind: BACKUP_JOB,
      title: (target) => `Back up onto drive ${(target && this.o.rotation.get(target)?.name) ?? target ?? ''}`.trim(),
      run: (context) => this.#run(context),
    };
  }

  async #run(context: JobContext): Promise<string> {
    const driveId = context.target ?? '';
    const drive = this.o.rotation.get(driveId);
    if (!drive) throw new NotFoundError('That drive is no longer a rotation drive.');
    const restic = this.o.restic;
    if (!restic) throw new ConflictError('restic is not installed on this box (apt-get install restic): backups cannot be made.');
    // Plugged in and pulled out again before the job's turn came: nothing began, nothing to tell.
    if (!this.o.drives.list().some((d) => d.id === driveId)) throw new JobInterruptedError(`Drive ${drive.name} was unplugged before its backup began; nothing was done.`);
    // A pulled drive does not always make restic fail: its local backend retries a failed write for
    // many minutes. A watch on the mount stops restic as soon as no device is behind the folder.
    const watch = new AbortController();
    const signal = AbortSignal.any([context.signal, watch.signal]);
    const run: RunState = { row: this.o.repo.startRun(driveId, context.jobId, this.o.clock.now()), drive, settings: this.settings(), made: [], current: null, signal };
    const name = drive.name;
    const sources = this.o.sources.list();
    let lease: DriveLease | null = null;
    let failure: unknown = null;
    let timer: NodeJS.Timeout | null = null;
    try {
      context.progress({ current: `Mounting drive ${name}` });
      lease = await this.o.access.open(driveId, run.signal);
      const mountpoint = lease.mountpoint;
      timer = setInterval(() => {
        // Gone (no device, size 0, the mount taken away), or made read-only by the kernel after I/O
        // errors (errors=remount-ro): either way no write can succeed. restic is stopped at once and
        // killed after DRIVE_GONE_GRACE_MS (it would retry removing its lock from the dead drive for
        // the adapter's whole 15 s grace; the next plug-in removes that stale lock), and the page
        // says at once what happened.
        void this.o.mounts.status(mountpoint).then(
          (status) => {
            if (watch.signal.aborted || (status.state === 'mounted' && !status.remountedReadOnlyAfterErrors)) return;
            context.progress({ current: `Drive ${name} was unplugged or stopped answering: stopping the backup` });
            watch.abort(Object.assign(driveGoneError(name), { urgentStopGraceMs: DRIVE_GONE_GRACE_MS } satisfies UrgentStop));
          },
          () => undefined,
        );
      }, DRIVE_WATCH_MS);
      const repo = await this.o.access.repository(lease);
      await this.#freeSpaceFirst(context, restic, repo, lease, run);
      for (const source of sources) {
        run.signal.throwIfAborted();
        run.current = source;
        run.row.sources.push(await this.#backupSource(context, restic, repo, lease, run, source));
        run.current = null;
        this.o.repo.saveRun(run.row); // still running: a power cut now leaves what was written on record
      }
      this.#record(run, await this.#retention(context, restic, repo, lease, run));
      run.row.check = await this.#verify(context, restic, repo, lease, run);
      run.row.drill = await this.#drill(context, restic, repo, lease, run);
      const space = await this.o.mounts.statfs(lease.mountpoint).catch(() => null);
      if (space) {
        run.row.capacityBytes = space.sizeBytes;
        run.row.usedBytes = space.sizeBytes - space.freeBytes;
        this.o.repo.setSpace(driveId, space.sizeBytes, space.availableBytes);
      }
    } catch (error) {
      failure = error;
    }

    if (timer) clearInterval(timer);
    // Unmount in every case: a drive left mounted is never safe to unplug.
    context.progress({ current: `Writing everything out and unmounting drive ${name}` });
    let unmounted: Awaited<ReturnType<DriveLease['close']>> = null;
    let unmountError: unknown = null;
    if (lease) unmounted = await lease.close().catch((e: unknown) => ((unmountError = e), null));
    const gone = watch.signal.aborted || isDriveGone(failure) || (unmounted !== null && unmounted.wasMounted && !unmounted.synced);
    const now = this.o.clock.now();
    run.row.finishedAt = now;
    const refused = run.row.sources.filter((s) => s.outcome !== 'backed-up');

    if (failure || gone || unmountError) {
      // Stopped by the owner (cancel) or by the service stopping (shutdown: run again at the next start).
      const stopped = context.signal.aborted ? (context.signal.reason as StopReason) : null;
      const interrupted = gone || (failure instanceof ResticError && failure.kind === 'interrupted' && !stopped);
      run.row.outcome = interrupted || stopped === 'shutdown' ? 'interrupted' : 'failed';
      run.row.safeToUnplug = false;
      const left = interrupted || stopped !== null ? cutShort(run.row.sources, sources, run.current) : '';
      run.row.message = interrupted
        ? `Drive ${name} was unplugged or stopped answering during the backup. ${left} Plug it in again: the backup starts over by itself.`
        : stopped === 'cancel'
          ? `Cancelled by the owner. ${left}`
          : stopped === 'shutdown'
            ? `The service stopped during the backup; it starts over when the service is back. ${left}`
            : failure
              ? messageOf(failure)
              : `The backup ended, but drive ${name} could not be unmounted: ${messageOf(unmountError)}`;
      this.o.repo.saveRun(run.row);
      if (!context.signal.aborted) {
        await this.o.alerts.notify(runFailedNotice(name, driveId, interrupted, run.row.message));
      }
      await this.checkReminders().catch(() => undefined);
      if (interrupted) throw new JobInterruptedError(run.row.message, { cause: failure });
      throw failure instanceof Error ? failure : new Error(run.row.message);
    }

    run.row.safeToUnplug = unmounted !== null;
    run.row.outcome = refused.length ? 'partial' : 'good';
    const backedUp = run.row.sources.filter((s) => s.outcome === 'backed-up');
    const suspicious = backedUp.filter((s) => s.suspicious);
    const verified = run.row.check?.ok !== false && run.row.drill?.ok !== false;
    const unplug = run.row.safeToUnplug ? `Drive ${name} is safe to unplug.` : `Drive ${name} is still open for browsing; it is unmounted a few minutes after the last look.`;
    run.row.message = [
      backedUp.length ? `${backedUp.length} of ${run.row.sources.length} source${run.row.sources.length === 1 ? '' : 's'} backed up onto drive ${name}` : `Nothing was backed up onto drive ${name}`,
      refused.length ? ` (not backed up: ${refused.map((s) => s.name).join(', ')})` : '',
      verified ? (backedUp.length ? ', verified.' : '; the backups already on it were verified.') : ', but the verification found a problem.',
      suspicious.length ? ` Suspicious: far more files than usual changed in ${suspicious.map((s) => `"${s.name}"`).join(', ')}; the older backups on the drive are kept until you look.` : '',
      ` ${unplug}`,
    ].join('');
    if (!verified) run.row.outcome = 'failed';
    this.o.repo.saveRun(run.row);
    this.o.drives.republish();
    if (run.row.safeToUnplug) {
      await this.o.alerts.notify(safeToUnplugNotice(name, driveId, run.row));
    }
    await this.checkReminders().catch(() => undefined);
    if (!verified) throw new Error(run.row.message);
    return run.row.message;
  }

  /**
   * The catalog's list of the drive's snapshots made equal to what is on it (`onDrive`, restic's
   * list after retention); the snapshots this run recorded under restic's short ids take their
   * full ids (a run that failed before this leaves that to the next run's list).
   */
  #record(run: RunState, onDrive: Snapshot[]): void {
    this.o.repo.reconcileSnapshots(
      run.drive.driveId,
      onDrive.map((s) => ({ id: s.id, source: s.tags[0] ?? '(untagged)', paths: s.paths, time: Date.parse(s.time) })),
    );
    for (const made of run.made) {
      const full = onDrive.find((s) => s.id.startsWith(made.snapshotId));
      if (full) made.snapshotId = made.result.snapshotId = full.id;
    }
  }

  async #backupSource(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState, source: Source): Promise<SourceRunView> {
    const result = emptySourceResult(source.name);
    const facts = await inspectFolder(source.path);
    const last = this.o.repo.latestCountedOf(source.name);
    const check = checkSource(source, facts, last?.files ?? null, this.o.dataDir);
    await this.o.alerts.observeCondition(sourceCondition(source, check.ok ? null : check));
    if (!check.ok) {
      result.message = check.message;
      return result;
    }

    const previous = this.o.repo.latestOf(source.name, run.drive.driveId);
    // The kernel's time, not the injected clock: it is compared with the files' modification times.
    const startedAt = Date.now();
    let summary: BackupSummary;
    try {
      summary = await this.#backupWithRetry(context, restic, repo, lease, run, source);
    } catch (error) {
      if (isDriveGone(error) || run.signal.aborted) throw error;
      if (error instanceof ResticError && error.kind === 'no-space') throw error;
      result.outcome = 'failed';
      result.message = messageOf(error);
      return result;
    }
    const snapshotId = summary.snapshotId; // restic's short id: the full one comes with the drive's list (#record)
    const files = summary.totalFilesProcessed;
    const notes = await this.#fileNotes(source, summary, startedAt);
    const suspicious = massChange({ previous, sourcePath: source.path, summary, limits: run.settings.tripwire });
    this.o.repo.addSnapshot({
      driveId: run.drive.driveId,
      id: snapshotId,
      source: source.name,
      paths: [source.path],
      time: this.o.clock.now(),
      runId: run.row.id,
      files,
      bytes: summary.totalBytesProcessed,
      filesNew: summary.filesNew,
      filesChanged: summary.filesChanged,
      suspicious,
    });
    Object.assign(result, {
      outcome: 'backed-up',
      snapshotId,
      files,
      bytes: summary.totalBytesProcessed,
      filesNew: summary.filesNew,
      filesChanged: summary.filesChanged,
      suspicious,
      message: notes.summary(),
      fileNotes: notes.notes,
      fileNoteCounts: notes.counts,
    } satisfies Partial<SourceRunView>);
    run.made.push({ source, snapshotId, result });
    if (suspicious) {
      const reason = `Source "${source.name}": ${suspicious}.`;
      this.o.repo.suspendPruning(run.drive.driveId, reason, this.o.clock.now());
      await this.o.alerts.observeCondition(suspiciousCondition(run.drive.name, run.drive.driveId, reason));
    }
    return result;
  }

  /**
   * What the run tells of single files of the source (file-notes.ts): those restic could not read,
   * then one walk of the folder (metadata only, after restic's own walk) for files modified since its
   * backup began and, when the service runs as root, files the folder's owner could not read.
   */
  async #fileNotes(source: Source, summary: BackupSummary, startedAt: number): Promise<FileNotes> {
    const notes = new FileNotes();
    for (const w of summary.warnings) notes.add('unreadable', w.item || source.path, w.message);
    const top = await lstat(source.path).catch(() => null);
    const owner = process.getuid?.() === 0 && top && top.uid !== 0 ? { uid: top.uid, groups: await groupsOfUser(top.uid, top.gid) } : null;
    await walkTree(source.path, (path, st) => {
      if (isExcluded(path, source)) return;
      notes.judge(path, { mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, isFile: st.isFile(), isDirectory: st.isDirectory() }, owner, startedAt, Date.now());
    });
    return notes;
  }

  /** One snapshot of the source; on a full drive, retention is applied and pruned, and the backup tried once more. */
  async #backupWithRetry(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState, source: Source): Promise<BackupSummary> {
    const freeBefore = (await this.o.mounts.statfs(lease.mountpoint).catch(() => null))?.availableBytes ?? null;
    // Where the source leads now: the data folder and every backup drive's repository stay out of its snapshot.
    const guards = backupGuards(source.path, (await inspectFolder(source.path)).realPath ?? source.path, this.o.dataDir);
    const attempt = async () => {
      // Never write into a folder without a drive behind it.
      if (!(await this.o.mounts.isMountedDevice(lease.mountpoint))) throw driveGoneError(run.drive.name);
      return this.#untilFull(lease, run, (signal) =>
        this.#pastDeadLocks(restic, repo, run, () =>
          restic.backup(repo, {
            paths: [source.path],
            excludes: [...guards.excludes, ...source.excludes],
            excludeIfPresent: guards.excludeIfPresent,
            oneFileSystem: guards.oneFileSystem,
            tags: [source.name],
            signal,
            onProgress: (p) => {
              if (signal.aborted) return; // stopping: the page keeps saying why
              context.progress({ bytesDone: p.bytesDone, bytesTotal: p.totalBytes || null, itemsDone: p.filesDone, itemsTotal: p.totalFiles || null, current: `Backing up ${source.name}: ${p.currentFiles[0] ?? ''}`.trim() });
            },
          }),
        ),
      );
    };
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ResticError && error.kind === 'no-space')) throw asDriveGone(error, run.drive.name);
      // Make room: the backups retention allows to remove (unless suspended), then every byte no
      // snapshot uses (forget alone frees nothing; restic's forget --prune prunes only when it
      // removed a snapshot, and the packs of interrupted backups are referenced by none).
      const suspended = this.o.repo.ledger(run.drive.driveId).pruneSuspendedAt !== null;
      context.progress({ current: `Drive ${run.drive.name} is full: ${suspended ? 'freeing the space no backup uses' : 'removing what the retention policy allows'}` });
      try {
        if (!suspended) await this.#untilFull(lease, run, (signal) => this.#forget(restic, repo, run, signal));
        await this.#untilFull(lease, run, (signal) => this.#prune(context, restic, repo, lease, run, 'the drive was full', signal));
      } catch (e) {
        const classified = asDriveGone(e, run.drive.name);
        if (isDriveGone(classified) || run.signal.aborted) throw classified;
        this.o.log.warn({ err: e }, 'making room on a full drive');
      }
      try {
        return await attempt();
      } catch (again) {
        if (!(again instanceof ResticError && again.kind === 'no-space')) throw asDriveGone(again, run.drive.name);
      }
      // How much is missing: the folder's size against what was free before it was backed up. For a
      // folder already on the drive only its changes needed room: then the figure is an upper bound.
      const size = await folderSize(source.path);
      const seenBefore = this.o.repo.latestOf(source.name, run.drive.driveId) !== undefined;
      const missing = freeBefore === null ? 0 : size - freeBefore;
      const message =
        `Drive ${run.drive.name} is full: the backup of "${source.name}" (${formatSize(size)}) did not fit` +
        (missing > 0 ? `; ${seenBefore ? 'up to' : 'about'} ${formatSize(missing)} more space is needed (${formatSize(freeBefore!)} was free)` : '') +
        (suspended
          ? '. Only the space no backup uses was freed: old backups were not removed to make room, because retention is suspended after a suspicious backup'
          : ', even after removing the backups the retention policy allows and freeing all the space no backup uses') +
        '. The earlier backups on the drive are untouched. Use a larger drive, or keep fewer backups (Backup settings).';
      throw new ResticError(message, 'no-space', {}, { cause: error });
    }
  }

  /**
   * Runs a restic call that writes to the drive, and stops it when the drive stays full: restic's
   * local backend retries a write that failed for lack of space for many minutes instead of failing
   * (the whole job would hang). Rejects with a `no-space` ResticError then.
   */
  async #untilFull<T>(lease: DriveLease, run: RunState, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const full = new AbortController();
    let seen = 0;
    const timer = setInterval(() => {
      void this.o.mounts.statfs(lease.mountpoint).then(
        (space) => {
          seen = space.freeBytes < FULL_BELOW_BYTES ? seen + 1 : 0;
          if (seen >= FULL_CHECKS) full.abort();
        },
        () => undefined,
      );
    }, DRIVE_WATCH_MS);
    try {
      return await call(AbortSignal.any([run.signal, full.signal]));
    } catch (error) {
      if (full.signal.aborted && !run.signal.aborted) throw new ResticError(`Drive ${run.drive.name} is full.`, 'no-space', {}, { cause: error });
      throw error;
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Runs one restic call. When it is refused for a lock that restic cannot tell is stale but that
   * is dead — taken by a restic of this box that no longer runs (killed by a power cut: its pid is
   * gone, a zombie, or reused by another program) — every lock is removed and the call tried once more.
   */
  async #pastDeadLocks<T>(restic: Restic, repo: ResticRepository, run: RunState, call: () => Promise<T>): Promise<T> {
    const lockOf = (error: unknown) => (error instanceof ResticError && error.kind === 'locked' ? error.lock : null);
    try {
      return await call();
    } catch (error) {
      if (!lockOf(error)) throw error;
    }
    // A stale lock (a pulled cable, a crash): restic's own unlock removes what it can tell is stale.
    await restic.unlock(repo, { signal: run.signal });
    try {
      return await call();
    } catch (error) {
      const lock = lockOf(error);
      if (!lock || lock.host !== hostname() || (await isProgramRunning(lock.pid, 'restic'))) throw error;
      this.o.log.warn({ pid: lock.pid, drive: run.drive.name }, 'removing a lock left by a restic that no longer runs');
      await restic.unlock(repo, { removeAll: true, signal: run.signal });
      return call();
    }
  }


  /**
   * forget by the policy (one group per source: every snapshot is in one); pruning is #prune's.
   * Returns the snapshots kept (all that remain on the drive) and how many were removed.
   */
  async #forget(restic: Restic, repo: ResticRepository, run: RunState, signal: AbortSignal): Promise<{ kept: Snapshot[]; removed: number }> {
    const r = run.settings.retention;
    const policy = { keepDaily: r.daily, keepWeekly: r.weekly, keepMonthly: r.monthly, keepYearly: r.yearly };
    const result = await this.#pastDeadLocks(restic, repo, run, () => restic.forget(repo, policy, { prune: false, groupBy: 'host,tags', signal }));
    return { kept: result.kept.map((k) => k.snapshot), removed: result.removed.length };
  }

  /**
   * `restic prune`: removes the data no snapshot uses (packs of interrupted backups, data of
   * forgotten snapshots). Records when it ran and, in the activity log, why and how much it freed.
   */
  async #prune(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState, why: string, signal = run.signal): Promise<void> {
    context.progress({ bytesDone: 0, bytesTotal: null, itemsDone: 0, itemsTotal: null, current: `Freeing space on drive ${run.drive.name}: ${why}` });
    const free = async () => (await this.o.mounts.statfs(lease.mountpoint).catch(() => null))?.availableBytes ?? null;
    const before = await free();
    await this.#pastDeadLocks(restic, repo, run, () => restic.prune(repo, { signal }));
    this.o.repo.setPruned(run.drive.driveId, this.o.clock.now());
    const after = await free();
    const freed = before !== null && after !== null ? Math.max(0, after - before) : null;
    this.o.activity.record({
      level: 'info',
      kind: 'backup.pruned',
      subject: run.drive.driveId,
      message: `Freed ${freed === null ? 'the space no backup uses' : formatSize(freed)} on drive ${run.drive.name} (${why}).`,
    });
  }

  /**
   * Before the first source is written: a run that follows an interrupted one (its packs are used
   * by no snapshot and never reused: each try would add more) or that finds the drive short of
   * space prunes first. A prune that fails for another reason than a gone drive is logged and the
   * backup goes on.
   */
  async #freeSpaceFirst(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState): Promise<void> {
    const previous = this.o.repo.runs({ driveId: run.drive.driveId, limit: 2 }).find((r) => r.id !== run.row.id);
    const space = await this.o.mounts.statfs(lease.mountpoint).catch(() => null);
    const short = space !== null && space.availableBytes < space.sizeBytes * LOW_SPACE_SHARE;
    const why = previous?.outcome === 'interrupted' ? 'what the interrupted backup before this one left' : short ? 'space is short' : null;
    if (!why) return;
    try {
      await this.#untilFull(lease, run, (signal) => this.#prune(context, restic, repo, lease, run, why, signal));
    } catch (error) {
      const classified = asDriveGone(error, run.drive.name);
      if (isDriveGone(classified) || run.signal.aborted) throw classified;
      this.o.activity.record({ level: 'warning', kind: 'backup.prune-failed', subject: run.drive.driveId, message: `The space no backup uses on drive ${run.drive.name} could not be freed: ${messageOf(error)}` }, { err: error });
    }
  }

  /** Whether the repository takes far more room than the data its snapshots reference (what a prune can give back). */
  async #wasteful(restic: Restic, repo: ResticRepository, run: RunState): Promise<boolean> {
    const referenced = (await this.#pastDeadLocks(restic, repo, run, () => restic.stats(repo, { mode: 'raw-data', signal: run.signal }))).totalSize;
    const stored = await folderSize(repo.path);
    return stored - referenced > Math.max(referenced * WASTE_SHARE, WASTE_MIN_BYTES);
  }

  /**
   * Retention: forget by the policy (unless the tripwire suspended it), prune when worthwhile.
   * Returns the snapshots on the drive afterwards (forget lists them; without forget, restic is asked).
   */
  async #retention(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState): Promise<Snapshot[]> {
    const listed = () => this.#pastDeadLocks(restic, repo, run, () => restic.snapshots(repo, { signal: run.signal })).catch((e: unknown) => Promise.reject(asDriveGone(e, run.drive.name)));
    const ledger = this.o.repo.ledger(run.drive.driveId);
    if (ledger.pruneSuspendedAt !== null) return listed();
    context.progress({ bytesDone: 0, bytesTotal: null, itemsDone: 0, itemsTotal: null, current: `Applying the retention policy on drive ${run.drive.name}` });
    let kept: Snapshot[] | null = null;
    try {
      const forgotten = await this.#forget(restic, repo, run, run.signal);
      kept = forgotten.kept;
      const space = await this.o.mounts.statfs(lease.mountpoint);
      const lowSpace = space.availableBytes < space.sizeBytes * LOW_SPACE_SHARE;
      const due = ledger.lastPrunedAt === null || this.o.clock.now() - ledger.lastPrunedAt >= PRUNE_EVERY_MS;
      const why = lowSpace
        ? 'space is short'
        : forgotten.removed > 0 && due
          ? 'the data of the backups retention removed'
          : (await this.#wasteful(restic, repo, run))
            ? 'the drive holds far more than its backups use'
            : null;
      if (why) await this.#prune(context, restic, repo, lease, run, why);
    } catch (error) {
      const classified = asDriveGone(error, run.drive.name);
      if (isDriveGone(classified) || run.signal.aborted) throw classified;
      this.o.activity.record({ level: 'warning', kind: 'backup.retention-failed', subject: run.drive.driveId, message: `Old backups on drive ${run.drive.name} could not be removed: ${messageOf(error)}` }, { err: error });
    }
    return kept ?? listed();
  }

  async #verify(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState): Promise<CheckView> {
    const t = run.settings.checkSlices;
    const ledger = this.o.repo.ledger(run.drive.driveId);
    const n = ledger.checkNextSlice >= 1 && ledger.checkNextSlice <= t ? ledger.checkNextSlice : 1;
    const slice = `${n}/${t}`;
    context.progress({ bytesDone: 0, bytesTotal: null, itemsDone: 0, itemsTotal: null, current: `Verifying drive ${run.drive.name}: reading back slice ${slice} of its data` });
    let result;
    try {
      result = await this.#pastDeadLocks(restic, repo, run, () => restic.check(repo, { readDataSubset: slice, signal: run.signal }));
    } catch (error) {
      throw asDriveGone(error, run.drive.name);
    }
    if (result.ok) {
      const read = [...new Set([...ledger.slicesRead.filter((s) => s <= t), n])].sort((a, b) => a - b);
      const full = read.length >= t;
      this.o.repo.setCheckRound(run.drive.driveId, (n % t) + 1, full ? [] : read, full ? this.o.clock.now() : ledger.fullyReadAt);
    } else {
      if (!(await this.o.mounts.isMountedDevice(lease.mountpoint))) throw driveGoneError(run.drive.name);
      await this.o.alerts.notify(checkFailedNotice(run.drive.name, run.drive.driveId, slice, result.problems));
    }
    return { ok: result.ok, slice, problems: result.problems };
  }

  /**
   * The restore drill: a random sample of the files backed up in this run that had not changed
   * since before it started, restored into a scratch folder on the box and compared byte for byte.
   */
  async #drill(context: JobContext, restic: Restic, repo: ResticRepository, lease: DriveLease, run: RunState): Promise<DrillView | null> {
    const { files: wanted, maxBytes } = run.settings.drill;
    if (wanted === 0 || run.made.length === 0) return null;
    context.progress({ bytesDone: 0, bytesTotal: null, itemsDone: 0, itemsTotal: null, current: `Restore drill: restoring a sample of files from drive ${run.drive.name}` });
    const scratch = join(this.o.dataDir, 'drill', String(run.row.id));
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const drill: DrillView = { ok: true, files: 0, bytes: 0, mismatches: [], note: null };
    try {
      const perSource = Math.max(1, Math.ceil(wanted / run.made.length));
      let budget = maxBytes;
      for (const { source, snapshotId } of run.made) {
        if (drill.files >= wanted) break;
        const guards = backupGuards(source.path, (await inspectFolder(source.path)).realPath ?? source.path, this.o.dataDir);
        const sample = (await keptBy(guards, source.path, await sampleFiles(source.path, { count: perSource, maxBytes: budget, modifiedBefore: run.row.startedAt, random: this.o.random })))
          .filter((f) => !isExcluded(f.path, source))
          .slice(0, wanted - drill.files);
        const picked: typeof sample = [];
        for (const f of sample) {
          if (f.size > budget) continue;
          budget -= f.size;
          picked.push(f);
        }
        if (!picked.length) continue;
        const target = join(scratch, source.name);
        try {
          await this.#pastDeadLocks(restic, repo, run, () => restic.restore(repo, snapshotId, { target, include: picked.map((f) => f.path), signal: run.signal }));
        } catch (error) {
          throw asDriveGone(error, run.drive.name);
        }
        for (const f of picked) {
          const restored = join(target, f.path);
          const same = await sameBytes(f.path, restored).catch(() => null);
          if (same === null) {
            // Not restored: either excluded by a pattern (not in the snapshot) or lost.
            const inSnapshot = await restic
              .ls(repo, snapshotId, dirnameOf(f.path), { signal: run.signal })
              .then((entries) => entries.some((e) => e.path === f.path))
              .catch(() => true);
            if (!inSnapshot) continue;
            drill.mismatches.push(f.path);
          } else if (!same) {
            // The box's copy may have changed while the drill ran: only a file still unchanged counts.
            const now = await lstat(f.path).catch(() => null);
            if (now && now.mtimeMs === f.mtimeMs && now.size === f.size) drill.mismatches.push(f.path);
          } else {
            drill.files++;
            drill.bytes += f.size;
          }
        }
      }
      if (drill.files === 0 && drill.mismatches.length === 0) drill.note = 'No file had stayed unchanged since before this backup, so there was nothing to compare.';
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    drill.ok = drill.mismatches.length === 0;
    if (!drill.ok) {
      await this.o.alerts.notify(drillFailedNotice(run.drive.name, run.drive.driveId, drill.mismatches));
    }
    return drill;
  }
}

// ---------------------------------------------------------------------------------------------

class DriveGoneError extends Error {}

function driveGoneError(name: string, cause?: unknown): DriveGoneError {
  return new DriveGoneError(`Drive ${name} was unplugged or stopped answering.`, { cause });
}

/** A restic I/O error means the drive went away (or is failing): the drive-gone error; anything else as it is. */
function asDriveGone(error: unknown, name: string): unknown {
  return error instanceof ResticError && error.kind === 'io-error' ? driveGoneError(name, error) : error;
}

function isDriveGone(error: unknown): boolean {
  return error instanceof DriveGoneError || (error instanceof ResticError && error.kind === 'io-error');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}


/** Whether a file matches one of the source's exclude patterns by its name (the common case: `*.tmp`, `cache`). */
function isExcluded(path: string, source: Source): boolean {
  if (!source.excludes.length) return false;
  const parts = relative(source.path, path).split('/');
  return source.excludes.some((pattern) => {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    return parts.some((part) => re.test(part)) || re.test(path);
  });
}

/**
 * What a run that was stopped part-way leaves, in its sources (changed in place) and in words: a
 * source whose snapshot was written stays `backed-up` (the snapshot is on the drive and restores)
 * but is not verified; the one being backed up (`current`; null when not known: a power cut) and
 * those not reached become `interrupted`, with no snapshot.
 */
function cutShort(done: SourceRunView[], all: Source[], current: Source | null): string {
  for (const s of done) {
    if (s.outcome === 'backed-up') s.message = [s.message, 'Written before the run was cut short, but not verified.'].filter(Boolean).join(' ');
  }
  const reached = new Set(done.map((s) => s.name));
  const cut: string[] = [];
  const skipped: string[] = [];
  for (const source of all) {
    if (reached.has(source.name)) continue;
    const inProgress = current === null ? null : current.name === source.name;
    (inProgress === false ? skipped : cut).push(source.name);
    done.push({
      ...emptySourceResult(source.name),
      outcome: 'interrupted',
      message:
        inProgress === true
          ? 'Cut short while it was being backed up: nothing of it was kept.'
          : inProgress === false
            ? 'Not reached: the run stopped before it.'
            : 'Not backed up: the run stopped while it or one before it was backed up.',
    });
  }
  const quote = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
  const written = done.filter((s) => s.outcome === 'backed-up' && s.snapshotId);
  return [
    written.length
      ? `${written.map((s) => `"${s.name}" was backed up before that (snapshot ${s.snapshotId!.slice(0, 8)})`).join(', ')}, but not verified: this run does not count as a good backup.`
      : 'No backup of this run was kept.',
    cut.length ? (current === null ? ` Not backed up: ${quote(cut)}.` : ` ${quote(cut)} was cut short: nothing of it was kept.`) : '',
    skipped.length ? ` Not reached: ${quote(skipped)}.` : '',
    ' The earlier backups on the drive are untouched.',
  ].join('');
}

/** A source's result before anything is known: `refused` until the backup says otherwise. */
function emptySourceResult(name: string): SourceRunView {
  return { name, outcome: 'refused', snapshotId: null, files: null, bytes: null, filesNew: null, filesChanged: null, suspicious: null, message: null, fileNotes: [], fileNoteCounts: { unreadable: 0, changed: 0, 'owner-cannot-read': 0 } };
}

function snapshotView(s: SnapshotRow): SnapshotView {
  return { id: s.id, shortId: s.id.slice(0, 8), source: s.source, paths: s.paths, time: new Date(s.time).toISOString(), files: s.files, bytes: s.bytes, suspicious: s.suspicious };
}
