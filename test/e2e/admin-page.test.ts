/**
 * The admin page in a real browser (Debian's Chromium through playwright-core) against the real
 * service: first-start setup with the code, logout and login, the dashboard, and the Drives page
 * changing live when a loop device is plugged in and pulled out. Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, skipAlertsStep, watchForProblems } from '../testing/browser.js';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, type LoopDisk } from '../testing/loop-disk.js';
import { readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const browserSkip = browserSkipReason();

describe('the admin page in Chromium', { skip: browserSkip }, () => {
  let svc: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const problems: string[] = [];
  let disk: LoopDisk | undefined;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    if (!loopDiskSkipReason()) await cleanupLeftovers();
    svc = await startServiceProcess({ simulate: loopDiskSkipReason() !== undefined });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await watchForProblems(page, problems);
  });

  after(async () => {
    await disk?.cleanup();
    await browser?.close();
    await svc?.dispose();
  });

  it('sets up the box with the code from the console, and lands on the dashboard', async () => {
    await page.goto(svc.base);
    await page.getByTestId('setup-code').waitFor();
    // a wrong code is refused with the server's words, and setup stays open (test/e2e/setup-alerts.test.ts: at its field)
    await page.getByTestId('setup-code').fill('AAAA-BBBB-CCCC');
    await page.getByTestId('setup-password').fill(STRONG_PASSWORD);
    await page.getByTestId('setup-password-repeat').fill(STRONG_PASSWORD);
    await page.getByTestId('setup-submit').click();
    await page.getByText(/setup code is not right/).first().waitFor();

    await page.getByTestId('setup-code').fill(await readSetupCode(svc.dataDir));
    await page.getByTestId('setup-submit').click();
    await skipAlertsStep(page);
    assert.match((await page.getByTestId('overall-status').innerText()).toLowerCase(), /drive/);
    await page.getByTestId('drive-card').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('logs out and back in; a wrong password is refused', async () => {
    await page.getByTestId('logout').click();
    await page.getByTestId('login-username').waitFor();
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill('not the password at all');
    await page.getByTestId('login-submit').click();
    await page.getByText(/Wrong user name or password/).first().waitFor();
    await page.getByTestId('login-password').fill(STRONG_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('overall-status').waitFor();
  });

  it('shows a drive plugged in and pulled out on the Drives page, live, without reloading', { skip: loopDiskSkipReason() }, async () => {
    await page.getByTestId('nav-drives').click();
    await page.getByTestId('drive-list').waitFor();
    disk = await createLoopDisk({ sizeMiB: 80, label: 'FAMILY-USB' });
    const card = page.locator(`[data-testid="drive-card"][data-drive-name="${disk.name}"]`);
    await card.waitFor({ timeout: 5000 });
    const text = await card.innerText();
    assert.match(text, /FAMILY-USB/);
    assert.match(text, /ext4/);
    assert.match(text, new RegExp(disk.uuid));
    // Only our disk is judged: other programs on this machine plug loop devices in and out too.
    assert.equal(await page.locator(`[data-testid="drive-card"][data-drive-name="${disk.name}"]`).count(), 1, 'one card for the plugged disk');
    await page.screenshot({ path: join(ARTIFACTS, 'drives.png'), fullPage: true });

    await page.getByTestId('nav-activity').click();
    await page.getByTestId('activity-entry').filter({ hasText: `Drive connected` }).first().waitFor();

    await page.getByTestId('nav-drives').click();
    await card.waitFor();
    await disk.detach();
    await card.waitFor({ state: 'detached', timeout: 5000 });
    await page.getByTestId('nav-activity').click();
    await page.getByTestId('activity-entry').filter({ hasText: `Drive disconnected` }).first().waitFor({ timeout: 5000 });
    await page.screenshot({ path: join(ARTIFACTS, 'activity.png'), fullPage: true });
  });

  it('fits a phone\'s width', async () => {
    await page.setViewportSize({ width: 360, height: 760 });
    for (const [nav, file] of [
      ['nav-dashboard', 'dashboard-phone.png'],
      ['nav-drives', 'drives-phone.png'],
    ] as const) {
      const link = page.getByTestId(nav);
      if (!(await link.isVisible())) await page.getByRole('button', { name: /menu/i }).click();
      await link.click();
      await page.getByTestId(nav === 'nav-drives' ? 'drive-list' : 'overall-status').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${nav}: the page is ${overflow}px wider than the phone`);
      await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
    }
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/401|Failed to load resource/.test(p)), []);
  });
});
