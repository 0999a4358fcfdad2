/**
 * What Safehold asks smartctl: the adapter line of disk health.
 *
 * Two implementations keep this contract:
 * - `SmartctlAdapter` (smartctl.adapter.ts): the real `smartctl --json` through the command runner;
 * - `SimulatedSmartReader` (smartctl.sim.ts): answers from captured smartctl JSON files, for
 *   `make demo` and tests of the layers above.
 *
 * The adapter is a collector, not a judge: every answer carries smartctl's parsed JSON untouched
 * (`raw`, typed `unknown` on purpose: server/health parses it into a model) and the decoded exit
 * status. A non-zero exit status, a sleeping disk, a disk without SMART and a disk that cannot be
 * opened are all answers, never exceptions. Only a missing smartctl (`ToolMissingError`) and the
 * caller's own AbortSignal (`CommandAbortedError`) reject.
 *
 * Reads never wake a sleeping disk: they always pass `-n standby`. See docs/smart-adapter.md.
 */
import type { DecodedExitStatus } from './exit-status.js';

/**
 * - `read`: smartctl answered with data (whatever its exit status says about the disk).
 * - `asleep`: the disk was in STANDBY/SLEEP mode, so smartctl stopped before reading (nothing was
 *   read, the disk was not woken). Not a failure and not a missing disk.
 * - `no-smart`: smartctl can reach the device but gets no SMART data from it (unsupported, disabled,
 *   an unknown USB bridge that no known device type unlocks, a card reader without a card).
 * - `error`: smartctl could not do its job: open failed, permission denied, not JSON, timed out.
 */
export type SmartState = 'read' | 'asleep' | 'no-smart' | 'error';

/** One smartctl answer, as every method returns it. */
export interface SmartAnswer {
  state: SmartState;
  /** Why, in words, for every state but `read` (smartctl's own message where it gave one); null for `read`. */
  reason: string | null;
  /** smartctl's parsed JSON, exactly as printed; null when stdout was not JSON. */
  raw: unknown;
  /** The process exit status, decoded; null when smartctl did not finish (timed out). */
  exitStatus: DecodedExitStatus | null;
  /**
   * The `-d TYPE` value this answer came from (`sat`, `usbjmicron`, …); null when smartctl's own
   * autodetection was used. For `read` and `asleep` this is the type that works for the device.
   */
  deviceType: string | null;
  /** smartctl's messages (`smartctl.messages[].string`), for logs and reasons. */
  messages: string[];
}

export interface SmartReadOptions {
  /**
   * A stable identity for the disk (serial/WWN-based drive id), never /dev/sdX. Keys the in-memory
   * memory of which `-d TYPE` worked; without it nothing is remembered.
   */
  key?: string;
  /** The `-d TYPE` that worked last time (persisted by the caller from `SmartReadAnswer.deviceType` when `typeLearned`); tried first. */
  knownType?: string | null;
  /** The disk is attached through USB: also try the bridge types when smartctl returns no SMART data. Default false. */
  usb?: boolean;
  signal?: AbortSignal;
}

export interface SmartReadAnswer extends SmartAnswer {
  /**
   * True when this call found that the working type (`deviceType`) differs from `knownType`, e.g. by
   * trying USB bridge types: the caller should persist `deviceType` with the disk and pass it back
   * as `knownType` next time. False when nothing new was learned (or nothing worked).
   */
  typeLearned: boolean;
  /** Every `-d` value tried by this call, in order (null = autodetection); for the activity log. */
  tried: Array<string | null>;
}

/** One line of `smartctl --scan-open`. */
export interface ScannedDevice {
  /** Device path, e.g. `/dev/sda`, `/dev/nvme0`. */
  name: string;
  /** smartctl's description, e.g. `/dev/sda [SAT]`. */
  infoName: string | null;
  /** smartctl's device type for it (`sat`, `nvme`, `scsi`, `usbjmicron`, …). */
  type: string | null;
  /** `ATA`, `SCSI`, `NVMe`. */
  protocol: string | null;
  /** Why the device could not be opened (`Permission denied`), or null when it opened. */
  openError: string | null;
}

export interface SmartScanAnswer extends Omit<SmartAnswer, 'deviceType'> {
  /** Empty unless state is `read`. */
  devices: ScannedDevice[];
}

export type SelfTestKind = 'short' | 'long';

/** Where a drive's self-test stands, from smartctl's JSON. */
export interface SelfTestProgress {
  /**
   * - `running`: a test is in progress;
   * - `idle`: no test is running (the last one's result is in `lastResult`);
   * - `unknown`: the JSON says nothing about self-tests (SCSI, or a read that had no self-test data).
   */
  status: 'running' | 'idle' | 'unknown';
  /** Percent of the running test still to do (ATA reports it in steps of 10); null when not running or unknown. */
  remainingPercent: number | null;
  /** The drive's own words for the current or last test ("Self-test routine in progress…", "Short self-test"). */
  description: string | null;
  /** For `idle`: whether the last completed test passed, when the drive says. */
  lastPassed: boolean | null;
}

export interface SelfTestProgressAnswer extends SmartAnswer {
  /** Null unless state is `read`. */
  progress: SelfTestProgress | null;
}

/** Options for commands that address one device. */
export interface SmartDeviceOptions {
  /** The `-d TYPE` that works for this device (from a read's `deviceType`); null/absent = autodetect. */
  deviceType?: string | null;
  signal?: AbortSignal;
}

export interface SmartReader {
  /** `smartctl --scan-open`: every device smartctl finds, with its type and any open error. */
  scan(signal?: AbortSignal): Promise<SmartScanAnswer>;
  /**
   * A full read (`-x`, falling back to `-a`) that never wakes a sleeping disk (`-n standby`).
   * Retries USB bridge types when needed and remembers, per `key`, the type that worked.
   */
  read(device: string, options?: SmartReadOptions): Promise<SmartReadAnswer>;
  /**
   * Starts a self-test (`-t short|long`). Wakes the disk (a test needs it spinning). `state` is
   * `read` when the drive accepted the command.
   */
  startSelfTest(device: string, kind: SelfTestKind, options?: SmartDeviceOptions): Promise<SmartAnswer>;
  /** Reads self-test progress (`-c -l selftest`, with `-n standby`: a disk asleep is not testing). */
  selfTestProgress(device: string, options?: SmartDeviceOptions): Promise<SelfTestProgressAnswer>;
  /** Aborts a running self-test (`-X`). `state` is `read` when the drive accepted the command. */
  abortSelfTest(device: string, options?: SmartDeviceOptions): Promise<SmartAnswer>;
}
