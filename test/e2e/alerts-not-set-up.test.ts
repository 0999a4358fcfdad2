/**
 * The overview of a box whose alert e-mail is not set up says so plainly, and its link opens the
 * alerts section of the Settings page (at 1280 and at 390 px).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, setUpThroughPage } from '../testing/browser.js';
import { readSetupCode, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

describe('the overview says when alerts are not set up, in Chromium', { skip: browserSkipReason() }, () => {
  let svc: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  before(async () => {
    svc = await startServiceProcess();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await svc?.dispose();
  });

  for (const width of [1280, 390]) {
    it(`shows the notice and leads to the alert settings at ${width} px`, async () => {
      await page.setViewportSize({ width, height: 860 });
      await page.goto(`${svc.base}/`);
      const card = page.getByTestId('alerts-not-set-up');
      await card.waitFor();
      assert.match(await card.innerText(), /Alerts are not set up: you will not hear of a failing disk/);
      await page.getByTestId('alerts-set-up-link').click();
      await page.waitForURL(/\/settings#alerts$/);
      await page.getByRole('heading', { name: 'Alerts by e-mail' }).waitFor();
      await page.waitForFunction(() => {
        const box = document.getElementById('alerts')?.getBoundingClientRect();
        return !!box && box.top > -1 && box.top < window.innerHeight;
      });
    });
  }
});
