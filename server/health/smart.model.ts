/**
 * smartctl's JSON (`smartctl --json`, smartmontools 6.7 to 7.5) turned into a typed model: the one
 * place that knows smartctl's key names. The health rules (assess.ts) read only this model.
 *
 * Contract:
 * - `toSmartModel(json)` takes whatever was parsed (from a file, from the adapter's `raw`) and never
 *   throws: every field is optional in the input, a field of the wrong type is ignored (it reads as
 *   null or an empty list), and sources that trimmed keys give a model with less in it.
 * - `parseSmartJson(text)` is for text from outside (a file, stdin): it throws `InvalidInputError`
 *   with a sentence a person understands when the text is not JSON, or is JSON that smartctl did not
 *   write. Output that smartctl wrote but that holds no disk data (a scan, an open error) is valid.
 */
import { InvalidInputError } from '../errors.js';
import { decodeExitStatus, type DecodedExitStatus } from '../../system/smart/exit-status.js';
import type { DiskInterface, MediaKind } from './health.model.js';

/** What the output is: one disk's data, a device list (`--scan`, `--scan-open`), or neither. */
export type SmartOutputKind = 'device' | 'scan' | 'empty';

export interface SmartctlRun {
  /** smartctl's exit status; null when the source trimmed the `smartctl` block. */
  exitStatus: number | null;
  exit: DecodedExitStatus | null;
  /** smartctl's own messages, e.g. "Smartctl open device: /dev/nvme0 failed: Permission denied". */
  messages: { text: string; severity: string }[];
  /** "7.3" */
  version: string | null;
}

export interface SmartDevice {
  /** `/dev/sda` */
  name: string | null;
  /** smartctl's `-d` type: `sat`, `nvme`, `scsi`, `usbjmicron`, `sat+megaraid,0`… */
  type: string | null;
  /** `ATA`, `NVMe`, `SCSI` */
  protocol: string | null;
  interface: DiskInterface;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  capacityBytes: number | null;
}

export interface AtaAttribute {
  id: number;
  name: string;
  /** Normalized value (vendor scale, usually 100 or 200 = new). */
  value: number | null;
  worst: number | null;
  thresh: number | null;
  /** smartctl's raw number (may pack several fields: prefer `rawCount` for counters). */
  raw: number | null;
  /** smartctl's rendering of the raw value: "108", "36 (Min/Max 0/48)", "0 0 1". */
  rawString: string | null;
  /** The counter a person means by "raw": the leading number of `rawString` (see `rawCountOf`). */
  rawCount: number | null;
  /** Pre-failure attribute (its threshold predicts failure) rather than an old-age/usage one. */
  prefailure: boolean;
  /** smartctl's WHEN_FAILED: 'now', 'past' or '' (never). */
  whenFailed: string;
}

export type SelfTestLog = 'ata-standard' | 'ata-extended' | 'nvme' | 'scsi';
export type SelfTestKind = 'short' | 'extended' | 'conveyance' | 'selective' | 'offline' | 'other';
/** `failed`: the test completed and found an error; `aborted`: stopped before the end (by the host, a reset…). */
export type SelfTestOutcome = 'passed' | 'failed' | 'aborted' | 'in-progress' | 'other';

export interface SelfTestEntry {
  log: SelfTestLog;
  kind: SelfTestKind;
  /** smartctl's words: "Extended offline", "Background long". */
  type: string;
  outcome: SelfTestOutcome;
  /** smartctl's words: "Completed: read failure". */
  status: string;
  /** The disk's power-on hours when the test ran. */
  lifetimeHours: number | null;
  /** First failing LBA, when the disk reported one. */
  lba: number | null;
}

export interface NvmeHealth {
  /** The critical warning byte (NVMe spec, SMART / Health Information log, byte 0); each bit a warning. */
  criticalWarning: number | null;
  temperature: number | null;
  /** Percent of spare capacity left, 0-100. */
  availableSpare: number | null;
  /** Below this the drive raises critical warning bit 0; 0 means the drive has no threshold. */
  availableSpareThreshold: number | null;
  /** Vendor estimate of life used, percent; may exceed 100 (255 = 255 or more). */
  percentageUsed: number | null;
  /** Unrecovered data integrity errors (uncorrectable ECC, CRC, LBA tag mismatch). */
  mediaErrors: number | null;
  /** Entries in the error information log over the controller's life (mostly rejected commands). */
  errorLogEntries: number | null;
  powerOnHours: number | null;
  powerCycles: number | null;
  unsafeShutdowns: number | null;
  /** 1000 × 512-byte units. */
  dataUnitsWritten: number | null;
  warningTempMinutes: number | null;
  criticalTempMinutes: number | null;
}

export interface ScsiErrorCounters {
  /** `total_uncorrected_errors` per direction; null where the log has no such direction. */
  readUncorrected: number | null;
  writeUncorrected: number | null;
  verifyUncorrected: number | null;
}

export interface SmartTemperature {
  /** Degrees Celsius now; null when not reported or reported as 0 (no sensor). */
  current: number | null;
  /** The drive's own operating (warning) limit: ATA SCT op_limit_max, NVMe WCTEMP. */
  warningLimit: number | null;
  /** The drive's own critical limit: ATA SCT limit_max, NVMe CCTEMP, SCSI drive trip. */
  criticalLimit: number | null;
}

export interface ScannedDevice {
  name: string;
  type: string | null;
  openError: string | null;
}

export interface SmartModel {
  kind: SmartOutputKind;
  smartctl: SmartctlRun;
  device: SmartDevice | null;
  /** `smart_support`: null where not reported. */
  smartAvailable: boolean | null;
  smartEnabled: boolean | null;
  /** The drive's own overall assessment (`smart_status.passed`); null where not read. */
  passed: boolean | null;
  /** 0 for an SSD, spindle rpm for a hard disk; null when not reported. */
  rotationRate: number | null;
  mediaKind: MediaKind;
  powerOnHours: number | null;
  temperature: SmartTemperature;
  ataAttributes: AtaAttribute[];
  /** Entries in the ATA error log (`ata_smart_error_log` count); null where not read. */
  ataErrorLogCount: number | null;
  /** Every self-test log entry read, each log newest first as smartctl lists them. */
  selfTests: SelfTestEntry[];
  /** A self-test running now, with the percent left when known. */
  selfTestRunning: { remainingPercent: number | null } | null;
  nvme: NvmeHealth | null;
  scsiGrownDefects: number | null;
  scsiErrors: ScsiErrorCounters | null;
  /** Rated endurance used, percent (ATA device statistics / SCSI, smartctl `endurance_used`). */
  enduranceUsedPercent: number | null;
  /** Devices of a `--scan` / `--scan-open` output; empty otherwise. */
  scanDevices: ScannedDevice[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const get = (value: unknown, ...path: string[]): unknown => {
  let at = value;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
};
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Keys smartctl writes at the top level; an object with none of them is not smartctl output. */
const SMARTCTL_KEYS = [
  'smartctl',
  'json_format_version',
  'device',
  'devices',
  'smart_status',
  'smart_support',
  'ata_smart_attributes',
  'nvme_smart_health_information_log',
  'scsi_grown_defect_list',
  'scsi_error_counter_log',
  'model_name',
  'serial_number',
];

/** Whether `json` looks like something smartctl wrote (an object with at least one of its keys). */
export function isSmartctlOutput(json: unknown): boolean {
  return isObject(json) && SMARTCTL_KEYS.some((key) => key in json);
}

/**
 * Parses text that should be smartctl's JSON. Throws `InvalidInputError` when it is empty, not JSON,
 * or JSON that smartctl did not write; otherwise returns the model (which may hold no disk data).
 */
export function parseSmartJson(text: string): SmartModel {
  if (text.trim() === '') throw new InvalidInputError('The input is empty: expected the JSON output of "smartctl --json -x /dev/DISK".');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? ` (${error.message.replace(/\s+/g, ' ')})` : '';
    throw new InvalidInputError(
      `This is not smartctl JSON: the text is not valid JSON${detail}. Save the output of "smartctl --json -x /dev/DISK" and try again.`,
      [],
      { cause: error },
    );
  }
  if (!isSmartctlOutput(json)) {
    throw new InvalidInputError(
      'This is JSON, but not smartctl output: none of the keys smartctl writes (smartctl, device, smart_status, ata_smart_attributes…) is there. Save the output of "smartctl --json -x /dev/DISK" and try again.',
    );
  }
  return toSmartModel(json);
}

const interfaceOf = (protocol: string | null, type: string | null): DiskInterface => {
  const p = protocol?.toLowerCase();
  if (p === 'ata') return 'ata';
  if (p === 'nvme') return 'nvme';
  if (p === 'scsi') return 'scsi';
  const t = type?.toLowerCase() ?? '';
  if (t.startsWith('nvme') || t.startsWith('snt')) return 'nvme';
  if (t.startsWith('sat') || t === 'ata' || t.startsWith('usb') || t === 'atacam' || t.includes('sat')) return 'ata';
  if (t.startsWith('scsi')) return 'scsi';
  return 'unknown';
};

/**
 * The counter in an ATA raw value, as a person reads smartctl's RAW_VALUE column: the whole string
 * when it is a number ("108"); the first number when smartctl adds details ("36 (Min/Max 0/48)",
 * "2111 (12437 0)"); the largest of three 16-bit fields ("0 0 1", Seagate's command-timeout buckets,
 * where smartctl's packed `raw.value` would read 1 as 4 294 967 296 × …). Falls back to `raw.value`.
 */
export function rawCountOf(rawString: string | null, rawValue: number | null): number | null {
  if (rawString) {
    if (/^\d+$/.test(rawString)) return Number(rawString);
    const fields = /^(\d+) (\d+) (\d+)$/.exec(rawString);
    if (fields) return Math.max(Number(fields[1]), Number(fields[2]), Number(fields[3]));
    const leading = /^(\d+)\b/.exec(rawString);
    if (leading) return Number(leading[1]);
  }
  return rawValue;
}

function ataAttributesOf(json: Json): AtaAttribute[] {
  const out: AtaAttribute[] = [];
  for (const row of list(get(json, 'ata_smart_attributes', 'table'))) {
    const id = num(get(row, 'id'));
    if (id === null) continue;
    const raw = num(get(row, 'raw', 'value'));
    const rawString = str(get(row, 'raw', 'string'));
    out.push({
      id,
      name: str(get(row, 'name')) ?? `Attribute ${id}`,
      value: num(get(row, 'value')),
      worst: num(get(row, 'worst')),
      thresh: num(get(row, 'thresh')),
      raw,
      rawString,
      rawCount: rawCountOf(rawString, raw),
      prefailure: bool(get(row, 'flags', 'prefailure')) ?? false,
      whenFailed: str(get(row, 'when_failed'))?.toLowerCase() ?? '',
    });
  }
  return out;
}

const kindOfTestName = (name: string): SelfTestKind => {
  const n = name.toLowerCase();
  if (n.includes('short')) return 'short';
  if (n.includes('extended') || n.includes('long')) return 'extended';
  if (n.includes('conveyance')) return 'conveyance';
  if (n.includes('selective')) return 'selective';
  if (n.includes('offline')) return 'offline';
  return 'other';
};

/**
 * ATA self-test status byte (ATA8-ACS, smartctl's "Status" column): the high nibble is the result.
 * 0 passed; 1 aborted by host; 2 interrupted by reset; 3-8 a failure (fatal, unknown, electrical,
 * servo/seek, read, handling damage); 15 in progress.
 */
const ataOutcome = (passed: boolean | null, value: number | null): SelfTestOutcome => {
  if (passed === true) return 'passed';
  if (passed === false) return 'failed';
  if (value === null) return 'other';
  const result = value >> 4;
  if (result === 0) return 'passed';
  if (result === 1 || result === 2) return 'aborted';
  if (result >= 3 && result <= 8) return 'failed';
  if (result === 15) return 'in-progress';
  return 'other';
};

function ataSelfTestsOf(json: Json): SelfTestEntry[] {
  const out: SelfTestEntry[] = [];
  for (const [key, log] of [
    ['extended', 'ata-extended'],
    ['standard', 'ata-standard'],
  ] as const) {
    for (const row of list(get(json, 'ata_smart_self_test_log', key, 'table'))) {
      const type = str(get(row, 'type', 'string')) ?? 'Self-test';
      out.push({
        log,
        kind: kindOfTestName(type),
        type,
        outcome: ataOutcome(bool(get(row, 'status', 'passed')), num(get(row, 'status', 'value'))),
        status: str(get(row, 'status', 'string')) ?? '',
        lifetimeHours: num(get(row, 'lifetime_hours')),
        lba: num(get(row, 'lba')),
      });
    }
  }
  return out;
}

/**
 * NVMe self-test result (NVMe base spec, Device Self-test log, status bits 3:0): 0 passed; 1-4, 8, 9
 * aborted; 5 fatal error, 6 failed segment unknown, 7 failed segments: failed; 15 unused entry.
 */
const nvmeOutcome = (passed: boolean | null, value: number | null): SelfTestOutcome => {
  if (passed === true) return 'passed';
  if (passed === false) return 'failed';
  if (value === 0) return 'passed';
  if (value === 5 || value === 6 || value === 7) return 'failed';
  if (value !== null && [1, 2, 3, 4, 8, 9].includes(value)) return 'aborted';
  return 'other';
};

function nvmeSelfTestsOf(json: Json): SelfTestEntry[] {
  const out: SelfTestEntry[] = [];
  for (const row of list(get(json, 'nvme_self_test_log', 'table'))) {
    const code = num(get(row, 'self_test_code', 'value'));
    const type = str(get(row, 'self_test_code', 'string')) ?? (code === 1 ? 'Short' : code === 2 ? 'Extended' : 'Self-test');
    const outcome = nvmeOutcome(bool(get(row, 'passed')) ?? bool(get(row, 'self_test_result', 'passed')), num(get(row, 'self_test_result', 'value')));
    if (outcome === 'other' && num(get(row, 'self_test_result', 'value')) === 15) continue;
    out.push({
      log: 'nvme',
      kind: code === 1 ? 'short' : code === 2 ? 'extended' : kindOfTestName(type),
      type,
      outcome,
      status: str(get(row, 'self_test_result', 'string')) ?? '',
      lifetimeHours: num(get(row, 'power_on_hours')),
      lba: num(get(row, 'lba')),
    });
  }
  return out;
}

/**
 * SCSI self-test result (SPC, Self-Test Results log page): 0 completed; 1, 2 aborted; 3-7 failed
 * (unknown error, failed in a segment); 15 in progress. smartctl writes `scsi_self_test_0`, `_1`…
 */
const scsiOutcome = (value: number | null): SelfTestOutcome => {
  if (value === 0) return 'passed';
  if (value === 1 || value === 2) return 'aborted';
  if (value !== null && value >= 3 && value <= 7) return 'failed';
  if (value === 15) return 'in-progress';
  return 'other';
};

function scsiSelfTestsOf(json: Json): SelfTestEntry[] {
  const out: SelfTestEntry[] = [];
  for (let i = 0; i < 20; i++) {
    const row = json[`scsi_self_test_${i}`];
    if (!isObject(row)) continue;
    const type = str(get(row, 'code', 'string')) ?? 'Self-test';
    out.push({
      log: 'scsi',
      kind: kindOfTestName(type),
      type,
      outcome: scsiOutcome(num(get(row, 'result', 'value'))),
      status: str(get(row, 'result', 'string')) ?? '',
      lifetimeHours: num(get(row, 'power_on_time', 'hours')),
      lba: num(get(row, 'failed_lba')) ?? num(get(row, 'lba_first_failure')),
    });
  }
  return out;
}

function selfTestRunningOf(json: Json): SmartModel['selfTestRunning'] {
  const ata = num(get(json, 'ata_smart_data', 'self_test', 'status', 'value'));
  if (ata !== null && ata >> 4 === 15) {
    return { remainingPercent: num(get(json, 'ata_smart_data', 'self_test', 'status', 'remaining_percent')) ?? (ata & 0x0f) * 10 };
  }
  const nvme = num(get(json, 'nvme_self_test_log', 'current_self_test_operation', 'value'));
  if (nvme !== null && nvme !== 0) {
    const done = num(get(json, 'nvme_self_test_log', 'current_self_test_completion_percent'));
    return { remainingPercent: done === null ? null : 100 - done };
  }
  return null;
}

function nvmeHealthOf(json: Json): NvmeHealth | null {
  const log = get(json, 'nvme_smart_health_information_log');
  if (!isObject(log)) return null;
  return {
    criticalWarning: num(log.critical_warning),
    temperature: num(log.temperature),
    availableSpare: num(log.available_spare),
    availableSpareThreshold: num(log.available_spare_threshold),
    percentageUsed: num(log.percentage_used),
    mediaErrors: num(log.media_errors),
    errorLogEntries: num(log.num_err_log_entries),
    powerOnHours: num(log.power_on_hours),
    powerCycles: num(log.power_cycles),
    unsafeShutdowns: num(log.unsafe_shutdowns),
    dataUnitsWritten: num(log.data_units_written),
    warningTempMinutes: num(log.warning_temp_time),
    criticalTempMinutes: num(log.critical_comp_time),
  };
}

function scsiErrorsOf(json: Json): ScsiErrorCounters | null {
  const log = get(json, 'scsi_error_counter_log');
  if (!isObject(log)) return null;
  return {
    readUncorrected: num(get(log, 'read', 'total_uncorrected_errors')),
    writeUncorrected: num(get(log, 'write', 'total_uncorrected_errors')),
    verifyUncorrected: num(get(log, 'verify', 'total_uncorrected_errors')),
  };
}

const positive = (value: number | null) => (value !== null && value > 0 ? value : null);

function temperatureOf(json: Json, attributes: AtaAttribute[], nvme: NvmeHealth | null): SmartTemperature {
  const t = get(json, 'temperature');
  const attr194 = attributes.find((a) => a.id === 194)?.rawCount ?? null;
  return {
    current: positive(num(get(t, 'current'))) ?? positive(nvme?.temperature ?? null) ?? positive(attr194),
    warningLimit: positive(num(get(json, 'nvme_composite_temperature_threshold', 'warning'))) ?? positive(num(get(t, 'op_limit_max'))),
    criticalLimit:
      positive(num(get(json, 'nvme_composite_temperature_threshold', 'critical'))) ??
      positive(num(get(t, 'critical_limit_max'))) ??
      positive(num(get(t, 'limit_max'))) ??
      positive(num(get(t, 'drive_trip'))) ??
      positive(num(get(json, 'scsi_temperature', 'drive_trip'))),
  };
}

function modelNameOf(json: Json): string | null {
  const joined = [str(json.scsi_vendor) ?? str(json.vendor), str(json.scsi_product) ?? str(json.product)].filter(Boolean).join(' ');
  return str(json.model_name) ?? str(json.scsi_model_name) ?? (joined || null);
}

const EMPTY_RUN: SmartctlRun = { exitStatus: null, exit: null, messages: [], version: null };

/** The model of any value: never throws (see the module header). */
export function toSmartModel(json: unknown): SmartModel {
  const root: Json = isObject(json) ? json : {};
  const exitStatus = num(get(root, 'smartctl', 'exit_status'));
  const version = list(get(root, 'smartctl', 'version')).filter((v) => typeof v === 'number');
  const smartctl: SmartctlRun = isObject(root.smartctl)
    ? {
        exitStatus,
        exit: exitStatus === null ? null : decodeExitStatus(exitStatus),
        messages: list(get(root, 'smartctl', 'messages')).flatMap((m) => {
          const text = str(get(m, 'string'));
          return text ? [{ text, severity: str(get(m, 'severity')) ?? 'information' }] : [];
        }),
        version: version.length ? version.join('.') : null,
      }
    : EMPTY_RUN;

  const scanDevices: ScannedDevice[] = list(root.devices).flatMap((d) => {
    const name = str(get(d, 'name'));
    return name ? [{ name, type: str(get(d, 'type')), openError: str(get(d, 'open_error')) }] : [];
  });

  const ataAttributes = ataAttributesOf(root);
  const nvme = nvmeHealthOf(root);
  const rawDevice = isObject(root.device) ? root.device : null;
  const type = str(get(rawDevice, 'type'));
  const protocol = str(get(rawDevice, 'protocol'));
  let iface = interfaceOf(protocol, type);
  if (iface === 'unknown') {
    if (nvme) iface = 'nvme';
    else if (ataAttributes.length) iface = 'ata';
    else if ('scsi_grown_defect_list' in root || 'scsi_error_counter_log' in root) iface = 'scsi';
  }
  const model = modelNameOf(root);
  const serial = str(root.serial_number);
  const device: SmartDevice | null =
    rawDevice || model || serial || iface !== 'unknown'
      ? {
          name: str(get(rawDevice, 'name')),
          type,
          protocol,
          interface: iface,
          model,
          serial,
          firmware: str(root.firmware_version) ?? str(root.scsi_revision) ?? str(root.revision),
          capacityBytes: num(get(root, 'user_capacity', 'bytes')),
        }
      : null;

  const rotationRate = num(root.rotation_rate);
  const mediaKind: MediaKind = iface === 'nvme' ? 'nvme' : rotationRate === null ? 'unknown' : rotationRate === 0 ? 'ssd' : 'hdd';
  const attr9 = ataAttributes.find((a) => a.id === 9)?.rawCount ?? null;

  return {
    kind: device ? 'device' : scanDevices.length || Array.isArray(root.devices) ? 'scan' : 'empty',
    smartctl,
    device,
    smartAvailable: bool(get(root, 'smart_support', 'available')),
    smartEnabled: bool(get(root, 'smart_support', 'enabled')),
    passed: bool(get(root, 'smart_status', 'passed')),
    rotationRate,
    mediaKind,
    powerOnHours: num(get(root, 'power_on_time', 'hours')) ?? nvme?.powerOnHours ?? attr9,
    temperature: temperatureOf(root, ataAttributes, nvme),
    ataAttributes,
    ataErrorLogCount: num(get(root, 'ata_smart_error_log', 'extended', 'count')) ?? num(get(root, 'ata_smart_error_log', 'summary', 'count')),
    selfTests: [...ataSelfTestsOf(root), ...nvmeSelfTestsOf(root), ...scsiSelfTestsOf(root)],
    selfTestRunning: selfTestRunningOf(root),
    nvme,
    scsiGrownDefects: num(root.scsi_grown_defect_list),
    scsiErrors: scsiErrorsOf(root),
    enduranceUsedPercent: num(get(root, 'endurance_used', 'current_percent')),
    scanDevices,
  };
}

/**
 * Whether the model holds anything the health rules can judge: the overall assessment, ATA
 * attributes, the NVMe health log, SCSI defect or error counters, or a self-test log entry.
 * Identity alone (`smartctl --info`) and a temperature alone are not health data.
 */
export function hasHealthData(smart: SmartModel): boolean {
  return (
    smart.passed !== null ||
    smart.ataAttributes.length > 0 ||
    smart.nvme !== null ||
    smart.scsiGrownDefects !== null ||
    smart.scsiErrors !== null ||
    smart.selfTests.length > 0
  );
}
