/**
 * Disk health in a real browser, against the real service whose smartctl is the stand-in replaying
 * a captured failing drive (a failed extended self-test): the dashboard shows the disk red with its
 * reason and an open problem, the disk's health page shows the verdict, the reasons and the
 * attribute table, a short self-test can be started, and the Settings page sends a real test e-mail
 * to an SMTP server started by the test. A failing disk's page says what to do first (the mail's
 * steps), offers no long test and no "Acknowledge" on a failing reason (535 reallocated sectors), and
 * says its rates in words; a disk whose SMART cannot be read shows why instead of empty sections.
 * Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, setUpThroughPage } from '../testing/browser.js';
import { createLoopDisk, loopDiskSkipReason } from '../testing/loop-disk.js';
import { freePort, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';
import { startMailCatcher, subjectOf, type MailCatcher } from '../testing/smtp.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');

describe('disk health in Chromium', { skip: browserSkipReason() }, () => {
  let work: string;
  let svc: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let smtp: MailCatcher;
  let smtpPort: number;
  let scenario: string;
  const answerWith = (file: string) => writeFile(scenario, JSON.stringify({ '*': { default: { file } } }));
  const subjects = () => smtp.received.map((m) => subjectOf(m.raw));
  const problems: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'safehold-test-e2e-health-'));
    scenario = join(work, 'scenario.json');
    await answerWith('sat-wdc-wd3200buct-failed-selftest-trimmed.json');
    smtp = await startMailCatcher();
    smtpPort = smtp.port;
    svc = await startServiceProcess({
      simulate: false,
      env: { SAFEHOLD_TOOLS_PATH: join(ROOT, 'test', 'fixtures', 'bin'), SAFEHOLD_SMARTCTL_SCENARIO: scenario },
    });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /CSP|Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await svc?.dispose();
    await smtp?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('shows a failing disk red, with its reason, on the dashboard', async () => {
    const badge = page.locator('[data-testid="drive-health"][data-verdict="failing"]').first();
    await badge.waitFor({ timeout: 10_000 });
    assert.match(await badge.innerText(), /failing/i);
    const alert = page.getByTestId('open-alert').first();
    await alert.waitFor();
    assert.match(await alert.innerText(), /FAILING|failing/);
    assert.match(await alert.innerText(), /self-test/i);
    assert.equal(await page.getByTestId('overall-status').getAttribute('data-overall'), 'problem');
    const color = await badge.evaluate((el) => getComputedStyle(el).color + ' ' + getComputedStyle(el).backgroundColor);
    assert.match(color, /rgb\(\s*(1[5-9]\d|2\d\d),\s*\d{1,2},\s*\d{1,2}/, `the failing badge is red (${color})`);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-failing-disk.png'), fullPage: true });
  });

  it('shows the verdict, the reasons and the attribute table on the disk page, and starts a short self-test', async () => {
    await page.getByTestId('nav-drives').click();
    await page.getByTestId('drive-name-edit').first().click();
    await page.getByTestId('drive-name-input').fill('Family photos');
    await page.getByTestId('drive-name-save').click();
    await page.getByTestId('drive-title').filter({ hasText: 'Family photos' }).first().waitFor();
    await page.getByRole('link', { name: /health/i }).first().click();
    const verdict = page.getByTestId('health-verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-verdict'), 'failing');
    const reasons = await page.locator('[data-testid="health-reason"][data-severity="failing"]').allInnerTexts();
    assert.ok(reasons.some((r) => /self-test/i.test(r) && /read failure/i.test(r)), reasons.join(' | '));
    assert.ok((await page.getByTestId('attribute-row').count()) > 0, 'the attribute table has rows');
    await page.getByTestId('temperature-chart').waitFor({ state: 'attached' });

    await page.getByTestId('run-short-test').click();
    await page.getByTestId('self-test-progress').waitFor({ timeout: 5000 });
    await page.screenshot({ path: join(ARTIFACTS, 'disk-health.png'), fullPage: true });
  });

  it('says first what to do about the failing disk, the steps of the mail, and offers no long test', async () => {
    const todo = page.getByTestId('what-to-do');
    await todo.waitFor();
    const first = await page.locator('.page > section').first().getAttribute('data-testid');
    assert.equal(first, 'what-to-do', 'the advice comes before the reasons');
    const steps = await page.getByTestId('what-to-do-step').allInnerTexts();
    assert.match(steps[0] ?? '', /Make sure your backups are current/);
    assert.ok(steps.some((t) => /Replace this disk/.test(t)), steps.join(' | '));
    assert.ok(steps.some((t) => /Do not run long self-tests/.test(t)), steps.join(' | '));
    assert.match(await page.getByTestId('what-to-do-holds').innerText(), /\S/);
    assert.match(await page.getByTestId('what-to-do-backups').innerText(), /\S/);
    assert.equal(await page.getByTestId('run-long-test').count(), 0, 'no "Run long test" on a failing disk');
    assert.match(await page.getByTestId('no-long-test').innerText(), /No long test on a failing disk/);
    assert.match(await page.getByTestId('temperature-title').innerText(), /last 24 hours/, 'the heading says what the chart draws');
  });

  it('offers no "Acknowledge" on 535 reallocated sectors, says the rate in words, and fits a phone', async () => {
    await answerWith('usbjmicron-wdc-wd3200bevt-failing-now.json');
    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('check-disks').click();
    await page.getByTestId('nav-drives').click();
    await page.getByRole('link', { name: /health/i }).first().click();
    const reallocated = page.locator('[data-testid="health-reason"][data-code="ata-reallocated"]');
    await reallocated.waitFor({ timeout: 15_000 });
    assert.equal(await reallocated.getAttribute('data-severity'), 'failing');
    assert.match(await reallocated.innerText(), /535 reallocated sectors .*within a year/);
    for (const text of await page.getByTestId('health-reason').allInnerTexts()) assert.doesNotMatch(text, /\d% a year/, text);
    assert.equal(await page.locator('[data-testid="health-reason"][data-severity="failing"] [data-testid="acknowledge"]').count(), 0);
    assert.equal(await page.locator('[data-testid="acknowledge"][data-attribute="ata:5"]').count(), 0, 'not even on the trend of a failing count');

    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.getByTestId('what-to-do').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
      await page.screenshot({ path: join(ARTIFACTS, 'disk-health-failing-phone.png'), fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  it('shows a disk without SMART (a loop device) with why, instead of sections of dashes; unplugged, it keeps its page', { skip: loopDiskSkipReason() }, async () => {
    const disk = await createLoopDisk({ sizeMiB: 16, label: 'NO-SMART' });
    try {
      await page.getByTestId('nav-drives').click();
      const card = page.locator(`[data-testid="drive-card"][data-drive-name="${disk.name}"]`);
      await card.waitFor({ timeout: 30_000 });
      await card.getByRole('link', { name: /health/i }).click();
      await page.getByTestId('no-smart-reading').waitFor();
      await page.getByTestId('health-reason').filter({ hasText: /loop device is a file/ }).waitFor({ timeout: 30_000 });
      for (const testid of ['device-facts', 'temperature-chart', 'run-short-test', 'attribute-row']) {
        assert.equal(await page.getByTestId(testid).count(), 0, `no ${testid} on a disk without SMART`);
      }
      await page.screenshot({ path: join(ARTIFACTS, 'disk-health-no-smart.png'), fullPage: true });

      // pulled out, the disk keeps its page: unplugged, with when it was last seen
      const url = page.url();
      await disk.detach();
      await page.getByTestId('nav-drives').click();
      await card.waitFor({ state: 'detached', timeout: 30_000 });
      await page.goto(url);
      await page.getByTestId('drive-away').waitFor();
      assert.match(await page.locator('.page-head').innerText(), /Unplugged\s+Last seen/);
    } finally {
      await disk.cleanup();
    }
  });

  it('sends a real test e-mail from the Settings page, and says why a wrong one fails', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('smtp-host').fill('127.0.0.1');
    await page.getByTestId('smtp-security').selectOption('none');
    await page.getByTestId('smtp-port').fill(String(await freePort()));
    await page.getByTestId('smtp-from').fill('safehold@box.lan');
    await page.getByTestId('smtp-to').fill('owner@family.example');
    // the switch is a checkbox drawn as a toggle: a person clicks its label
    if (!(await page.getByTestId('alerts-enabled').isChecked())) await page.locator('label[for="alerts-enabled"]').click();
    assert.equal(await page.getByTestId('alerts-enabled').isChecked(), true);
    await page.getByTestId('alerts-save').click();
    await page.getByTestId('send-test-email').click();
    const result = page.getByTestId('test-email-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'false');
    assert.match(await result.innerText(), /No mail server answered at 127\.0\.0\.1:\d+\./);

    await page.getByTestId('smtp-port').fill(String(smtpPort));
    await page.getByTestId('alerts-save').click();
    await page.getByTestId('send-test-email').click();
    await page.locator('[data-testid="test-email-result"][data-ok="true"]').waitFor({ timeout: 10_000 });
    assert.ok(subjects().some((s) => /test/i.test(s)), `a test mail arrived (${subjects().join(' | ')})`);
    await page.screenshot({ path: join(ARTIFACTS, 'settings-alerts.png'), fullPage: true });

    // a stored password belongs to its server: changing the server says it will be forgotten
    await page.getByTestId('smtp-user').fill('box');
    await page.getByTestId('smtp-password').fill('mailbox-password');
    await page.getByTestId('alerts-save').click();
    await page.locator('#smtp-password-hint').filter({ hasText: /A password is stored/ }).waitFor();
    await page.getByTestId('smtp-host').fill('localhost');
    await page.locator('#smtp-password-hint').filter({ hasText: /type it again, or it is forgotten/ }).waitFor();
    // and a login in plain text is refused for a server off the box, beside the encryption field
    await page.getByTestId('smtp-host').fill('192.168.1.10');
    await page.getByTestId('smtp-password').fill('mailbox-password');
    await page.getByTestId('alerts-save').click();
    await page.getByTestId('smtp-security-error').filter({ hasText: /plain text/ }).waitFor();
  });

  it('protects a folder from the Settings page, and refuses one that does not exist', async () => {
    const photos = join(work, 'Family Photos');
    await mkdir(photos);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('sources-section').waitFor();
    await page.getByTestId('source-new-path').fill(join(work, 'missing'));
    await page.getByTestId('source-new-name').fill('missing');
    await page.getByTestId('source-add').click();
    await page.getByTestId('source-new-path-error').filter({ hasText: /No such folder/ }).waitFor();
    await page.getByTestId('source-new-name').fill('photos');
    await page.getByTestId('source-new-path').fill(photos);
    await page.getByTestId('source-new-excludes').fill('*.tmp');
    await page.getByTestId('source-add').click();
    const row = page.locator('[data-testid="source-row"][data-source-name="photos"]');
    await row.waitFor();
    assert.match(await row.innerText(), /Family Photos/);
    await page.screenshot({ path: join(ARTIFACTS, 'settings-sources.png'), fullPage: true });
  });

  it('ran without script errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
