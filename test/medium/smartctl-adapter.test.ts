/**
 * The real smartctl adapter over the real command runner, spawning the stand-in smartctl
 * (test/fixtures/bin/smartctl) that replays captured smartctl JSON: the spawn, exit-status decoding,
 * retries and classification all run for real. Plus the pure exit-status and answer decoding.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ProcessCommandRunner, type CommandRunner } from '../../system/process/command-runner.js';
import { decodeExitStatus } from '../../system/smart/exit-status.js';
import { interpretRead, parseScan, selfTestProgressFrom, SmartctlAdapter, USB_BRIDGE_TYPES } from '../../system/smart/smartctl.adapter.js';
import { SimulatedSmartReader } from '../../system/smart/smartctl.sim.js';
import { toolsPath } from '../../system/tools.js';

// Compiled to dist/test/medium/: the stand-in and the fixtures stay in the source tree.
const standInDir = fileURLToPath(new URL('../../../test/fixtures/bin/', import.meta.url));
const capturesDir = fileURLToPath(new URL('../../../test/fixtures/smartctl/', import.meta.url));
const capture = (name: string): unknown => JSON.parse(readFileSync(join(capturesDir, name), 'utf8'));

type Scenario = Record<string, Record<string, { file?: string; exit?: number; stdout?: string }>>;

/** A temp folder with a scenario and an invocation log, and an adapter whose runner finds the stand-in first (its tools path). */
function standIn(scenario: Scenario, options: { timeoutMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'safehold-smartctl-'));
  const scenarioFile = join(dir, 'scenario.json');
  const logFile = join(dir, 'calls.log');
  writeFileSync(scenarioFile, JSON.stringify(scenario));
  writeFileSync(logFile, '');
  const real = new ProcessCommandRunner({ toolsPath: `${standInDir}${delimiter}${toolsPath()}` });
  const env = { SAFEHOLD_SMARTCTL_SCENARIO: scenarioFile, SAFEHOLD_SMARTCTL_LOG: logFile };
  const runner: CommandRunner = { run: (command, args, runOptions) => real.run(command, args, { ...runOptions, env }) };
  return {
    adapter: new SmartctlAdapter({ runner, timeoutMs: options.timeoutMs }),
    /** The argument arrays smartctl was called with, in order (after a reset, only the new ones). */
    calls: (): string[][] =>
      readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { argv: string[] }).argv),
    resetCalls: () => writeFileSync(logFile, ''),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const cleanups: Array<() => void> = [];
const setup = (scenario: Scenario, options?: { timeoutMs?: number }) => {
  const s = standIn(scenario, options);
  cleanups.push(s.cleanup);
  return s;
};
after(() => cleanups.forEach((c) => c()));

describe('smartctl exit status, bit by bit', () => {
  it('is all clear for 0', () => {
    const s = decodeExitStatus(0);
    assert.deepEqual(s.meanings, []);
    assert.ok(Object.values(s.flags).every((f) => f === false));
  });

  it('names each of the eight bits as the man page does', () => {
    const byBit = [
      'commandLineDidNotParse', 'deviceOpenFailed', 'commandFailed', 'diskFailing',
      'prefailAtOrBelowThreshold', 'attributesBelowThresholdInPast', 'errorLogHasErrors', 'selfTestLogHasErrors',
    ] as const;
    byBit.forEach((flag, bit) => {
      const s = decodeExitStatus(1 << bit);
      assert.equal(s.flags[flag], true, flag);
      assert.equal(Object.values(s.flags).filter(Boolean).length, 1);
      assert.equal(s.meanings.length, 1);
    });
    assert.match(decodeExitStatus(8).meanings[0]!, /DISK FAILING/);
  });

  it('decodes a real failing drive (216 = bits 3, 4, 6, 7)', () => {
    const s = decodeExitStatus(216);
    assert.deepEqual(
      Object.entries(s.flags).filter(([, v]) => v).map(([k]) => k),
      ['diskFailing', 'prefailAtOrBelowThreshold', 'errorLogHasErrors', 'selfTestLogHasErrors'],
    );
    assert.equal(s.meanings.length, 4);
  });
});

describe('classifying one smartctl answer (pure)', () => {
  it('reads captures with non-zero statuses as data', () => {
    assert.equal(interpretRead(capture('usbjmicron-wdc-wd3200bevt-failing-now.json'), 216).state, 'read');
    assert.equal(interpretRead(capture('megaraid-sat-wd4000fyyx-dell.json'), 4).state, 'read');
  });

  it('tells no SMART, open errors and unknown device types apart', () => {
    const unavailable = interpretRead(capture('scsi-pve-ssd-smart-unavailable-exit4.json'), 4);
    assert.equal(unavailable.state, 'no-smart');
    assert.match(unavailable.reason!, /does not support SMART/);
    const cardReader = interpretRead(capture('sat-macbook-sd-card-reader-no-media.json'), 2);
    assert.equal(cardReader.state, 'no-smart');
    const megaraid = interpretRead(capture('err-pve-megaraid-controller-open-failed.json'), 2);
    assert.equal(megaraid.state, 'error');
    assert.match(megaraid.reason!, /megaraid,N/);
    const unsupported = interpretRead({ smartctl: { messages: [{ string: '/dev/sdc: Unsupported USB bridge [0x0928:0x0010 (0x100)]', severity: 'error' }] } }, 1);
    assert.deepEqual([unsupported.state, unsupported.problem], ['no-smart', null]);
    const unknown = interpretRead(capture('err-nonexistent-device-type-unknown.json'), 1);
    assert.deepEqual([unknown.state, unknown.problem], ['no-smart', 'type']);
  });

  it('reads self-test progress from ATA and NVMe JSON', () => {
    assert.deepEqual(selfTestProgressFrom(capture('sat-wdc-wd140edfz-healthy-selftest-running.json')), {
      status: 'running', remainingPercent: 10, description: 'in progress, 10% remaining', lastPassed: null,
    });
    const nvme = selfTestProgressFrom(capture('nvme-peladn-512gb-smartctl75-61c.json'));
    assert.equal(nvme.status, 'idle');
    const running = selfTestProgressFrom({ nvme_self_test_log: { current_self_test_operation: { value: 1, string: 'Short self-test in progress' }, current_self_test_completion_percent: 30 } });
    assert.deepEqual([running.status, running.remainingPercent], ['running', 70]);
    assert.equal(selfTestProgressFrom(capture('scsi-hgst-4tb-sas-healthy-redacted-model.json')).status, 'unknown');
  });

  it('parses scan output, open errors included', () => {
    assert.deepEqual(parseScan(capture('scanopen-nvme-permission-denied.json')), [
      { name: '/dev/nvme0', infoName: '/dev/nvme0', type: 'nvme', protocol: 'NVMe', openError: 'Permission denied' },
    ]);
  });
});

describe('SmartctlAdapter over the stand-in smartctl', () => {
  it('reads a healthy SATA disk with -x, never without -n standby, and keeps the raw JSON untouched', async () => {
    const s = setup({ '/dev/sda': { default: { file: 'sat-crucial-m4-128gb-truenas-xall.json' } } });
    const answer = await s.adapter.read('/dev/sda');
    assert.equal(answer.state, 'read');
    assert.equal(answer.reason, null);
    assert.equal(answer.exitStatus?.value, 0);
    assert.equal(answer.deviceType, null);
    assert.deepEqual(answer.raw, capture('sat-crucial-m4-128gb-truenas-xall.json'));
    assert.deepEqual(s.calls(), [['--json', '-x', '-n', 'standby', '/dev/sda']]);
  });

  it('keeps a non-zero exit status as decoded data: the read still succeeds', async () => {
    const s = setup({
      '/dev/sda': { default: { file: 'sat-patriot-p3-2tb-ssd-errorlog-exit64.json' } },
      '/dev/sdb': { default: { file: 'sat-wdc-wd3200buct-failed-selftest-trimmed.json' } },
      '/dev/sdc': { default: { file: 'megaraid-sat-wd4000fyyx-dell.json' } },
    });
    const errorLog = await s.adapter.read('/dev/sda');
    assert.equal(errorLog.state, 'read');
    assert.equal(errorLog.exitStatus?.value, 64);
    assert.equal(errorLog.exitStatus?.flags.errorLogHasErrors, true);
    const selfTest = await s.adapter.read('/dev/sdb');
    assert.equal(selfTest.state, 'read');
    assert.equal(selfTest.exitStatus?.flags.selfTestLogHasErrors, true);
    assert.equal(selfTest.exitStatus?.flags.diskFailing, false);
    const commandFailed = await s.adapter.read('/dev/sdc');
    assert.equal(commandFailed.state, 'read');
    assert.equal(commandFailed.exitStatus?.flags.commandFailed, true);
    // Bit 2 with SMART data present is not a reason to retry with -a.
    assert.equal(s.calls().length, 3);
  });

  it('leaves a sleeping disk asleep: "asleep, not read", and no call without -n standby', async () => {
    const s = setup({
      '/dev/sdb': {
        '-n standby': { file: 'standby.json' },
        default: { file: 'sat-seagate-st3500418as-1-reallocated.json' },
      },
    });
    const answer = await s.adapter.read('/dev/sdb', { key: 'wwn-0x5000c5001234abcd' });
    assert.equal(answer.state, 'asleep');
    assert.match(answer.reason!, /STANDBY/);
    assert.equal(answer.exitStatus?.value, 2);
    assert.equal(answer.exitStatus?.flags.deviceOpenFailed, true);
    const progress = await s.adapter.selfTestProgress('/dev/sdb');
    assert.equal(progress.state, 'asleep');
    assert.equal(progress.progress, null);
    const calls = s.calls();
    assert.equal(calls.length, 2, 'no retry, no -a fallback, no bridge probing for a sleeping disk');
    for (const argv of calls) assert.ok(argv.join(' ').includes('-n standby'), argv.join(' '));
  });

  it('retries an unknown USB bridge with -d sat, reports sat, and goes straight to -d sat next time', async () => {
    const s = setup({
      '/dev/sdc': {
        'without -d': { file: 'unknown-usb-bridge.json' },
        '-d sat': { file: 'usb-sat-sandisk-pssd-healthy.json' },
      },
    });
    const first = await s.adapter.read('/dev/sdc', { key: 'usb-sandisk-06c9f4c44' });
    assert.equal(first.state, 'read');
    assert.equal(first.deviceType, 'sat');
    assert.equal(first.typeLearned, true);
    assert.deepEqual(first.tried, [null, 'sat']);
    assert.deepEqual(s.calls(), [
      ['--json', '-x', '-n', 'standby', '/dev/sdc'],
      ['--json', '-x', '-n', 'standby', '-d', 'sat', '/dev/sdc'],
    ]);

    s.resetCalls();
    const second = await s.adapter.read('/dev/sdc', { key: 'usb-sandisk-06c9f4c44' });
    assert.equal(second.state, 'read');
    assert.equal(second.deviceType, 'sat');
    assert.deepEqual(s.calls(), [['--json', '-x', '-n', 'standby', '-d', 'sat', '/dev/sdc']]);

    // A fresh adapter (service restarted) goes straight to the type the caller persisted.
    s.resetCalls();
    const restarted = standIn({ '/dev/sdc': { '-d sat': { file: 'usb-sat-sandisk-pssd-healthy.json' } } });
    cleanups.push(restarted.cleanup);
    const third = await restarted.adapter.read('/dev/sdc', { knownType: 'sat' });
    assert.deepEqual([third.state, third.deviceType, third.typeLearned], ['read', 'sat', false]);
    assert.deepEqual(restarted.calls(), [['--json', '-x', '-n', 'standby', '-d', 'sat', '/dev/sdc']]);
  });

  it('tries the bridge types in order and says which were tried when none works', async () => {
    const s = setup({
      '/dev/sdd': {
        'without -d': { file: 'unknown-usb-bridge.json' },
        '-d usbjmicron': { file: 'usbjmicron-wdc-wd3200bevt-failing-now.json' },
        default: { file: 'sat-macbook-sd-card-reader-no-media.json' },
      },
      '/dev/sde': {
        'without -d': { file: 'unknown-usb-bridge.json' },
        default: { file: 'sat-macbook-sd-card-reader-no-media.json' },
      },
    });
    const jmicron = await s.adapter.read('/dev/sdd');
    assert.deepEqual([jmicron.state, jmicron.deviceType], ['read', 'usbjmicron']);
    assert.deepEqual(jmicron.tried, [null, 'sat', 'sat,12', 'usbjmicron']);

    const none = await s.adapter.read('/dev/sde');
    assert.equal(none.state, 'no-smart');
    assert.match(none.reason!, /Unknown USB bridge \[0x152d:0x0578/);
    assert.match(none.reason!, /Tried -d autodetect, sat, sat,12, usbjmicron/);
    assert.deepEqual(none.tried, [null, ...USB_BRIDGE_TYPES]);
    assert.equal(none.typeLearned, false);
  });

  it('probes bridge types for a USB disk that answers without SMART data, not for other disks', async () => {
    const scenario: Scenario = {
      '/dev/sdf': {
        'without -d': { file: 'sat-macbook-sd-card-reader-no-media.json' },
        '-d sat': { file: 'usb-sat-sandisk-pssd-healthy.json' },
      },
    };
    const usb = setup(scenario);
    const answer = await usb.adapter.read('/dev/sdf', { usb: true });
    assert.deepEqual([answer.state, answer.deviceType], ['read', 'sat']);
    const internal = setup(scenario);
    const notUsb = await internal.adapter.read('/dev/sdf');
    assert.equal(notUsb.state, 'no-smart');
    assert.deepEqual(notUsb.tried, [null]);
  });

  it('falls back from a remembered type that stopped working to autodetection', async () => {
    const s = setup({
      '/dev/sdg': {
        '-d usbjmicron': { file: 'err-nonexistent-device-type-unknown.json' },
        default: { file: 'sat-crucial-m4-128gb-truenas-xall.json' },
      },
    });
    const answer = await s.adapter.read('/dev/sdg', { knownType: 'usbjmicron' });
    assert.deepEqual([answer.state, answer.deviceType, answer.typeLearned], ['read', null, true]);
  });

  it('reports permission denied as an error with the reason, without probing', async () => {
    const s = setup({ '/dev/nvme0': { default: { file: 'err-nvme-open-permission-denied.json' } } });
    const answer = await s.adapter.read('/dev/nvme0', { usb: true });
    assert.equal(answer.state, 'error');
    assert.match(answer.reason!, /Permission denied/);
    assert.equal(answer.exitStatus?.flags.deviceOpenFailed, true);
    assert.equal(s.calls().length, 1);
  });

  it('reports a disk without SMART as no-smart with the reason', async () => {
    const s = setup({ '/dev/sdb': { default: { file: 'scsi-pve-ssd-smart-unavailable-exit4.json' } } });
    const answer = await s.adapter.read('/dev/sdb');
    assert.equal(answer.state, 'no-smart');
    assert.match(answer.reason!, /does not support SMART/);
  });

  it('falls back to -a when -x is refused', async () => {
    const s = setup({
      '/dev/sda': {
        '-x': { file: 'no-json-smartctl-6.txt', exit: 1 },
        '-a': { file: 'sat-seagate-st3500418as-1-reallocated.json' },
      },
    });
    // A refusal with JSON: a crafted bit-0 answer that is not about the device type.
    const refusedJson = { smartctl: { messages: [{ string: '=======> INVALID ARGUMENT TO -l: xerror', severity: 'error' }], exit_status: 1 } };
    const t = setup({
      '/dev/sda': {
        '-x': { stdout: JSON.stringify(refusedJson), exit: 1 },
        '-a': { file: 'sat-seagate-st3500418as-1-reallocated.json' },
      },
    });
    const answer = await t.adapter.read('/dev/sda');
    assert.equal(answer.state, 'read');
    assert.deepEqual(t.calls(), [
      ['--json', '-x', '-n', 'standby', '/dev/sda'],
      ['--json', '-a', '-n', 'standby', '/dev/sda'],
    ]);
    // stdout that is not JSON at all (smartctl 6): an error that says so, no fallback guesswork.
    const old = await s.adapter.read('/dev/sda');
    assert.equal(old.state, 'error');
    assert.match(old.reason!, /did not print JSON.*UNRECOGNIZED OPTION: json/);
    assert.equal(old.raw, null);
    assert.equal(old.exitStatus?.flags.commandLineDidNotParse, true);
  });

  it('scans with --scan-open, open errors included', async () => {
    const s = setup({ '--scan-open': { default: { file: 'scan-arch-sat-and-2-nvme.json' } } });
    const answer = await s.adapter.scan();
    assert.equal(answer.state, 'read');
    assert.deepEqual(answer.devices.map((d) => [d.name, d.type, d.protocol]), [
      ['/dev/sda', 'sat', 'ATA'],
      ['/dev/nvme0', 'nvme', 'NVMe'],
      ['/dev/nvme1', 'nvme', 'NVMe'],
    ]);
    assert.deepEqual(s.calls(), [['--scan-open', '--json']]);
    const denied = setup({ '--scan-open': { default: { file: 'scanopen-nvme-permission-denied.json' } } });
    assert.equal((await denied.adapter.scan()).devices[0]?.openError, 'Permission denied');
  });

  it('starts, follows and aborts a self-test with the right argument arrays', async () => {
    const s = setup({
      '/dev/sdc': {
        '-c & -l selftest': { file: 'sat-wdc-wd140edfz-healthy-selftest-running.json' },
        default: { stdout: JSON.stringify({ smartctl: { exit_status: 0 }, device: { name: '/dev/sdc', type: 'sat' } }), exit: 0 },
      },
    });
    const started = await s.adapter.startSelfTest('/dev/sdc', 'short', { deviceType: 'sat' });
    assert.equal(started.state, 'read');
    await s.adapter.startSelfTest('/dev/sdc', 'long');
    const progress = await s.adapter.selfTestProgress('/dev/sdc', { deviceType: 'sat' });
    assert.equal(progress.state, 'read');
    assert.deepEqual([progress.progress?.status, progress.progress?.remainingPercent], ['running', 10]);
    const aborted = await s.adapter.abortSelfTest('/dev/sdc', { deviceType: 'sat' });
    assert.equal(aborted.state, 'read');
    assert.deepEqual(s.calls(), [
      ['--json', '-t', 'short', '-d', 'sat', '/dev/sdc'],
      ['--json', '-t', 'long', '/dev/sdc'],
      ['--json', '-c', '-l', 'selftest', '-n', 'standby', '-d', 'sat', '/dev/sdc'],
      ['--json', '-X', '-d', 'sat', '/dev/sdc'],
    ]);
  });

  it('says when the drive refuses a self-test (bit 2), without throwing', async () => {
    const refused = { smartctl: { messages: [{ string: "Can't start self-test without aborting current test (90% remaining)", severity: 'error' }], exit_status: 4 } };
    const s = setup({ '/dev/sdc': { default: { stdout: JSON.stringify(refused), exit: 4 } } });
    const answer = await s.adapter.startSelfTest('/dev/sdc', 'short');
    assert.equal(answer.state, 'error');
    assert.match(answer.reason!, /without aborting current test/);
  });

  it('never passes a device that could be read as an option', async () => {
    const s = setup({});
    await assert.rejects(s.adapter.read('-x'), TypeError);
    await assert.rejects(async () => s.adapter.startSelfTest('--scan', 'short'), TypeError);
    assert.deepEqual(s.calls(), []);
  });
});

describe('SimulatedSmartReader', () => {
  let reader: SimulatedSmartReader;
  before(() => {
    reader = new SimulatedSmartReader({
      '/dev/sda': join(capturesDir, 'sat-crucial-m4-128gb-truenas-xall.json'),
      '/dev/sdb': join(capturesDir, 'usbjmicron-wdc-wd3200bevt-failing-now.json'),
      '/dev/sdc': join(capturesDir, 'scsi-pve-ssd-smart-unavailable-exit4.json'),
    });
  });

  it('answers like the adapter: states and decoded exit statuses from the captures', async () => {
    assert.equal((await reader.read('/dev/sda')).state, 'read');
    const failing = await reader.read('/dev/sdb');
    assert.deepEqual([failing.state, failing.exitStatus?.flags.diskFailing], ['read', true]);
    assert.equal((await reader.read('/dev/sdc')).state, 'no-smart');
    assert.equal((await reader.read('/dev/sdz')).state, 'error');
    reader.setAsleep('/dev/sda', true);
    assert.equal((await reader.read('/dev/sda')).state, 'asleep');
    reader.setAsleep('/dev/sda', false);
    assert.deepEqual((await reader.scan()).devices.map((d) => d.name), ['/dev/sda', '/dev/sdb', '/dev/sdc']);
  });

  it('simulates a self-test that runs, then passes', async () => {
    await reader.startSelfTest('/dev/sda', 'short');
    const first = await reader.selfTestProgress('/dev/sda');
    assert.deepEqual([first.progress?.status, first.progress?.remainingPercent], ['running', 90]);
    let last = first;
    for (let i = 0; i < 9; i++) last = await reader.selfTestProgress('/dev/sda');
    assert.deepEqual([last.progress?.status, last.progress?.lastPassed], ['idle', true]);
  });
});
