/**
 * The admin password in a real browser (Debian's Chromium) against the real service: the setup
 * page says why a guessable password is refused, and Settings → "Change password" checks the current
 * one, says why a new one is refused, and on success keeps this browser signed in while every other
 * session ends. Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, skipAlertsStep, watchForProblems } from '../testing/browser.js';
import { Browserish, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const NEW_PASSWORD = 'a brand new passphrase here';

describe('the admin password on the page', { skip: browserSkipReason() }, () => {
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
  });

  after(async () => {
    await browser?.close();
    await svc?.dispose();
  });

  it('says on the setup page why a guessable password is refused', async () => {
    await page.goto(svc.base);
    await page.getByTestId('setup-code').fill(await readSetupCode(svc.dataDir));
    await page.getByTestId('setup-password').fill('Password123!');
    await page.getByTestId('setup-password-repeat').fill('Password123!');
    await page.getByTestId('setup-submit').click();
    const error = page.getByTestId('setup-password-error');
    await error.waitFor();
    assert.match(await error.innerText(), /easy to guess: .*commonly used password/i);
    await page.screenshot({ path: join(ARTIFACTS, 'setup-weak-password.png'), fullPage: true });

    await page.getByTestId('setup-password').fill(STRONG_PASSWORD);
    await page.getByTestId('setup-password-repeat').fill(STRONG_PASSWORD);
    await page.getByTestId('setup-submit').click();
    await skipAlertsStep(page);
  });

  it('changes the password in Settings: the current one is checked, other sessions end, this one stays', async () => {
    const other = new Browserish(svc.base);
    await other.get('/session');
    assert.equal((await other.post('/login', { username: 'admin', password: STRONG_PASSWORD })).status, 200);

    await page.getByTestId('nav-settings').click();
    const form = page.getByTestId('password-form');
    await form.scrollIntoViewIfNeeded();
    await page.getByTestId('password-current').fill('not the password at all');
    await page.getByTestId('password-new').fill(NEW_PASSWORD);
    await page.getByTestId('password-repeat').fill(NEW_PASSWORD);
    await page.getByTestId('password-submit').click();
    await page.getByTestId('password-current-error').filter({ hasText: /current password is not right/ }).waitFor();

    await page.getByTestId('password-current').fill(STRONG_PASSWORD);
    await page.getByTestId('password-new').fill('qwertyuiop123');
    await page.getByTestId('password-repeat').fill('qwertyuiop123');
    await page.getByTestId('password-submit').click();
    await page.getByTestId('password-new-error').filter({ hasText: /easy to guess/ }).waitFor();
    await form.screenshot({ path: join(ARTIFACTS, 'change-password-weak.png') });

    await page.getByTestId('password-new').fill(NEW_PASSWORD);
    await page.getByTestId('password-repeat').fill(NEW_PASSWORD);
    await page.getByTestId('password-submit').click();
    await page.getByText(/Password changed/).first().waitFor();
    assert.equal(await page.getByTestId('password-current').inputValue(), '', 'the form is emptied');
    assert.equal((await other.get('/status')).status, 401, 'the other session ended');

    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('overall-status').waitFor();
    await page.getByTestId('logout').click();
    await page.getByTestId('login-username').fill('admin');
    await page.getByTestId('login-password').fill(NEW_PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('overall-status').waitFor();
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/40[01]|Failed to load resource/.test(p)), []);
  });
});
