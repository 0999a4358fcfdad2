/**
 * The owner's first week, on a phone (390 px wide) in Chromium, against the real service on a real
 * block device (a loop disk as the USB drive, the real restic): confirmations never cover the page,
 * the overview says each thing once (the worst as its headline), one rotation drive comes with the
 * hint that a second one is what makes rotation work, a folder of 30 files on the Restore page
 * leaves no empty scroll area, Activity speaks in words, and Settings offers schedules in words.
 * Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { backupSkipReason, disposeUnmounted } from '../testing/backups.js';
import { browserSkipReason, launchBrowser, setUpThroughPage, watchForProblems } from '../testing/browser.js';
import { cleanupLeftovers, createLoopDisk, testName, type LoopDisk } from '../testing/loop-disk.js';
import { Browserish, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, waitFor, type ServiceProcess } from '../testing/service.js';

const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const skip = browserSkipReason() ?? (await backupSkipReason());
const FILES = 30;

/** How often `pattern` occurs in the visible text of the overview's content. */
async function occurrences(page: Page, pattern: RegExp): Promise<number> {
  const text = await page.locator('main').innerText();
  return text.match(new RegExp(pattern.source, 'gi'))?.length ?? 0;
}

describe('the owner\'s first week, on a phone, in Chromium', { skip }, () => {
  let work: string;
  let src: string;
  let svc: ServiceProcess;
  let api: Browserish;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let disk: LoopDisk | undefined;
  const problems: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await cleanupLeftovers();
    work = join(tmpdir(), testName('-first-week'));
    src = join(work, 'papers');
    await mkdir(join(src, 'scans'), { recursive: true });
    for (let i = 0; i < FILES; i++) await writeFile(join(src, 'scans', `letter-${String(i).padStart(2, '0')}.pdf`), `scan ${i}\n`);
    disk = await createLoopDisk({ sizeMiB: 200, label: 'FAMILY-A' });
    // smartctl answers every disk it is asked about (not the loop disks: they have no SMART) the way
    // it answers a disk behind a connection it cannot see through
    const scenario = join(work, 'smartctl-scenario.json');
    await writeFile(scenario, JSON.stringify({ '*': { default: { file: 'err-nonexistent-device-type-unknown.json' } } }));
    svc = await startServiceProcess({
      simulate: false,
      env: { SAFEHOLD_TOOLS_PATH: join(ROOT, 'test', 'fixtures', 'bin'), SAFEHOLD_SMARTCTL_SCENARIO: scenario },
    });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 760 });
    await watchForProblems(page, problems);
  });

  after(async () => {
    await browser?.close();
    if (svc) await disposeUnmounted(svc);
    await disk?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('shows the welcome confirmation where it covers nothing of the page', async () => {
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
    api = new Browserish(svc.base);
    await api.get('/session');
    assert.equal((await api.post('/login', { username: 'admin', password: STRONG_PASSWORD })).status, 200);
    const toast = page.getByTestId('toast').first();
    await toast.waitFor();
    await page.getByTestId('protection').waitFor();
    const covered = await toast.evaluate((t) => {
      const box = t.getBoundingClientRect();
      const out: string[] = [];
      for (const el of document.querySelectorAll<HTMLElement>('main *')) {
        if (el.children.length) continue; // the leaves: text, buttons, inputs
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height) continue;
        if (r.left < box.right && r.right > box.left && r.top < box.bottom && r.bottom > box.top) out.push(`${el.tagName} "${el.innerText?.slice(0, 40)}"`);
      }
      return out;
    });
    await page.screenshot({ path: join(ARTIFACTS, 'first-week-toast-phone.png') });
    assert.deepEqual(covered, [], 'the confirmation covers part of the page');
  });

  it('says "no backups yet" once on the overview, and the recovery kit at most once', async () => {
    await page.getByTestId('protection').waitFor();
    await waitFor(async () => /backup/i.test(await page.getByTestId('overall-status').innerText()), 10_000, 'the headline about the backups');
    assert.equal(await occurrences(page, /no backups? (yet|has been made)/), 1, await page.locator('main').innerText());
    assert.ok((await occurrences(page, /recovery kit is not saved|save the recovery kit/)) <= 1, 'the kit reminder is said at most once');
    await page.screenshot({ path: join(ARTIFACTS, 'first-week-overview-empty-phone.png'), fullPage: true });
  });

  it('with one rotation drive: the kit reminder once, and the hint that a second drive makes rotation work', { timeout: 300_000 }, async () => {
    assert.equal((await api.post('/sources', { name: 'papers', path: src, excludes: [] })).status, 201);
    const drive = (
      await waitFor(async () => ((await api.get('/drives')).json.drives as Array<{ id: string; path: string }>).find((d) => d.path === disk!.device), 10_000, 'the loop disk')
    ).value;
    assert.equal((await api.post('/rotation/drives', { driveId: drive.id, name: 'A', mode: 'keep' })).status, 202);
    await waitFor(async () => {
      const ledger = (await api.get('/backups/ledger')).json.drives as Array<{ name: string; lastGoodBackupAt: string | null }>;
      return ledger.find((d) => d.name === 'A')?.lastGoodBackupAt ?? null;
    }, 240_000, 'the first backup on drive A');
    await page.goto(svc.base);
    await page.getByTestId('protection-newest').filter({ hasText: /on drive A/ }).waitFor({ timeout: 20_000 });
    assert.equal(await occurrences(page, /recovery kit is not saved|save the recovery kit/), 1, await page.locator('main').innerText());
    assert.match(await page.getByTestId('protection-one-drive').innerText(), /second (rotation )?drive/i);
    await page.screenshot({ path: join(ARTIFACTS, 'first-week-overview-one-drive-phone.png'), fullPage: true });
  });

  it('says in words what smartctl\'s "Unable to detect device type" means, with smartctl\'s text beside it', async (t) => {
    await page.goto(svc.base);
    await page.getByTestId('drive-list').waitFor();
    const drives = (await api.get('/drives')).json.drives as Array<{ bus: string }>;
    if (!drives.some((d) => d.bus !== 'loop' && d.bus !== 'mmc')) return t.skip('no disk here that smartctl is asked about');
    const line = page.locator('[data-testid="drive-list"] .health .headline').filter({ hasText: /Unable to detect device type/ }).first();
    await line.waitFor({ timeout: 20_000 });
    const text = await line.innerText();
    assert.match(text, /^This disk does not report its health through the way it is connected/, text);
    assert.match(text, /smartctl: .*Unable to detect device type/, 'smartctl\'s words stay beside, for an expert');
    await line.locator('xpath=ancestor::*[@data-testid="drive-summary"][1]').or(line).first().screenshot({ path: join(ARTIFACTS, 'first-week-smartctl-words-phone.png') });
  });

  it('opens a folder of 30 files on the Restore page without an empty scroll area below it', async () => {
    await page.goto(`${svc.base}/backups`);
    await page.getByTestId('open-restore').click();
    await page.locator('[data-testid="browse-entry"][data-name="scans"] [data-testid="browse-open"]').click();
    await page.locator(`[data-testid="snapshot-browser"][data-path="${join(src, 'scans')}"]`).waitFor();
    await waitFor(async () => (await page.getByTestId('browse-entry').count()) === FILES, 10_000, 'the 30 files');
    const { scroll, content } = await page.evaluate(() => {
      const body = document.body;
      const bottom = Math.max(...[...body.children].map((c) => c.getBoundingClientRect().bottom + window.scrollY));
      return { scroll: document.documentElement.scrollHeight, content: Math.ceil(bottom) };
    });
    await page.screenshot({ path: join(ARTIFACTS, 'first-week-restore-phone.png'), fullPage: true });
    await page.getByTestId('snapshot-browser').screenshot({ path: join(ARTIFACTS, 'first-week-restore-list-phone.png') });
    assert.ok(scroll <= Math.max(content, 760) + 1, `the page scrolls to ${scroll} px for ${content} px of content`);
  });

  it('names what happened in Activity in words, not by its event key', async () => {
    await page.goto(`${svc.base}/activity`);
    await page.getByTestId('activity-list').waitFor();
    const text = await page.getByTestId('activity-list').innerText();
    assert.doesNotMatch(text, /\b(drive|auth|source|rotation|backup|service)\.[a-z-]+\b/, text);
    const keys = await page.getByTestId('activity-entry').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind));
    assert.ok(keys.includes('drive.attached'), 'the key stays on the entry for whoever looks for it');
  });

  it('offers the disk check schedules in words, with cron as the advanced form', async () => {
    await page.goto(`${svc.base}/settings`);
    const choice = page.getByTestId('poll-schedule-choice');
    await choice.waitFor();
    const labels = await choice.locator('option').allInnerTexts();
    assert.ok(labels.includes('Every day at 02:00') && labels.includes('Every 30 minutes'), labels.join(' | '));
    // every choice offered is one the server accepts (SMART reads 5 minutes apart, short tests a day, long tests a week)
    const saved = (await api.get('/settings/health')).json;
    for (const [field, id] of [['pollSchedule', 'poll-schedule'], ['shortTestSchedule', 'short-test-schedule'], ['longTestSchedule', 'long-test-schedule']] as const) {
      const crons = (await page.getByTestId(`${id}-choice`).locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).filter(Boolean);
      assert.ok(crons.length >= 3, `${id}: choices in words`);
      for (const cron of crons) {
        const res = await api.request('PUT', '/settings/health', { ...saved, [field]: cron });
        assert.equal(res.status, 200, `${id} "${cron}": ${JSON.stringify(res.json)}`);
      }
    }
    assert.equal((await api.request('PUT', '/settings/health', saved)).status, 200);
    // the cron stays beside the words, for any other time
    assert.equal(await page.getByTestId('poll-schedule').inputValue(), saved.pollSchedule);
    // a daily short test in words, saved as cron, read back as the same words
    await page.getByTestId('short-test-schedule-choice').selectOption({ label: 'Every day at 03:00' });
    await page.getByTestId('schedules-save').click();
    assert.equal(await page.getByTestId('short-test-schedule').inputValue(), '0 3 * * *', 'the cron beside it follows');
    await waitFor(async () => (await api.get('/settings/health')).json.shortTestSchedule === '0 3 * * *', 10_000, 'the schedule saved as cron');
    await page.getByTestId('short-test-schedule').fill('0 4 * * 6');
    assert.equal(await page.getByTestId('short-test-schedule-choice').inputValue(), '', 'a time of one\'s own shows as another time');
    await page.locator('section[aria-labelledby="schedules-title"]').screenshot({ path: join(ARTIFACTS, 'first-week-settings-phone.png') });
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/401|Failed to load resource/.test(p)), []);
  });
});
