/**
 * The first setup in Chromium: a wrong setup code is said at its field (focused, aria-invalid), then
 * the page leads on to alert e-mail, Settings' own form. Skipped, the overview keeps saying that
 * alerts are not set up; filled in against a real SMTP server (with a test e-mail that arrives), the
 * overview has no such card.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, watchForProblems } from '../testing/browser.js';
import { readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, waitFor, type ServiceProcess } from '../testing/service.js';
import { startMailCatcher, subjectOf, type MailCatcher } from '../testing/smtp.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');

/** The first step: the setup code (right or not) and the password, submitted. */
async function submitSetup(page: Page, base: string, code: string): Promise<void> {
  await page.goto(base);
  await page.getByTestId('setup-code').fill(code);
  await page.getByTestId('setup-password').fill(STRONG_PASSWORD);
  await page.getByTestId('setup-password-repeat').fill(STRONG_PASSWORD);
  await page.getByTestId('setup-submit').click();
}

/** The overview, once it has read the status. */
async function overviewRead(page: Page): Promise<void> {
  await page.locator('[data-testid="overall-status"][aria-busy="false"]').waitFor();
}

describe('setup leads to alert e-mail, in Chromium', { skip: browserSkipReason() }, () => {
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  const problems: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchBrowser();
  });
  after(() => browser?.close());

  describe('skipped', () => {
    let svc: ServiceProcess;
    let page: Page;
    before(async () => {
      svc = await startServiceProcess();
      page = await browser.context.newPage();
      await watchForProblems(page, problems);
    });
    after(() => svc?.dispose());

    it('says a wrong setup code at its field, with the focus there to type it again', async () => {
      await submitSetup(page, svc.base, 'AAAA-BBBB-CCCC');
      const error = page.getByTestId('setup-setupCode-error');
      await error.waitFor();
      assert.match(await error.innerText(), /setup code is not right/);
      const input = page.getByTestId('setup-code');
      assert.equal(await input.getAttribute('aria-invalid'), 'true');
      assert.equal(await input.getAttribute('aria-describedby'), 'setup-setupCode-error');
      await page.waitForFunction(() => document.activeElement?.id === 'setup-setupCode');
      assert.equal(await page.getByTestId('setup-password-error').count(), 0, 'the password is not blamed');
    });

    it('then leads to the alerts step, which can be skipped; the overview keeps asking', async () => {
      await page.getByTestId('setup-code').fill(await readSetupCode(svc.dataDir));
      await page.getByTestId('setup-submit').click();
      await page.waitForURL(/\/setup\/alerts$/);
      await page.getByRole('heading', { name: 'Alerts by e-mail' }).waitFor();
      await page.getByTestId('smtp-host').waitFor();
      assert.equal(await page.getByTestId('alerts-enabled').isChecked(), true, 'the step starts with e-mail on');
      assert.equal(await page.getByTestId('send-test-email').isVisible(), true);
      await page.screenshot({ path: join(ARTIFACTS, 'setup-alerts.png'), fullPage: true });

      await page.getByTestId('setup-alerts-skip').click();
      await page.waitForURL(/\/$/);
      await overviewRead(page);
      const card = page.getByTestId('alerts-not-set-up');
      await card.waitFor();
      assert.match(await card.innerText(), /Alerts are not set up: you will not hear of a failing disk/);
    });
  });

  describe('filled in', () => {
    let svc: ServiceProcess;
    let smtp: MailCatcher;
    let page: Page;
    before(async () => {
      smtp = await startMailCatcher();
      // the real mail transport (the simulated host writes its mail to a folder instead)
      svc = await startServiceProcess({ simulate: false });
      page = await browser.context.newPage();
      await watchForProblems(page, problems);
    });
    after(async () => {
      await svc?.dispose();
      await smtp?.close();
    });

    it('saves the mail server, sends a test e-mail that arrives, and arrives on an overview without the card', async () => {
      await page.setViewportSize({ width: 390, height: 860 });
      await submitSetup(page, svc.base, await readSetupCode(svc.dataDir));
      await page.waitForURL(/\/setup\/alerts$/);
      await page.getByTestId('smtp-host').fill('127.0.0.1');
      await page.getByTestId('smtp-security').selectOption('none');
      await page.getByTestId('smtp-port').fill(String(smtp.port));
      await page.getByTestId('smtp-from').fill('safehold@box.lan');
      await page.getByTestId('smtp-to').fill('owner@family.example');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the step is ${overflow}px wider than the phone`);

      await page.getByTestId('send-test-email').click();
      const result = page.locator('[data-testid="test-email-result"][data-ok="true"]');
      await result.waitFor();
      assert.match(await result.innerText(), /Sent to owner@family\.example/);
      const { value: mail } = await waitFor(() => smtp.received[0], 10_000, 'the test e-mail at the SMTP server');
      assert.deepEqual(mail.to, ['owner@family.example']);
      assert.match(subjectOf(mail.raw), /test/i);

      await page.getByTestId('setup-alerts-continue').click();
      await page.waitForURL(/\/$/);
      await overviewRead(page);
      assert.equal(await page.getByTestId('alerts-not-set-up').count(), 0, 'no "not set up" card');
      await page.reload();
      await overviewRead(page);
      assert.equal(await page.getByTestId('alerts-not-set-up').count(), 0, 'nor after a reload');
    });
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/401|403|Failed to load resource/.test(p)), []);
  });
});
