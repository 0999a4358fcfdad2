/**
 * Backups onto rotation drives: what happens when a registered drive is plugged in, the rotation
 * ledger, the dashboard's "am I protected?" and the reminders. docs/backup-drives.md ("Backing up
 * when a drive is plugged in") is the long form of this contract.
 *
 * Contract of the job `backup.rotation` (target: the drive id; holds `disk:<drive id>`), started by
 * itself when a registered drive is plugged in or has just been registered, or by the owner:
 * 1. the drive is mounted at Safehold's own folder and its marker must match the catalog; nothing is
 *    written into a folder with no device behind it (checked again before every source);
 * 2. a stale restic lock (a pulled cable, a crash) does not stop it: a call refused for a lock is
 *    tried again after `unlock`, and after `unlock --remove-all` when the lock's process is dead;
 * 3. every source passes the interlocks first: a missing, unreadable or suddenly empty source is not
 *    backed up and raises an alert; the others each get one snapshot tagged with the source's name;
 * 4. the mass-change tripwire marks a snapshot that changed or added more than `percent`% of the
 *    previous snapshot's files (and at least `minFiles`) suspicious, alerts, and suspends retention
 *    on the drive until the owner looks;
 * 5. retention: `forget` by the policy on every run, `prune` only when worthwhile; a full drive is
 *    pruned as far as retention allows and the backup retried once;
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
import { folderSize, inspectFolder, sameBytes, sampleFiles } from '../../system/files.js';
import { markerMatches, MarkerError, readMarker } from '../../system/marker/drive-marker.js';
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
import { backupGuards, checkSource, keptBy } from './source-safety.js';
import { massChange } from './tripwire.js';
import type { Source, SourceRepository } from './source.repository.js';

export const BACKUP_JOB = 'backup.rotation';
const DAY = 24 * 3600 * 1000;
/** Prune (which rewrites packs: slow on a USB disk) at most this often, unless space is short. */
const PRUNE_EVERY_MS = 30 * DAY;
/** Below this share of free space, prune whenever retention removed something. */
const LOW_SPACE_SHARE = 0.1;
/** How often a running backup checks that its drive is still there (and not full), in ms. */
const DRIVE_WATCH_MS = 2000;
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
  /** Fires on cancel, service stop, or when the drive is seen gone (every restic call gets it). */
  signal: AbortSignal;
}

export class BackupService {
  constructor(private readonly o: BackupServiceOptions) {}

  /** Defines the job, reconciles runs a dead process left, starts backups on plug-in, arms the daily reminder check. */
  start(): void {
    this.o.jobs.define(this.#backupJob());
    this.o.repo.interruptRunning('The service stopped while this backup ran.', this.o.clock.now());
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
    const run: RunState = { row: this.o.repo.startRun(driveId, context.jobId, this.o.clock.now()), drive, settings: this.settings(), made: [], signal };
    const name = drive.name;
    let lease: DriveLease | null = null;
    let failure: unknown = null;
    let timer: NodeJS.Timeout | null = null;
    try {
      context.progress({ current: `Mounting drive ${name}` });
      lease = await this.o.access.open(driveId, run.signal);
      const mountpoint = lease.mountpoint;
      timer = setInterval(() => {
        // Gone, or made read-only by the kernel after I/O errors (errors=remount-ro): either way no write can succeed.
        void this.o.mounts.status(mountpoint).then(
          (status) => (status.state !== 'mounted' || status.remountedReadOnlyAfterErrors) && watch.abort(driveGoneError(name)),
          () => undefined,
        );
      }, DRIVE_WATCH_MS);
      await this.#checkMarker(lease, drive);
      const repo = await this.o.access.repository(lease);
      for (const source of this.o.sources.list()) {
        run.signal.throwIfAborted();
        run.row.sources.push(await this.#backupSource(context, restic, repo, lease, run, source));
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
      run.row.message = interrupted
        ? `Drive ${name} was unplugged or stopped answering during the backup. Nothing of this run counts as a backup; the earlier backups on the drive are untouched. Plug it in again: the backup starts over by itself.`
        : stopped === 'cancel'
          ? 'Cancelled by the owner. Nothing of this run counts as a backup; the earlier backups on the drive are untouched.'
          : stopped === 'shutdown'
            ? 'The service stopped during the backup; it starts over when the service is back.'
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

  async #checkMarker(lease: DriveLease, drive: RotationDriveRow): Promise<void> {
    let marker;
    try {
      marker = await readMarker(lease.mountpoint);
    } catch (error) {
      if (error instanceof MarkerError) throw new ConflictError(`Drive ${drive.name}: ${error.message}. Nothing was written to it.`, { cause: error });
      throw error;
    }
    const now = this.o.drives.list().find((d) => d.id === drive.driveId);
    const ids = this.o.boxIds();
    const match = markerMatches(marker, {
      boxId: ids.boxId,
      rotationSetId: ids.rotationSetId,
      identity: now?.identity ?? { kind: 'none', value: '' },
      serial: now?.serial ?? null,
      wwn: now?.wwn ?? null,
      driveName: drive.name,
      filesystemUuid: drive.filesystemUuid,
    });
    if (!match.ok) {
      throw new ConflictError(`The drive plugged in as ${drive.name} does not carry the marker Safehold expects, so nothing was written to it: ${match.reasons.map((r) => r.message).join(' ')}`);
    }
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
    const result: SourceRunView = { name: source.name, outcome: 'refused', snapshotId: null, files: null, bytes: null, filesNew: null, filesChanged: null, suspicious: null, message: null };
    const facts = await inspectFolder(source.path);
    const last = this.o.repo.latestCountedOf(source.name);
    const check = checkSource(source, facts, last?.files ?? null, this.o.dataDir);
    await this.o.alerts.observeCondition(sourceCondition(source, check.ok ? null : check));
    if (!check.ok) {
      result.message = check.message;
      return result;
    }

    const previous = this.o.repo.latestOf(source.name, run.drive.driveId);
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
      message: summary.complete ? null : `${summary.warnings.length} file${summary.warnings.length === 1 ? '' : 's'} could not be read: ${summary.warnings.slice(0, 3).map((w) => `${w.item} (${w.message})`).join('; ')}`,
    } satisfies Partial<SourceRunView>);
    run.made.push({ source, snapshotId, result });
    if (suspicious) {
      const reason = `Source "${source.name}": ${suspicious}.`;
      this.o.repo.suspendPruning(run.drive.driveId, reason, this.o.clock.now());
      await this.o.alerts.observeCondition(suspiciousCondition(run.drive.name, run.drive.driveId, reason));
    }
    return result;
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
      const suspended = this.o.repo.ledger(run.drive.driveId).pruneSuspendedAt !== null;
      if (!suspended) {
        context.progress({ current: `Drive ${run.drive.name} is full: removing what the retention policy allows` });
        await this.#untilFull(lease, run, (signal) => this.#forget(restic, repo, run, true, signal)).catch((e: unknown) => this.o.log.warn({ err: e }, 'prune on a full drive'));
        try {
          return await attempt();
        } catch (again) {
          if (!(again instanceof ResticError && again.kind === 'no-space')) throw asDriveGone(again, run.drive.name);
        }
      }
      // How much is missing: the folder's size against what was free before it was backed up. For a
      // folder already on the drive only its changes needed room: then the figure is an upper bound.
      const size = await folderSize(source.path);
      const seenBefore = this.o.repo.latestOf(source.name, run.drive.driveId) !== undefined;
      const missing = freeBefore === null ? 0 : size - freeBefore;
      const message =
        `Drive ${run.drive.name} is full: the backup of "${source.name}" (${formatSize(size)}) did not fit` +
        (missing > 0 ? `; ${seenBefore ? 'up to' : 'about'} ${formatSize(missing)} more space is needed (${formatSize(freeBefore!)} was free)` : '') +
        (suspended ? '. Old backups were not removed to make room, because retention is suspended after a suspicious backup' : ', even after removing the backups the retention policy allows') +
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
   * forget by the policy (one group per source: every snapshot is in one), then prune when asked.
   * Returns the snapshots kept (all that remain on the drive) and how many were removed.
   */
  async #forget(restic: Restic, repo: ResticRepository, run: RunState, prune: boolean, signal: AbortSignal): Promise<{ kept: Snapshot[]; removed: number }> {
    const r = run.settings.retention;
    const policy = { keepDaily: r.daily, keepWeekly: r.weekly, keepMonthly: r.monthly, keepYearly: r.yearly };
    const result = await this.#pastDeadLocks(restic, repo, run, () => restic.forget(repo, policy, { prune, groupBy: 'host,tags', signal }));
    if (result.pruned) this.o.repo.setPruned(run.drive.driveId, this.o.clock.now());
    return { kept: result.kept.map((k) => k.snapshot), removed: result.removed.length };
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
      const forgotten = await this.#forget(restic, repo, run, false, run.signal);
      kept = forgotten.kept;
      const space = await this.o.mounts.statfs(lease.mountpoint);
      const lowSpace = space.availableBytes < space.sizeBytes * LOW_SPACE_SHARE;
      const due = ledger.lastPrunedAt === null || this.o.clock.now() - ledger.lastPrunedAt >= PRUNE_EVERY_MS;
      if ((forgotten.removed > 0 && due) || lowSpace) {
        context.progress({ current: `Freeing the space of old backups on drive ${run.drive.name}` });
        await this.#pastDeadLocks(restic, repo, run, () => restic.prune(repo, { signal: run.signal }));
        this.o.repo.setPruned(run.drive.driveId, this.o.clock.now());
      }
    } catch (error) {
      const classified = asDriveGone(error, run.drive.name);
      if (isDriveGone(classified) || run.signal.aborted) throw classified;
      this.o.log.warn({ err: error }, 'retention failed');
      this.o.activity.record({ level: 'warning', kind: 'backup.retention-failed', subject: run.drive.driveId, message: `Old backups on drive ${run.drive.name} could not be removed: ${messageOf(error)}` });
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

function snapshotView(s: SnapshotRow): SnapshotView {
  return { id: s.id, shortId: s.id.slice(0, 8), source: s.source, paths: s.paths, time: new Date(s.time).toISOString(), files: s.files, bytes: s.bytes, suspicious: s.suspicious };
}
