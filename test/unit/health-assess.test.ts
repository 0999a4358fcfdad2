/**
 * Judging disk health: every captured smartctl fixture against the verdict its INDEX.md expects (the
 * index is the single source of expected verdicts), then each rule on small crafted outputs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../server/errors.js';
import { assess, failureRateFor, healthCounters, type AssessOptions } from '../../server/health/assess.js';
import type { Assessment, Verdict } from '../../server/health/health.model.js';
import { ATA_COUNTER_RULES } from '../../server/health/health.rules.js';
import { parseSmartJson, rawCountOf, toSmartModel } from '../../server/health/smart.model.js';

// Compiled to dist/test/unit/: the fixtures and docs stay in the source tree.
const fixtures = new URL('../../../test/fixtures/smartctl/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');
const healthDoc = readFileSync(new URL('../../../docs/health.md', import.meta.url), 'utf8');

/** INDEX.md's table: file → the bold expected verdict of its row. */
function expectedVerdicts(): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  for (const line of fixture('INDEX.md').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const file = cells[1];
    const verdict = /\*\*(healthy|warning|failing|unknown)\*\*/.exec(cells[5] ?? '')?.[1] as Verdict | undefined;
    if (file?.endsWith('.json') && verdict) out.set(file, verdict);
  }
  return out;
}

/**
 * Rows whose expected verdict our rules do not give, on purpose: each is argued in docs/health.md
 * ("Where we disagree with the fixture index"). The test fails if the index changes or the argument
 * disappears from the docs.
 */
const DISAGREEMENTS = new Map<string, { index: Verdict; ours: Verdict }>([
  ['usbjmicron-wdc-wd3200bevt-attrs-only-earlier.json', { index: 'warning', ours: 'failing' }],
]);

const judge = (name: string, options?: AssessOptions) => assess(parseSmartJson(fixture(name)), options);
const messages = (a: Assessment) => a.reasons.map((r) => r.message);
const has = (a: Assessment, pattern: RegExp) => assert.ok(messages(a).some((m) => pattern.test(m)), `no reason matches ${pattern}: ${JSON.stringify(messages(a), null, 1)}`);
const hasNot = (a: Assessment, pattern: RegExp) => assert.ok(!messages(a).some((m) => pattern.test(m)), `a reason matches ${pattern}: ${JSON.stringify(messages(a), null, 1)}`);

describe('every captured fixture gets the verdict INDEX.md expects', () => {
  const expected = expectedVerdicts();
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.json')).sort();

  it('has an index row for every fixture file, and a file for every row', () => {
    assert.deepEqual([...expected.keys()].sort(), files);
  });

  for (const file of files) {
    it(file, () => {
      const a = judge(file);
      const disagreement = DISAGREEMENTS.get(file);
      if (disagreement) {
        assert.equal(expected.get(file), disagreement.index, 'the index changed: revisit the disagreement');
        assert.equal(a.verdict, disagreement.ours);
        assert.ok(healthDoc.includes(file), `docs/health.md must argue the disagreement on ${file}`);
      } else {
        assert.equal(a.verdict, expected.get(file), JSON.stringify(a.reasons, null, 1));
      }
      assert.ok(a.reasons.length > 0, 'every verdict carries a reason');
      for (const r of a.reasons) assert.ok(r.message.length > 10 && !r.message.includes('undefined') && !r.message.includes('null'), r.message);
      if (a.verdict !== 'healthy' && a.verdict !== 'unknown') assert.ok(a.reasons.some((r) => r.severity === a.verdict), 'a reason of the verdict\'s own severity says why');
    });
  }

  it('says why, in words: the reasons of the notable fixtures', () => {
    has(judge('sat-hitachi-hds5c3020-102k-hours.json'), /^4 interface CRC errors \(attribute 199\): usually a cable or enclosure, not the disk$/);
    has(judge('sat-seagate-st3500418as-1-reallocated.json'), /^1 reallocated sector \(attribute 5\)/);
    has(judge('sat-wdc-wd3200buct-failed-selftest-trimmed.json'), /Failed Extended offline self-test: "Completed: read failure" at 6 power-on hours \(first bad block: LBA 365037392\)/);
    has(judge('scsi-seagate-st4000nm0043-grown-defects.json'), /^56 grown defects/);
    const dying = judge('usbjmicron-wdc-wd3200bevt-failing-now.json');
    has(dying, /overall-health self-assessment FAILED/);
    has(dying, /^3 self-tests failed/);
    has(dying, /^535 reallocated sectors \(attribute 5\)/);
    has(dying, /^1 sector pending reallocation \(attribute 197\)/);
    has(judge('nvme-sabrent-rocket4-1tb-errlog-invalid-field.json'), /4871 entries in the NVMe error log.*not counted/);
    has(judge('sat-wdc-wd140edfz-healthy-selftest-running.json'), /self-test is running now \(10% left\)/);
    has(judge('scsi-pve-ssd-smart-unavailable-exit4.json'), /does not offer SMART/);
    has(judge('err-nvme-open-permission-denied.json'), /Permission denied/);
    has(judge('scan-arch-sat-and-2-nvme.json'), /device list.*3 devices/);
    has(judge('nvme-kioxia-cd6-info-only.json'), /Only the disk's identity/);
    has(judge('sat-macbook-sd-card-reader-no-media.json'), /could not open \/dev\/sdb/);
    has(judge('nvme-intel-p3700-400g-335tb-written.json'), /^No problem found in the drive's overall assessment and the NVMe health log\.$/);
  });

  it('reads the model: device identity, interface, kind of media, temperature limits', () => {
    const peladn = parseSmartJson(fixture('nvme-peladn-512gb-smartctl75-61c.json'));
    assert.equal(peladn.device?.interface, 'nvme');
    assert.equal(peladn.device?.model, 'PELADN 512GB');
    assert.equal(peladn.temperature.current, 61);
    assert.equal(peladn.temperature.warningLimit, 100, 'read, then judged implausible by the rules');
    const hitachi = parseSmartJson(fixture('sat-hitachi-hds5c3020-102k-hours.json'));
    assert.equal(hitachi.mediaKind, 'hdd');
    assert.equal(hitachi.powerOnHours, 102088);
    assert.equal(hitachi.ataAttributes.find((a) => a.id === 194)?.rawCount, 38, 'the temperature, not the packed raw number');
    const sas = parseSmartJson(fixture('scsi-hp-mas3735nc-u320-2004-healthy.json'));
    assert.equal(sas.device?.interface, 'scsi');
    assert.equal(sas.temperature.criticalLimit, 65, 'the drive trip temperature');
    assert.equal(parseSmartJson(fixture('scan-linux-7-scsi-devices.json')).kind, 'scan');
    const dying = parseSmartJson(fixture('usbjmicron-wdc-wd3200bevt-failing-now.json'));
    assert.equal(dying.device?.interface, 'ata', 'usbjmicron is ATA behind a USB bridge');
    assert.equal(dying.smartctl.exit?.flags.diskFailing, true);
    assert.deepEqual(
      dying.selfTests.map((t) => [t.kind, t.outcome, t.lifetimeHours]),
      [
        ['short', 'failed', 16402],
        ['extended', 'failed', 16400],
        ['short', 'failed', 16400],
      ],
    );
  });

  it('extracts the counters the monitor stores', () => {
    assert.deepEqual(healthCounters(parseSmartJson(fixture('sat-seagate-st3500418as-1-reallocated.json'))), {
      'ata:5': 1,
      'ata:187': 0,
      'ata:188': 1,
      'ata:197': 0,
      'ata:198': 0,
      'ata:199': 0,
    });
    assert.deepEqual(healthCounters(parseSmartJson(fixture('scsi-seagate-st373453lc-260-grown-defects-uncorrected.json'))), {
      'scsi:grown_defects': 260,
      'scsi:uncorrected': 536,
    });
    const nvme = healthCounters(parseSmartJson(fixture('nvme-crucial-p2-ct250p2ssd8-healthy.json')));
    assert.equal(nvme['nvme:media_errors'], 0);
    assert.equal(nvme['nvme:available_spare'], 100);
  });
});

// ---- crafted outputs: the smallest smartctl-shaped objects that exercise one rule each ----

type Attr = [id: number, raw: number | string, extra?: Record<string, unknown>];
const NAMES: Record<number, string> = { 5: 'Reallocated_Sector_Ct', 187: 'Reported_Uncorrect', 188: 'Command_Timeout', 194: 'Temperature_Celsius', 197: 'Current_Pending_Sector', 198: 'Offline_Uncorrectable', 199: 'UDMA_CRC_Error_Count' };

function ataDisk(attrs: Attr[], more: Record<string, unknown> = {}) {
  return toSmartModel({
    smartctl: { version: [7, 3], exit_status: 0 },
    device: { name: '/dev/sda', type: 'sat', protocol: 'ATA' },
    model_name: 'TEST HDD 4TB',
    serial_number: 'T1',
    rotation_rate: 7200,
    smart_status: { passed: true },
    ata_smart_attributes: {
      table: attrs.map(([id, raw, extra]) => ({
        id,
        name: NAMES[id] ?? `Attr_${id}`,
        value: 100,
        worst: 100,
        thresh: 0,
        when_failed: '',
        flags: { prefailure: id === 5 },
        raw: typeof raw === 'number' ? { value: raw, string: String(raw) } : { value: 0, string: raw },
        ...extra,
      })),
    },
    ...more,
  });
}

function nvmeDisk(log: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return toSmartModel({
    smartctl: { version: [7, 3], exit_status: 0 },
    device: { name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' },
    model_name: 'TEST NVME 1TB',
    serial_number: 'N1',
    smart_status: { passed: true, nvme: { value: 0 } },
    nvme_smart_health_information_log: {
      critical_warning: 0,
      temperature: 40,
      available_spare: 100,
      available_spare_threshold: 10,
      percentage_used: 3,
      media_errors: 0,
      num_err_log_entries: 0,
      ...log,
    },
    temperature: { current: (log.temperature as number | undefined) ?? 40 },
    ...more,
  });
}

function scsiDisk(more: Record<string, unknown>) {
  return toSmartModel({
    smartctl: { version: [7, 3], exit_status: 0 },
    device: { name: '/dev/sdb', type: 'scsi', protocol: 'SCSI' },
    scsi_vendor: 'SEAGATE',
    scsi_product: 'ST4000NM0023',
    serial_number: 'S1',
    rotation_rate: 7200,
    smart_status: { passed: true },
    scsi_grown_defect_list: 0,
    scsi_error_counter_log: { read: { total_uncorrected_errors: 0 }, write: { total_uncorrected_errors: 0 } },
    ...more,
  });
}

describe('ATA rules: Backblaze\'s five and UDMA CRC', () => {
  it('pending sectors: "7 sectors pending reallocation (attribute 197)", failing by Backblaze\'s rates', () => {
    const a = assess(ataDisk([[197, 7]]));
    assert.equal(a.verdict, 'failing');
    assert.equal(a.reasons[0]?.attribute, 'ata:197');
    has(a, /^7 sectors pending reallocation \(attribute 197\): in Backblaze's data, about half the disks with this count fail within a year\.?$/);
  });

  it('reallocated sectors: a warning while Backblaze\'s rate stays low, failing from 71', () => {
    const few = assess(ataDisk([[5, 8]]));
    assert.equal(few.verdict, 'warning');
    has(few, /^8 reallocated sectors \(attribute 5\): in Backblaze's data, about 7 disks in 100 with this count fail within a year; watch whether it grows$/);
    assert.equal(assess(ataDisk([[5, 70]])).verdict, 'warning');
    assert.equal(assess(ataDisk([[5, 71]])).verdict, 'failing');
    assert.equal(assess(ataDisk([[5, 0]])).verdict, 'healthy');
  });

  it('offline uncorrectable and reported uncorrectable: failing from the first one', () => {
    has(assess(ataDisk([[198, 1]])), /^1 offline uncorrectable sector \(attribute 198\): in Backblaze's data, about half the disks with this count fail within a year/);
    has(assess(ataDisk([[197, 200]])), /^200 sectors pending reallocation \(attribute 197\): in Backblaze's data, most disks with this count fail within a year$/);
    has(assess(ataDisk([[5, 100]])), /^100 reallocated sectors \(attribute 5\): in Backblaze's data, about one disk in 3 with this count fails within a year$/);
    for (const r of assess(ataDisk([[5, 2000], [187, 70], [197, 500]])).reasons) assert.doesNotMatch(r.message, /%/, 'no rate in percent: a person reads words');
    assert.equal(assess(ataDisk([[198, 1]])).verdict, 'failing');
    assert.equal(assess(ataDisk([[187, 2]])).verdict, 'failing', 'a larger count is never milder than a smaller one');
  });

  it('failure rates are monotonic in the count', () => {
    for (const rule of ATA_COUNTER_RULES) {
      if (!rule.failureRates) continue;
      let last = 0;
      for (let n = 0; n < 5000; n += 7) {
        const rate = failureRateFor(rule.failureRates, n);
        assert.ok(rate >= last, `attribute ${rule.id} at ${n}`);
        last = rate;
      }
    }
  });

  it('199 alone points at the cable: a warning, never failing, however large', () => {
    const a = assess(ataDisk([[199, 4]]));
    assert.equal(a.verdict, 'warning');
    assert.equal(a.reasons[0]?.message, '4 interface CRC errors (attribute 199): usually a cable or enclosure, not the disk');
    assert.equal(assess(ataDisk([[199, 50000]])).verdict, 'warning');
  });

  it('188 alone points at the cable or power too; Seagate\'s three-field raw value is read as a count', () => {
    const a = assess(ataDisk([[188, '0 0 3']]));
    assert.equal(a.verdict, 'warning');
    has(a, /^3 command timeouts \(attribute 188\): usually a cable or enclosure, not the disk$/);
    assert.equal(assess(ataDisk([[188, 9000]])).verdict, 'warning');
    assert.equal(rawCountOf('36 (Min/Max 0/48)', 3145764), 36);
    assert.equal(rawCountOf(null, 12), 12);
  });

  it('the maker\'s threshold: a pre-failure attribute failing now is failing; one that failed in the past is a warning', () => {
    const now = assess(ataDisk([[3, 0, { name: 'Spin_Up_Time', value: 20, thresh: 21, when_failed: 'now', flags: { prefailure: true } }]]));
    assert.equal(now.verdict, 'failing');
    has(now, /Attribute 3 Spin_Up_Time is at or below its maker's failure threshold now \(value 20, threshold 21\)/);
    const past = assess(ataDisk([[3, 0, { name: 'Spin_Up_Time', worst: 20, thresh: 21, when_failed: 'past', flags: { prefailure: true } }]]));
    assert.equal(past.verdict, 'warning');
    const oldAge = assess(ataDisk([[190, 0, { name: 'Airflow_Temperature_Cel', worst: 31, thresh: 40, when_failed: 'past' }]]));
    assert.equal(oldAge.verdict, 'healthy', 'an old-age attribute that was over its threshold once is noted only');
  });

  it('the overall assessment: FAILED is failing whatever the attributes say', () => {
    const a = assess(toSmartModel({ device: { name: '/dev/sda', protocol: 'ATA', type: 'sat' }, smart_status: { passed: false } }));
    assert.equal(a.verdict, 'failing');
    has(a, /FAILED/);
  });
});

describe('self-tests', () => {
  const test = (type: string, value: number, passed: boolean | undefined, hours: number) => ({
    type: { value: type === 'Extended offline' ? 2 : 1, string: type },
    status: { value, string: value === 0 ? 'Completed without error' : value >> 4 === 1 ? 'Aborted by host' : 'Completed: read failure', ...(passed === undefined ? {} : { passed }) },
    lifetime_hours: hours,
  });
  const withLog = (...table: unknown[]) => ataDisk([[5, 0]], { ata_smart_self_test_log: { standard: { revision: 1, table, count: table.length } } });

  it('a failed self-test is failing, with its words, hours and LBA', () => {
    const a = assess(withLog({ ...test('Short offline', 0x79, false, 500), lba: 1234 }, test('Short offline', 0, true, 400)));
    assert.equal(a.verdict, 'failing');
    has(a, /^Failed Short offline self-test: "Completed: read failure" at 500 power-on hours \(first bad block: LBA 1234\)$/);
  });

  it('a later extended test that passed clears an older failure; a later short one does not', () => {
    const cleared = assess(withLog(test('Extended offline', 0, true, 600), test('Short offline', 0x79, false, 500)));
    assert.equal(cleared.verdict, 'healthy');
    has(cleared, /1 older failed self-test no longer counted/);
    assert.equal(assess(withLog(test('Short offline', 0, true, 600), test('Extended offline', 0x79, false, 500))).verdict, 'failing');
  });

  it('a test aborted by the host is not a failure; a status byte without "passed" is decoded', () => {
    assert.equal(assess(withLog(test('Short offline', 0x17, undefined, 10))).verdict, 'healthy');
    assert.equal(assess(withLog(test('Short offline', 0x74, undefined, 10))).verdict, 'failing');
  });

  it('NVMe and SCSI self-test logs', () => {
    const nvme = nvmeDisk({}, { nvme_self_test_log: { table: [{ self_test_code: { value: 2, string: 'Extended' }, self_test_result: { value: 7, string: 'Completed: failed segments' }, power_on_hours: 900 }] } });
    assert.equal(assess(nvme).verdict, 'failing');
    has(assess(nvme), /Extended self-test: "Completed: failed segments" at 900 power-on hours/);
    const scsi = scsiDisk({ scsi_self_test_0: { code: { value: 2, string: 'Background long' }, result: { value: 5, string: 'Failed in first segment' }, power_on_time: { hours: 77 } } });
    assert.equal(assess(scsi).verdict, 'failing');
  });
});

describe('NVMe rules', () => {
  it('available spare below its threshold is failing, said once with its numbers', () => {
    const a = assess(nvmeDisk({ available_spare: 3, available_spare_threshold: 10, critical_warning: 1 }, { smart_status: { passed: false } }));
    assert.equal(a.verdict, 'failing');
    assert.deepEqual(
      a.reasons.filter((r) => r.severity !== 'info').map((r) => r.message),
      ['NVMe available spare 3% is below its threshold 10%.'],
    );
  });

  it('a spare threshold of 0 means the drive has none', () => {
    assert.equal(assess(nvmeDisk({ available_spare: 4, available_spare_threshold: 0 })).verdict, 'healthy');
  });

  it('each critical warning bit is named, with its own severity', () => {
    const reliability = assess(nvmeDisk({ critical_warning: 0x04 }, { smart_status: { passed: false } }));
    assert.equal(reliability.verdict, 'failing');
    has(reliability, /^NVMe critical warning: reliability is degraded by media or internal errors \(bit 2\)\.$/);
    const readOnly = assess(nvmeDisk({ critical_warning: 0x08 }, { smart_status: { passed: false } }));
    assert.equal(readOnly.verdict, 'failing');
    has(readOnly, /read-only mode \(bit 3\)/);
    const hot = assess(nvmeDisk({ critical_warning: 0x02 }, { smart_status: { passed: false } }));
    assert.equal(hot.verdict, 'warning', 'smartctl says FAILED for any bit; the temperature bit alone is a warning');
    has(hot, /temperature is outside its limits \(bit 1\)/);
    hasNot(hot, /FAILED/);
    const capacitor = assess(nvmeDisk({ critical_warning: 0x10 }, { smart_status: { passed: false } }));
    assert.equal(capacitor.verdict, 'warning');
    has(capacitor, /power-loss protection/);
    const two = assess(nvmeDisk({ critical_warning: 0x06 }, { smart_status: { passed: false } }));
    assert.equal(two.reasons.filter((r) => r.code.startsWith('nvme-cw')).length, 2);
  });

  it('media errors are a warning; rated endurance used up is a warning', () => {
    const media = assess(nvmeDisk({ media_errors: 7 }));
    assert.equal(media.verdict, 'warning');
    has(media, /^7 NVMe media errors: data the drive could not recover/);
    const worn = assess(nvmeDisk({ percentage_used: 100 }));
    assert.equal(worn.verdict, 'warning');
    has(worn, /has used 100% of its rated endurance/);
    assert.equal(assess(nvmeDisk({ percentage_used: 99 })).verdict, 'healthy');
  });
});

describe('SCSI rules', () => {
  it('grown defects are judged like reallocated sectors', () => {
    const few = assess(scsiDisk({ scsi_grown_defect_list: 3 }));
    assert.equal(few.verdict, 'warning');
    has(few, /^3 grown defects \(SCSI grown defect list/);
    assert.equal(assess(scsiDisk({ scsi_grown_defect_list: 100 })).verdict, 'failing');
  });

  it('uncorrected errors are a warning, per direction', () => {
    const a = assess(scsiDisk({ scsi_error_counter_log: { read: { total_uncorrected_errors: 2 }, write: { total_uncorrected_errors: 0 }, verify: { total_uncorrected_errors: 1 } } }));
    assert.equal(a.verdict, 'warning');
    has(a, /^2 uncorrected read errors, 1 uncorrected verify error \(SCSI error counter log\)/);
  });

  it('the model name joins vendor and product', () => {
    assert.equal(scsiDisk({}).device?.model, 'SEAGATE ST4000NM0023');
  });
});

describe('temperature limits per kind of disk', () => {
  const hdd = (current: number, limits: Record<string, number> = {}) => ataDisk([[5, 0]], { temperature: { current, ...limits } });
  it('a hard disk over 60 °C is a warning; an SSD is allowed 70 °C', () => {
    const hot = assess(hdd(61));
    assert.equal(hot.verdict, 'warning');
    has(hot, /^Temperature 61 °C is over 60 °C, the usual limit for a hard disk/);
    assert.equal(assess(hdd(60)).verdict, 'healthy');
    assert.equal(assess(ataDisk([[5, 0]], { rotation_rate: 0, temperature: { current: 65 } })).verdict, 'healthy');
    assert.equal(assess(ataDisk([[5, 0]], { rotation_rate: 0, temperature: { current: 71 } })).verdict, 'warning');
  });

  it('NVMe: 70 °C by default, the drive\'s own warning threshold where it reports a plausible one', () => {
    assert.equal(assess(nvmeDisk({ temperature: 65 })).verdict, 'healthy');
    has(assess(nvmeDisk({ temperature: 72 })), /^Temperature 72 °C is over 70 °C, the usual limit for an NVMe drive/);
    assert.equal(assess(nvmeDisk({ temperature: 75 }, { nvme_composite_temperature_threshold: { warning: 80, critical: 85 } })).verdict, 'healthy');
    has(assess(nvmeDisk({ temperature: 82 }, { nvme_composite_temperature_threshold: { warning: 80, critical: 85 } })), /over 80 °C, the drive's own limit/);
    has(assess(nvmeDisk({ temperature: 86 }, { nvme_composite_temperature_threshold: { warning: 80, critical: 85 } })), /over the drive's critical limit 85 °C/);
    has(assess(nvmeDisk({ temperature: 72 }, { nvme_composite_temperature_threshold: { warning: 100, critical: 110 } })), /over 70 °C, the usual limit/);
  });

  it('the drive\'s own operating limit is used for a hard disk too; 0 °C means no sensor', () => {
    has(assess(hdd(57, { op_limit_max: 55 })), /over 55 °C, the drive's own limit/);
    assert.equal(assess(hdd(0)).verdict, 'healthy');
    assert.equal(assess(hdd(66, { op_limit_max: 70 })).verdict, 'healthy');
  });
});

describe('acknowledgements and trends', () => {
  const crc = (n: number) => ataDisk([[199, n]]);
  const ack = [{ key: 'ata:199', value: 108, at: '2026-11-02', note: 'cable replaced' }];

  it('an acknowledged counter is ignored while it stays at the acknowledged value, and says so', () => {
    const a = assess(crc(108), { acknowledgements: ack });
    assert.equal(a.verdict, 'healthy');
    const reason = a.reasons.find((r) => r.code === 'acknowledged');
    assert.equal(reason?.severity, 'info');
    assert.equal(reason?.attribute, 'ata:199');
    assert.match(reason?.message ?? '', /^Acknowledged on 2026-11-02 at 108, "cable replaced": 108 interface CRC errors \(attribute 199\).*Ignored until it grows\.$/);
  });

  it('when it grows, it counts again', () => {
    const a = assess(crc(112), { acknowledgements: ack });
    assert.equal(a.verdict, 'warning');
    has(a, /^112 interface CRC errors \(attribute 199\).*\(Acknowledged at 108 on 2026-11-02; it has grown since\.\)$/);
  });

  it('an acknowledgement of one counter does not hide another', () => {
    assert.equal(assess(ataDisk([[199, 5], [5, 2]]), { acknowledgements: [{ key: 'ata:199', value: 5 }] }).verdict, 'warning');
  });

  it('an acknowledgement never quiets a failing count (535 reallocated sectors stay failing), and says so', () => {
    const a = assess(ataDisk([[5, 535]]), { acknowledgements: [{ key: 'ata:5', value: 535, at: '2026-11-20' }] });
    assert.equal(a.verdict, 'failing');
    has(a, /^535 reallocated sectors \(attribute 5\): .* \(Acknowledged at 535 on 2026-11-20, but a failing count is never ignored\.\)$/);
  });

  it('a bad-sector counter that grew says by how much and since when', () => {
    const a = assess(ataDisk([[5, 8]]), { history: { at: '2026-11-20T10:00:00Z', counters: { 'ata:5': 0 } } });
    assert.equal(a.verdict, 'warning');
    has(a, /^Reallocated sectors: 8, was 0 on 2026-11-20 \(\+8\)\.$/);
  });

  it('the previous read is the latest snapshot; no growth, no trend', () => {
    const history = [
      { at: Date.UTC(2026, 10, 1), counters: { 'nvme:media_errors': 0 } },
      { at: Date.UTC(2026, 10, 20), counters: { 'nvme:media_errors': 2 } },
    ];
    has(assess(nvmeDisk({ media_errors: 5 }), { history }), /^NVMe media errors: 5, was 2 on 2026-11-20 \(\+3\)\.$/);
    hasNot(assess(nvmeDisk({ media_errors: 2 }), { history }), /was 2/);
    has(assess(scsiDisk({ scsi_grown_defect_list: 9 }), { history: { at: '2026-11-19', counters: { 'scsi:grown_defects': 4 } } }), /^Grown defects: 9, was 4 on 2026-11-19 \(\+5\)\.$/);
  });

  it('a growth within an acknowledged value is not reported', () => {
    const a = assess(ataDisk([[5, 8]]), { history: { at: '2026-11-20', counters: { 'ata:5': 0 } }, acknowledgements: [{ key: 'ata:5', value: 10 }] });
    assert.equal(a.verdict, 'healthy');
    hasNot(a, /was 0/);
  });
});

describe('nothing to judge, and input that is not smartctl JSON', () => {
  it('a sleeping disk is unknown, "asleep", not a failure', () => {
    const a = assess(
      toSmartModel({
        smartctl: { version: [7, 3], exit_status: 2, messages: [{ string: 'Device is in STANDBY mode, exit(2)', severity: 'information' }] },
        device: { name: '/dev/sdc', type: 'sat', protocol: 'ATA' },
      }),
    );
    assert.equal(a.verdict, 'unknown');
    assert.equal(a.reasons[0]?.code, 'asleep');
    has(a, /asleep.*not woken up/);
  });

  it('parseSmartJson: text that is not JSON, or JSON smartctl did not write, is refused in words', () => {
    assert.throws(() => parseSmartJson('this is not json'), (e: unknown) => e instanceof InvalidInputError && /not smartctl JSON: the text is not valid JSON/.test(e.message));
    assert.throws(() => parseSmartJson('{"name":"a photo"}'), (e: unknown) => e instanceof InvalidInputError && /JSON, but not smartctl output/.test(e.message));
    assert.throws(() => parseSmartJson('[1,2]'), InvalidInputError);
    assert.throws(() => parseSmartJson('  '), (e: unknown) => e instanceof InvalidInputError && /empty/.test(e.message));
  });

  it('toSmartModel never throws: wrong types are ignored', () => {
    for (const junk of [null, 42, 'text', [], { smartctl: 'x', device: 7, smart_status: { passed: 'yes' }, ata_smart_attributes: { table: 'x' }, nvme_smart_health_information_log: [] }]) {
      const a = assess(toSmartModel(junk));
      assert.equal(a.verdict, 'unknown', JSON.stringify(junk));
    }
    const partial = toSmartModel({ device: { protocol: 'ATA' }, ata_smart_attributes: { table: [{ id: 'five' }, { id: 197, raw: { value: 'x', string: 3 } }, 17] } });
    assert.deepEqual(
      partial.ataAttributes.map((a) => [a.id, a.rawCount]),
      [[197, null]],
    );
  });
});
