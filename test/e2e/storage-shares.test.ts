/**
 * The storage pool's shares, household users and missing-disk choice on the admin page, in
 * Chromium, against the real service on the simulated host of `make demo` (directory-backed disks;
 * the duplicator is the real one, writing real files onto the disks' folders; Samba is its twin,
 * on another port than 445 so Windows is said to be out of reach). Three disks join by the command
 * line; on the Storage page a household user is added (a weak password refused at its field), a
 * share is made and the user given access, its addresses shown; a file written onto one disk gets
 * its second copy on another and the card says so; a level changed from the command line shows
 * live; the share is removed (asking first, files kept) and brought back; a level-1 share's disk
 * would lose its file, and deleting that share's files asks for its name and shows the job; a disk
 * unplugged offers "It will come back" and "It is gone", which shows the pre-flight and asks; once
 * gone, the file has one copy because the only disk left with room reports a SMART warning (the
 * demo's sdb), which the card and the overview say; a fourth disk joins and the file gets its
 * second copy there. The overview counts the shares. No side scroll at 360 and
 * 1280 px. Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { SIMULATED_HOST_DIR } from '../../server/service.js';
import { SimulatedHost } from '../../system/drives/simulated-host.js';
import { browserSkipReason, launchBrowser, setUpThroughPage, watchForProblems } from '../testing/browser.js';
import { CLI, freePort, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const DISKS = ['usb-a', 'sda', 'sdb'];
/** Plugged in and added to the pool late in the test. */
const LATE_DISK = 'usb-b';
const PHOTO = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251));

describe('shares, household users and a missing disk on the Storage page, in Chromium', { skip: browserSkipReason() }, () => {
  let svc: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let host: SimulatedHost;
  let smbPort = 0;
  const problems: string[] = [];
  const ids: Record<string, string> = {};
  const names: Record<string, string> = {};

  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args, '--data', svc.dataDir]);
  const share = (name: string) => page.locator(`[data-testid="share"][data-share-name="${name}"]`);
  const poolDisk = (name: string) => page.locator(`[data-testid="pool-disk"][data-drive-id="${ids[name]}"]`);
  const shareFolder = (disk: string, name: string) => join(host.filesDir(disk), 'Safehold', 'shares', name);
  /** The disks whose folder of the share holds the file with exactly these bytes. */
  const holders = async (name: string, file: string, bytes: Buffer, disks = DISKS) => {
    const found: string[] = [];
    for (const disk of disks) {
      const path = join(shareFolder(disk, name), file);
      if (existsSync(path) && (await readFile(path)).equals(bytes)) found.push(disk);
    }
    return found;
  };
  const noSideScroll = async (what: string) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${what}: the page is ${overflow}px wider than the window`);
  };
  const toastsGone = () => page.getByTestId('toast').first().waitFor({ state: 'detached', timeout: 20_000 });
  const text = (l: Locator) => l.innerText();

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    smbPort = await freePort();
    svc = await startServiceProcess({ args: ['--smb-port', String(smbPort)] });
    host = await SimulatedHost.open(join(svc.dataDir, SIMULATED_HOST_DIR));
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await watchForProblems(page, problems);
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
    for (const disk of DISKS) await cli('pool', 'add', `/dev/${disk}`);
    const { stdout } = await cli('pool', '--json');
    for (const m of (JSON.parse(stdout) as { members: { driveId: string; displayName: string; device: string | null }[] }).members) {
      const disk = DISKS.find((d) => m.device?.startsWith(`/dev/${d}`));
      if (disk) [ids[disk], names[disk]] = [m.driveId, m.displayName];
    }
    assert.equal(Object.keys(ids).length, 3, 'the three disks joined the pool');
  });

  after(async () => {
    await browser?.close();
    await svc?.dispose();
  });

  it('adds a household user, refusing a guessable password at its field', async () => {
    await page.getByTestId('nav-storage').click();
    await page.getByTestId('household-users-empty').waitFor();
    const add = page.getByTestId('household-add-form');
    await add.getByTestId('household-new-name').fill('anna');
    await add.getByTestId('household-new-password').fill('password1234');
    await add.getByTestId('household-new-password-repeat').fill('password1234');
    await add.getByTestId('household-add').click();
    const refused = page.getByTestId('household-new-password-error');
    await refused.waitFor();
    assert.ok((await text(refused)).length > 10, 'the server says why the password is refused');
    assert.equal(await page.getByTestId('household-user').count(), 0);

    await add.getByTestId('household-new-password').fill('river otter lantern 42');
    await add.getByTestId('household-new-password-repeat').fill('river otter lantern 24');
    await add.getByTestId('household-add').click();
    assert.match(await text(page.getByTestId('household-new-password-repeat-error')), /differ/);

    await add.getByTestId('household-new-password-repeat').fill('river otter lantern 42');
    await add.getByTestId('household-add').click();
    const anna = page.locator('[data-testid="household-user"][data-user="anna"]');
    await anna.waitFor();
    assert.equal(await text(anna.getByTestId('household-user-login')), 'Can log in');
    assert.equal(await text(anna.getByTestId('household-user-shares')), 'No share yet');
  });

  it('makes a share at two copies, gives the user access and shows the addresses to type', async () => {
    const form = page.getByTestId('share-add-form');
    assert.equal(await text(form.getByTestId('share-not-backup')), 'A duplicated share survives a dead disk, not a deletion or ransomware: the backups do that.');
    assert.ok(await form.getByTestId('share-new-copies-2').isChecked(), 'two copies is the default');
    await form.getByTestId('share-new-name').fill('Photos');
    await form.getByTestId('share-add').click();
    const photos = share('Photos');
    await photos.waitFor();
    assert.equal(await text(photos.getByTestId('share-level')), '2 copies of each file, on 2 different disks.');

    await form.getByTestId('share-new-name').fill('Photos');
    await form.getByTestId('share-add').click();
    await page.getByTestId('share-new-name-error').waitFor();

    await photos.getByTestId('share-grant-user').selectOption('anna');
    await photos.getByTestId('share-grant-access').selectOption('rw');
    await photos.getByTestId('share-grant-add').click();
    const grant = photos.locator('[data-testid="share-grant"][data-user="anna"]');
    await grant.waitFor();
    assert.match(await text(grant), /anna may read and change files/);
    await page.locator('[data-testid="household-user"][data-user="anna"] [data-testid="household-user-shares"]', { hasText: 'Photos (read and change)' }).waitFor();

    const addresses = photos.getByTestId('share-addresses');
    assert.match(await text(addresses.getByTestId('share-no-windows')), /Windows only connects on port 445/);
    for (const os of ['macos', 'linux']) {
      const value = await addresses.locator(`[data-testid="share-address"][data-os="${os}"] input`).inputValue();
      assert.match(value, new RegExp(`^smb://[^/]+:${smbPort}/Photos$`), `${os}: the address with Samba's port`);
    }
  });

  it('shows a level changed from the command line live, and changes it back on the page', async () => {
    const photos = share('Photos');
    await cli('shares', 'set', 'Photos', '--copies', '3');
    await photos.locator('[data-testid="share-level"][data-copies="3"]').waitFor({ timeout: 15_000 });
    assert.equal(await text(photos.getByTestId('share-level')), '3 copies of each file, on 3 different disks.');
    await photos.getByTestId('share-change-level').click();
    await photos.getByTestId('share-copies').selectOption('2');
    await photos.getByTestId('share-copies-save').click();
    await photos.locator('[data-testid="share-level"][data-copies="2"]').waitFor();
  });

  it('watches a file written onto one disk get its second copy on another', async () => {
    const photos = share('Photos');
    await mkdir(shareFolder('usb-a', 'Photos'), { recursive: true });
    await writeFile(join(shareFolder('usb-a', 'Photos'), 'holiday.jpg'), PHOTO);
    await page.getByTestId('duplicate-now').click();
    await page.getByTestId('duplication-progress').waitFor();
    await photos.getByTestId('share-files-done').filter({ hasText: 'The only file on 2 disks' }).waitFor({ timeout: 60_000 });
    const copies = await holders('Photos', 'holiday.jpg', PHOTO);
    assert.equal(copies.length, 2, `exactly two disks hold it, byte for byte (${copies.join(', ')})`);
    assert.ok(copies.includes('usb-a'), 'the one written stays');
    assert.equal(await photos.getByTestId('share-files-short').count(), 0);
    for (const disk of DISKS) {
      await poolDisk(disk).getByTestId('pool-disk-exposure').filter({ hasText: 'If this disk died now, no file would be lost.' }).waitFor();
    }
    await toastsGone();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'storage-shares.png'), fullPage: true });
  });

  it('turns guest access on only with a warning, and off again', async () => {
    const photos = share('Photos');
    await photos.getByTestId('share-guest').check();
    assert.match(await text(photos.getByTestId('share-guest-warning')), /Every device on your network can read these files/);
    await photos.getByTestId('share-guest').uncheck();
    await photos.getByTestId('share-guest-warning').waitFor({ state: 'detached' });
    const { stdout } = await cli('shares', '--json');
    assert.equal((JSON.parse(stdout) as { shares: { name: string; guest: string }[] }).shares.find((s) => s.name === 'Photos')?.guest, 'none');
  });

  it('removes the share only after asking, keeps its files, and brings it back', async () => {
    const photos = share('Photos');
    await photos.getByTestId('share-remove').click();
    assert.match(await text(photos.getByRole('group')), /Its files stay on the disks until you delete them/);
    await photos.getByTestId('share-remove-confirm').click();
    await page.locator('[data-testid="share"][data-share-name="Photos"][data-state="removed"]').waitFor();
    assert.match(await text(photos.getByTestId('share-removed')), /^Removed: its files are kept\./);
    assert.equal(await photos.getByTestId('share-addresses').count(), 0, 'a removed share has no address');
    assert.equal((await holders('Photos', 'holiday.jpg', PHOTO)).length, 2, 'its files are still on the disks');
    await photos.getByTestId('share-restore').click();
    await page.locator('[data-testid="share"][data-share-name="Photos"][data-state="active"]').waitFor();
    await photos.locator('[data-testid="share-grant"][data-user="anna"]').waitFor();
  });

  it("says what a disk alone holds, and deletes a removed share's files once its name is typed", async () => {
    const form = page.getByTestId('share-add-form');
    await form.getByTestId('share-new-name').fill('Scratch');
    await form.getByTestId('share-new-copies-1').check();
    await form.getByTestId('share-add').click();
    const scratch = share('Scratch');
    await scratch.waitFor();
    assert.match(await text(scratch.getByTestId('share-level')), /^One copy of each file: not duplicated/);
    await mkdir(shareFolder('sda', 'Scratch'), { recursive: true });
    await writeFile(join(shareFolder('sda', 'Scratch'), 'draft.txt'), 'a draft\n');
    await page.getByTestId('duplicate-now').click();
    await poolDisk('sda').locator('[data-testid="pool-disk-exposure"][data-files="1"]').waitFor({ timeout: 60_000 });
    assert.match(await text(poolDisk('sda').getByTestId('pool-disk-exposure')), /^If this disk died now: 1 file \(8 B\) would be lost/);

    await scratch.getByTestId('share-remove').click();
    await scratch.getByTestId('share-remove-confirm').click();
    await scratch.getByTestId('share-delete-files').click();
    await scratch.getByTestId('share-delete-confirm').fill('Scratc');
    assert.ok(await scratch.getByTestId('share-delete-submit').isDisabled(), 'off until the name is typed exactly');
    await scratch.getByTestId('share-delete-confirm').fill('Scratch');
    await scratch.getByTestId('share-delete-submit').click();
    await scratch.waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(existsSync(join(shareFolder('sda', 'Scratch'), 'draft.txt')), false, 'its file is deleted from the disk');
    await poolDisk('sda').getByTestId('pool-disk-exposure').filter({ hasText: 'no file would be lost' }).waitFor();
  });

  it('counts the shares on the overview', async () => {
    await page.getByTestId('nav-dashboard').click();
    const line = page.getByTestId('protection-shares');
    await line.waitFor();
    assert.match(await text(line), /^1 share on 3 disks of the storage pool\./);
    assert.equal(await line.getAttribute('data-attention'), 'false');
    await page.getByTestId('nav-storage').click();
    await share('Photos').waitFor();
  });

  it('offers a missing disk\'s choices, shows the pre-flight of "it is gone" and asks before it starts', async () => {
    const usb = poolDisk('usb-a');
    await cli('demo', 'unplug', 'usb-a');
    await page.locator(`[data-testid="pool-disk"][data-drive-id="${ids['usb-a']}"][data-state="missing"]`).waitFor({ timeout: 15_000 });
    await usb.getByTestId('pool-disk-choices').waitFor();
    await usb.getByTestId('pool-disk-wait').click();
    await usb.getByTestId('pool-disk-waiting').waitFor();
    assert.equal(await usb.getByTestId('pool-disk-wait').count(), 0, 'said once');

    await usb.getByTestId('pool-disk-gone').click();
    const preflight = usb.getByTestId('pool-gone-preflight');
    await preflight.waitFor();
    assert.match(await text(preflight.getByTestId('pool-gone-copy')), /^1 file \(70 kB\) to copy\.$/);
    // The only other disk with room (the demo's sdb) reports a SMART warning: it takes no new copy, and the pre-flight says so.
    assert.equal(await preflight.getAttribute('data-fits'), 'false');
    assert.match(await text(preflight.getByTestId('pool-gone-fits')), /cannot take all of it: add a disk to the pool first/);
    assert.equal((await text(preflight.locator(`[data-testid="pool-gone-not-taking"][data-drive-id="${ids['sdb']}"]`))).trim(), `${names['sdb']} takes no new copy: its health is warning.`);
    assert.match(await text(preflight.getByTestId('pool-gone-fewer')), /^1 file would keep fewer copies than their share asks, e\.g\. Photos\/holiday\.jpg\.$/);
    await preflight.getByTestId('pool-gone-nothing-lost').waitFor();
    assert.equal((await holders('Photos', 'holiday.jpg', PHOTO, ['sda', 'sdb'])).length, 1, 'nothing is copied before the owner says so');
    await toastsGone();
    await usb.screenshot({ path: join(ARTIFACTS, 'storage-missing-choice.png') });

    await preflight.getByTestId('pool-gone-confirm').click();
    await usb.waitFor({ state: 'detached', timeout: 15_000 });
    // The demo's sdb reports a SMART warning: no new copy goes onto it, and the card says why.
    const short = share('Photos').getByTestId('share-files-short').filter({ hasText: 'its health is warning' });
    await short.waitFor({ timeout: 60_000 });
    assert.equal((await text(short)).trim(), '1 file on one disk only: its health is warning');
    assert.deepEqual(await holders('Photos', 'holiday.jpg', PHOTO, ['sda', 'sdb']), ['sda']);
  });

  it('says on the overview which share is short of copies, and the file gets its second copy on a disk that joins', async () => {
    await page.getByTestId('nav-dashboard').click();
    const line = page.locator('[data-testid="protection-shares"][data-attention="true"]');
    await line.waitFor();
    assert.match(await text(line), /^1 share on 2 disks of the storage pool: Photos has files with fewer copies than asked\./);
    await page.getByTestId('nav-drives').click();
    await cli('demo', 'plug', LATE_DISK);
    await page.locator(`[data-testid="drive-card"][data-drive-name="${LATE_DISK}"]`).waitFor({ timeout: 15_000 });
    await cli('pool', 'add', `/dev/${LATE_DISK}`);
    await page.getByTestId('nav-storage').click();
    await share('Photos').getByTestId('share-files-done').filter({ hasText: 'The only file on 2 disks' }).waitFor({ timeout: 60_000 });
    assert.equal(await share('Photos').getByTestId('share-files-short').count(), 0);
    assert.deepEqual(await holders('Photos', 'holiday.jpg', PHOTO, ['sda', 'sdb', LATE_DISK]), ['sda', LATE_DISK]);
  });

  it('changes a household user\'s password and removes the user after asking', async () => {
    const anna = page.locator('[data-testid="household-user"][data-user="anna"]');
    await anna.getByTestId('household-user-password').click();
    await anna.getByTestId('household-password').fill('quiet harbour evening 7');
    await anna.getByTestId('household-password-repeat').fill('quiet harbour evening 7');
    await anna.getByTestId('household-password-save').click();
    await page.getByTestId('toast').filter({ hasText: "anna's password is changed" }).waitFor();
    await anna.getByTestId('household-user-remove').click();
    await anna.getByTestId('household-user-remove-confirm').click();
    await anna.waitFor({ state: 'detached' });
    await share('Photos').getByTestId('share-no-grants').waitFor();
  });

  it('fits 1280 px and a 360 px phone without side scroll', async () => {
    await noSideScroll('Storage at 1280 px');
    await page.setViewportSize({ width: 360, height: 760 });
    await page.getByTestId('nav-storage').click();
    await share('Photos').waitFor();
    await noSideScroll('Storage at 360 px');
    await toastsGone();
    await share('Photos').evaluate((card) => card.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(ARTIFACTS, 'storage-shares-phone.png') });
    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('protection-shares').waitFor();
    await noSideScroll('Overview at 360 px');
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/401|Failed to load resource/.test(p)), []);
  });
});
