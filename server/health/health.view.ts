/**
 * What the API and the admin page see of disk health and alerts (docs/api.md). Types only, free of
 * node modules: the page imports them.
 */
import type { Reason, Verdict } from './health.model.js';
import type { AtaAttribute, NvmeHealth, SelfTestEntry } from './smart.model.js';

/** How the last SMART read went. */
export type ReadState = 'read' | 'asleep' | 'no-smart' | 'error';

/** The part of a drive's health shown wherever the drive is (cards, lists, the command line). */
export interface DriveHealthSummary {
  verdict: Verdict;
  /** The most important reason, in words ("7 sectors pending reallocation (attribute 197)"). */
  headline: string;
  state: ReadState;
  /** When the last read was taken (a sleeping disk's read says so, with the time). */
  readAt: string;
  temperatureC: number | null;
  /** A self-test running now, or null. */
  selfTest: { kind: 'short' | 'long'; remainingPercent: number | null } | null;
}

export interface AttributeView extends AtaAttribute {
  /** A rule looks at this attribute (Backblaze's five, 188, 199, temperature…). */
  watched: boolean;
  /** Acknowledged by the owner at this value, or null. */
  acknowledgedValue: number | null;
}

export interface AcknowledgementView {
  key: string;
  value: number;
  note: string | null;
  at: string;
}

export interface TemperaturePoint {
  at: string;
  temperatureC: number;
}

/** "What to do now" on the page of a disk with a warning or failing verdict. */
export interface HealthAdvice {
  /** The steps of the alert mail for this verdict and these reasons (alert-mail.ts `healthSteps`), in order. */
  steps: string[];
  /** What is on the disk, from its role: "the operating system and Safehold's catalog", "backups (rotation drive A)"… */
  holds: string;
  /** Whether what matters is backed up: the overview's "Am I protected?" answer, in a sentence. */
  backedUp: string;
}

/** `GET /drives/:id/health`: for a disk that is connected, or one that is away (its last read). */
export interface DriveHealthView {
  driveId: string;
  /** Plugged in now; when not, the page shows its last read and when it was last seen. */
  connected: boolean;
  /** When the inventory last saw the disk (now, for a connected disk). */
  lastSeenAt: string;
  /** Null while the disk is healthy, unknown or not read yet. */
  advice: HealthAdvice | null;
  summary: DriveHealthSummary | null;
  /** Most severe first; empty before the first read. */
  reasons: Reason[];
  device: { model: string | null; serial: string | null; interface: string; deviceType: string | null; firmware: string | null } | null;
  powerOnHours: number | null;
  temperature: { currentC: number | null; limitC: number; criticalC: number | null };
  attributes: AttributeView[];
  nvme: NvmeHealth | null;
  scsi: { grownDefects: number | null; uncorrected: number | null } | null;
  selfTests: SelfTestEntry[];
  /** Up to 30 days, oldest first (compacted history: one point a day beyond that). */
  temperatureHistory: TemperaturePoint[];
  acknowledgements: AcknowledgementView[];
  /** Can SMART be read at all (smartctl installed, the disk answers)? When not, why. */
  unavailableReason: string | null;
}

/** `GET|PUT /settings/health`: cron expressions, the box's local time. */
export interface HealthSettings {
  /** Read every disk's SMART. Default every 30 minutes. */
  pollSchedule: string;
  /** Start a short self-test, disks staggered. Default weekly. */
  shortTestSchedule: string;
  /** Start a long self-test, disks staggered. Default monthly. */
  longTestSchedule: string;
}

export type SmtpSecurityView = 'none' | 'starttls' | 'tls';

/** `GET /settings/alerts` (the password is never returned: only whether one is set). */
export interface AlertSettingsView {
  enabled: boolean;
  smtp: { host: string; port: number; security: SmtpSecurityView; user: string | null; passwordSet: boolean; from: string; to: string[] };
  /** A daily digest of what happened, besides the alerts themselves. */
  digest: { enabled: boolean; hour: number };
}

/** `PUT /settings/alerts`: `password` absent keeps the stored one, `null` removes it. */
export interface AlertSettingsInput {
  enabled: boolean;
  smtp: { host: string; port: number; security: SmtpSecurityView; user: string | null; password?: string | null; from: string; to: string[] };
  digest: { enabled: boolean; hour: number };
}

/** A problem going on now (what the dashboard lists): one per alert key. */
export interface OpenAlert {
  key: string;
  driveId: string | null;
  /** `failing`, `warning`, `missing`, `too-hot`, `self-test-failed`… */
  state: string;
  severity: 'warning' | 'error';
  message: string;
  since: string;
}
