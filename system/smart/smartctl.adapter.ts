/**
 * `SmartReader` over the real smartctl (smartmontools 7), run through the command runner.
 *
 * Every call asks for JSON (`--json`) with an argument array; reads always pass `-n standby` so a
 * sleeping disk stays asleep. The exported pure functions below (`interpretRead`, `parseScan`,
 * `selfTestProgressFrom`, …) turn one smartctl answer into a `SmartAnswer`; the simulated reader
 * uses them too, so both classify answers the same way. Commands, states and the USB bridge retry
 * order are written down in docs/smart-adapter.md.
 */
import { CommandAbortedError, type CommandRunner } from '../process/command-runner.js';
import { decodeExitStatus } from './exit-status.js';
import type {
  ScannedDevice,
  SelfTestKind,
  SelfTestProgress,
  SelfTestProgressAnswer,
  SmartAnswer,
  SmartDeviceOptions,
  SmartReadAnswer,
  SmartReader,
  SmartReadOptions,
  SmartScanAnswer,
  SmartState,
} from './smartctl.js';

/**
 * The `-d TYPE` values tried, in this order, when smartctl does not know a USB bridge (or a USB
 * disk answers without SMART data). From smartctl(8)'s `-d` section and smartmontools' "USB devices
 * and smartmontools" page: SAT (16-byte, then 12-byte pass-through) works for most bridges; then the
 * vendor pass-throughs smartctl lists for USB (JMicron, Prolific, Sunplus, Cypress), then the
 * USB-to-NVMe bridges (JMicron, ASMedia, Realtek). Only the default, safe variants: smartctl(8)
 * warns that `usbjmicron,x` and a non-default `usbcypress` opcode can disconnect a drive.
 */
export const USB_BRIDGE_TYPES: readonly string[] = [
  'sat',
  'sat,12',
  'usbjmicron',
  'usbprolific',
  'usbsunplus',
  'usbcypress',
  'sntjmicron',
  'sntasmedia',
  'sntrealtek',
];

export interface SmartctlAdapterOptions {
  runner: CommandRunner;
  /** Kill one smartctl call after this many milliseconds. Default 60 000 (a `-x` over USB takes seconds). */
  timeoutMs?: number;
  /** The program to run. Default `smartctl` (looked up on the runner's tools path, system/tools.ts: tests put a stand-in first). */
  command?: string;
  /** Bridge types to try, in order. Default `USB_BRIDGE_TYPES`. */
  bridgeTypes?: readonly string[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const get = (value: unknown, ...path: string[]): unknown => {
  let at = value;
  for (const key of path) at = isObject(at) ? at[key] : undefined;
  return at;
};
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** smartctl's `smartctl.messages[].string`, in order. */
export function messagesOf(raw: unknown): string[] {
  const list = get(raw, 'smartctl', 'messages');
  return Array.isArray(list) ? list.map((m) => str(get(m, 'string'))).filter((s): s is string => s !== null) : [];
}

/**
 * stdout parsed as JSON; or null, with what the text said (smartctl's banner left out, at most 300
 * characters) for the reason, when it is not a JSON object.
 */
export function parseJsonOutput(stdout: string): { raw: unknown; text: string } {
  try {
    const raw: unknown = JSON.parse(stdout);
    if (isObject(raw)) return { raw, text: '' };
  } catch {
    // not JSON: described below
  }
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !/^(smartctl \d|Copyright \(C\))/.test(l));
  const text = lines.join(' ');
  return { raw: null, text: text.length > 300 ? `${text.slice(0, 300)}…` : text };
}

const ASLEEP = /Device is in (.+?) mode/i;
const UNKNOWN_BRIDGE = /Unknown USB bridge|USB bridge .* type is ambiguous/i;
const TYPE_UNKNOWN = /Unable to detect device type|please specify device type|Unknown device type/i;
const OPEN_FAILED = /open device: .* failed|Permission denied|No such device|No such file/i;

/** Keys whose presence means smartctl got SMART (or SMART-like health) data from the device. */
const SMART_KEYS = [
  'smart_status',
  'ata_smart_attributes',
  'ata_smart_data',
  'ata_smart_self_test_log',
  'nvme_smart_health_information_log',
  'nvme_self_test_log',
  'scsi_grown_defect_list',
  'scsi_error_counter_log',
  'scsi_percentage_used_endurance_indicator',
  'scsi_self_test_0',
];

/**
 * Why an answer is not a read, finer than `SmartState`, so the adapter knows whether another `-d`
 * type or `-a` could help:
 * - `bridge`: smartctl says it does not know the USB bridge;
 * - `type`: smartctl could not tell the device type (or refused the `-d` value given);
 * - `no-data`: the device opened but gave no SMART data;
 * - `refused`: the command line was refused (bit 0) for another reason: `-x` may be the cause.
 */
export type ReadProblem = 'bridge' | 'type' | 'no-data' | 'refused' | null;

export interface InterpretedRead {
  state: SmartState;
  reason: string | null;
  problem: ReadProblem;
}

/**
 * Classifies one `smartctl --json -x|-a -n standby` answer. Pure. Order matters: a standby answer
 * also sets bit 1, and an unknown bridge also sets bit 0.
 */
export function interpretRead(raw: unknown, exitCode: number): InterpretedRead {
  const status = decodeExitStatus(exitCode);
  const messages = messagesOf(raw);
  const said = messages.join(' ');
  const asleep = messages.map((m) => ASLEEP.exec(m)).find((m) => m !== null);
  if (asleep) return { state: 'asleep', reason: `The disk is in ${asleep[1]} mode: not read, so as not to wake it.`, problem: null };
  // smartctl 7.3 says it only in the message above; a `power_mode` block with bit 1 is accepted too.
  const powerMode = str(get(raw, 'power_mode', 'name'));
  if (status.flags.deviceOpenFailed && powerMode !== null && /STANDBY|SLEEP/i.test(powerMode) && !SMART_KEYS.some((k) => isObject(raw) && k in raw)) {
    return { state: 'asleep', reason: `The disk is in ${powerMode} mode: not read, so as not to wake it.`, problem: null };
  }
  // smartctl's drive database knows this bridge cannot pass SMART commands through: no probing.
  if (messages.some((m) => /Unsupported USB bridge/i.test(m))) return { state: 'no-smart', reason: said, problem: null };
  if (messages.some((m) => UNKNOWN_BRIDGE.test(m))) return { state: 'no-smart', reason: said, problem: 'bridge' };
  if (messages.some((m) => TYPE_UNKNOWN.test(m))) return { state: 'no-smart', reason: said, problem: 'type' };
  if (messages.some((m) => OPEN_FAILED.test(m))) return { state: 'error', reason: said, problem: null };
  if (status.flags.commandLineDidNotParse) {
    return { state: 'error', reason: `smartctl refused the command line${said ? `: ${said}` : '.'}`, problem: 'refused' };
  }
  if (get(raw, 'smart_support', 'available') === false) {
    return { state: 'no-smart', reason: 'The device says it does not support SMART.', problem: 'no-data' };
  }
  if (get(raw, 'smart_support', 'enabled') === false) {
    return { state: 'no-smart', reason: 'SMART is supported but disabled on the device.', problem: 'no-data' };
  }
  if (!SMART_KEYS.some((key) => isObject(raw) && key in raw)) {
    const why = said || (status.value !== 0 ? status.meanings.join(' ') : '');
    return { state: 'no-smart', reason: `smartctl returned no SMART data${why ? `: ${why}` : '.'}`, problem: 'no-data' };
  }
  return { state: 'read', reason: null, problem: null };
}

/** Classifies the answer to a command (`-t`, `-X`): `read` when the drive accepted it. Pure. */
export function interpretCommand(raw: unknown, exitCode: number): { state: SmartState; reason: string | null } {
  const read = interpretRead(raw, exitCode);
  if (read.state === 'asleep' || read.problem === 'bridge' || read.problem === 'type' || read.state === 'error') {
    return { state: read.state, reason: read.reason };
  }
  if (get(raw, 'smart_support', 'available') === false) return { state: 'no-smart', reason: read.reason };
  const status = decodeExitStatus(exitCode);
  if (status.flags.commandFailed) {
    const said = messagesOf(raw).join(' ');
    return { state: 'error', reason: `The drive did not accept the command${said ? `: ${said}` : '.'}` };
  }
  return { state: 'read', reason: null };
}

/** The devices of a `smartctl --scan[-open] --json` answer. Pure; entries without a name are skipped. */
export function parseScan(raw: unknown): ScannedDevice[] {
  const list = get(raw, 'devices');
  if (!Array.isArray(list)) return [];
  return list.flatMap((d): ScannedDevice[] => {
    const name = str(get(d, 'name'));
    if (!name) return [];
    return [{
      name,
      infoName: str(get(d, 'info_name')),
      type: str(get(d, 'type')),
      protocol: str(get(d, 'protocol')),
      openError: str(get(d, 'open_error')),
    }];
  });
}

/**
 * Self-test progress from any smartctl JSON that carries it: ATA `ata_smart_data.self_test.status`
 * (a value 0xF0-0xFF means running, the low nibble is tens of percent remaining) or NVMe
 * `nvme_self_test_log.current_self_test_operation` (0 = none) with its completion percent. Pure.
 */
export function selfTestProgressFrom(raw: unknown): SelfTestProgress {
  const ata = get(raw, 'ata_smart_data', 'self_test', 'status');
  const ataValue = num(get(ata, 'value'));
  if (ataValue !== null) {
    const description = str(get(ata, 'string'));
    if (ataValue >> 4 === 0xf) {
      const remaining = num(get(ata, 'remaining_percent')) ?? (ataValue & 0xf) * 10;
      return { status: 'running', remainingPercent: remaining, description, lastPassed: null };
    }
    const passed = get(ata, 'passed');
    return { status: 'idle', remainingPercent: null, description, lastPassed: typeof passed === 'boolean' ? passed : ataValue === 0 ? true : null };
  }
  const nvme = get(raw, 'nvme_self_test_log');
  if (isObject(nvme)) {
    const operation = num(get(nvme, 'current_self_test_operation', 'value'));
    const description = str(get(nvme, 'current_self_test_operation', 'string'));
    if (operation !== null && operation !== 0) {
      const done = num(get(nvme, 'current_self_test_completion_percent'));
      return { status: 'running', remainingPercent: done === null ? null : 100 - done, description, lastPassed: null };
    }
    const table = get(nvme, 'table');
    const last = Array.isArray(table) ? num(get(table[0], 'self_test_result', 'value')) : null;
    return { status: 'idle', remainingPercent: null, description, lastPassed: last === null ? null : last === 0 };
  }
  return { status: 'unknown', remainingPercent: null, description: null, lastPassed: null };
}

/** Builds the answer for one finished smartctl call. */
function answer(raw: unknown, exitCode: number, deviceType: string | null, state: SmartState, reason: string | null): SmartAnswer {
  return { state, reason, raw, exitStatus: decodeExitStatus(exitCode), deviceType, messages: messagesOf(raw) };
}

function assertDevicePath(device: string): void {
  // A device is always an absolute path: nothing that could be read as an option reaches smartctl.
  if (!device.startsWith('/') || device.includes('\0')) throw new TypeError(`Not a device path: ${JSON.stringify(device)}`);
}

interface Attempt {
  answer: SmartAnswer;
  problem: ReadProblem;
}

export class SmartctlAdapter implements SmartReader {
  readonly #runner: CommandRunner;
  readonly #timeoutMs: number;
  readonly #command: string;
  readonly #bridgeTypes: readonly string[];
  /** Stable disk key → the `-d` type that last worked (null = autodetection works). */
  readonly #learned = new Map<string, string | null>();

  constructor(options: SmartctlAdapterOptions) {
    this.#runner = options.runner;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#command = options.command ?? 'smartctl';
    this.#bridgeTypes = options.bridgeTypes ?? USB_BRIDGE_TYPES;
  }

  /**
   * Runs smartctl; a timeout becomes an `error` answer (a hung USB bridge is a fact about that
   * disk), while the caller's abort and a missing smartctl reject.
   */
  async #run(args: string[], signal?: AbortSignal): Promise<{ raw: unknown; exitCode: number; notJson: string | null } | { timedOut: string }> {
    try {
      const result = await this.#runner.run(this.#command, args, { timeoutMs: this.#timeoutMs, signal });
      const { raw, text } = parseJsonOutput(result.stdout);
      if (raw !== null) return { raw, exitCode: result.exitCode, notJson: null };
      const shown = text || result.stderr.trim().slice(0, 300) || '(no output)';
      return { raw: null, exitCode: result.exitCode, notJson: `smartctl did not print JSON (is it smartmontools 7 or newer?): ${shown}` };
    } catch (error) {
      if (error instanceof CommandAbortedError && error.reason === 'timeout') return { timedOut: `smartctl did not answer within ${this.#timeoutMs} ms.` };
      throw error;
    }
  }

  async scan(signal?: AbortSignal): Promise<SmartScanAnswer> {
    const ran = await this.#run(['--scan-open', '--json'], signal);
    if ('timedOut' in ran) return { state: 'error', reason: ran.timedOut, raw: null, exitStatus: null, messages: [], devices: [] };
    const base = { raw: ran.raw, exitStatus: decodeExitStatus(ran.exitCode), messages: messagesOf(ran.raw) };
    if (ran.notJson !== null) return { ...base, state: 'error', reason: ran.notJson, devices: [] };
    if (!Array.isArray(get(ran.raw, 'devices')) && ran.exitCode !== 0) {
      return { ...base, state: 'error', reason: base.messages.join(' ') || base.exitStatus.meanings.join(' '), devices: [] };
    }
    return { ...base, state: 'read', reason: null, devices: parseScan(ran.raw) };
  }

  /** One read with one type: `-x`, and `-a` when `-x` was refused or gave nothing. */
  async #attempt(device: string, type: string | null, signal?: AbortSignal): Promise<Attempt> {
    let last: Attempt | undefined;
    for (const what of ['-x', '-a']) {
      const args = ['--json', what, '-n', 'standby', ...(type === null ? [] : ['-d', type]), device];
      const ran = await this.#run(args, signal);
      if ('timedOut' in ran) return { answer: { state: 'error', reason: ran.timedOut, raw: null, exitStatus: null, deviceType: type, messages: [] }, problem: null };
      if (ran.notJson !== null) return { answer: answer(null, ran.exitCode, type, 'error', ran.notJson), problem: null };
      const read = interpretRead(ran.raw, ran.exitCode);
      last = { answer: answer(ran.raw, ran.exitCode, type, read.state, read.reason), problem: read.problem };
      const xMayBeTheCause = read.problem === 'refused' || (read.problem === 'no-data' && decodeExitStatus(ran.exitCode).flags.commandFailed);
      if (!xMayBeTheCause) break;
    }
    return last!;
  }

  async read(device: string, options: SmartReadOptions = {}): Promise<SmartReadAnswer> {
    assertDevicePath(device);
    const { key, usb = false, signal } = options;
    const remembered = options.knownType !== undefined && options.knownType !== null ? options.knownType : key !== undefined ? this.#learned.get(key) : undefined;
    const tried: Array<string | null> = [];
    const finish = (attempt: Attempt, reason?: string): SmartReadAnswer => {
      const working = attempt.answer.state === 'read' || attempt.answer.state === 'asleep';
      if (working && key !== undefined) this.#learned.set(key, attempt.answer.deviceType);
      if (!working && key !== undefined && tried.length > 1) this.#learned.delete(key);
      const typeLearned = working && attempt.answer.deviceType !== (options.knownType ?? null);
      return { ...attempt.answer, reason: reason ?? attempt.answer.reason, typeLearned, tried };
    };
    const attempt = async (type: string | null): Promise<Attempt> => {
      tried.push(type);
      return this.#attempt(device, type, signal);
    };
    const works = (a: Attempt) => a.answer.state === 'read' || a.answer.state === 'asleep';

    // 1. The remembered type, when there is one.
    if (remembered !== undefined && remembered !== null) {
      const first = await attempt(remembered);
      // Anything but a timeout: the enclosure may have changed, so autodetection gets its chance.
      if (works(first) || first.answer.exitStatus === null) return finish(first);
    }
    // 2. smartctl's own autodetection.
    const auto = await attempt(null);
    if (works(auto)) return finish(auto);
    const probe = auto.problem === 'bridge' || (usb && (auto.problem === 'type' || auto.problem === 'no-data'));
    if (!probe) return finish(auto);
    // 3. The USB bridge types, in order; the first that reads (or finds the disk asleep) wins.
    for (const type of this.#bridgeTypes) {
      if (tried.includes(type)) continue;
      const next = await attempt(type);
      if (works(next)) return finish(next);
      if (next.answer.exitStatus === null) return finish(next); // timed out: a bridge that hangs is not probed further
    }
    const list = tried.map((t) => t ?? 'autodetect').join(', ');
    return finish(auto, `${auto.answer.reason ?? 'No SMART data.'} Tried -d ${list}: none gave SMART data.`);
  }

  async #command1(device: string, args: string[], options: SmartDeviceOptions): Promise<SmartAnswer> {
    assertDevicePath(device);
    const type = options.deviceType ?? null;
    const ran = await this.#run(['--json', ...args, ...(type === null ? [] : ['-d', type]), device], options.signal);
    if ('timedOut' in ran) return { state: 'error', reason: ran.timedOut, raw: null, exitStatus: null, deviceType: type, messages: [] };
    if (ran.notJson !== null) return answer(null, ran.exitCode, type, 'error', ran.notJson);
    const { state, reason } = interpretCommand(ran.raw, ran.exitCode);
    return answer(ran.raw, ran.exitCode, type, state, reason);
  }

  startSelfTest(device: string, kind: SelfTestKind, options: SmartDeviceOptions = {}): Promise<SmartAnswer> {
    if (kind !== 'short' && kind !== 'long') throw new TypeError(`Unknown self-test kind: ${String(kind)}`);
    return this.#command1(device, ['-t', kind], options);
  }

  abortSelfTest(device: string, options: SmartDeviceOptions = {}): Promise<SmartAnswer> {
    return this.#command1(device, ['-X'], options);
  }

  async selfTestProgress(device: string, options: SmartDeviceOptions = {}): Promise<SelfTestProgressAnswer> {
    assertDevicePath(device);
    const type = options.deviceType ?? null;
    const ran = await this.#run(['--json', '-c', '-l', 'selftest', '-n', 'standby', ...(type === null ? [] : ['-d', type]), device], options.signal);
    if ('timedOut' in ran) return { state: 'error', reason: ran.timedOut, raw: null, exitStatus: null, deviceType: type, messages: [], progress: null };
    if (ran.notJson !== null) return { ...answer(null, ran.exitCode, type, 'error', ran.notJson), progress: null };
    const read = interpretRead(ran.raw, ran.exitCode);
    return { ...answer(ran.raw, ran.exitCode, type, read.state, read.reason), progress: read.state === 'read' ? selfTestProgressFrom(ran.raw) : null };
  }
}
