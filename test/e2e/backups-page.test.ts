/**
 * Backups in a real browser (Debian's Chromium through playwright-core) against the real service on
 * real block devices (root only): a loop device is the USB drive, restic is the real one. The owner
 * protects a folder on the Settings page, makes the drive rotation drive A on the Drives page, and
 * watches on the Backups page the backup that follows by itself, live on the drive's card, until
 * "Drive A is safe to unplug". The overview answers "Am I protected?" and asks for the recovery kit;
 * the kit page shows the repository and its password (the one the service keeps) and the commands,
 * prints without the frame, downloads, and stops the reminder once saved. Pulled out, the drive is
 * away and cannot be browsed; plugged in again, it is backed up by itself. Then a file changed on
 * the box is restored from the snapshot into a new folder beside the original (its old bytes, the
 * changed original untouched), and another file is downloaded. Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { disposeUnmounted } from '../testing/backups.js';
import { browserSkipReason, launchBrowser, setUpThroughPage, watchForProblems } from '../testing/browser.js';
import { attachImage, cleanupLeftovers, createLoopDisk, loopDiskSkipReason, testName, type LoopDisk } from '../testing/loop-disk.js';
import { Browserish, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const skip =
  browserSkipReason() ??
  loopDiskSkipReason() ??
  ((await run('which', ['restic']).then(() => undefined, () => 'needs restic (make test installs it: apt-get install restic)')) as string | undefined);

/** A backup long enough to be watched: about 90 MB of random bytes, idle I/O priority on the box. */
const BULK_FILES = 60;
const BULK_BYTES = 1_500_000;
const LETTER = join('letters', 'letter-to-grandma.txt');
const PHOTO = join('albums', '2024', 'beach.jpg');

describe('backups on the admin page, in Chromium', { skip }, () => {
  let work: string;
  let src: string;
  let svc: ServiceProcess;
  let api: Browserish;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let disk: LoopDisk | undefined;
  let replugged: LoopDisk | undefined;
  const letterAtBackup = 'Dear grandma,\nthe photos of the beach are in the album.\n';
  let photoBytes: Buffer;
  const problems: string[] = [];

  const card = () => page.locator('[data-testid="ledger-card"][data-drive-name="A"]');
  const toTop = () => page.evaluate(() => scrollTo(0, 0));

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await cleanupLeftovers();
    work = join(tmpdir(), testName('-backups-page'));
    src = join(work, 'photos');
    await mkdir(join(src, 'letters'), { recursive: true });
    await mkdir(join(src, 'albums', '2024'), { recursive: true });
    await mkdir(join(src, 'bulk'), { recursive: true });
    await writeFile(join(src, LETTER), letterAtBackup);
    photoBytes = randomBytes(300_000);
    await writeFile(join(src, PHOTO), photoBytes);
    for (let i = 0; i < BULK_FILES; i++) await writeFile(join(src, 'bulk', `scan-${String(i).padStart(3, '0')}.tif`), randomBytes(BULK_BYTES));
    disk = await createLoopDisk({ sizeMiB: 400, label: 'FAMILY-A' });

    svc = await startServiceProcess({ simulate: false });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await watchForProblems(page, problems);
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
    // A second session, for looking behind the page (jobs, ledger) the way the command line does.
    api = new Browserish(svc.base);
    await api.get('/session');
    const login = await api.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    assert.equal(login.status, 200);
  });

  after(async () => {
    await browser?.close();
    if (svc) await disposeUnmounted(svc);
    await replugged?.cleanup();
    await disk?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('protects a folder, chosen on the Settings page', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('source-new-path').fill(src);
    assert.equal(await page.getByTestId('source-new-name').inputValue(), 'photos', 'the name is suggested from the folder');
    await page.getByTestId('source-add').click();
    await page.locator('[data-testid="source-row"][data-source-name="photos"]').waitFor();
    // the backup settings are there too, with the defaults of a year of history; the server's
    // refusal of a value is shown at its field, and nothing is saved
    assert.equal(await page.getByTestId('backup-daily').inputValue(), '7');
    assert.equal(await page.getByTestId('backup-yearly').inputValue(), '3');
    await page.getByTestId('backup-swap-days').fill('0');
    await page.getByTestId('backup-settings-save').click();
    await page.getByTestId('backup-swap-days-error').waitFor();
    assert.equal((await api.get('/backups/settings')).json.swapAfterDays, 7, 'nothing was saved');
    await page.getByTestId('backup-swap-days').fill('7');
    await page.getByTestId('error-banner').locator('button').click();
  });

  it('makes the loop disk rotation drive A on the Drives page; its backup runs live on the Backups page until "safe to unplug"', { timeout: 600_000 }, async () => {
    await page.getByTestId('nav-drives').click();
    const driveCard = page.locator(`[data-testid="drive-card"][data-drive-name="${disk!.name}"]`);
    await driveCard.waitFor({ timeout: 10_000 });
    await driveCard.getByTestId('use-as-rotation').click();
    await driveCard.getByTestId('rotation-name').fill('A');
    assert.ok(await driveCard.getByTestId('rotation-mode-keep').isChecked(), 'keeping the files is the default');
    await driveCard.getByTestId('rotation-submit').click();
    await driveCard.getByTestId('rotation-progress').waitFor();

    // Record every state of the progress block while the backup runs, however quickly it changes.
    await page.evaluate(() => {
      const seen: { state: string | null; text: string }[] = [];
      (window as unknown as { __progress: typeof seen }).__progress = seen;
      const look = () => {
        for (const el of document.querySelectorAll<HTMLElement>('[data-testid="ledger-card"] [data-testid="backup-progress"]')) {
          const entry = { state: el.dataset.state ?? null, text: el.innerText };
          const last = seen[seen.length - 1];
          if (!last || last.text !== entry.text || last.state !== entry.state) seen.push(entry);
        }
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByTestId('nav-backups').click();
    await card().waitFor({ timeout: 60_000 });
    const progress = card().getByTestId('backup-progress');
    await progress.waitFor({ timeout: 120_000 });
    await toTop();
    await page.screenshot({ path: join(ARTIFACTS, 'backups-progress.png'), fullPage: true });

    await card().getByTestId('safe-to-unplug').waitFor({ timeout: 480_000 });
    assert.match(await card().getByTestId('safe-to-unplug').innerText(), /Drive A is safe to unplug/);
    assert.equal(await card().getAttribute('data-state'), 'safe-to-unplug');

    const seen = (await page.evaluate(() => (window as unknown as { __progress: { state: string; text: string }[] }).__progress)) ?? [];
    assert.ok(seen.some((s) => s.state === 'running'), `the running backup was shown on the card: ${JSON.stringify(seen)}`);
    assert.ok(
      seen.some((s) => /\d[\d,]* of [\d,]+ files|\d+(\.\d)? [kMG]?B( of |\b)/.test(s.text)),
      `the card showed files or bytes done while it ran: ${JSON.stringify(seen)}`,
    );

    // what the card says of the drive now
    assert.equal(await card().getByTestId('snapshot-count').getAttribute('data-count'), '1');
    assert.equal(await card().getByTestId('last-check').getAttribute('data-ok'), 'true');
    assert.match(await card().getByTestId('read-back').innerText(), /1 of 8 parts \(slices\)/);
    assert.match(await card().getByTestId('last-drill').innerText(), /restored and identical/);
    assert.notEqual(await card().getByTestId('last-good-backup').innerText(), 'None yet');
    const runItem = page.getByTestId('backup-run').first();
    assert.equal(await runItem.getAttribute('data-outcome'), 'good');
    const source = runItem.locator('[data-testid="run-source"][data-source-name="photos"]');
    assert.equal(await source.getAttribute('data-outcome'), 'backed-up');
    assert.match(await source.innerText(), new RegExp(`${BULK_FILES + 2} files`));
    assert.equal(await runItem.getByTestId('run-suspicious').count(), 0);

    // "safe to unplug" is true: nothing of the drive is mounted any more
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    assert.equal(mountinfo.includes(join(svc.dataDir, 'mnt')), false, 'the drive is unmounted');
    await toTop();
    await page.screenshot({ path: join(ARTIFACTS, 'backups-ledger.png'), fullPage: true });

    // the Drives page now points to the Backups page from the drive's card
    await page.getByTestId('nav-drives').click();
    const link = page.locator(`[data-testid="drive-card"][data-drive-name="${disk!.name}"] [data-testid="rotation-backups-link"] a`);
    await link.click();
    await card().waitFor();
  });

  it('answers "Am I protected?" on the overview, and asks for the recovery kit', async () => {
    await page.getByTestId('nav-dashboard').click();
    const protection = page.getByTestId('protection');
    await protection.waitFor();
    assert.match(await page.getByTestId('protection-newest').innerText(), /Newest backup: .+, on drive A/);
    assert.match(await protection.innerText(), /1 rotation drive · 1 protected folder/);
    await page.getByTestId('recovery-kit-needed').waitFor();
    const said = (await page.locator('main').innerText()).match(/recovery kit is not saved|save the recovery kit/gi) ?? [];
    assert.equal(said.length, 1, 'the kit reminder is said once on the overview');
    await toTop();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-protection.png'), fullPage: true });
  });

  it('shows the recovery kit with drive A\'s repository, password and commands; prints, downloads, and is marked saved', async () => {
    await page.getByTestId('recovery-kit-link').click();
    const repo = page.locator('[data-testid="kit-repository"][data-drive-name="A"]');
    await repo.waitFor();
    assert.equal(await repo.getByTestId('kit-path').innerText(), 'Safehold/repository');
    const password = (await repo.getByTestId('kit-password').innerText()).trim();
    const secrets = join(svc.dataDir, 'secrets');
    const stored = await Promise.all((await readdir(secrets)).map(async (f) => (await readFile(join(secrets, f), 'utf8')).trim()));
    assert.ok(password.length >= 20 && stored.includes(password), 'the password shown is the one the service keeps for the repository');
    const text = await page.getByTestId('recovery-kit-text').innerText();
    assert.match(text, /restic -r \S+Safehold\/repository/);
    assert.ok(text.includes(password), 'the commands come with the password');
    await toTop();
    await page.screenshot({ path: join(ARTIFACTS, 'recovery-kit.png'), fullPage: true });

    // printed: no header or buttons, black on white
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.bar').isVisible(), false, 'no navigation on paper');
    assert.equal(await page.getByTestId('recovery-kit-download').isVisible(), false, 'no buttons on paper');
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)');
    await page.screenshot({ path: join(ARTIFACTS, 'recovery-kit-print.png'), fullPage: true });
    await page.emulateMedia({ media: 'screen' });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('recovery-kit-download').click()]);
    assert.match(download.suggestedFilename(), /^safehold-recovery-kit-.+\.txt$/);
    const file = await readFile((await download.path())!, 'utf8');
    assert.ok(file.includes(password) && /restic/.test(file), 'the downloaded kit holds the password and the commands');

    await page.getByTestId('recovery-kit-saved').click();
    await page.locator('[data-testid="recovery-kit-saved-at"][data-saved="true"]').waitFor();
    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('protection').waitFor();
    await waitFor(async () => (await page.getByTestId('recovery-kit-needed').count()) === 0, 5000, 'the reminder to go away once the kit is saved');
  });

  it('shows the drive away once pulled out ("Plug drive A in to restore from it"), and backs it up again by itself when plugged back in', { timeout: 600_000 }, async () => {
    const before = await lastJobId();
    await page.getByTestId('nav-backups').click();
    await card().waitFor();
    await disk!.detach();
    await page.locator('[data-testid="ledger-card"][data-drive-name="A"][data-state="away"]').waitFor({ timeout: 15_000 });
    assert.match(await card().getByTestId('plug-in-to-restore').innerText(), /Plug drive A in/);
    assert.equal(await card().getByTestId('back-up-now').count(), 0, 'no "Back up now" for a drive that is away');

    await page.getByTestId('open-restore').click();
    await page.getByTestId('plug-in-to-restore').waitFor();
    assert.match(await page.getByTestId('plug-in-to-restore').innerText(), /Plug drive A in to restore from it/);
    // the snapshot list appears once the page has read it (a spinner says so until then)
    await page.getByTestId('restore-snapshot').waitFor();
    assert.equal(await page.getByTestId('restore-snapshot').locator('option').count(), 1, 'its snapshots are still listed from the catalog');
    assert.equal(await page.getByTestId('snapshot-browser').count(), 0, 'a drive that is away cannot be browsed');

    // a second folder, Anna's (uid 4242), with a file she cannot read herself: the run names it
    const anna = join(work, 'anna');
    await mkdir(anna);
    await writeFile(join(anna, 'notes.txt'), 'shopping list\n');
    await writeFile(join(anna, 'locked.txt'), 'no one may read this\n', { mode: 0o000 });
    for (const f of ['', 'notes.txt', 'locked.txt']) await chown(join(anna, f), 4242, 4242);
    assert.equal((await api.post('/sources', { name: 'anna', path: anna, excludes: [] })).status, 201);

    replugged = await attachImage(disk!.image);
    // plugged in again: the restore page opens the snapshot's folder, and the backup runs by itself
    await page.getByTestId('snapshot-browser').waitFor({ timeout: 30_000 });
    const backup = await waitFor(async () => {
      const jobs = (await api.get('/jobs?limit=50')).json.jobs as { id: number; kind: string; state: string; message: string | null }[];
      return jobs.find((j) => j.id > before && j.kind === 'backup.rotation' && !['queued', 'running'].includes(j.state)) ?? null;
    }, 480_000, 'the backup after plugging drive A in again');
    assert.equal(backup.value.state, 'succeeded', backup.value.message ?? '');
    await page.getByTestId('nav-backups').click();
    await waitFor(async () => (await page.getByTestId('backup-run').count()) === 2, 30_000, 'the second run listed under the drives');
    assert.equal(await page.getByTestId('backup-run').first().getAttribute('data-outcome'), 'good');
    assert.equal(await card().getAttribute('data-connected'), 'true');
    // the run names the file Anna cannot read: the count, then the names
    const notes = page.getByTestId('backup-run').first().locator('[data-testid="run-source"][data-source-name="anna"] [data-testid="run-file-notes"]');
    assert.match(await notes.locator('summary').innerText(), /^1 file to know about$/);
    await notes.locator('summary').click();
    await page.getByTestId('backup-run').first().screenshot({ path: join(ARTIFACTS, 'backups-run-file-notes.png') });
    assert.match(await notes.locator('li').first().innerText(), new RegExp(`${join(anna, 'locked.txt')}: the folder's owner cannot read it \\(it was backed up all the same\\) \\(mode 0000, owner uid 4242\\)`));
  });

  it('restores a changed file from the snapshot into a new folder beside the original, and downloads another', { timeout: 300_000 }, async () => {
    await writeFile(join(src, LETTER), 'Dear grandma, I overwrote this by mistake.\n');
    await card().getByTestId('restore-from-drive').click();
    const browser_ = page.getByTestId('snapshot-browser');
    await browser_.waitFor();
    // the newest snapshot is chosen; browse into letters/
    await page.locator('[data-testid="browse-entry"][data-name="letters"] [data-testid="browse-open"]').click();
    await page.locator(`[data-testid="snapshot-browser"][data-path="${join(src, 'letters')}"]`).waitFor();
    await page.locator('[data-testid="browse-entry"][data-name="letter-to-grandma.txt"] [data-testid="browse-select"]').check();

    // download the photo from albums/2024 through the breadcrumb and the folders
    await page.getByTestId('crumb').first().click();
    await page.locator(`[data-testid="snapshot-browser"][data-path="${src}"]`).waitFor();
    const names = await page.getByTestId('browse-entry').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.type}:${(e as HTMLElement).dataset.name}`));
    assert.deepEqual(names, ['dir:albums', 'dir:bulk', 'dir:letters'], 'folders first, by name');
    await page.locator('[data-testid="browse-entry"][data-name="albums"] [data-testid="browse-open"]').click();
    await page.locator('[data-testid="browse-entry"][data-name="2024"] [data-testid="browse-open"]').click();
    await page.locator(`[data-testid="snapshot-browser"][data-path="${join(src, 'albums', '2024')}"]`).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="browse-entry"][data-name="beach.jpg"] [data-testid="download-file"]').click(),
    ]);
    assert.equal(download.suggestedFilename(), 'beach.jpg');
    assert.ok((await readFile((await download.path())!)).equals(photoBytes), 'the downloaded file has the bytes of the original');

    // the letter stays ticked while browsing elsewhere; restore it beside the original
    assert.match(await page.getByTestId('restore-selected').innerText(), /letters\/letter-to-grandma\.txt/);
    assert.ok(await page.getByTestId('restore-target-beside').isChecked(), 'a new folder next to the original is the default');
    await page.getByTestId('restore-target-original').check();
    assert.ok(await page.getByTestId('restore-submit').isDisabled(), 'overwriting needs its confirmation ticked');
    await page.getByTestId('restore-target-beside').check();
    await page.getByTestId('restore-submit').click();
    const result = page.getByTestId('restore-result');
    await result.waitFor({ timeout: 240_000 });
    assert.equal(await result.getAttribute('data-state'), 'succeeded', await result.innerText());
    const folder = (await result.getAttribute('data-folder'))!;
    assert.equal(dirname(folder), dirname(src), 'the new folder is next to the original');
    assert.equal(await page.getByTestId('restore-folder').innerText(), folder, 'the page says where the files went');
    const restored = join(folder, LETTER);
    const bytes = await readFile(restored, 'utf8').catch(async () => {
      throw new Error(`${restored} is missing; the folder holds: ${(await listTree(folder)).join(', ')}`);
    });
    assert.equal(bytes, letterAtBackup, 'the restored letter has the bytes of the snapshot');
    assert.equal(await readFile(join(src, LETTER), 'utf8'), 'Dear grandma, I overwrote this by mistake.\n', 'the original was not touched');
    await toTop();
    await page.screenshot({ path: join(ARTIFACTS, 'backups-restore.png'), fullPage: true });
  });

  it('fits a phone\'s width', async () => {
    await page.setViewportSize({ width: 360, height: 760 });
    for (const [nav, ready, file] of [
      ['nav-backups', 'ledger', 'backups-phone.png'],
      ['open-restore', 'snapshot-browser', 'restore-phone.png'],
      ['nav-dashboard', 'protection', 'dashboard-protection-phone.png'],
    ] as const) {
      await page.getByTestId(nav).click();
      await page.getByTestId(ready).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${nav}: the page is ${overflow}px wider than the phone`);
      await toTop();
      await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/401|Failed to load resource/.test(p)), []);
  });

  async function lastJobId(): Promise<number> {
    const jobs = (await api.get('/jobs?limit=50')).json.jobs as { id: number }[];
    return Math.max(0, ...jobs.map((j) => j.id));
  }
});

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string) => {
    for (const e of await readdir(at, { withFileTypes: true }).catch(() => [])) {
      out.push(relative(dir, join(at, e.name)));
      if (e.isDirectory()) await walk(join(at, e.name));
    }
  };
  await walk(dir);
  return out;
}
