/**
 * The overview of a box whose alert e-mail is not set up says so plainly, and its link opens the
 * alerts section of the Settings page (at 1280 and at 390 px).
 *
 * Every link a mail carries opens a page of the admin page: the mails of every kind the code can
 * write (each alert kind, each backup notice, the daily digest, the test mail) are composed for the
 * running service's address, their links collected from the plain text and the HTML, and each one
 * opened in Chromium against the built page. None may land on "Page not found"; a link with a
 * `#section` lands on that section (the element with that id is on screen).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { MailMessage } from '../../system/mail/mail.js';
import { composeAlert, composeDigest, composeNotice, composeTestMail, type AlertDisk, type AlertKind, type BoxInfo } from '../../server/alerts/alert-mail.js';
import { checkFailedNotice, drillFailedNotice, runFailedNotice, safeToUnplugNotice, staleCondition, suspiciousCondition, swapCondition } from '../../server/backups/backup-notices.js';
import type { RunRow } from '../../server/backups/backup.repository.js';
import { browserSkipReason, launchBrowser, setUpThroughPage } from '../testing/browser.js';
import { readSetupCode, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const AT = '2025-03-04T13:05:00.000Z';
const KINDS: AlertKind[] = ['verdict', 'self-test-failed', 'counter-grew', 'missing', 'back', 'too-hot'];

/** Every mail kind the code writes, addressed to `box`, about the real drive `driveId`. */
function everyMail(box: BoxInfo, driveId: string): MailMessage[] {
  const disk: AlertDisk = { id: driveId, displayName: 'WDC WD40EFRX', model: 'WDC WD40EFRX', serial: 'WD-1', path: '/dev/sdb', bus: 'usb', sizeBytes: 4e12, ownerName: null, role: 'rotation' };
  const reasons = [{ severity: 'failing' as const, code: 'ata-pending', message: '8 sectors pending reallocation (attribute 197).', attribute: 'ata:197' }];
  const alerts = KINDS.map((kind) => composeAlert({ kind, reason: 'new', state: kind === 'verdict' ? 'failing' : kind, previousState: null, disk, reasons, since: AT, at: AT, nextReminderAt: null, temperatureC: 63 }, box));
  const run: RunRow = { id: 1, driveId, jobId: null, startedAt: Date.parse(AT), finishedAt: Date.parse(AT), outcome: 'good', message: null, sources: [], check: null, drill: null, usedBytes: null, capacityBytes: null, safeToUnplug: true };
  const notices = [
    runFailedNotice('Blue', driveId, false, 'restic failed'),
    safeToUnplugNotice('Blue', driveId, run),
    checkFailedNotice('Blue', driveId, '1/10', ['pack damaged']),
    drillFailedNotice('Blue', driveId, ['a.txt']),
    swapCondition('Swap the drives'),
    staleCondition('No backup for 9 days'),
    suspiciousCondition('Blue', driveId, 'Many files changed'),
  ].map((n) => composeNotice(n.mail, box, AT));
  const digest = composeDigest({
    box, from: AT, to: AT, open: [{ message: 'A disk is failing', since: AT }],
    disks: [{ disk, verdict: 'failing', headline: 'Pending sectors', temperatureC: 40 }],
    activity: [{ at: AT, level: 'info', message: 'Backup finished' }],
    backups: { level: 'attention', headline: 'Swap the drives' },
  });
  return [...alerts, ...notices, digest, composeTestMail(box, AT)];
}

/** The http(s) links of a mail: those written in its plain text and the `href`s of its HTML. */
function linksOf(mail: MailMessage): string[] {
  const text = mail.text.match(/https?:\/\/\S+/g) ?? [];
  const html = [...(mail.html ?? '').matchAll(/href="([^"]+)"/g)].map((m) => (m[1] ?? '').replace(/&amp;/g, '&'));
  return [...text, ...html];
}

/** Waits until the element with id `id` is scrolled to: its top at the top of the window (less a sub-pixel rounding). */
const scrolledTo = (page: Page, id: string) => page.waitForFunction((target) => {
  const box = document.getElementById(target)?.getBoundingClientRect();
  return !!box && box.top > -1 && box.top < window.innerHeight;
}, id);

describe('alerts not set up, and the links in mails, in Chromium', { skip: browserSkipReason() }, () => {
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
      await scrolledTo(page, 'alerts');
    });
  }

  it('opens a page for every link of every kind of mail, at the section it names', async () => {
    const drives = await page.evaluate(async () => (await (await fetch('/api/v1/drives')).json()) as Array<{ id: string }> | { drives: Array<{ id: string }> });
    const list = Array.isArray(drives) ? drives : drives.drives;
    assert.ok(list.length > 0, 'the simulated box has drives');
    const links = [...new Set(everyMail({ hostname: 'safehold', pageUrl: `${svc.base}/`, timeZone: 'UTC' }, list[0]!.id).flatMap(linksOf))];
    assert.ok(links.some((l) => l.includes('/settings')), 'the settings link is among them');
    for (const link of links) {
      assert.ok(link.startsWith(`${svc.base}/`), `${link} points into the admin page`);
      await page.goto(link);
      await page.locator('main h1').first().waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Page not found' }).count(), 0, `${link} opens a page`);
      const hash = new URL(link).hash.slice(1);
      if (hash) {
        const target = page.locator(`[id="${hash}"]`);
        await target.waitFor();
        await scrolledTo(page, hash);
      }
    }
  });
});
