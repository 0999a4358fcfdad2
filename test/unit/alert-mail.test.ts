import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailMessage } from '../../system/mail/mail.js';
import type { Reason } from '../../server/health/health.model.js';
import {
  composeAlert,
  composeDigest,
  composeTestMail,
  type AlertDisk,
  type AlertEvent,
  type BoxInfo,
  type DigestInput,
} from '../../server/alerts/alert-mail.js';

const box: BoxInfo = { hostname: 'safehold', pageUrl: 'http://safehold.local:8080/', timeZone: 'UTC' };

const disk: AlertDisk = {
  id: 'wwn-0x50014ee2b5c4d3e1',
  displayName: 'WDC WD40EFRX',
  model: 'WDC WD40EFRX',
  serial: 'WD-WCC4E1234567',
  path: '/dev/sdb',
  bus: 'usb',
  sizeBytes: 4000787030016,
  ownerName: null,
  role: 'unassigned',
};

const AT = '2025-03-04T13:05:00.000Z';
const DAY = 24 * 3600 * 1000;
const daysBefore = (n: number) => new Date(Date.parse(AT) - n * DAY).toISOString();
const daysAfter = (n: number) => new Date(Date.parse(AT) + n * DAY).toISOString();

const pending: Reason = { severity: 'failing', code: 'ata-pending', message: '8 sectors pending reallocation (attribute 197).', attribute: 'ata:197' };
const reallocated: Reason = { severity: 'warning', code: 'ata-reallocated', message: '4 reallocated sectors (attribute 5).', attribute: 'ata:5' };
const trend: Reason = { severity: 'warning', code: 'trend', message: 'Pending sectors: 8, was 2 on 2025-03-03 (+6).', attribute: 'ata:197' };
const crc: Reason = { severity: 'warning', code: 'ata-crc', message: '37 interface CRC errors (attribute 199): usually a cable or enclosure, not the disk.', attribute: 'ata:199' };
const timeouts: Reason = { severity: 'warning', code: 'ata-command-timeout', message: '12 command timeouts (attribute 188): usually a cable or enclosure, not the disk.', attribute: 'ata:188' };
const hot: Reason = { severity: 'warning', code: 'temperature', message: 'Temperature 63 °C is over 55 °C, the limit for a hard disk: improve cooling.' };
const selfTest: Reason = { severity: 'failing', code: 'self-test-failed', message: 'The last extended self-test failed at LBA 123456 (read failure).' };
const healthy: Reason = { severity: 'info', code: 'healthy', message: 'No problem found in the SMART attributes and the self-test log.' };

const event = (over: Partial<AlertEvent>): AlertEvent => ({
  kind: 'verdict',
  reason: 'new',
  state: 'failing',
  previousState: null,
  disk,
  reasons: [pending],
  since: AT,
  at: AT,
  nextReminderAt: null,
  ...over,
});

const HEADINGS = ['What happened', 'Which disk', 'What it means', 'What to do next'] as const;

/** The text of one part of an alert body, from its heading to the next one. */
function part(mail: MailMessage, heading: (typeof HEADINGS)[number]): string {
  const lines = mail.text.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `the body has a "${heading}" part:\n${mail.text}`);
  const end = lines.findIndex((l, i) => i > start && ((HEADINGS as readonly string[]).includes(l) || l === '--'));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** One paragraph per line, so that a phrase split by the wrap is still found. */
const flat = (text: string) => text.replace(/\n +/g, ' ').replace(/([^\n])\n(?!\n|- |\d+\. )/g, '$1 ');

function assertReadableText(mail: MailMessage) {
  for (const line of mail.text.split('\n')) {
    // A link or a single long word cannot be broken; every other line fits a phone's width.
    if (/^https?:\/\/\S+$/.test(line) || !line.includes(' ')) continue;
    assert.ok(line.length <= 76, `line too long (${line.length}): ${line}`);
  }
  assert.ok(!/\n{3,}/.test(mail.text), 'no runs of empty lines');
}

function assertSafeHtml(mail: MailMessage) {
  const html = mail.html ?? '';
  assert.ok(html.length > 0, 'has an HTML alternative');
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<style/i);
  assert.doesNotMatch(html, /<(img|link|iframe|object|embed|form|video|audio)\b/i);
  assert.doesNotMatch(html, /<[^>]*\s(src|background|on\w+)=/i, 'no resources, no event handlers');
  assert.doesNotMatch(html, /style="[^"]*url\(/i, 'no resources from styles');
  for (const url of html.match(/https?:\/\/[^\s"'<>]+/g) ?? []) {
    assert.ok(url.startsWith(box.pageUrl), `only links into the admin page, not ${url}`);
  }
}

function assertNeverBlursBackup(mail: MailMessage) {
  for (const body of [mail.subject, mail.text, mail.html ?? '']) {
    assert.doesNotMatch(body, /duplicat/i, 'a disk alert never talks about duplicated copies');
    assert.doesNotMatch(body, /data is safe|files are safe/i);
  }
}

function assertWellFormed(mail: MailMessage, parts: readonly string[] = HEADINGS) {
  assert.doesNotMatch(mail.subject, /[\r\n]/);
  assert.ok(mail.subject.length <= 140, `subject short enough for a phone list: ${mail.subject}`);
  const lines = mail.text.split('\n');
  const positions = parts.map((h) => lines.indexOf(h));
  for (const [i, p] of positions.entries()) assert.ok(p >= 0, `has "${parts[i]}":\n${mail.text}`);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, 'the parts come in order');
  assertReadableText(mail);
  assertSafeHtml(mail);
  assertNeverBlursBackup(mail);
}

const diskPage = `${box.pageUrl}drives/${disk.id}/health`;

describe('alert mail: a failing disk', () => {
  const mail = composeAlert(event({ previousState: 'warning', reasons: [pending, trend, reallocated] }), box);

  it('names the state first, then the disk (model and serial) and the box', () => {
    assert.equal(mail.subject, 'FAILING disk: WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
  });

  it('has the four parts in order, fits a phone, and stays safe in HTML', () => assertWellFormed(mail));

  it('says what happened, with the earlier state and when', () => {
    const happened = flat(part(mail, 'What happened'));
    assert.match(happened, /from warning to failing/);
    assert.match(happened, /Tue 4 Mar 2025, 13:05/);
  });

  it('says which disk: model, serial, size, how and where it is plugged, its role', () => {
    const which = part(mail, 'Which disk');
    assert.match(which, /WDC WD40EFRX/);
    assert.match(which, /WD-WCC4E1234567/);
    assert.match(which, /4\.0 TB/);
    assert.match(which, /USB, as \/dev\/sdb/);
    assert.match(which, /unassigned/);
  });

  it('lists each reason on its own line', () => {
    const lines = part(mail, 'What it means').split('\n');
    for (const r of [pending, trend, reallocated]) assert.ok(lines.includes(`- ${r.message}`), `"${r.message}" on its own line`);
  });

  it('asks for current backups, a replacement, and no long tests', () => {
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /backups are current/);
    assert.match(steps, /point-in-time copy/);
    assert.match(steps, /Replace this disk/);
    assert.match(steps, /Do not run long self-tests/);
  });

  it("links to the disk's page", () => {
    assert.ok(mail.text.split('\n').includes(diskPage));
    assert.ok(mail.html?.includes(`href="${diskPage}"`));
  });

  it('is the same mail for the same event', () => {
    assert.deepEqual(composeAlert(event({ previousState: 'warning', reasons: [pending, trend, reallocated] }), box), mail);
  });
});

describe('alert mail: how the disk is named', () => {
  it("puts the owner's name first", () => {
    const mail = composeAlert(event({ disk: { ...disk, ownerName: 'Photo archive' } }), box);
    assert.equal(mail.subject, 'FAILING disk: Photo archive (WDC WD40EFRX, serial WD-WCC4E1234567) — safehold');
    assert.match(part(mail, 'Which disk'), /Your name for it: Photo archive/);
  });

  it('uses the kernel name when the disk hides its serial', () => {
    const mail = composeAlert(event({ disk: { ...disk, serial: null } }), box);
    assert.equal(mail.subject, 'FAILING disk: WDC WD40EFRX (sdb) — safehold');
    assert.match(part(mail, 'Which disk'), /Serial: not reported/);
  });

  it('says so when it is the system disk, and adds that to the advice', () => {
    const mail = composeAlert(event({ disk: { ...disk, role: 'system', bus: 'sata', path: '/dev/sda' } }), box);
    assert.match(flat(part(mail, 'Which disk')), /this is the system disk/);
    assert.match(part(mail, 'Which disk'), /SATA, as \/dev\/sda/);
    assert.match(flat(part(mail, 'What to do next')), /system disk/);
  });

  it('keeps control characters from the hardware out of the subject and the body', () => {
    const mail = composeAlert(event({ disk: { ...disk, serial: 'WD-1\r\nBcc: someone@example.com' } }), box);
    assert.doesNotMatch(mail.subject, /[\r\n]/);
    assert.match(mail.text, /Serial: WD-1 Bcc: someone@example\.com/);
  });
});

describe('alert mail: HTML', () => {
  const evil = '<b>Evil & "Disk"</b>';
  const mail = composeAlert(
    event({
      disk: { ...disk, model: evil, displayName: evil, serial: "<i>'1'</i>", ownerName: '<script>x</script>' },
      reasons: [{ severity: 'failing', code: 'smartctl-message', message: 'smartctl says: <img src=x onerror=alert(1)>' }],
    }),
    box,
  );

  it('escapes every value taken from the disk', () => {
    const html = mail.html ?? '';
    assert.ok(html.includes('&lt;b&gt;Evil &amp; &quot;Disk&quot;&lt;/b&gt;'), 'the model is escaped');
    assert.ok(!html.includes(evil), 'the raw model never appears');
    assert.ok(html.includes('&lt;i&gt;&#39;1&#39;&lt;/i&gt;'), 'the serial is escaped');
    assert.ok(html.includes('&lt;script&gt;x&lt;/script&gt;'), "the owner's name is escaped");
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'a reason is escaped');
    assertSafeHtml(mail);
  });

  it('is one column of system fonts with inline styles, readable on a phone', () => {
    const html = mail.html ?? '';
    assert.match(html, /<meta name="viewport" content="width=device-width/);
    assert.match(html, /max-width:560px/);
    assert.match(html, /font-family:-apple-system/);
    assert.doesNotMatch(html, /<table/i);
    assert.doesNotMatch(html, /class=/, 'inline styles only: mail clients strip style sheets');
  });

  it('has the same four parts and advice as the text', () => {
    const html = mail.html ?? '';
    for (const h of HEADINGS) assert.ok(html.includes(`>${h}</h2>`), h);
    assert.match(html, /backups are current/);
  });

  it('does not link an address that is not http(s)', () => {
    const odd = composeAlert(event({}), { ...box, pageUrl: 'javascript:alert(1)//' });
    assert.doesNotMatch(odd.html ?? '', /href=/);
  });
});

describe('alert mail: warnings', () => {
  it('a cable counter (199) says cable, asks to acknowledge it, and does not ask to replace the disk', () => {
    const mail = composeAlert(event({ state: 'warning', reasons: [crc] }), box);
    assertWellFormed(mail);
    assert.match(mail.subject, /^Disk warning \(cable or enclosure\): WDC WD40EFRX \(serial WD-WCC4E1234567\)/);
    assert.match(flat(part(mail, 'What it means')), /connection to the disk/);
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /cable/);
    assert.match(steps, /enclosure/);
    assert.match(steps, /acknowledge the counter/);
    assert.doesNotMatch(steps, /Replace this disk/);
  });

  it('command timeouts (188) on a SATA disk give cable advice for SATA', () => {
    const mail = composeAlert(event({ state: 'warning', reasons: [timeouts], disk: { ...disk, bus: 'sata', path: '/dev/sda' } }), box);
    assertWellFormed(mail);
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /data and power cables/);
    assert.doesNotMatch(steps, /USB/);
  });

  it('bad sectors: watch, run a long self-test, check backups', () => {
    const mail = composeAlert(event({ state: 'warning', reasons: [reallocated] }), box);
    assertWellFormed(mail);
    assert.match(mail.subject, /^Disk warning: /);
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /backups are current/);
    assert.match(steps, /long self-test/);
    assert.match(steps, /Watch it/);
  });

  it('bad sectors and a cable: both kinds of advice', () => {
    const mail = composeAlert(event({ state: 'warning', reasons: [reallocated, crc] }), box);
    assert.match(mail.subject, /^Disk warning: /);
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /long self-test/);
    assert.match(steps, /cable/);
  });

  it('names a better state too: failing → warning', () => {
    const mail = composeAlert(event({ reason: 'changed', state: 'warning', previousState: 'failing', reasons: [reallocated] }), box);
    assert.match(flat(part(mail, 'What happened')), /from failing to warning/);
  });

  it('an unknown verdict says why and what to look at', () => {
    const mail = composeAlert(event({ state: 'unknown', reasons: [{ severity: 'unknown', code: 'no-smart', message: 'The USB bridge does not pass SMART through.' }] }), box);
    assertWellFormed(mail);
    assert.match(mail.subject, /^Disk health unknown: /);
    assert.match(part(mail, 'What it means'), /- The USB bridge does not pass SMART through\./);
  });
});

describe('alert mail: back to healthy', () => {
  const mail = composeAlert(event({ reason: 'resolved', state: 'healthy', previousState: 'warning', reasons: [healthy] }), box);

  it('says so first in the subject', () => {
    assert.equal(mail.subject, 'Back to healthy: WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
  });

  it('says what it was, and that there is nothing to do', () => {
    assertWellFormed(mail);
    assert.match(flat(part(mail, 'What happened')), /healthy again \(it had a warning\)/);
    assert.match(part(mail, 'What to do next'), /Nothing to do/);
  });
});

describe('alert mail: reminders', () => {
  const mail = composeAlert(event({ reason: 'reminder', since: daysBefore(3), nextReminderAt: daysAfter(4) }), box);

  it('says how long in the subject', () => {
    assert.equal(mail.subject, 'Reminder (3 days): disk still failing: WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
  });

  it('says since when, and when the next reminder comes', () => {
    assertWellFormed(mail);
    const happened = flat(part(mail, 'What happened'));
    assert.match(happened, /still failing, since Sat 1 Mar 2025, 13:05 \(3 days\)/);
    assert.match(happened, /next reminder comes in 4 days \(Sat 8 Mar 2025, 13:05\)/);
    assert.match(flat(part(mail, 'What to do next')), /backups are current/);
  });

  it('a reminder without a next date says a change is mailed', () => {
    const last = composeAlert(event({ reason: 'reminder', since: daysBefore(1) }), box);
    assert.match(last.subject, /^Reminder \(1 day\): /);
    assert.match(flat(part(last, 'What happened')), /as soon as this changes/);
  });

  it('reminds about a missing disk and heat too', () => {
    const missing = composeAlert(event({ kind: 'missing', reason: 'reminder', state: 'missing', reasons: [], since: daysBefore(2), nextReminderAt: daysAfter(4) }), box);
    assert.match(missing.subject, /^Reminder \(2 days\): disk still missing: WDC WD40EFRX/);
    const tooHot = composeAlert(event({ kind: 'too-hot', reason: 'reminder', state: 'too-hot', reasons: [hot], since: daysBefore(1), nextReminderAt: daysAfter(2) }), box);
    assert.match(tooHot.subject, /^Reminder \(1 day\): still too hot: 63 °C on WDC WD40EFRX/);
  });
});

describe('alert mail: missing and back', () => {
  it('a missing disk is not a deleted one', () => {
    const mail = composeAlert(event({ kind: 'missing', state: 'missing', reasons: [] }), box);
    assertWellFormed(mail);
    assert.equal(mail.subject, 'Disk missing: WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
    const means = flat(part(mail, 'What it means'));
    assert.match(means, /not a deleted one/);
    assert.match(means, /nothing was removed/);
    assert.match(flat(part(mail, 'What to do next')), /plugged in and powered/);
    assert.match(part(mail, 'Which disk'), /Last seen: USB, as \/dev\/sdb/);
  });

  for (const [kind, reason] of [
    ['back', 'resolved'],
    ['missing', 'resolved'],
  ] as const) {
    it(`a disk that comes back (${kind}, ${reason}) needs nothing`, () => {
      const mail = composeAlert(event({ kind, reason, state: 'present', previousState: 'missing', reasons: [] }), box);
      assertWellFormed(mail);
      assert.equal(mail.subject, 'Disk back: WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
      assert.match(part(mail, 'What to do next'), /Nothing to do/);
      assert.match(flat(part(mail, 'What to do next')), /checking its health again/);
    });
  }

  it('says how long it was away when that is known', () => {
    const mail = composeAlert(event({ kind: 'back', reason: 'resolved', state: 'present', reasons: [], since: daysBefore(2) }), box);
    assert.match(flat(part(mail, 'What happened')), /missing since Sun 2 Mar 2025, 13:05 \(2 days\)/);
  });
});

describe('alert mail: too hot', () => {
  it('puts the temperature in the subject and asks for air', () => {
    const mail = composeAlert(event({ kind: 'too-hot', state: 'too-hot', reasons: [hot] }), box);
    assertWellFormed(mail);
    assert.equal(mail.subject, 'Too hot: 63 °C on WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /air/);
    assert.match(steps, /fans/);
    assert.match(steps, /cooler place/);
  });

  it('takes the temperature from the event when given', () => {
    const mail = composeAlert(event({ kind: 'too-hot', state: 'too-hot', reasons: [], temperatureC: 58.4 }), box);
    assert.match(mail.subject, /^Too hot: 58 °C on /);
  });

  it('says when it is back to normal', () => {
    const mail = composeAlert(event({ kind: 'too-hot', reason: 'resolved', state: 'ok', previousState: 'too-hot', reasons: [] }), box);
    assertWellFormed(mail);
    assert.match(mail.subject, /^Temperature back to normal: WDC WD40EFRX/);
    assert.match(part(mail, 'What to do next'), /Nothing to do/);
  });
});

describe('alert mail: self-test and growing counters', () => {
  it('a failed self-test: back up what matters now, replace the disk', () => {
    const mail = composeAlert(event({ kind: 'self-test-failed', state: 'failed', reasons: [selfTest] }), box);
    assertWellFormed(mail);
    assert.equal(mail.subject, 'Self-test FAILED: WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
    assert.ok(part(mail, 'What it means').split('\n').includes(`- ${selfTest.message}`));
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /Back up what matters now/);
    assert.match(steps, /Replace this disk/);
  });

  it('a counter that grew says by how much and asks to check backups', () => {
    const mail = composeAlert(event({ kind: 'counter-grew', state: trend.message, reasons: [trend, reallocated] }), box);
    assertWellFormed(mail);
    assert.equal(mail.subject, 'Bad sectors growing (+6): WDC WD40EFRX (serial WD-WCC4E1234567) — safehold');
    assert.match(flat(part(mail, 'What happened')), /grew by 6/);
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /backups are current/);
    assert.match(steps, /long self-test/);
  });

  it('a counter that grew on a failing disk gives the failing advice', () => {
    const mail = composeAlert(event({ kind: 'counter-grew', state: trend.message, reasons: [pending, trend] }), box);
    const steps = flat(part(mail, 'What to do next'));
    assert.match(steps, /Replace this disk/);
    assert.match(steps, /Do not run long self-tests/);
  });
});

describe('alert mail: every kind and reason', () => {
  const kinds = ['verdict', 'self-test-failed', 'counter-grew', 'missing', 'back', 'too-hot'] as const;
  const reasons = ['new', 'changed', 'resolved', 'reminder'] as const;
  for (const kind of kinds) {
    for (const reason of reasons) {
      it(`${kind} / ${reason}: names the disk and the box, four parts, safe HTML`, () => {
        const state = reason === 'resolved' ? ({ verdict: 'healthy', missing: 'present', back: 'present' } as Record<string, string>)[kind] ?? 'ok' : kind === 'verdict' ? 'warning' : kind;
        const mail = composeAlert(
          event({ kind, reason, state, previousState: reason === 'new' ? null : 'failing', reasons: [reallocated, crc, hot], since: daysBefore(2), nextReminderAt: daysAfter(2) }),
          box,
        );
        assertWellFormed(mail);
        assert.match(mail.subject, /WDC WD40EFRX \(serial WD-WCC4E1234567\) — safehold$|on WDC WD40EFRX \(serial WD-WCC4E1234567\) — safehold$/);
        if (reason === 'reminder') assert.match(mail.subject, /^Reminder \(2 days\): /);
        assert.ok(mail.text.includes(diskPage));
      });
    }
  }
});

describe('daily digest', () => {
  const ssd: AlertDisk = { ...disk, id: 'serial-S870', displayName: 'Samsung SSD 870 EVO 1TB', model: 'Samsung SSD 870 EVO 1TB', serial: 'S6PNNJ0R123456', sizeBytes: 1e12, bus: 'sata', path: '/dev/sda' };
  const input = (over: Partial<DigestInput> = {}): DigestInput => ({
    box,
    from: daysBefore(1),
    to: AT,
    disks: [
      { disk, verdict: 'healthy', headline: 'No problem found.', temperatureC: 38 },
      { disk: ssd, verdict: 'failing', headline: pending.message, temperatureC: 41 },
    ],
    open: [{ message: 'Samsung SSD 870 EVO 1TB is FAILING: 8 sectors pending reallocation.', since: daysBefore(3) }],
    activity: [
      ...Array.from({ length: 40 }, (_, i) => ({ at: new Date(Date.parse(daysBefore(1)) + i * 1800_000).toISOString(), level: 'info' as const, message: `Checked the health of 2 disks (${i}).` })),
      { at: daysBefore(0.5), level: 'warning' as const, message: 'A backup took longer than usual.' },
      { at: daysBefore(0.25), level: 'error' as const, message: 'An alert e-mail could not be sent.' },
    ],
    ...over,
  });

  it('says the worst first in the subject', () => {
    const mail = composeDigest(input());
    assert.equal(mail.subject, 'Daily summary: 1 disk FAILING, 1 error in the log — safehold');
    const fine = composeDigest(input({ disks: [{ disk, verdict: 'healthy', headline: 'No problem found.', temperatureC: null }, { disk: ssd, verdict: 'healthy', headline: 'No problem found.', temperatureC: null }], activity: [] }));
    assert.equal(fine.subject, 'Daily summary: all 2 disks healthy — safehold');
  });

  it('starts with "am I protected?" of the backups, and counts backups at risk in the subject', () => {
    const risky = composeDigest(input({ disks: [{ disk, verdict: 'healthy', headline: 'No problem found.', temperatureC: null }], activity: [], backups: { level: 'problem', headline: 'No drive has had a good backup for 9 days (the newest is on drive A). Plug a rotation drive in.' } }));
    assert.equal(risky.subject, 'Daily summary: the disk is healthy, backups at risk — safehold');
    assert.match(risky.text, /^Backups\nNo drive has had a good backup for 9 days \(the newest is on drive A\)\.\nPlug a rotation drive in\./);
    assert.match(risky.text, /Open the backups page:\nhttp:\/\/safehold\.local:8080\/backups/);
    const fine = composeDigest(input({ disks: [{ disk, verdict: 'healthy', headline: 'No problem found.', temperatureC: null }], activity: [], backups: { level: 'ok', headline: 'Protected: the newest backup is from today, on drive A.' } }));
    assert.equal(fine.subject, 'Daily summary: the disk is healthy — safehold');
    assertNeverBlursBackup(fine);
  });

  it('lists every disk on one line, worst first, with its temperature', () => {
    const mail = composeDigest(input());
    const lines = mail.text.split('\n');
    const first = lines.findIndex((l) => l.startsWith('- FAILING: Samsung SSD 870 EVO 1TB (serial S6PNNJ0R123456)'));
    const second = lines.findIndex((l) => l.startsWith('- Healthy: WDC WD40EFRX (serial WD-WCC4E1234567)'));
    assert.ok(first >= 0 && second > first, mail.text);
    assert.match(flat(mail.text), /41 °C: 8 sectors pending reallocation/);
    assertReadableText(mail);
    assertSafeHtml(mail);
    assertNeverBlursBackup(mail);
  });

  it('lists the problems still open, with since when', () => {
    const mail = composeDigest(input());
    assert.match(flat(mail.text), /Samsung SSD 870 EVO 1TB is FAILING: 8 sectors pending reallocation, since Sat 1 Mar 2025, 13:05 \(3 days\)/);
    assert.match(composeDigest(input({ open: [] })).text, /Problems still open\nNone\./);
  });

  it('puts errors and warnings first, and cuts the activity at 30 lines', () => {
    const mail = composeDigest(input());
    const lines = mail.text.split('\n');
    const start = lines.findIndex((l) => l.startsWith('Activity, '));
    assert.equal(lines[start], 'Activity, Mon 3 Mar, 13:05 to Tue 4 Mar, 13:05');
    assert.match(lines[start + 1] ?? '', /^- Error: Tue 4 Mar, 07:05: An alert e-mail could not be sent\./);
    assert.match(lines[start + 2] ?? '', /^- Warning: Tue 4 Mar, 01:05: A backup took longer than usual\./);
    const items = lines.slice(start + 1).filter((l) => l.startsWith('- '));
    assert.equal(items.length, 30);
    assert.match(mail.text, /And 12 more in the activity log\./);
    assert.ok(mail.text.includes(`${box.pageUrl}activity`));
  });

  it('escapes what the log and the disks say', () => {
    const mail = composeDigest(input({ activity: [{ at: AT, level: 'warning', message: '<script>alert(1)</script>' }], disks: [{ disk: { ...disk, model: '<b>x</b>', displayName: '<b>x</b>' }, verdict: 'warning', headline: 'a & b', temperatureC: null }] }));
    assertSafeHtml(mail);
    assert.ok(mail.html?.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(mail.html?.includes('&lt;b&gt;x&lt;/b&gt;'));
  });
});

describe('test mail', () => {
  const mail = composeTestMail(box, AT);

  it('says it is a test from Safehold on this box', () => {
    assert.equal(mail.subject, 'Test e-mail from Safehold on safehold');
    assert.match(flat(mail.text), /This is a test e-mail from Safehold on safehold, sent on Tue 4 Mar 2025, 13:05/);
  });

  it('says alerts arrive this way, and where to change the settings', () => {
    assert.match(flat(mail.text), /Alerts will arrive this way/);
    assert.ok(mail.text.includes(`${box.pageUrl}settings#alerts`));
    assertReadableText(mail);
    assertSafeHtml(mail);
  });

  it('adds the slash a page address without one needs', () => {
    const noSlash = composeTestMail({ ...box, pageUrl: 'http://safehold.local:8080' }, AT);
    assert.ok(noSlash.text.includes('http://safehold.local:8080/settings#alerts'));
  });
});
