/**
 * Judging one disk: `assess(model)` evaluates the rule tables of health.rules.ts on a parsed smartctl
 * output (smart.model.ts) and gives a verdict with the reasons a person reads.
 *
 * Contract: pure (no clock, no I/O, same input → same output) and total (never throws). The verdict is
 * the worst severity among the reasons; `unknown` only when the output holds nothing to judge (a
 * sleeping disk, no SMART, an error, a device list), and then a reason says why. A healthy verdict
 * also carries a reason (what was checked). Reasons come most severe first.
 *
 * Acknowledgements and history are the owner's and the monitor's memory, handed in: an acknowledged
 * counter is ignored while it stays at or below the acknowledged value (an `info` reason says so);
 * a bad-sector counter that grew since the previous read raises the verdict to at least a warning.
 * docs/health.md explains every rule and its source.
 */
import type { Assessment, CounterAcknowledgement, CounterSnapshot, Reason, Severity, Verdict } from './health.model.js';
import {
  ATA_COUNTER_RULES,
  FAILING_ANNUAL_FAILURE_RATE,
  LINK_CAUSE_ADVICE,
  NVME_CRITICAL_WARNING_BITS,
  NVME_RULES,
  PLAUSIBLE_TEMPERATURE_LIMIT,
  SCSI_RULES,
  TEMPERATURE_LIMITS,
  TREND_COUNTER_LABELS,
  type FailureRateBucket,
} from './health.rules.js';
import { hasHealthData, type SelfTestEntry, type SmartModel } from './smart.model.js';

export interface AssessOptions {
  /**
   * Earlier reads' counters (from `healthCounters`): one snapshot or several; the most recent one
   * (by `at`) is the "previous read" a growth is measured against.
   */
  history?: CounterSnapshot | readonly CounterSnapshot[] | null;
  /** The owner's acknowledgements for this disk. */
  acknowledgements?: readonly CounterAcknowledgement[];
}

/** A reason that may carry the counter value it is about (for acknowledgements). */
interface Finding extends Reason {
  value?: number;
}

const SEVERITY_ORDER: Record<Severity, number> = { failing: 0, warning: 1, unknown: 2, info: 3 };

const plural = (n: number, [one, many]: readonly [string, string]) => `${n} ${n === 1 ? one : many}`;

/**
 * An annual failure rate in words a person can use: the share of such disks that fail within a year,
 * 1 - e^-AFR (Backblaze's AFR counts failures per disk-year; an AFR of 1.62 is not "162% of disks").
 */
export function failureRateInWords(afr: number): string {
  const p = 1 - Math.exp(-afr);
  if (p >= 0.6) return 'most disks with this count fail within a year';
  if (p >= 0.4) return 'about half the disks with this count fail within a year';
  if (p >= 0.2) return `about one disk in ${Math.round(1 / p)} with this count fails within a year`;
  const n = Math.max(1, Math.round(p * 100));
  return `about ${n} ${n === 1 ? 'disk' : 'disks'} in 100 with this count ${n === 1 ? 'fails' : 'fail'} within a year`;
}

/** ISO date (YYYY-MM-DD) of an ISO text or epoch milliseconds; the text itself when it is neither. */
export function dayOf(at: string | number | undefined): string | null {
  if (at === undefined) return null;
  const date = typeof at === 'number' ? new Date(at) : /^\d{4}-\d{2}-\d{2}/.test(at) ? new Date(at.slice(0, 10)) : null;
  if (!date || Number.isNaN(date.getTime())) return typeof at === 'string' && at ? at : null;
  return date.toISOString().slice(0, 10);
}

/** The annual failure rate of the range `count` falls in, never lower than a smaller count's (see health.rules.ts). */
export function failureRateFor(buckets: readonly FailureRateBucket[], count: number): number {
  let rate = 0;
  for (const bucket of buckets) if (count >= bucket.from) rate = Math.max(rate, bucket.afr);
  return rate;
}

/** A media counter's reason: a warning when non-zero, failing once Backblaze's failure rate for that count is high. */
function mediaCounterFinding(code: string, attribute: string, count: number, subject: string, buckets: readonly FailureRateBucket[]): Finding {
  const rate = failureRateFor(buckets, count);
  const failing = rate >= FAILING_ANNUAL_FAILURE_RATE;
  const observed = `in Backblaze's data, ${failureRateInWords(rate)}`;
  const tail = failing ? observed : `${observed}; watch whether it grows`;
  return { severity: failing ? 'failing' : 'warning', code, message: `${subject}: ${tail}`, attribute, value: count };
}

/** Why there is nothing to judge, or null when there is. */
function nothingToJudge(smart: SmartModel): Reason | null {
  if (hasHealthData(smart)) return null;
  const unknown = (code: string, message: string): Reason => ({ severity: 'unknown', code, message });
  if (smart.kind === 'scan') {
    const failed = smart.scanDevices.filter((d) => d.openError).map((d) => `${d.name} could not be opened (${d.openError})`);
    const count = plural(smart.scanDevices.length, ['device', 'devices']);
    return unknown('scan', `This is a device list from "smartctl --scan" (${count}), not one disk's SMART data${failed.length ? `; ${failed.join('; ')}` : ''}.`);
  }
  const messages = smart.smartctl.messages;
  const asleep = messages.find((m) => /\b(standby|sleep)\b/i.test(m.text));
  if (asleep) return unknown('asleep', `The disk is asleep (${asleep.text}): it was not woken up to read SMART.`);
  if (smart.smartAvailable === false) return unknown('no-smart', 'This device does not offer SMART, so its health cannot be judged.');
  if (smart.smartEnabled === false) return unknown('smart-disabled', 'SMART is turned off on this device ("smartctl -s on" turns it on), so its health cannot be judged.');
  const error = messages.find((m) => m.severity === 'error');
  if (error) return unknown('smartctl-error', `smartctl could not read the disk: ${error.text}`);
  const exit = smart.smartctl.exit;
  if (exit?.flags.commandLineDidNotParse) return unknown('smartctl-error', 'smartctl did not understand its command line (exit status bit 0): no disk was read.');
  const name = smart.device?.name ?? 'the device';
  if (exit?.flags.deviceOpenFailed) {
    return unknown('no-data', `smartctl could not open ${name} or read its identity (exit status ${exit.value}): no SMART data, so its health cannot be judged.`);
  }
  if (smart.device?.model || smart.device?.serial) {
    return unknown('identity-only', "Only the disk's identity was read (as with \"smartctl --info\"): no health data to judge.");
  }
  return unknown('no-data', 'This smartctl output holds no SMART data to judge.');
}

function overallFindings(smart: SmartModel): Finding[] {
  const bitsSpeak = smart.device?.interface === 'nvme' && (smart.nvme?.criticalWarning ?? 0) > 0;
  if (smart.passed === false && !bitsSpeak) {
    return [{ severity: 'failing', code: 'overall-failed', message: "The drive's own SMART overall-health self-assessment FAILED: its maker predicts a failure." }];
  }
  if (smart.passed === null && smart.smartctl.exit?.flags.diskFailing) {
    return [{ severity: 'failing', code: 'overall-failed', message: 'smartctl\'s exit status says the SMART status check returned "DISK FAILING".' }];
  }
  if (smart.passed === true) return [{ severity: 'info', code: 'overall-passed', message: "The drive's own SMART overall-health self-assessment passed." }];
  return [];
}

const describeTest = (t: SelfTestEntry) => {
  const at = t.lifetimeHours === null ? '' : ` at ${t.lifetimeHours} power-on hours`;
  const lba = t.lba === null ? '' : ` (first bad block: LBA ${t.lba})`;
  return `${t.type} self-test: "${t.status || 'failed'}"${at}${lba}`;
};

/**
 * A failed self-test is failing unless a later extended self-test completed without error (the rule
 * smartctl uses to call older errors "outdated"); a passed short test does not clear it. Each log is
 * read newest first; for ATA, the extended log is used when present (it holds the standard log's tests).
 */
function selfTestFindings(smart: SmartModel): Finding[] {
  const out: Finding[] = [];
  const ataLog = smart.selfTests.some((t) => t.log === 'ata-extended') ? 'ata-extended' : 'ata-standard';
  for (const log of [ataLog, 'nvme', 'scsi'] as const) {
    const entries = smart.selfTests.filter((t) => t.log === log);
    const counted: SelfTestEntry[] = [];
    const outdated: SelfTestEntry[] = [];
    let clearedByExtended = false;
    for (const entry of entries) {
      if (entry.outcome === 'passed' && entry.kind === 'extended') clearedByExtended = true;
      if (entry.outcome === 'failed') (clearedByExtended ? outdated : counted).push(entry);
    }
    const latest = counted[0];
    if (latest) {
      const message =
        counted.length === 1 ? `Failed ${describeTest(latest)}` : `${counted.length} self-tests failed; the latest: ${describeTest(latest)}`;
      out.push({ severity: 'failing', code: 'self-test-failed', message });
    }
    if (outdated.length) {
      out.push({
        severity: 'info',
        code: 'self-test-outdated',
        message: `${plural(outdated.length, ['older failed self-test', 'older failed self-tests'])} no longer counted: a later extended self-test completed without error.`,
      });
    }
  }
  if (smart.selfTests.length === 0 && smart.smartctl.exit?.flags.selfTestLogHasErrors) {
    out.push({ severity: 'failing', code: 'self-test-failed', message: "smartctl's exit status says the drive's self-test log records a failed test." });
  }
  if (smart.selfTestRunning) {
    const left = smart.selfTestRunning.remainingPercent;
    out.push({ severity: 'info', code: 'self-test-running', message: `A self-test is running now${left === null ? '' : ` (${left}% left)`}.` });
  }
  return out;
}

function ataFindings(smart: SmartModel): Finding[] {
  const out: Finding[] = [];
  for (const rule of ATA_COUNTER_RULES) {
    const count = smart.ataAttributes.find((a) => a.id === rule.id)?.rawCount;
    if (count === undefined || count === null || count <= 0) continue;
    const subject = `${plural(count, rule.noun)} (attribute ${rule.id})`;
    if (rule.cause === 'link' || !rule.failureRates) {
      out.push({ severity: 'warning', code: rule.code, message: `${subject}: ${LINK_CAUSE_ADVICE}`, attribute: rule.key, value: count });
    } else {
      out.push(mediaCounterFinding(rule.code, rule.key, count, subject, rule.failureRates));
    }
  }
  // The maker's own thresholds, as smartctl reports them in WHEN_FAILED.
  for (const a of smart.ataAttributes) {
    const values = `value ${a.value ?? '?'}, threshold ${a.thresh ?? '?'}`;
    const what = `Attribute ${a.id} ${a.name}`;
    if (a.whenFailed === 'now') {
      out.push(
        a.prefailure
          ? { severity: 'failing', code: 'ata-threshold-now', message: `${what} is at or below its maker's failure threshold now (${values}).`, attribute: `ata:${a.id}` }
          : { severity: 'warning', code: 'ata-threshold-now', message: `${what} is at or below its maker's threshold now (${values}); an old-age attribute: worn rather than broken.`, attribute: `ata:${a.id}` },
      );
    } else if (a.whenFailed === 'past') {
      out.push({
        severity: a.prefailure ? 'warning' : 'info',
        code: 'ata-threshold-past',
        message: `${what} was at or below its maker's threshold in the past (worst ${a.worst ?? '?'}, threshold ${a.thresh ?? '?'}).`,
        attribute: `ata:${a.id}`,
      });
    }
  }
  if (smart.ataErrorLogCount) {
    out.push({
      severity: 'info',
      code: 'ata-error-log',
      message: `${plural(smart.ataErrorLogCount, ['error', 'errors'])} in the drive's error log: often rejected commands or link errors; shown, not counted in the verdict.`,
    });
  }
  return out;
}

function nvmeFindings(smart: SmartModel): Finding[] {
  const nvme = smart.nvme;
  if (!nvme) return [];
  const out: Finding[] = [];
  const { availableSpare: spare, availableSpareThreshold: threshold } = nvme;
  const spareRuleApplies = spare !== null && threshold !== null && threshold > 0;
  const cw = nvme.criticalWarning ?? 0;
  for (let bit = 0; bit < 8; bit++) {
    if ((cw & (1 << bit)) === 0) continue;
    const rule = NVME_CRITICAL_WARNING_BITS.find((r) => r.bit === bit);
    if (bit === 0 && spareRuleApplies && spare < threshold) continue; // the spare rule says it with numbers
    out.push({
      severity: rule?.severity ?? 'warning',
      code: rule?.code ?? 'nvme-cw-reserved',
      message: `NVMe critical warning: ${rule?.meaning ?? `reserved bit ${bit} is set`} (bit ${bit}).`,
      attribute: 'nvme:critical_warning',
    });
  }
  if (spareRuleApplies && spare < threshold) {
    out.push({
      severity: NVME_RULES.spareBelowThreshold.severity,
      code: NVME_RULES.spareBelowThreshold.code,
      message: `NVMe available spare ${spare}% is below its threshold ${threshold}%.`,
      attribute: 'nvme:available_spare',
    });
  }
  const media = nvme.mediaErrors;
  if (media !== null && media >= NVME_RULES.mediaErrors.from) {
    out.push({
      severity: NVME_RULES.mediaErrors.severity,
      code: NVME_RULES.mediaErrors.code,
      message: `${plural(media, ['NVMe media error', 'NVMe media errors'])}: data the drive could not recover (uncorrectable ECC, CRC or LBA tag mismatch).`,
      attribute: NVME_RULES.mediaErrors.key,
      value: media,
    });
  }
  if (nvme.errorLogEntries) {
    out.push({
      severity: 'info',
      code: 'nvme-error-log',
      message: `${plural(nvme.errorLogEntries, ['entry', 'entries'])} in the NVMe error log: mostly commands the drive rejected; shown, not counted in the verdict.`,
    });
  }
  return out;
}

function enduranceFindings(smart: SmartModel): Finding[] {
  const used = smart.nvme?.percentageUsed ?? smart.enduranceUsedPercent;
  if (used === null || used < NVME_RULES.enduranceUsed.from) return [];
  const what = smart.device?.interface === 'nvme' ? 'The NVMe drive' : 'The SSD';
  return [
    {
      severity: NVME_RULES.enduranceUsed.severity,
      code: NVME_RULES.enduranceUsed.code,
      message: `${what} has used ${used}% of its rated endurance: it may keep working, but plan to replace it.`,
      attribute: smart.nvme && smart.nvme.percentageUsed !== null ? 'nvme:percentage_used' : 'endurance_used',
    },
  ];
}

function scsiFindings(smart: SmartModel): Finding[] {
  const out: Finding[] = [];
  const defects = smart.scsiGrownDefects;
  if (defects !== null && defects > 0) {
    const rates = ATA_COUNTER_RULES.find((r) => r.id === 5)?.failureRates ?? [];
    const { code, key, noun } = SCSI_RULES.grownDefects;
    out.push(mediaCounterFinding(code, key, defects, `${plural(defects, noun)} (SCSI grown defect list, judged like reallocated sectors)`, rates));
  }
  const e = smart.scsiErrors;
  if (e) {
    const parts = (
      [
        ['read', e.readUncorrected],
        ['write', e.writeUncorrected],
        ['verify', e.verifyUncorrected],
      ] as const
    ).filter((p): p is readonly ['read' | 'write' | 'verify', number] => p[1] !== null && p[1] > 0);
    const total = parts.reduce((sum, [, n]) => sum + n, 0);
    if (total >= SCSI_RULES.uncorrected.from) {
      const list = parts.map(([dir, n]) => plural(n, [`uncorrected ${dir} error`, `uncorrected ${dir} errors`])).join(', ');
      out.push({
        severity: SCSI_RULES.uncorrected.severity,
        code: SCSI_RULES.uncorrected.code,
        message: `${list} (SCSI error counter log): data the drive could not recover.`,
        attribute: 'scsi:uncorrected',
        value: total,
      });
    }
  }
  return out;
}

const plausible = (limit: number | null): limit is number =>
  limit !== null && limit >= PLAUSIBLE_TEMPERATURE_LIMIT.min && limit <= PLAUSIBLE_TEMPERATURE_LIMIT.max;

/** Over the drive's own operating limit, or the default for its kind: a warning (heat is the room's fault, not the disk's). */
function temperatureFindings(smart: SmartModel): Finding[] {
  const { current, warningLimit, criticalLimit } = smart.temperature;
  if (current === null) return [];
  const fallback = TEMPERATURE_LIMITS[smart.mediaKind];
  if (plausible(criticalLimit) && current > criticalLimit) {
    return [{ severity: 'warning', code: 'temperature', message: `Temperature ${current} °C is over the drive's critical limit ${criticalLimit} °C: cool it down now.` }];
  }
  const [limit, what] = plausible(warningLimit) ? [warningLimit, "the drive's own limit"] : [fallback.limit, fallback.what];
  if (current > limit) return [{ severity: 'warning', code: 'temperature', message: `Temperature ${current} °C is over ${limit} °C, ${what}: improve cooling.` }];
  return [];
}

function smartctlNotes(smart: SmartModel): Finding[] {
  return smart.smartctl.messages
    .filter((m) => m.severity === 'warning')
    .map((m) => ({ severity: 'info' as const, code: 'smartctl-message', message: `smartctl says: ${m.text}` }));
}

/**
 * The counters the rules watch, by key (`ata:197`, `nvme:media_errors`, `scsi:grown_defects`…): what
 * the monitor stores per read, and what a later `assess` compares against (`history`). Keys absent
 * from the output are absent here (not 0).
 */
export function healthCounters(smart: SmartModel): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const rule of ATA_COUNTER_RULES) {
    const count = smart.ataAttributes.find((a) => a.id === rule.id)?.rawCount;
    if (count !== undefined && count !== null) counters[rule.key] = count;
  }
  const nvme = smart.nvme;
  if (nvme) {
    const fields = {
      critical_warning: nvme.criticalWarning,
      media_errors: nvme.mediaErrors,
      available_spare: nvme.availableSpare,
      percentage_used: nvme.percentageUsed,
      num_err_log_entries: nvme.errorLogEntries,
    };
    for (const [field, value] of Object.entries(fields)) if (value !== null) counters[`nvme:${field}`] = value;
  }
  if (smart.scsiGrownDefects !== null) counters['scsi:grown_defects'] = smart.scsiGrownDefects;
  const e = smart.scsiErrors;
  if (e && (e.readUncorrected !== null || e.writeUncorrected !== null || e.verifyUncorrected !== null)) {
    counters['scsi:uncorrected'] = (e.readUncorrected ?? 0) + (e.writeUncorrected ?? 0) + (e.verifyUncorrected ?? 0);
  }
  return counters;
}

const timeOf = (at: string | number) => (typeof at === 'number' ? at : Date.parse(at));

function trendFindings(counters: Record<string, number>, history: AssessOptions['history']): Finding[] {
  const snapshots = history ? (Array.isArray(history) ? history : [history as CounterSnapshot]) : [];
  const previous = [...snapshots].sort((a, b) => (timeOf(b.at) || 0) - (timeOf(a.at) || 0))[0];
  if (!previous) return [];
  const out: Finding[] = [];
  for (const [key, label] of Object.entries(TREND_COUNTER_LABELS)) {
    const now = counters[key];
    const before = previous.counters[key];
    if (now === undefined || before === undefined || !(now > before)) continue;
    const day = dayOf(previous.at);
    out.push({
      severity: 'warning',
      code: 'trend',
      message: `${label}: ${now}, was ${before}${day ? ` on ${day}` : ' at the previous read'} (+${now - before}).`,
      attribute: key,
      value: now,
    });
  }
  return out;
}

/**
 * Acknowledged warnings at or below their acknowledged value become `info`; acknowledged trends are
 * dropped. A failing finding is never quieted (an acknowledgement stored before this rule, or one
 * whose count has since become failing, is named in its message).
 */
function applyAcknowledgements(findings: Finding[], acknowledgements: readonly CounterAcknowledgement[]): Finding[] {
  if (!acknowledgements.length) return findings;
  const out: Finding[] = [];
  for (const finding of findings) {
    const ack = finding.value === undefined ? undefined : acknowledgements.find((a) => a.key === finding.attribute);
    if (!ack || finding.value === undefined || finding.severity === 'info') {
      out.push(finding);
      continue;
    }
    const day = dayOf(ack.at);
    if (finding.severity === 'failing') {
      out.push({ ...finding, message: `${finding.message} (Acknowledged at ${ack.value}${day ? ` on ${day}` : ''}, but a failing count is never ignored.)` });
      continue;
    }
    if (finding.value <= ack.value) {
      if (finding.code === 'trend') continue;
      const note = ack.note ? `, "${ack.note}"` : '';
      out.push({
        ...finding,
        severity: 'info',
        code: 'acknowledged',
        message: `Acknowledged${day ? ` on ${day}` : ''} at ${ack.value}${note}: ${finding.message} Ignored until it grows.`,
      });
    } else {
      out.push({ ...finding, message: `${finding.message} (Acknowledged at ${ack.value}${day ? ` on ${day}` : ''}; it has grown since.)` });
    }
  }
  return out;
}

function healthyReason(smart: SmartModel): Reason {
  const checked = [
    smart.passed === true ? "the drive's overall assessment" : null,
    smart.ataAttributes.length ? 'the SMART attributes' : null,
    smart.nvme ? 'the NVMe health log' : null,
    smart.scsiGrownDefects !== null || smart.scsiErrors ? 'the SCSI defect and error counters' : null,
    smart.selfTests.length ? 'the self-test log' : null,
  ].filter((s): s is string => s !== null);
  const list = checked.length > 1 ? `${checked.slice(0, -1).join(', ')} and ${checked.at(-1)}` : (checked[0] ?? 'this output');
  return { severity: 'info', code: 'healthy', message: `No problem found in ${list}.` };
}

const toReason = ({ severity, code, message, attribute }: Finding): Reason => (attribute === undefined ? { severity, code, message } : { severity, code, message, attribute });

/** The verdict on one disk and its reasons (see the module header for the contract). */
export function assess(smart: SmartModel, options: AssessOptions = {}): Assessment {
  const none = nothingToJudge(smart);
  if (none) return { verdict: 'unknown', reasons: [none, ...smartctlNotes(smart).map(toReason)] };

  const findings = applyAcknowledgements(
    [
      ...overallFindings(smart),
      ...selfTestFindings(smart),
      ...ataFindings(smart),
      ...nvmeFindings(smart),
      ...scsiFindings(smart),
      ...enduranceFindings(smart),
      ...temperatureFindings(smart),
      ...trendFindings(healthCounters(smart), options.history),
      ...smartctlNotes(smart),
    ],
    options.acknowledgements ?? [],
  );
  const verdict: Verdict = findings.some((f) => f.severity === 'failing') ? 'failing' : findings.some((f) => f.severity === 'warning') ? 'warning' : 'healthy';
  const reasons = findings.map(toReason);
  if (verdict === 'healthy') reasons.push(healthyReason(smart));
  reasons.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return { verdict, reasons };
}
