/**
 * Health monitoring above the adapter line, on the simulated host with a real catalog and an
 * injected clock: an internal disk that disappears is an open alert (and one message), coming back
 * resolves it; unplugging a USB drive is normal and says nothing; a lasting problem is told again
 * only after a day; the scheduled short self-tests run one disk after the other. A disk with a
 * warning that is unplugged keeps its page and its place in the headline.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { SimulatedBlockDevices, SimulatedHost } from '../../system/drives/simulated-host.js';
import type { MailMessage, MailTransport, SmtpSettings } from '../../system/mail/mail.js';
import { SimulatedSmartReader } from '../../system/smart/smartctl.sim.js';
import { ActivityRepository } from '../../server/activity/activity.repository.js';
import { ActivityService } from '../../server/activity/activity.service.js';
import { AlertRepository } from '../../server/alerts/alert.repository.js';
import { AlertService } from '../../server/alerts/alert.service.js';
import { DriveRepository } from '../../server/drives/drive.repository.js';
import { DriveService } from '../../server/drives/drive.service.js';
import { EventBus } from '../../server/events.js';
import { HealthService, POLL_JOB, SELF_TEST_JOB } from '../../server/health/health.service.js';
import { SmartHistoryRepository } from '../../server/health/smart-history.repository.js';
import { JobRunner } from '../../server/jobs/job-runner.js';
import { JobRepository } from '../../server/jobs/job.repository.js';
import { Scheduler } from '../../server/jobs/scheduler.js';
import { SecretStore } from '../../server/settings/secrets.js';
import { SettingsRepository } from '../../server/settings/settings.repository.js';
import { StatusService } from '../../server/status/status.service.js';
import { ROOT } from '../testing/service.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';

/** Records what would have been mailed (the SMTP path itself is tested against a real server elsewhere). */
class RecordingTransport implements MailTransport {
  readonly sent: MailMessage[] = [];
  async send(_settings: SmtpSettings, message: MailMessage): Promise<void> {
    this.sent.push(message);
  }
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/** Wait (real time, at most 3 s) until `check` holds: the simulated host and the secret store do real file I/O. */
async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('health monitoring on the simulated host', () => {
  const cat = tempCatalog();
  let root: string;
  let host: SimulatedHost;
  let drives: DriveService;
  let jobs: JobRunner;
  let health: HealthService;
  let alerts: AlertService;
  let reader: SimulatedSmartReader;
  const clock = new ManualClock();
  const mail = new RecordingTransport();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'safehold-test-monitoring-'));
    host = await SimulatedHost.open(join(root, 'host'));
    await host.seedDemo();
    await host.unplug('usb-old'); // the demo's failing disk: this test's one problem is sdb
    const fixtures = join(ROOT, 'test', 'fixtures', 'smartctl');
    reader = new SimulatedSmartReader({
      '/dev/sda': join(fixtures, 'sat-wdc-wd140edfz-healthy-selftest-running.json'),
      '/dev/sdb': join(fixtures, 'sat-seagate-st3500418as-1-reallocated.json'),
      '/dev/usb-a': join(fixtures, 'sat-samsung-ssd840-crc-errors.json'),
    });
    const log = silentLog();
    const bus = new EventBus();
    const activity = new ActivityService(new ActivityRepository(cat.db), bus, clock);
    jobs = new JobRunner({ repo: new JobRepository(cat.db), clock, bus, log });
    drives = new DriveService({ repo: new DriveRepository(cat.db), devices: new SimulatedBlockDevices(host), activity, bus, clock, log, dataDir: '/var/lib/safehold' });
    const settings = new SettingsRepository(cat.db);
    alerts = new AlertService({ repo: new AlertRepository(cat.db), settings, secrets: new SecretStore(root), transport: mail, activity, bus, clock, log, pageUrl: () => 'http://safehold.local:8080/' });
    await alerts.saveSettings({
      enabled: true,
      smtp: { host: 'mail.example', port: 587, security: 'starttls', user: null, from: 'box@example.com', to: ['owner@example.com'] },
      digest: { enabled: false, hour: 8 },
    });
    health = new HealthService({ reader, history: new SmartHistoryRepository(cat.db), drives, jobs, alerts, activity, settings, scheduler: new Scheduler(clock, log), bus, clock, log, selfTestPollMs: 1000 });
    drives.setHealthSource((id) => health.summary(id));
    health.start();
    jobs.start();
    await drives.refresh();
    await until(() => jobs.recent(10).some((j) => j.kind === POLL_JOB), 'the check that follows plugging the disks in');
    await jobs.settled(jobs.recent(10).find((j) => j.kind === POLL_JOB)!.id);
  });

  after(async () => {
    await jobs.shutdown(100);
    cat.dispose();
    await rm(root, { recursive: true, force: true });
  });

  const subjects = () => mail.sent.map((m) => m.subject);

  it('judges every disk and tells about the one with a problem once', () => {
    const verdicts = Object.fromEntries(drives.list().map((d) => [d.name, d.health?.verdict]));
    assert.deepEqual(verdicts, { mmcblk0: 'unknown', sda: 'healthy', sdb: 'warning', 'usb-a': 'warning' });
    assert.equal(subjects().filter((s) => /ST3500418AS/.test(s)).length, 1);
    assert.equal(drives.list().find((d) => d.name === 'mmcblk0')!.health!.state, 'no-smart', 'an SD card is not asked');
  });

  it('reminds about a lasting problem after a day, not on every poll', async () => {
    const before = mail.sent.length;
    for (let i = 0; i < 3; i++) {
      clock.advance(30 * 60 * 1000);
      await jobs.settled(health.requestCheck().id);
    }
    assert.equal(mail.sent.length, before, 'three more polls in 90 minutes: nothing');
    clock.advance(24 * 3600 * 1000);
    await jobs.settled(health.requestCheck().id);
    assert.ok(subjects().slice(before).some((s) => /^Reminder/.test(s)), subjects().slice(before).join(' | '));
  });

  it('says an internal disk is missing, and that it is back; a USB drive unplugged is normal', async () => {
    const sda = drives.list().find((d) => d.name === 'sda')!;
    const before = mail.sent.length;
    await host.unplug('usb-a');
    await host.unplug('sda');
    await drives.refresh();
    await until(() => subjects().slice(before).some((s) => /missing/i.test(s)), 'the missing-disk mail');
    const open = alerts.open();
    assert.deepEqual(open.filter((a) => a.key.startsWith('missing:')).map((a) => a.key), [`missing:${sda.id}`]);
    assert.equal(open.find((a) => a.key === `missing:${sda.id}`)!.severity, 'error');
    assert.ok(subjects().slice(before).some((s) => /missing/i.test(s) && /WD140EDFZ/.test(s)));
    assert.ok(!subjects().slice(before).some((s) => /Samsung/.test(s) && /missing/i.test(s)), 'no mail for the USB drive');

    await host.plug('sda');
    await drives.refresh();
    await until(() => subjects().some((s) => /back/i.test(s) && /WD140EDFZ/.test(s)), 'the disk-back mail');
    assert.ok(!alerts.open().some((a) => a.key === `missing:${sda.id}`));
    await host.plug('usb-a');
    await drives.refresh();
    await until(() => jobs.counts().running === 0 && jobs.counts().queued === 0, 'the check after plugging in');
  });

  it('keeps the page of a disk with a problem that is unplugged (last verdict, last seen), and its place in the headline', async () => {
    const usb = drives.list().find((d) => d.name === 'usb-a')!;
    const status = new StatusService({
      drives, jobs, version: 'test', startedAt: clock.now(), dataDir: root, simulated: true, missingPrograms: new Set(),
      openAlerts: () => alerts.open(), protection: () => ({ level: 'ok', headline: 'Protected', newestBackup: { at: new Date(clock.now()).toISOString(), driveName: 'A' } }), alerts: () => ({ setUp: false, notice: 'Alerts are not set up', notSentLastDay: 0 }),
    });
    assert.match(status.status().headline, /Samsung/, 'the warning is in the headline while it is plugged in');
    const seen = drives.get(usb.id).lastSeenAt;
    await host.unplug('usb-a');
    clock.advance(60_000);
    await drives.refresh();
    try {
      assert.ok(alerts.open().some((a) => a.key === `health:${usb.id}`), 'its problem is still open');
      const view = health.view(usb.id);
      assert.equal(view.connected, false);
      assert.equal(view.lastSeenAt, seen);
      assert.equal(view.summary?.verdict, 'warning', 'the last verdict');
      assert.ok(view.attributes.length > 0, 'the last read is shown');
      assert.ok(view.advice?.steps.length, 'and what to do');
      const now = status.status();
      assert.equal(now.overall, 'attention');
      assert.match(now.headline, /attention: .*Samsung.* \(unplugged\)/);
    } finally {
      await host.plug('usb-a');
      await drives.refresh();
      await until(() => jobs.counts().running === 0 && jobs.counts().queued === 0, 'the check after plugging in');
    }
  });

  it('runs the scheduled short self-tests one disk after the other, holding each disk', async () => {
    await health.saveSettings({ pollSchedule: '*/30 * * * *', shortTestSchedule: '0 3 * * *', longTestSchedule: '0 2 1 * *' });
    const next3am = new Date(clock.now());
    next3am.setHours(27, 0, 0, 0);
    clock.advance(next3am.getTime() - clock.now());
    await flush();
    const tests = () => jobs.recent(50).filter((j) => j.kind === SELF_TEST_JOB);
    const eligible = drives.list().filter((d) => d.health?.state === 'read').map((d) => d.id).sort();
    assert.deepEqual(tests().map((j) => j.target).sort(), eligible, 'one test queued per disk that has SMART');
    let mostAtOnce = 0;
    for (let i = 0; i < 200 && tests().some((j) => j.state !== 'succeeded'); i++) {
      mostAtOnce = Math.max(mostAtOnce, tests().filter((j) => j.state === 'running').length);
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(mostAtOnce, 1, 'one disk at a time');
    assert.deepEqual([...new Set(tests().map((j) => j.state))], ['succeeded']);
    assert.match(tests()[0]!.message ?? '', /short self-test passed/);
  });

  it('tells the owner at once when a self-test fails, and the job says so', async () => {
    const sdb = drives.list().find((d) => d.name === 'sdb')!;
    reader.failNextSelfTest(sdb.path, 'Completed: read failure');
    const before = mail.sent.length;
    const job = health.startSelfTest(sdb.id, 'short');
    for (let i = 0; i < 40 && !['succeeded', 'failed'].includes(jobs.get(job.id).state); i++) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 2));
    }
    const ended = jobs.get(job.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.message ?? '', /short self-test of ST3500418AS failed: Completed: read failure/);
    await until(() => mail.sent.length > before, 'the self-test mail');
    assert.ok(subjects().slice(before).some((s) => /self-test/i.test(s) && /ST3500418AS/.test(s)), subjects().slice(before).join(' | '));
  });
});
