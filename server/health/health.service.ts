/**
 * Disk health monitoring: reads every disk's SMART on a schedule (never waking a sleeping disk),
 * judges it (assess.ts), keeps the history, runs self-tests, and tells the alert service what it
 * sees.
 *
 * Contract:
 * - `health.poll` (every 30 minutes by default, and when a disk is plugged in) reads each connected
 *   disk once. A sleeping disk is recorded as asleep and keeps the verdict of its last real read; a
 *   disk without SMART is `unknown` with the reason. Neither raises an alert.
 * - `health.self-test` runs one self-test on one disk, holding that disk's lock (so it never runs
 *   beside another heavy job on the disk) and the `self-test` lock (so scheduled tests run one disk
 *   after the other, staggered). Cancelling it aborts the test on the disk.
 * - Alerts: a verdict that changes (either way), a temperature over its limit, a bad-sector counter
 *   that grows, a failed self-test, an internal disk that goes missing or comes back.
 * - Schedules are cron expressions, validated (a bad one is refused with the field that is wrong),
 *   and refused when two runs come closer than the job's minimum (`SCHEDULE_MINIMUMS`).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { sleep, type Clock } from '../../system/clock.js';
import type { SelfTestKind, SmartReader } from '../../system/smart/smartctl.js';
import { healthSteps, type AlertDisk } from '../alerts/alert-mail.js';
import type { AlertService } from '../alerts/alert.service.js';
import type { ActivityService } from '../activity/activity.service.js';
import { describeForLog, type DriveView } from '../drives/drive.model.js';
import type { DriveService } from '../drives/drive.service.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { JobDefinition, JobView } from '../jobs/job.model.js';
import { refuseTooFrequent, type Scheduler } from '../jobs/scheduler.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import { assess, healthCounters } from './assess.js';
import type { Assessment, Reason, Verdict } from './health.model.js';
import { ATA_COUNTER_RULES, PLAUSIBLE_TEMPERATURE_LIMIT, TEMPERATURE_LIMITS } from './health.rules.js';
import type { DriveHealthSummary, DriveHealthView, HealthSettings } from './health.view.js';
import type { SmartHistoryRepository } from './smart-history.repository.js';
import { toSmartModel, type SmartModel } from './smart.model.js';

export const POLL_JOB = 'health.poll';
export const SELF_TEST_JOB = 'health.self-test';
/** Held by every self-test job: scheduled tests run one disk after the other. */
export const SELF_TEST_LOCK = 'self-test';
export const diskLock = (driveId: string) => `disk:${driveId}`;

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = {
  pollSchedule: '*/30 * * * *',
  shortTestSchedule: '0 3 * * 0',
  longTestSchedule: '0 2 1 * *',
};

const SettingsSchema = z.object({ pollSchedule: z.string(), shortTestSchedule: z.string(), longTestSchedule: z.string() });

export const HealthSettingsInput = z.strictObject({
  pollSchedule: z.string().trim().min(1).max(100),
  shortTestSchedule: z.string().trim().min(1).max(100),
  longTestSchedule: z.string().trim().min(1).max(100),
});

/** Attributes a rule looks at (marked in the page's table). */
const WATCHED_ATTRIBUTES = new Set([...ATA_COUNTER_RULES.map((r) => r.id), 194, 190]);
const DAY_MS = 24 * 3600 * 1000;

/**
 * The least time between two runs of each schedule (docs/health.md, "Monitoring"), with the reason
 * a person is given when a schedule is more frequent.
 */
export const SCHEDULE_MINIMUMS: Record<keyof HealthSettings, { minimumMs: number; rule: string }> = {
  pollSchedule: { minimumMs: 5 * 60_000, rule: 'SMART reads must be at least 5 minutes apart (SMART changes slowly, and reading an idle disk can keep it from going to sleep)' },
  shortTestSchedule: { minimumMs: DAY_MS, rule: 'Short self-tests must be at least a day apart' },
  longTestSchedule: { minimumMs: 7 * DAY_MS, rule: 'Long self-tests must be at least a week apart (each reads the whole disk for hours)' },
};

export interface HealthServiceOptions {
  /** null when smartctl is not installed: nothing is read, and the page says why. */
  reader: SmartReader | null;
  history: SmartHistoryRepository;
  drives: DriveService;
  jobs: JobRunner;
  alerts: AlertService;
  activity: ActivityService;
  settings: SettingsRepository;
  scheduler: Scheduler;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** How often a running self-test is asked for its progress, in ms. Default 30 000. */
  selfTestPollMs?: number;
  /** "Am I protected?" of the backups, for a troubled disk's "What to do now" (default: not known). */
  protection?: () => { headline: string; drives: number };
}

export class HealthService {
  readonly #running = new Map<string, { kind: SelfTestKind; remainingPercent: number | null }>();

  constructor(private readonly o: HealthServiceOptions) {}

  /** Wire the jobs, the schedules and the reactions to plugged and pulled disks. */
  start(): void {
    this.o.jobs.define(this.#pollJob());
    this.o.jobs.define(this.#selfTestJob());
    this.#arm(this.#settingsWithinMinimums());
    this.o.bus.subscribe('inventory', ({ connected, disconnected }) => void this.#inventoryChanged(connected, disconnected));
  }

  unavailableReason(): string | null {
    return this.o.reader ? null : 'smartctl is not installed on this box (apt-get install smartmontools).';
  }

  /** Read every disk now (coalesced with a check already queued). */
  requestCheck(): JobView {
    return this.o.jobs.submit(POLL_JOB, { coalesce: true });
  }

  summary(driveId: string): DriveHealthSummary | null {
    const latest = this.o.history.latest(driveId);
    if (!latest) return null;
    const reasons = latest.reasons as Reason[];
    const top = reasons.find((r) => r.severity !== 'info') ?? reasons[0];
    return {
      verdict: latest.verdict,
      headline: latest.state === 'asleep' ? `Asleep, not read (to let it sleep). ${top?.message ?? ''}`.trim() : (top?.message ?? ''),
      state: latest.state,
      readAt: new Date(latest.at).toISOString(),
      temperatureC: latest.temperatureC,
      selfTest: this.#running.get(driveId) ?? null,
    };
  }

  /** A connected disk's health, or the last read of one that is away; 404 for a disk never seen. */
  view(driveId: string): DriveHealthView {
    const known = this.o.drives.known(driveId);
    if (!known) throw new NotFoundError(`Safehold has never seen a disk with the id "${driveId}".`);
    const summary = this.summary(driveId);
    const latest = this.o.history.latest(driveId);
    const model = latest?.raw ? toSmartModel(safeJson(latest.raw)) : null;
    const acks = this.o.history.acknowledgements(driveId);
    const ackOf = new Map(acks.map((a) => [a.key, a.value]));
    const now = this.o.clock.now();
    const temps = this.o.history
      .history(driveId, now - 30 * DAY_MS, now)
      .filter((r) => r.temperatureC !== null)
      .map((r) => ({ at: new Date(r.at).toISOString(), temperatureC: r.temperatureC! }));
    const reasons = (latest?.reasons as Reason[] | undefined) ?? [];
    return {
      driveId,
      connected: known.connected,
      lastSeenAt: known.drive.lastSeenAt,
      advice: summary ? this.#advice(known.drive, summary.verdict, reasons) : null,
      summary,
      reasons,
      device: model?.device
        ? {
            model: model.device.model,
            serial: model.device.serial,
            interface: model.device.interface,
            deviceType: latest?.deviceType ?? model.device.type,
            firmware: model.device.firmware,
          }
        : null,
      powerOnHours: model?.powerOnHours ?? null,
      temperature: temperatureLimits(model),
      attributes: (model?.ataAttributes ?? []).map((a) => ({
        ...a,
        watched: WATCHED_ATTRIBUTES.has(a.id),
        acknowledgedValue: ackOf.get(`ata:${a.id}`) ?? null,
      })),
      nvme: model?.nvme ?? null,
      scsi: model && (model.scsiGrownDefects !== null || model.scsiErrors) ? { grownDefects: model.scsiGrownDefects, uncorrected: uncorrectedOf(model) } : null,
      selfTests: model?.selfTests ?? [],
      temperatureHistory: temps,
      acknowledgements: acks.map((a) => ({ key: a.key, value: a.value, note: a.note, at: new Date(a.at).toISOString() })),
      unavailableReason: this.unavailableReason(),
    };
  }

  /**
   * Acknowledge counter `key` of a drive at its value in the latest read; the disk is judged again at
   * once. Only a warning can be acknowledged: a counter the rules call failing is refused (409), as
   * quieting it would hide a dying disk.
   */
  async acknowledge(driveId: string, key: string, note: string | null): Promise<DriveHealthView> {
    const drive = this.o.drives.get(driveId);
    const last = this.o.history.lastRead(driveId);
    const value = last?.counters[key];
    if (value === undefined) {
      throw new InvalidInputError(`"${key}" is not a counter of this disk's last SMART read.`, [{ path: 'key', message: 'Not a counter of this disk' }]);
    }
    const latest = this.o.history.latest(driveId);
    const model = latest?.raw ? toSmartModel(safeJson(latest.raw)) : null;
    const failing = model && this.#judge(driveId, model, latest!.at).reasons.find((r) => r.attribute === key && r.severity === 'failing');
    if (failing) {
      throw new ConflictError(
        `${failing.message.replace(/\.$/, '')}. That means the disk is failing, which cannot be acknowledged: only a warning can be. Make sure your backups are current and replace the disk.`,
      );
    }
    this.o.history.acknowledge({ driveId, key, value, note, at: this.o.clock.now() });
    this.o.activity.record({ level: 'info', kind: 'health.acknowledged', subject: driveId, message: `Acknowledged ${key} = ${value} on ${drive.displayName}${note ? ` (${note})` : ''}.` });
    await this.#rejudge(drive);
    return this.view(driveId);
  }

  async removeAcknowledgement(driveId: string, key: string): Promise<DriveHealthView> {
    const drive = this.o.drives.get(driveId);
    if (!this.o.history.removeAcknowledgement(driveId, key)) throw new NotFoundError(`No acknowledgement of "${key}" on this disk.`);
    await this.#rejudge(drive);
    return this.view(driveId);
  }

  /** Judge the latest stored read again (the acknowledgements changed), without asking the disk. */
  async #rejudge(drive: DriveView): Promise<void> {
    const latest = this.o.history.latest(drive.id);
    if (!latest?.raw || latest.state !== 'read') return;
    const assessment = this.#judge(drive.id, toSmartModel(safeJson(latest.raw)), latest.at);
    this.o.history.record({ ...latest, verdict: assessment.verdict, reasons: assessment.reasons });
    this.o.drives.republish();
    await this.#tell(drive, assessment, { growth: false });
  }

  /** What to do now about a troubled disk: the alert mail's steps, what the disk holds, and whether the backups are current. */
  #advice(drive: DriveView, verdict: Verdict, reasons: Reason[]): DriveHealthView['advice'] {
    if (verdict !== 'failing' && verdict !== 'warning') return null;
    const protection = this.o.protection?.();
    const holds =
      drive.role === 'system'
        ? "the operating system and Safehold with its catalog (the record of your backups)"
        : drive.role === 'rotation'
          ? `backups: it is rotation backup drive ${drive.rotation?.name ?? ''}`.trim()
          : drive.role === 'pool'
            ? "files of the shared folders: it is a disk of the storage pool (each duplicated file has a copy on another disk too)"
            : 'nothing Safehold keeps: it is not in use by Safehold';
    let backedUp = protection?.headline ?? 'Safehold cannot tell now whether your backups are current.';
    if (drive.role === 'rotation' && protection) {
      const others = protection.drives - 1;
      backedUp = others > 0
        ? `${others === 1 ? 'One other rotation drive holds' : `${others} other rotation drives hold`} backups too. ${backedUp}`
        : `It is your only rotation drive: register another one before this one dies. ${backedUp}`;
    }
    return { steps: healthSteps(verdict, reasons, toAlertDisk(drive)), holds, backedUp };
  }

  /** assess() with this disk's acknowledgements and its read before `at` (for trends). */
  #judge(driveId: string, model: SmartModel, at: number): Assessment {
    const previous = this.o.history.lastRead(driveId, at);
    return assess(model, {
      history: previous ? { at: previous.at, counters: previous.counters } : undefined,
      acknowledgements: this.o.history.acknowledgements(driveId).map((a) => ({ key: a.key, value: a.value, at: a.at, note: a.note })),
    });
  }

  /** Start a self-test on one disk (a job holding the disk). A failing disk runs no long test (409): hours of reading wear it further. */
  startSelfTest(driveId: string, kind: SelfTestKind): JobView {
    const drive = this.o.drives.get(driveId);
    if (!this.o.reader) throw new ConflictError(this.unavailableReason()!);
    const latest = this.o.history.latest(driveId);
    if (!latest || latest.state === 'no-smart' || latest.state === 'error') {
      throw new ConflictError(`${drive.displayName} cannot run a self-test: ${latest ? 'its SMART cannot be read' : 'it has not been read yet'}.`);
    }
    if (kind === 'long' && latest.verdict === 'failing') {
      throw new ConflictError(`${drive.displayName} is failing: no long self-test is started on it. It reads the whole disk for hours and can make a dying disk worse. Make sure your backups are current and replace the disk.`);
    }
    const pending = this.o.jobs.recent(200).find((j) => j.kind === SELF_TEST_JOB && j.target === driveId && (j.state === 'queued' || j.state === 'running'));
    if (pending) throw new ConflictError(`A self-test of ${drive.displayName} is already ${pending.state}.`);
    return this.o.jobs.submit(SELF_TEST_JOB, { target: driveId, resources: [diskLock(driveId), SELF_TEST_LOCK], params: { kind } });
  }

  settings(): HealthSettings {
    return this.o.settings.get('health', SettingsSchema, DEFAULT_HEALTH_SETTINGS);
  }

  /**
   * The saved settings, with any schedule saved before the minimums existed (or written into the
   * catalog by hand) that runs too often put back to its default, saved, and said in the activity log.
   */
  #settingsWithinMinimums(): HealthSettings {
    const saved = this.settings();
    const fixed = { ...saved };
    for (const field of ['pollSchedule', 'shortTestSchedule', 'longTestSchedule'] as const) {
      try {
        refuseTooFrequent(saved[field], { ...SCHEDULE_MINIMUMS[field], path: field, from: this.o.clock.now() });
      } catch (error) {
        fixed[field] = DEFAULT_HEALTH_SETTINGS[field];
        this.o.activity.record({ level: 'warning', kind: 'settings.health', message: `The saved schedule "${saved[field]}" was put back to "${fixed[field]}": ${(error as Error).message}` });
      }
    }
    if (JSON.stringify(fixed) !== JSON.stringify(saved)) this.o.settings.put('health', fixed);
    return fixed;
  }

  saveSettings(input: HealthSettings): HealthSettings {
    for (const field of ['pollSchedule', 'shortTestSchedule', 'longTestSchedule'] as const) {
      refuseTooFrequent(input[field], { ...SCHEDULE_MINIMUMS[field], path: field, from: this.o.clock.now() });
    }
    this.o.settings.put('health', input);
    this.#arm(input);
    this.o.activity.record({ level: 'info', kind: 'settings.health', message: `Health schedules saved: read ${input.pollSchedule}, short test ${input.shortTestSchedule}, long test ${input.longTestSchedule}.` });
    return input;
  }

  /** Read one disk's SMART, record it, and tell the alert service. Returns the assessment, or null when nothing was read. */
  async check(drive: DriveView, signal?: AbortSignal): Promise<Assessment | null> {
    const { history, clock } = this.o;
    const now = clock.now();
    const before = history.latest(drive.id);
    const base = { driveId: drive.id, at: now, raw: null, deviceType: null };
    const noSmart = NO_SMART_BUSES[drive.bus as keyof typeof NO_SMART_BUSES];
    if (noSmart || !this.o.reader) {
      const why = noSmart ?? this.unavailableReason()!;
      history.record({ ...base, state: 'no-smart', verdict: 'unknown', reasons: [unknownReason(why)], temperatureC: null });
      return null;
    }
    const answer = await this.o.reader.read(drive.path, { key: drive.id, knownType: before?.deviceType ?? null, usb: drive.bus === 'usb', signal });
    if (answer.typeLearned && answer.deviceType) {
      this.o.activity.record({ level: 'info', kind: 'health.bridge', subject: drive.id, message: `${drive.displayName} is read through its USB bridge with "-d ${answer.deviceType}".` });
    }
    if (answer.state === 'asleep') {
      history.record({
        ...base,
        state: 'asleep',
        verdict: before?.verdict ?? 'unknown',
        reasons: before?.reasons ?? [unknownReason('Asleep: not read, so as not to wake it.')],
        temperatureC: null,
        deviceType: answer.deviceType,
      });
      return null;
    }
    if (answer.state !== 'read') {
      history.record({ ...base, state: answer.state, verdict: 'unknown', reasons: [unknownReason(answer.reason ?? 'SMART could not be read.')], temperatureC: null });
      return null;
    }
    const model = toSmartModel(answer.raw);
    const assessment = this.#judge(drive.id, model, now);
    const temperatureC = model.temperature.current;
    history.record(
      { ...base, state: 'read', verdict: assessment.verdict, reasons: assessment.reasons, temperatureC, raw: JSON.stringify(answer.raw), deviceType: answer.deviceType },
      { driveId: drive.id, at: now, state: 'read', verdict: assessment.verdict, temperatureC, powerOnHours: model.powerOnHours, counters: healthCounters(model) },
    );
    await this.#tell(drive, assessment);
    return assessment;
  }

  /** Tell the alert service what this assessment means; `growth: false` when re-judging (the growth was told when read). */
  async #tell(drive: DriveView, assessment: Assessment, options = { growth: true }): Promise<void> {
    const disk = toAlertDisk(drive);
    const problems = assessment.reasons.filter((r) => r.severity === 'failing' || r.severity === 'warning');
    if (assessment.verdict !== 'unknown') {
      const worst = problems[0];
      await this.o.alerts.observe({
        key: `health:${drive.id}`,
        kind: 'verdict',
        disk,
        state: assessment.verdict,
        normal: assessment.verdict === 'healthy',
        severity: assessment.verdict === 'failing' ? 'error' : 'warning',
        message:
          assessment.verdict === 'healthy'
            ? `${drive.displayName} is healthy again.`
            : `${drive.displayName} is ${assessment.verdict === 'failing' ? 'FAILING' : 'showing a warning'}: ${worst?.message ?? ''}`,
        reasons: assessment.reasons,
      });
    }
    const hot = assessment.reasons.find((r) => r.code === 'temperature');
    await this.o.alerts.observe({
      key: `temperature:${drive.id}`,
      kind: 'too-hot',
      disk,
      state: hot ? 'too-hot' : 'ok',
      normal: !hot,
      severity: 'warning',
      message: hot ? `${drive.displayName}: ${hot.message}` : `${drive.displayName} is back within its temperature limit.`,
      reasons: hot ? [hot] : [],
    });
    const grew = assessment.reasons.filter((r) => r.code === 'trend');
    if (grew.length && options.growth) {
      await this.o.alerts.event({
        key: `growth:${drive.id}`,
        kind: 'counter-grew',
        disk,
        state: grew.map((r) => r.message).join(' '),
        severity: assessment.verdict === 'failing' ? 'error' : 'warning',
        message: `${drive.displayName}: ${grew.map((r) => r.message).join(' ')}`,
        reasons: assessment.reasons,
      });
    }
  }

  async #inventoryChanged(connected: DriveView[], disconnected: DriveView[]): Promise<void> {
    try {
      for (const drive of disconnected.filter(isInternal)) {
        await this.o.alerts.observe({
          key: `missing:${drive.id}`,
          kind: 'missing',
          disk: toAlertDisk(drive),
          state: 'missing',
          normal: false,
          severity: 'error',
          message: `${describeForLog(drive)} is missing: it is no longer seen by the system.`,
          reasons: [],
        });
      }
      for (const drive of connected.filter(isInternal)) {
        await this.o.alerts.observe({
          key: `missing:${drive.id}`,
          kind: 'back',
          disk: toAlertDisk(drive),
          state: 'present',
          normal: true,
          severity: 'warning',
          message: `${describeForLog(drive)} is back.`,
          reasons: [],
        });
      }
      if (connected.length) this.requestCheck();
    } catch (err) {
      this.o.log.warn({ err }, 'could not act on the inventory change');
    }
  }

  #pollJob(): JobDefinition {
    return {
      kind: POLL_JOB,
      title: () => 'Check the health of every disk',
      run: async ({ signal, progress }) => {
        const drives = this.o.drives.list();
        const counts: Record<Verdict | 'asleep' | 'unread', number> = { healthy: 0, warning: 0, failing: 0, unknown: 0, asleep: 0, unread: 0 };
        for (const [i, drive] of drives.entries()) {
          signal.throwIfAborted();
          progress({ itemsDone: i, itemsTotal: drives.length, current: drive.displayName });
          const assessment = await this.check(drive, signal);
          if (assessment) counts[assessment.verdict]++;
          else if (this.o.history.latest(drive.id)?.state === 'asleep') counts.asleep++;
          else counts.unread++;
        }
        progress({ itemsDone: drives.length, itemsTotal: drives.length, current: null });
        this.o.drives.republish();
        const parts = (['failing', 'warning', 'healthy', 'unknown', 'asleep'] as const).filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`);
        if (counts.unread) parts.push(`${counts.unread} without SMART`);
        return parts.length ? parts.join(', ') : 'No disks to check';
      },
    };
  }

  #selfTestJob(): JobDefinition {
    return {
      kind: SELF_TEST_JOB,
      title: (target) => `Disk self-test${target ? ` of ${this.#name(target)}` : ''}`,
      run: async ({ target, params, signal, progress }) => {
        const reader = this.o.reader;
        if (!reader) throw new Error(this.unavailableReason()!);
        const kind: SelfTestKind = params.kind === 'long' ? 'long' : 'short';
        const drive = this.o.drives.get(target ?? '');
        const deviceType = this.o.history.latest(drive.id)?.deviceType ?? null;
        const started = await reader.startSelfTest(drive.path, kind, { deviceType, signal });
        if (started.state !== 'read') throw new Error(`The ${kind} self-test could not be started on ${drive.displayName}: ${started.reason ?? 'smartctl refused'}.`);
        this.#running.set(drive.id, { kind, remainingPercent: 100 });
        this.o.drives.republish();
        let passed: boolean | null = null;
        let description: string | null = null;
        try {
          for (;;) {
            try {
              await sleep(this.o.clock, this.o.selfTestPollMs ?? 30_000, signal);
            } catch (stop) {
              await reader.abortSelfTest(drive.path, { deviceType }).catch(() => undefined);
              throw stop;
            }
            const answer = await reader.selfTestProgress(drive.path, { deviceType });
            const p = answer.progress;
            if (p?.status === 'running') {
              const left = p.remainingPercent ?? 100;
              this.#running.set(drive.id, { kind, remainingPercent: left });
              progress({ itemsDone: 100 - left, itemsTotal: 100, current: p.description });
              continue;
            }
            passed = p?.lastPassed ?? null;
            description = p?.description ?? null;
            break;
          }
        } finally {
          this.#running.delete(drive.id);
        }
        progress({ itemsDone: 100, itemsTotal: 100, current: null });
        const assessment = await this.check(drive);
        this.o.drives.republish();
        if (passed === false) {
          const message = `The ${kind} self-test of ${drive.displayName} failed: ${description ?? 'the disk reported an error'}.`;
          await this.o.alerts.event({ key: `selftest:${drive.id}`, kind: 'self-test-failed', disk: toAlertDisk(drive), state: 'failed', severity: 'error', message, reasons: assessment?.reasons ?? [] });
          throw new Error(message);
        }
        return `The ${kind} self-test passed${description ? ` (${description})` : ''}.`;
      },
    };
  }

  #arm(settings: HealthSettings): void {
    const { scheduler } = this.o;
    scheduler.set('health.poll', settings.pollSchedule, () => this.requestCheck());
    scheduler.set('health.short-tests', settings.shortTestSchedule, () => this.#scheduleTests('short'));
    scheduler.set('health.long-tests', settings.longTestSchedule, () => this.#scheduleTests('long'));
  }

  /** Queue a self-test for every disk that can run one; the shared lock runs them one after the other. */
  #scheduleTests(kind: SelfTestKind): void {
    for (const drive of this.o.drives.list()) {
      const latest = this.o.history.latest(drive.id);
      if (!latest || latest.state === 'no-smart' || latest.state === 'error') continue;
      try {
        this.startSelfTest(drive.id, kind);
      } catch (err) {
        this.o.log.info({ err, drive: drive.id }, 'scheduled self-test not queued');
      }
    }
  }

  #name(driveId: string): string {
    try {
      return this.o.drives.get(driveId).displayName;
    } catch {
      return driveId;
    }
  }
}

/** Kinds of device that have no SMART at all: not asked, so nothing is opened or woken. */
const NO_SMART_BUSES = {
  loop: 'A loop device is a file, not a disk: it has no SMART.',
  mmc: 'SD cards and eMMC do not report SMART: watch the system for read errors instead, and keep a spare card.',
} as const;

const unknownReason = (message: string): Reason => ({ severity: 'unknown', code: 'not-read', message });

const isInternal = (d: DriveView) => !d.removable && d.bus !== 'loop' && d.bus !== 'usb';

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function uncorrectedOf(model: SmartModel): number | null {
  const e = model.scsiErrors;
  if (!e) return null;
  const values = [e.readUncorrected, e.writeUncorrected, e.verifyUncorrected].filter((v): v is number => v !== null);
  return values.length ? values.reduce((a, b) => a + b, 0) : null;
}

/** The limit the rules use for this disk (its own when plausible, else its kind's). */
function temperatureLimits(model: SmartModel | null): DriveHealthView['temperature'] {
  const kind = model?.mediaKind ?? 'unknown';
  const own = model?.temperature.warningLimit ?? null;
  const plausible = (v: number | null) => v !== null && v >= PLAUSIBLE_TEMPERATURE_LIMIT.min && v <= PLAUSIBLE_TEMPERATURE_LIMIT.max;
  return {
    currentC: model?.temperature.current ?? null,
    limitC: plausible(own) ? own! : TEMPERATURE_LIMITS[kind].limit,
    criticalC: plausible(model?.temperature.criticalLimit ?? null) ? model!.temperature.criticalLimit : null,
  };
}

export function toAlertDisk(drive: DriveView): AlertDisk {
  return {
    id: drive.id,
    displayName: drive.deviceName,
    model: drive.model,
    serial: drive.serial,
    path: drive.path,
    bus: drive.bus,
    sizeBytes: drive.sizeBytes,
    ownerName: drive.ownerName,
    role: drive.role,
  };
}

