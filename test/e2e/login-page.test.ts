/**
 * The login page in Chromium against the real service: after someone else's failed logins, the
 * owner's next login says how many there were, once.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, setUpThroughPage, watchForProblems } from '../testing/browser.js';
import { Browserish, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');

describe('the failed logins notice', { skip: browserSkipReason() }, () => {
  let svc: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    svc = await startServiceProcess();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await watchForProblems(page, problems);
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await svc?.dispose();
  });

  const logIn = async () => {
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(STRONG_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('overall-status').waitFor();
  };

  it('tells of the failed logins since the last visit after login, once', async () => {
    await page.getByTestId('logout').click();
    await page.getByTestId('login-username').waitFor();

    // someone else on the LAN guesses twice
    const guesser = new Browserish(svc.base, svc.base, '127.0.0.2');
    await guesser.get('/session');
    for (const password of ['guess number one', 'guess number two']) {
      assert.equal((await guesser.post('/login', { username: 'admin', password })).status, 401);
    }

    await logIn();
    const notice = page.getByTestId('failed-logins');
    await notice.waitFor();
    const text = await notice.innerText();
    assert.match(text, /2 failed logins since your last visit/);
    assert.match(text, /127\.0\.0\.2/);
    await page.screenshot({ path: join(ARTIFACTS, 'failed-logins.png') });
    await page.getByTestId('nav-drives').click();
    await notice.waitFor({ state: 'visible' });
    await page.getByTestId('failed-logins-dismiss').click();
    await notice.waitFor({ state: 'detached' });

    await page.getByTestId('logout').click();
    await logIn();
    await page.reload();
    await page.getByTestId('overall-status').waitFor();
    assert.equal(await notice.count(), 0, 'shown once');
    assert.deepEqual(problems, []);
  });
});
