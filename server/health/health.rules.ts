/**
 * The health rules as data: per interface (ATA, NVMe, SCSI), each with its threshold, its severity
 * and its source. assess.ts evaluates these tables with small pure functions; changing a threshold
 * is a change here and in docs/health.md, nowhere else.
 *
 * Severity from failure rates: for the counters Backblaze watches, the table holds the annual failure
 * rate (AFR) Backblaze's fleet showed for each range of raw values (the ranges and rates Scrutiny
 * derived from Backblaze's public drive data, rounded, rewritten as "from this count on"). A non-zero
 * count is a warning; it is failing from the first range whose rate reaches `FAILING_ANNUAL_FAILURE_RATE`
 * (and every larger count stays failing: the data are noisy at the top, a larger count is never milder).
 */
import type { MediaKind, Severity } from './health.model.js';

export interface RuleSource {
  name: string;
  url: string;
}

export const SOURCES = {
  backblaze: {
    name: 'Backblaze, "What SMART Stats Tell Us About Hard Drives" (2016) and its public drive stats',
    url: 'https://www.backblaze.com/blog/what-smart-stats-indicate-hard-drive-failures/',
  },
  scrutiny: {
    name: 'Scrutiny, failure-rate buckets derived from Backblaze data (webapp/backend/pkg/thresholds)',
    url: 'https://github.com/AnalogJ/scrutiny',
  },
  smartctl: { name: 'smartctl(8) and smartd.conf(5), smartmontools 7', url: 'https://www.smartmontools.org/browser/trunk/smartmontools/smartctl.8.in' },
  nvme: { name: 'NVM Express Base Specification 2.0, SMART / Health Information log page (Log Identifier 02h)', url: 'https://nvmexpress.org/specifications/' },
  scsi: { name: 'SCSI Primary Commands (SPC-4) log pages, as smartctl reports them', url: 'https://www.t10.org/' },
  vendors: { name: 'Drive makers\' data sheets (operating temperature ranges)', url: 'https://www.smartmontools.org/wiki/FAQ' },
} as const satisfies Record<string, RuleSource>;

/**
 * From this annual failure rate on (0.30 = 30% a year, more than ten times the ~2.5% of disks whose
 * count is zero), a counter means failing rather than warning.
 */
export const FAILING_ANNUAL_FAILURE_RATE = 0.3;

/** One range of raw counts and the annual failure rate Backblaze observed from `from` up to the next range. */
export interface FailureRateBucket {
  from: number;
  afr: number;
}

/** `media`: bad sectors or unreadable data, the disk itself. `link`: the path to the disk (cable, power, enclosure). */
export type CounterCause = 'media' | 'link';

export interface AtaCounterRule {
  id: number;
  key: string;
  code: string;
  /** Singular and plural noun for the count: "sector pending reallocation". */
  noun: [string, string];
  /** What a person calls the counter in a trend line: "Pending sectors". */
  label: string;
  cause: CounterCause;
  /** Severity from failure rates; absent for `link` counters (always a warning, never failing). */
  failureRates?: FailureRateBucket[];
  /** A growth between two reads is reported as a trend (bad-sector counters). */
  trend: boolean;
  sources: RuleSource[];
}

/** Backblaze's five (5, 187, 188, 197, 198) and UDMA CRC (199). */
export const ATA_COUNTER_RULES: readonly AtaCounterRule[] = [
  {
    id: 5,
    key: 'ata:5',
    code: 'ata-reallocated',
    noun: ['reallocated sector', 'reallocated sectors'],
    label: 'Reallocated sectors',
    cause: 'media',
    failureRates: [
      { from: 0, afr: 0.025 },
      { from: 1, afr: 0.027 },
      { from: 5, afr: 0.075 },
      { from: 17, afr: 0.236 },
      { from: 71, afr: 0.362 },
      { from: 261, afr: 0.568 },
      { from: 1101, afr: 1.5 },
    ],
    trend: true,
    sources: [SOURCES.backblaze, SOURCES.scrutiny],
  },
  {
    id: 187,
    key: 'ata:187',
    code: 'ata-reported-uncorrectable',
    noun: ['reported uncorrectable error', 'reported uncorrectable errors'],
    label: 'Reported uncorrectable errors',
    cause: 'media',
    failureRates: [
      { from: 0, afr: 0.028 },
      { from: 1, afr: 0.339 },
      { from: 2, afr: 0.241 },
      { from: 4, afr: 0.501 },
      { from: 7, afr: 0.38 },
      { from: 12, afr: 0.535 },
      { from: 21, afr: 0.843 },
      { from: 36, afr: 1.443 },
      { from: 66, afr: 1.619 },
    ],
    trend: false,
    sources: [SOURCES.backblaze, SOURCES.scrutiny],
  },
  {
    id: 188,
    key: 'ata:188',
    code: 'ata-command-timeout',
    noun: ['command timeout', 'command timeouts'],
    label: 'Command timeouts',
    cause: 'link',
    trend: false,
    sources: [SOURCES.backblaze, SOURCES.scrutiny],
  },
  {
    id: 197,
    key: 'ata:197',
    code: 'ata-pending',
    noun: ['sector pending reallocation', 'sectors pending reallocation'],
    label: 'Pending sectors',
    cause: 'media',
    failureRates: [
      { from: 0, afr: 0.026 },
      { from: 1, afr: 0.342 },
      { from: 3, afr: 0.682 },
      { from: 7, afr: 0.611 },
      { from: 17, afr: 0.956 },
      { from: 41, afr: 1.652 },
      { from: 101, afr: 2.514 },
    ],
    trend: true,
    sources: [SOURCES.backblaze, SOURCES.scrutiny],
  },
  {
    id: 198,
    key: 'ata:198',
    code: 'ata-offline-uncorrectable',
    noun: ['offline uncorrectable sector', 'offline uncorrectable sectors'],
    label: 'Offline uncorrectable sectors',
    cause: 'media',
    failureRates: [
      { from: 0, afr: 0.029 },
      { from: 1, afr: 0.814 },
      { from: 3, afr: 1.117 },
      { from: 5, afr: 1.356 },
      { from: 7, afr: 0.732 },
      { from: 9, afr: 0.578 },
      { from: 11, afr: 1.746 },
    ],
    trend: true,
    sources: [SOURCES.backblaze, SOURCES.scrutiny],
  },
  {
    id: 199,
    key: 'ata:199',
    code: 'ata-crc',
    noun: ['interface CRC error', 'interface CRC errors'],
    label: 'Interface CRC errors',
    cause: 'link',
    trend: false,
    sources: [SOURCES.smartctl, SOURCES.scrutiny],
  },
];

/** What a `link` counter usually means, appended to its reason. */
export const LINK_CAUSE_ADVICE = 'usually a cable or enclosure, not the disk';

/** One bit of the NVMe critical warning byte. */
export interface NvmeCriticalWarningBit {
  bit: number;
  code: string;
  severity: Exclude<Severity, 'info' | 'unknown'>;
  /** Completes "NVMe critical warning: …". */
  meaning: string;
}

/** NVMe Base Specification, SMART / Health Information log, byte 0 "Critical Warning". */
export const NVME_CRITICAL_WARNING_BITS: readonly NvmeCriticalWarningBit[] = [
  { bit: 0, code: 'nvme-cw-spare', severity: 'failing', meaning: 'the available spare is below its threshold' },
  { bit: 1, code: 'nvme-cw-temperature', severity: 'warning', meaning: 'the temperature is outside its limits' },
  { bit: 2, code: 'nvme-cw-reliability', severity: 'failing', meaning: 'reliability is degraded by media or internal errors' },
  { bit: 3, code: 'nvme-cw-read-only', severity: 'failing', meaning: 'the media has been placed in read-only mode' },
  { bit: 4, code: 'nvme-cw-volatile-backup', severity: 'warning', meaning: 'the volatile memory backup (power-loss protection) has failed' },
  { bit: 5, code: 'nvme-cw-pmr', severity: 'warning', meaning: 'the persistent memory region has become read-only or unreliable' },
];

export const NVME_RULES = {
  /** available_spare < available_spare_threshold (a threshold of 0 means the drive sets none). */
  spareBelowThreshold: { code: 'nvme-spare', severity: 'failing', sources: [SOURCES.nvme] },
  /** media_errors ≥ 1: unrecovered data integrity errors. No public failure rates exist for NVMe: a warning. */
  mediaErrors: { code: 'nvme-media-errors', key: 'nvme:media_errors', from: 1, severity: 'warning', sources: [SOURCES.nvme, SOURCES.scrutiny] },
  /** percentage_used ≥ 100: the rated endurance is used up (the drive may go on working). */
  enduranceUsed: { code: 'endurance', from: 100, severity: 'warning', sources: [SOURCES.nvme] },
} as const;

export const SCSI_RULES = {
  /** The grown defect list is the SCSI analogue of ATA attribute 5; severity borrows attribute 5's failure rates. */
  grownDefects: { code: 'scsi-grown-defects', key: 'scsi:grown_defects', noun: ['grown defect', 'grown defects'], sources: [SOURCES.scsi, SOURCES.scrutiny, SOURCES.backblaze] },
  /** total_uncorrected_errors per direction ≥ 1: a warning (no public failure rates for SAS). */
  uncorrected: { code: 'scsi-uncorrected', from: 1, severity: 'warning', sources: [SOURCES.scsi, SOURCES.scrutiny] },
} as const;

/** Default operating limit per kind of disk, used when the drive reports none (or an implausible one). */
export const TEMPERATURE_LIMITS: Readonly<Record<MediaKind, { limit: number; what: string }>> = {
  hdd: { limit: 60, what: 'the usual limit for a hard disk' },
  ssd: { limit: 70, what: 'the usual limit for an SSD' },
  nvme: { limit: 70, what: 'the usual limit for an NVMe drive' },
  // Rotation not reported: judge it like a hard disk, the stricter of the two.
  unknown: { limit: 60, what: 'the usual limit for a hard disk' },
};

/** A drive's own limit is believed only inside this range (°C); outside it, the default applies. */
export const PLAUSIBLE_TEMPERATURE_LIMIT = { min: 40, max: 95 } as const;

/** Bad-sector counters compared between reads (trend). ATA ones come from `ATA_COUNTER_RULES` (`trend: true`). */
export const TREND_COUNTER_LABELS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(ATA_COUNTER_RULES.filter((r) => r.trend).map((r) => [r.key, r.label])),
  'nvme:media_errors': 'NVMe media errors',
  'scsi:grown_defects': 'Grown defects',
};
