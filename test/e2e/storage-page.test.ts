/**
 * The storage pool on the admin page, in Chromium, against the real service on the simulated host
 * of `make demo` (directory-backed disks: the pool code above the adapter line is the real one).
 * The Storage page starts empty and says what the pool is; on the Drives page a USB disk joins
 * keeping its files and a camera card (FAT) joins erased, its name typed again, keeping being off
 * with the reason; the Storage page shows both in use with their fill bars; the USB disk unplugged
 * is missing (live, without a reload) and in use again once plugged back. The pages fit a phone.
 * Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { SIMULATED_HOST_DIR } from '../../server/service.js';
import { SimulatedHost } from '../../system/drives/simulated-host.js';
import { browserSkipReason, launchBrowser, setUpThroughPage, watchForProblems } from '../testing/browser.js';
import { CLI, readSetupCode, ROOT, startServiceProcess, STRONG_PASSWORD, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const ARTIFACTS = join(ROOT, 'test', 'artifacts');

describe('the storage pool on the admin page, in Chromium', { skip: browserSkipReason() }, () => {
  let svc: ServiceProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let host: SimulatedHost;
  const problems: string[] = [];

  const driveCard = (name: string) => page.locator(`[data-testid="drive-card"][data-drive-name="${name}"]`);
  const poolDisk = (driveId: string, state?: string) =>
    page.locator(`[data-testid="pool-disk"][data-drive-id="${driveId}"]${state ? `[data-state="${state}"]` : ''}`);
  const demo = (action: 'plug' | 'unplug', name: string) => run(process.execPath, [CLI, 'demo', action, name, '--data', svc.dataDir]);
  const noSideScroll = async (what: string) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${what}: the page is ${overflow}px wider than the phone`);
  };
  /** Confirmations go away by themselves after a few seconds; the screenshots are taken without them. */
  const toastsGone = () => page.getByTestId('toast').first().waitFor({ state: 'detached', timeout: 20_000 });
  const goTo = async (nav: string, ready: Locator) => {
    await page.getByTestId(nav).click();
    await ready.first().waitFor();
  };
  let usbId = '';
  let cardId = '';

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    svc = await startServiceProcess();
    host = await SimulatedHost.open(join(svc.dataDir, SIMULATED_HOST_DIR));
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await watchForProblems(page, problems);
    await setUpThroughPage(page, svc.base, await readSetupCode(svc.dataDir), STRONG_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await svc?.dispose();
  });

  it('starts empty, says what the pool is and that duplication is not a backup, and points at the Drives page', async () => {
    await goTo('nav-storage', page.getByTestId('pool-empty'));
    assert.match(await page.getByTestId('pool-explanation').innerText(), /Duplication is not a backup: a deleted file is deleted on every disk/);
    await page.getByTestId('pool-empty-drives-link').click();
    await page.getByTestId('drive-list').waitFor();
    assert.equal(new URL(page.url()).pathname, '/drives');
  });

  it('adds a USB disk keeping its files, from its card on the Drives page', async () => {
    const usb = driveCard('usb-a');
    await usb.waitFor();
    usbId = (await usb.getAttribute('data-drive-id'))!;
    assert.equal(await driveCard('mmcblk0').getByTestId('add-to-pool').count(), 0, 'the system disk is not offered');
    await usb.getByTestId('add-to-pool').click();
    const panel = usb.getByTestId('pool-panel');
    await panel.waitFor();
    assert.match(await panel.innerText(), /each file gets a copy on another disk, so a dead disk loses nothing/);
    assert.ok(await panel.getByTestId('pool-mode-keep').isChecked(), 'keeping its ext4 files is the default');
    assert.match(await panel.innerText(), /Its ext4 filesystem and every file on it stay/);
    await panel.getByTestId('pool-submit').click();
    // The join is quick on the simulated host: the card's new role is the result, and the toast says it.
    await usb.getByTestId('pool-storage-link').waitFor();
    await page.getByTestId('toast').filter({ hasText: /is now a disk of the storage pool/ }).first().waitFor();
    assert.equal(await usb.getByTestId('add-to-pool').count(), 0, 'a pool disk is not offered again');
    assert.match(await usb.innerText(), /Pool disk/);
  });

  it('offers a FAT camera card only erased, with the reason, and erases it once its name is typed', async () => {
    await host.addDisk({
      name: 'usb-c',
      model: 'Camera Card', vendor: 'SanDisk', serial: 'CAM0042', wwn: null, ptUuid: 'c4a1e2d3',
      sizeBytes: 64_021_856_256, bus: 'usb', removable: true, rotational: false, plugged: true,
      partitions: [{ fsType: 'vfat', uuid: '3C2B-1A09', label: 'CAMERA', sizeBytes: 64_020_807_680, usedBytes: 21_000_000_000 }],
    });
    const camera = driveCard('usb-c');
    await camera.waitFor({ timeout: 15_000 });
    cardId = (await camera.getAttribute('data-drive-id'))!;
    await camera.getByTestId('add-to-pool').click();
    const panel = camera.getByTestId('pool-panel');
    await panel.waitFor();
    assert.ok(await panel.getByTestId('pool-mode-keep').isDisabled(), 'its files cannot be kept');
    assert.match(await panel.getByTestId('pool-keep-off').innerText(), /Its filesystem \(vfat\) cannot keep Linux file permissions: it can only join erased/);
    assert.equal(await panel.getByTestId('pool-mode-format').isChecked(), false, 'erasing is never chosen for the owner');
    assert.ok(await panel.getByTestId('pool-submit').isDisabled());

    await panel.getByTestId('pool-mode-format').check();
    assert.match(await panel.innerText(), /EVERYTHING on this disk will be erased/);
    assert.match(await panel.innerText(), /Labels?: CAMERA/);
    const name = await camera.getByTestId('drive-title').innerText();
    assert.match(await panel.innerText(), new RegExp(`type the disk's name: ${name}`));
    await panel.getByTestId('pool-confirm').fill(name.slice(0, -1));
    assert.ok(await panel.getByTestId('pool-submit').isDisabled(), 'off until the name is typed exactly');
    await panel.getByTestId('pool-confirm').fill(name);
    assert.ok(await panel.getByTestId('pool-submit').isEnabled());
    await panel.screenshot({ path: join(ARTIFACTS, 'drives-add-to-pool.png') });
    await panel.getByTestId('pool-submit').click();
    await camera.getByTestId('pool-storage-link').waitFor();
    assert.deepEqual(await readdir(host.filesDir('usb-c')), ['Safehold'], 'erased: only the pool\'s folder is left on it');
  });

  it('shows both disks in use on the Storage page, with fill bars, how they joined and their health', async () => {
    await goTo('nav-storage', page.getByTestId('pool-disk'));
    const usb = poolDisk(usbId);
    const camera = poolDisk(cardId);
    for (const id of [usbId, cardId]) {
      const disk = poolDisk(id);
      await poolDisk(id, 'mounted').waitFor();
      assert.equal(await disk.getByTestId('pool-disk-state').innerText(), 'In use');
      await disk.getByTestId('pool-disk-usage').getByRole('progressbar').waitFor();
      assert.match(await disk.getByTestId('pool-disk-usage').innerText(), /free of/);
      assert.equal(await disk.getByTestId('pool-disk-fs').innerText(), 'ext4');
      await disk.getByTestId('pool-disk-health').waitFor();
      assert.ok((await disk.getByTestId('pool-disk-folder').innerText()).endsWith(`/pool/disks/${id}`), 'its mount folder, for experts');
    }
    assert.match(await usb.getByTestId('pool-disk-joined').innerText(), /kept its files/);
    assert.match(await camera.getByTestId('pool-disk-joined').innerText(), /erased when it joined/);
    assert.match(await usb.innerText(), /Samsung SSD 840 Series/);
    assert.match(await page.locator('h1 + p').innerText(), /2 disks, 2 in use/);
    await toastsGone();
    await page.screenshot({ path: join(ARTIFACTS, 'storage.png'), fullPage: true });
  });

  it('says a disk unplugged is missing, and in use again once it is plugged back, live', async () => {
    const usb = poolDisk(usbId);
    await demo('unplug', 'usb-a');
    await poolDisk(usbId, 'missing').waitFor({ timeout: 15_000 });
    assert.equal(await usb.getByTestId('pool-disk-state').innerText(), 'Missing');
    assert.match(await usb.getByTestId('pool-disk-missing').innerText(), /^Missing since .+: nothing is copied or deleted until it is back or you say what happened\./);
    assert.equal(await usb.getByTestId('pool-disk-usage').count(), 0, 'no fill bar for a disk that is away');
    assert.equal(await poolDisk(cardId).getAttribute('data-state'), 'mounted', 'the other disk stays in use');
    await page.screenshot({ path: join(ARTIFACTS, 'storage-missing.png'), fullPage: true });

    await demo('plug', 'usb-a');
    await poolDisk(usbId, 'mounted').waitFor({ timeout: 15_000 });
    assert.equal(await usb.getByTestId('pool-disk-state').innerText(), 'In use');
    await usb.getByTestId('pool-disk-usage').waitFor();
  });

  it("fits a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await goTo('nav-storage', page.getByTestId('pool-disk'));
    await noSideScroll('Storage');
    await page.screenshot({ path: join(ARTIFACTS, 'storage-phone.png'), fullPage: true });
    await goTo('nav-drives', page.getByTestId('drive-card'));
    await driveCard('sdb').getByTestId('add-to-pool').click();
    await driveCard('sdb').getByTestId('pool-mode-format').check();
    await noSideScroll('Drives, "Add to the storage pool" open');
    await driveCard('sdb').getByTestId('pool-confirm').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'drives-add-to-pool-phone.png') });
    await page.setViewportSize({ width: 360, height: 760 });
    await noSideScroll('Drives at 360 px');
    await goTo('nav-storage', page.getByTestId('pool-disk'));
    await noSideScroll('Storage at 360 px');
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    assert.deepEqual(problems.filter((p) => !/401|Failed to load resource/.test(p)), []);
  });
});
