/**
 * A simulated `SmartReader` for `make demo` and tests above the adapter line: it answers from
 * smartctl JSON files captured from real drives, and classifies them with the same pure functions
 * as the real adapter (so a fixture with exit status 64 is `read`, one without SMART is `no-smart`).
 *
 * Devices come from a map (device path → fixture file, or `{ file, exitStatus }`) or from a folder
 * (`<name>.json` answers for `/dev/<name>`). A device can be put to sleep (`setAsleep`): it then
 * answers like smartctl with `-n standby` does. Self-tests are simulated in memory: a started test
 * loses 10% per progress call, then passes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decodeExitStatus } from './exit-status.js';
import { interpretRead, messagesOf, parseScan, selfTestProgressFrom } from './smartctl.adapter.js';
import type {
  SelfTestKind,
  SelfTestProgressAnswer,
  SmartAnswer,
  SmartDeviceOptions,
  SmartReadAnswer,
  SmartReader,
  SmartReadOptions,
  SmartScanAnswer,
} from './smartctl.js';

export interface SimulatedSmartDevice {
  /** Path of a `smartctl --json` output file. */
  file: string;
  /** Exit status to report. Default: the file's own `smartctl.exit_status` (0 when absent). */
  exitStatus?: number;
}

/** What real smartctl 7.3 prints (and exits with) for a disk in standby under `-n standby`. */
function standbyJson(device: string): unknown {
  return {
    json_format_version: [1, 0],
    smartctl: { argv: ['smartctl', '--json', '-x', '-n', 'standby', device], messages: [{ string: 'Device is in STANDBY mode, exit(2)', severity: 'information' }], exit_status: 2 },
    device: { name: device, info_name: device, type: 'sat', protocol: 'ATA' },
  };
}

export class SimulatedSmartReader implements SmartReader {
  readonly #devices: Map<string, SimulatedSmartDevice>;
  readonly #asleep = new Set<string>();
  readonly #tests = new Map<string, { kind: SelfTestKind; remaining: number }>();
  /** Devices whose next self-test ends with this failure (smartctl's words). */
  readonly #failNext = new Map<string, string>();

  constructor(devices: Record<string, string | SimulatedSmartDevice>) {
    this.#devices = new Map(Object.entries(devices).map(([device, d]) => [device, typeof d === 'string' ? { file: d } : d]));
  }

  /** Every `<name>.json` in `dir` answers for `/dev/<name>`. */
  static async fromFolder(dir: string): Promise<SimulatedSmartReader> {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    return new SimulatedSmartReader(Object.fromEntries(files.map((f) => [`/dev/${basename(f, '.json')}`, join(dir, f)])));
  }

  /** Puts a device to sleep (reads answer `asleep`) or wakes it. */
  setAsleep(device: string, asleep: boolean): void {
    if (asleep) this.#asleep.add(device);
    else this.#asleep.delete(device);
  }

  /** The device's next self-test fails with `status` (e.g. "Completed: read failure"), as a dying disk's does. */
  failNextSelfTest(device: string, status = 'Completed: read failure'): void {
    this.#failNext.set(device, status);
  }

  async #load(device: string): Promise<{ raw: unknown; exitCode: number } | null> {
    const entry = this.#devices.get(device);
    if (!entry) return null;
    const raw: unknown = JSON.parse(await readFile(entry.file, 'utf8'));
    const own = (raw as { smartctl?: { exit_status?: unknown } }).smartctl?.exit_status;
    return { raw, exitCode: entry.exitStatus ?? (typeof own === 'number' ? own : 0) };
  }

  #missing(device: string): SmartAnswer {
    const raw = { smartctl: { messages: [{ string: `Smartctl open device: ${device} failed: No such device`, severity: 'error' }], exit_status: 2 } };
    return { state: 'error', reason: messagesOf(raw).join(' '), raw, exitStatus: decodeExitStatus(2), deviceType: null, messages: messagesOf(raw) };
  }

  #answer(raw: unknown, exitCode: number): SmartAnswer {
    const { state, reason } = interpretRead(raw, exitCode);
    return { state, reason, raw, exitStatus: decodeExitStatus(exitCode), deviceType: null, messages: messagesOf(raw) };
  }

  async scan(signal?: AbortSignal): Promise<SmartScanAnswer> {
    signal?.throwIfAborted();
    const devices = [];
    for (const name of this.#devices.keys()) {
      const loaded = await this.#load(name);
      const device = (loaded?.raw as { device?: Record<string, unknown> } | undefined)?.device ?? {};
      devices.push({ ...device, name });
    }
    const raw = { smartctl: { argv: ['smartctl', '--scan-open', '--json'], exit_status: 0 }, devices };
    return { state: 'read', reason: null, raw, exitStatus: decodeExitStatus(0), messages: [], devices: parseScan(raw) };
  }

  async read(device: string, options: SmartReadOptions = {}): Promise<SmartReadAnswer> {
    options.signal?.throwIfAborted();
    const done = (a: SmartAnswer): SmartReadAnswer => ({ ...a, typeLearned: false, tried: [null] });
    if (this.#asleep.has(device) && this.#devices.has(device)) return done(this.#answer(standbyJson(device), 2));
    const loaded = await this.#load(device);
    return done(loaded ? this.#answer(loaded.raw, loaded.exitCode) : this.#missing(device));
  }

  async startSelfTest(device: string, kind: SelfTestKind, options: SmartDeviceOptions = {}): Promise<SmartAnswer> {
    options.signal?.throwIfAborted();
    if (!this.#devices.has(device)) return this.#missing(device);
    this.#asleep.delete(device); // a self-test spins the disk up
    this.#tests.set(device, { kind, remaining: 100 });
    return this.#answer({ smartctl: { exit_status: 0 }, ata_smart_data: {} }, 0);
  }

  async abortSelfTest(device: string, options: SmartDeviceOptions = {}): Promise<SmartAnswer> {
    options.signal?.throwIfAborted();
    if (!this.#devices.has(device)) return this.#missing(device);
    this.#tests.delete(device);
    return this.#answer({ smartctl: { exit_status: 0 }, ata_smart_data: {} }, 0);
  }

  async selfTestProgress(device: string, options: SmartDeviceOptions = {}): Promise<SelfTestProgressAnswer> {
    const read = await this.read(device, options);
    const { typeLearned: _learned, tried: _tried, ...base } = read;
    if (read.state !== 'read') return { ...base, progress: null };
    const test = this.#tests.get(device);
    if (!test) return { ...base, progress: selfTestProgressFrom(read.raw) };
    test.remaining -= 10;
    if (test.remaining <= 0) {
      this.#tests.delete(device);
      const failure = this.#failNext.get(device);
      this.#failNext.delete(device);
      return { ...base, progress: { status: 'idle', remainingPercent: null, description: failure ?? 'Completed without error', lastPassed: !failure } };
    }
    const description = `Self-test routine in progress (${test.kind}), ${test.remaining}% remaining`;
    return { ...base, progress: { status: 'running', remainingPercent: test.remaining, description, lastPassed: null } };
  }
}
