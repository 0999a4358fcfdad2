/**
 * Debian's Chromium driven by playwright-core, started the way this machine allows: headless, no
 * sandbox (root), and none of Chromium's own network traffic (the machine reaches no network but
 * the package registries).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function browserSkipReason(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `needs Debian's Chromium at ${CHROMIUM} (make test installs it: apt-get install chromium)`;
}

export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'safehold-test-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Collects into `problems` what the page must never show: console errors, uncaught errors, Content-Security-Policy violations. */
export async function watchForProblems(page: Page, problems: string[]): Promise<void> {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
  );
}

/** First start through the page: the setup code from the data folder and the admin password, then "Skip for now" at the alerts step; resolves on the overview. */
export async function setUpThroughPage(page: Page, base: string, setupCode: string, password: string): Promise<void> {
  await page.goto(base);
  await page.getByTestId('setup-code').fill(setupCode);
  await page.getByTestId('setup-password').fill(password);
  await page.getByTestId('setup-password-repeat').fill(password);
  await page.getByTestId('setup-submit').click();
  await skipAlertsStep(page);
}

/** The setup's alerts step, skipped ("Skip for now"); resolves on the overview. */
export async function skipAlertsStep(page: Page): Promise<void> {
  await page.getByTestId('setup-alerts-skip').click();
  await page.getByTestId('overall-status').waitFor();
}
