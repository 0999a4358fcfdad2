/**
 * Disk health end to end, on the real service with its real smartctl adapter: a stand-in `smartctl`
 * first on the tools path (SAFEHOLD_TOOLS_PATH) replays captured outputs (the disks of this machine answer as the captured drives),
 * and a real SMTP server receives the alert. A disk that degrades sends one mail with its reasons;
 * checking again sends nothing; recovering sends "back to healthy"; a sleeping disk is not woken.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browserish, freePort, ROOT, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';
import { startMailCatcher, subjectOf, type MailCatcher, type ReceivedMail } from '../testing/smtp.js';

const STANDIN_DIR = join(ROOT, 'test', 'fixtures', 'bin');
const HEALTHY = 'sat-wdc-wd140edfz-healthy-selftest-running.json';
const FAILING = 'sat-wdc-wd3200buct-failed-selftest-trimmed.json';

describe('disk health: monitoring and alert e-mail', () => {
  let work: string;
  let scenario: string;
  let callLog: string;
  let svc: ServiceProcess;
  let admin: Browserish;
  let smtp: MailCatcher;
  let smtpPort: number;
  let mails: ReceivedMail[];

  /** Every disk of this machine answers with `file` (or is asleep). */
  const answer = (spec: { file: string } | { asleep: true }) =>
    writeFile(
      scenario,
      JSON.stringify({
        '--scan-open': { default: { stdout: '{"devices":[]}', exit: 0 } },
        '*': 'asleep' in spec ? { '-n standby': { file: 'standby.json' }, default: { file: HEALTHY } } : { default: { file: spec.file } },
      }),
    );

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'safehold-test-health-'));
    scenario = join(work, 'scenario.json');
    callLog = join(work, 'smartctl-calls.log');
    await answer({ file: HEALTHY });
    smtp = await startMailCatcher();
    smtpPort = smtp.port;
    mails = smtp.received;
    svc = await startServiceProcess({
      simulate: false,
      env: { SAFEHOLD_TOOLS_PATH: STANDIN_DIR, SAFEHOLD_SMARTCTL_SCENARIO: scenario, SAFEHOLD_SMARTCTL_LOG: callLog },
    });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });

  after(async () => {
    await svc?.dispose();
    await smtp?.close();
    await rm(work, { recursive: true, force: true });
  });

  const smartDisks = async () => ((await admin.get('/drives')).json.drives as { id: string; name: string; bus: string; health: { verdict: string; state: string; headline: string } | null }[]).filter((d) => d.bus !== 'loop');
  const check = async () => {
    const job = (await admin.post('/health/check')).json.job as { id: number };
    await waitFor(async () => ['succeeded', 'failed'].includes((await admin.get(`/jobs/${job.id}`)).json.state), 10_000, 'the health check');
  };

  it('reads every disk at start-up, through the real adapter, without waking sleeping disks', async () => {
    const { value: disks } = await waitFor(async () => {
      const list = await smartDisks();
      return list.length > 0 && list.every((d) => d.health) ? list : null;
    }, 10_000, 'health on every disk');
    for (const disk of disks) assert.equal(disk.health!.verdict, 'healthy', disk.name);
    const calls = (await readFile(callLog, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv);
    const reads = calls.filter((argv) => argv.includes('-x') || argv.includes('-a'));
    assert.ok(reads.length >= disks.length);
    for (const argv of reads) assert.deepEqual(argv.slice(argv.indexOf('-n'), argv.indexOf('-n') + 2), ['-n', 'standby'], argv.join(' '));
  });

  it('refuses alert settings that cannot work, with the field that is wrong', async () => {
    const bad = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: smtpPort, security: 'none', user: null, from: 'safehold@box.lan', to: [] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.error.issues.map((i: { path: string }) => i.path), ['smtp.to']);
    const badCron = await admin.request('PUT', '/settings/health', { pollSchedule: '*/30 * * *  * * *', shortTestSchedule: '0 3 * * 0', longTestSchedule: '0 2 1 * *' });
    assert.equal(badCron.status, 400);
    assert.equal(badCron.json.error.issues[0].path, 'pollSchedule');
  });

  it('sends a test e-mail, and says in words why one cannot be sent', async () => {
    const ok = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: await freePort(), security: 'none', user: null, from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.smtp.passwordSet, false);
    const refused = await admin.post('/settings/alerts/test');
    assert.equal(refused.status, 502);
    assert.equal(refused.json.error.kind, 'no-mail-server');
    assert.match(refused.json.error.message, /No mail server answered/);

    const settings = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: smtpPort, security: 'none', user: 'box', password: 'smtp-secret-123', from: 'safehold@box.lan', to: ['owner@family.example', 'office@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(settings.json.smtp.passwordSet, true);
    assert.ok(!JSON.stringify(settings.json).includes('smtp-secret-123'), 'the password is never returned');
    assert.ok(!JSON.stringify((await admin.get('/settings/alerts')).json).includes('smtp-secret-123'));
  });

  it('mails once when a disk starts failing, with its reasons, and not again on the next check', async () => {
    // the test mail above used a login the server does not require: log in without one from now on
    await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: smtpPort, security: 'none', user: null, password: null, from: 'safehold@box.lan', to: ['owner@family.example', 'office@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    const test = await admin.post('/settings/alerts/test');
    assert.equal(test.status, 200);
    assert.deepEqual(test.json.to, ['owner@family.example', 'office@family.example']);
    await waitFor(() => mails.some((m) => /test/i.test(subjectOf(m.raw))), 5000, 'the test mail');

    const [first] = await smartDisks();
    const bad = await admin.request('PUT', `/drives/${first!.id}/name`, { name: '<script>' });
    assert.equal(bad.status, 400);
    const named = await admin.request('PUT', `/drives/${first!.id}/name`, { name: 'Family photos' });
    assert.equal(named.json.displayName, 'Family photos');
    assert.notEqual(named.json.deviceName, 'Family photos', 'the device keeps its own name beside it');

    const sent = mails.length;
    await answer({ file: FAILING });
    await check();
    const disks = await smartDisks();
    for (const disk of disks) assert.equal(disk.health!.verdict, 'failing');
    await waitFor(() => mails.length >= sent + disks.length, 5000, 'the alert mails');
    const mail = mails.slice(sent).find((m) => /Family photos/.test(m.raw))!;
    assert.ok(mail, 'the mail names the disk by the name the owner gave it');
    assert.deepEqual(mail.to, ['owner@family.example', 'office@family.example']);
    assert.match(subjectOf(mail.raw), /^FAILING disk: Family photos \(Virtual disk vda, vda\) — /);
    const body = mail.raw.replace(/=\r?\n/g, '');
    assert.match(body, /self-test/i, 'the reason (a failed self-test) is in the mail');
    assert.match(body, /backup/i, 'what to do next');

    const open = (await admin.get('/alerts/open')).json.alerts as { key: string; severity: string }[];
    assert.ok(open.some((a) => a.key === `health:${disks[0]!.id}` && a.severity === 'error'));
    assert.equal((await admin.get('/status')).json.overall, 'problem');

    const after = mails.length;
    await check();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(mails.length, after, 'a second check of the same failing disk sends nothing');

    const entries = (await admin.get('/activity?limit=100')).json.entries as { kind: string; level: string }[];
    assert.ok(entries.some((e) => e.kind === 'alert.verdict' && e.level === 'error'), 'the alert is in the activity log');
  });

  it('says "back to healthy" once, and a sleeping disk changes nothing', async () => {
    const before = mails.length;
    await answer({ file: HEALTHY });
    await check();
    const disks = await smartDisks();
    await waitFor(() => mails.length >= before + disks.length, 5000, 'the back-to-healthy mails');
    assert.match(subjectOf(mails[before]!.raw), /^Back to healthy: /);
    assert.deepEqual((await admin.get('/alerts/open')).json.alerts, []);

    await answer({ asleep: true });
    const quiet = mails.length;
    await check();
    for (const disk of await smartDisks()) {
      assert.equal(disk.health!.state, 'asleep');
      assert.equal(disk.health!.verdict, 'healthy', 'a sleeping disk keeps its last verdict');
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mails.length, quiet);
  });

  it('lets the owner acknowledge a cable counter: healthy at once, counted again when it grows', async () => {
    await answer({ file: 'sat-samsung-ssd840-crc-errors.json' }); // 108 interface CRC errors (attribute 199)
    await check();
    const [disk] = await smartDisks();
    assert.equal(disk!.health!.verdict, 'warning');
    assert.match(disk!.health!.headline, /CRC/);

    const ack = await admin.post(`/drives/${disk!.id}/health/acknowledgements`, { key: 'ata:199', note: 'cable replaced' });
    assert.equal(ack.status, 200);
    assert.deepEqual(ack.json.acknowledgements.map((a: { key: string; value: number }) => [a.key, a.value]), [['ata:199', 108]]);
    const now = (await smartDisks()).find((d) => d.id === disk!.id)!;
    assert.equal(now.health!.verdict, 'healthy', 'judged again at once, without reading the disk');
    const view = (await admin.get(`/drives/${disk!.id}/health`)).json;
    assert.ok(view.reasons.some((r: { code: string; severity: string }) => r.code === 'acknowledged' && r.severity === 'info'));
    assert.equal(view.attributes.find((a: { id: number }) => a.id === 199).acknowledgedValue, 108);

    const wrong = await admin.post(`/drives/${disk!.id}/health/acknowledgements`, { key: 'ata:999' });
    assert.equal(wrong.status, 400);

    await answer({ file: 'sat-patriot-p3-2tb-ssd-errorlog-exit64.json' }); // attribute 199 now 131
    await check();
    const grown = (await smartDisks()).find((d) => d.id === disk!.id)!;
    assert.equal(grown.health!.verdict, 'warning', 'the counter grew past what was acknowledged');

    const removed = await admin.request('DELETE', `/drives/${disk!.id}/health/acknowledgements/ata:199`);
    assert.deepEqual(removed.json.acknowledgements, []);
  });

  it('on a failing disk: says what to do first, refuses to quiet a failing count and to start a long test', async () => {
    await answer({ file: 'usbjmicron-wdc-wd3200bevt-failing-now.json' }); // 535 reallocated sectors, failed self-tests
    await check();
    const [disk] = await smartDisks();
    assert.equal(disk!.health!.verdict, 'failing');

    const view = (await admin.get(`/drives/${disk!.id}/health`)).json;
    const steps = (view.advice?.steps ?? []) as string[];
    assert.match(steps[0] ?? '', /backups are current/, JSON.stringify(view.advice));
    assert.ok(steps.some((s) => /Replace this disk/.test(s)) && steps.some((s) => /Do not run long self-tests/.test(s)), steps.join(' | '));
    assert.ok(view.advice.holds && view.advice.backedUp, 'what is on the disk and whether it is backed up');
    assert.ok(!view.reasons.some((r: { message: string }) => /%/.test(r.message)), 'rates in words, not "162% a year"');

    const ack = await admin.post(`/drives/${disk!.id}/health/acknowledgements`, { key: 'ata:5' });
    assert.equal(ack.status, 409, JSON.stringify(ack.json));
    assert.match(ack.json.error.message, /535 reallocated sectors.*failing.*only a warning can be/);
    assert.deepEqual((await admin.get(`/drives/${disk!.id}/health`)).json.acknowledgements, [], 'nothing was stored');
    assert.equal((await smartDisks()).find((d) => d.id === disk!.id)!.health!.verdict, 'failing');

    const long = await admin.post(`/drives/${disk!.id}/health/self-test`, { kind: 'long' });
    assert.equal(long.status, 409);
    assert.match(long.json.error.message, /failing: no long self-test/);
  });
});
