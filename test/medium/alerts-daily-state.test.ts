/**
 * The daily state while alert e-mail is off, with a real catalog, the real scheduler on an injected
 * clock and a real SMTP server: an alert that cannot be mailed is remembered, the status notice names
 * it, and every day at the digest's hour the activity log gets one entry saying that alerts are not
 * set up, the fix, and what was not sent. Once e-mail is on, the daily state is the digest mail.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { SmtpMailTransport } from '../../system/mail/smtp-mail.adapter.js';
import { ActivityRepository } from '../../server/activity/activity.repository.js';
import { ActivityService } from '../../server/activity/activity.service.js';
import type { AlertDisk } from '../../server/alerts/alert-mail.js';
import { AlertRepository } from '../../server/alerts/alert.repository.js';
import { AlertService, type DigestInput } from '../../server/alerts/alert.service.js';
import { EventBus } from '../../server/events.js';
import { Scheduler } from '../../server/jobs/scheduler.js';
import { SecretStore } from '../../server/settings/secrets.js';
import { SettingsRepository } from '../../server/settings/settings.repository.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';
import { startMailCatcher, subjectOf, type MailCatcher } from '../testing/smtp.js';
import { waitFor } from '../testing/service.js';

const DAY = 24 * 3600 * 1000;
/** Lets a scheduled run that fired finish (the scheduler skips a run while the last one is busy). */
const settled = () => new Promise((done) => setImmediate(done));
const NOT_SET_UP = /Alerts are not set up: you will not hear of a failing disk\. Turn on "Alerts by e-mail" in Settings/;

const disk: AlertDisk = {
  id: 'wwn-0x50014ee2b5c4d3e1',
  displayName: 'WDC WD40EFRX',
  model: 'WDC WD40EFRX',
  serial: 'WD-WCC4E1234567',
  path: '/dev/sdb',
  bus: 'sata',
  sizeBytes: 4000787030016,
  ownerName: null,
  role: 'unassigned',
};

describe('the daily state while alerts are not set up', () => {
  const cat = tempCatalog();
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
  const log = silentLog();
  const scheduler = new Scheduler(clock, log);
  let secretsDir = '';
  let smtp: MailCatcher;
  let activity: ActivityService;
  let alerts: AlertService;

  const digest = (): DigestInput => ({
    disks: [{ disk, verdict: 'failing', headline: '535 reallocated sectors.', temperatureC: 38 }],
    open: alerts.open().map((a) => ({ message: a.message, since: a.since })),
    activity: [],
    backups: { level: 'ok', headline: 'Protected: the newest backup is from today, on drive A.' },
  });
  const dailyEntries = () => activity.list(500).filter((e) => e.kind === 'alert.not-set-up');

  before(async () => {
    smtp = await startMailCatcher();
    secretsDir = await mkdtemp(join(tmpdir(), 'safehold-test-secrets-'));
    const bus = new EventBus();
    activity = new ActivityService(new ActivityRepository(cat.db), bus, clock);
    alerts = new AlertService({
      repo: new AlertRepository(cat.db),
      settings: new SettingsRepository(cat.db),
      secrets: new SecretStore(secretsDir),
      transport: new SmtpMailTransport(),
      activity,
      bus,
      clock,
      log,
      pageUrl: () => 'http://safehold.local:8080/',
      daily: { scheduler, digest },
    });
    alerts.start();
  });
  after(async () => {
    scheduler.stop();
    cat.dispose();
    await rm(secretsDir, { recursive: true, force: true });
    await smtp.close();
  });

  it('remembers the alert it could not mail, and the status notice names it', async () => {
    assert.deepEqual({ ...alerts.notSetUp(), notice: null }, { setUp: false, notice: null, notSentLastDay: 0 });
    assert.match(alerts.notSetUp().notice!, NOT_SET_UP);
    await alerts.observe({
      key: `health:${disk.id}`, kind: 'verdict', disk, state: 'failing', normal: false, severity: 'error',
      message: 'WDC WD40EFRX is FAILING: 535 reallocated sectors.', reasons: [],
    });
    assert.equal(smtp.received.length, 0, 'nothing can be mailed');
    const view = alerts.notSetUp();
    assert.equal(view.notSentLastDay, 1);
    assert.match(view.notice!, NOT_SET_UP);
    assert.match(view.notice!, /1 alert e-mail was not sent in the last day because of it: "FAILING disk: WDC WD40EFRX \(serial WD-WCC4E1234567\) — /);
  });

  it('writes one activity entry a day, at the digest hour, that says so with the fix and what was not sent', async () => {
    assert.equal(dailyEntries().length, 0);
    clock.advance(DAY);
    await settled();
    const [entry, ...more] = dailyEntries();
    assert.equal(more.length, 0, 'one entry for the day');
    assert.equal(entry!.level, 'warning');
    assert.match(entry!.message, /^Daily state: /);
    assert.match(entry!.message, NOT_SET_UP);
    assert.match(entry!.message, /\/settings#alerts/);
    assert.match(entry!.message, /1 alert e-mail was not sent in the last day because of it: "FAILING disk: WDC WD40EFRX/);
    assert.equal(new Date(entry!.at).getHours(), 8, 'at the digest hour of the box (08:00 unless the owner chose another)');

    clock.advance(DAY);
    await settled();
    const entries = dailyEntries();
    assert.equal(entries.length, 2, 'the next day again');
    assert.doesNotMatch(entries[0]!.message, /not sent/, 'a day later, what was not sent is a day old');
    assert.equal(alerts.notSetUp().notSentLastDay, 0);
  });

  it('once e-mail is on, the daily state is the digest mail, and no more "not set up" entries', async () => {
    await alerts.saveSettings({
      enabled: true,
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: null, from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: true, hour: 8 },
    });
    assert.deepEqual(alerts.notSetUp(), { setUp: true, notice: null, notSentLastDay: 0 });
    const before = dailyEntries().length;
    clock.advance(DAY);
    const { value: mail } = await waitFor(() => smtp.received[0], 10_000, 'the digest at the SMTP server');
    assert.match(subjectOf(mail.raw), /^Daily summary: 1 disk FAILING/);
    assert.equal(dailyEntries().length, before);
  });
});
