/**
 * The Mounts contract, run against both implementations: what the backup-drive code relies on when
 * it mounts a drive, writes to it, unmounts it, formats it, and when the drive is pulled out.
 * LinuxMounts runs on a loop device (root only); SimulatedMounts on the simulated host.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SimulatedHost } from '../../system/drives/simulated-host.js';
import { LinuxMounts } from '../../system/mounts/linux-mounts.adapter.js';
import type { Mounts } from '../../system/mounts/mounts.js';
import { SimulatedMounts } from '../../system/mounts/mounts.sim.js';
import { parseMountinfo, deviceNumbers } from '../../system/mounts/mountinfo.parse.js';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { cleanupLeftovers, createLoopDisk, forceUnmount, loopDiskSkipReason, pullOut, removeDataFolder, testName, type LoopDisk } from '../testing/loop-disk.js';
import { refusal } from '../testing/mounts.js';

interface Subject {
  mounts: Mounts;
  /** A device holding a filesystem, not mounted. */
  device: string;
  /** A data folder: mount points are made under it. */
  dataDir: string;
  /** Pull the device out (mounted or not). */
  pull(): Promise<void>;
  close(): Promise<void>;
}

function mountsContract(name: string, skip: string | undefined, open: () => Promise<Subject>) {
  describe(`Mounts contract: ${name}`, { skip }, () => {
    let s: Subject;
    let mnt: string;
    before(async () => {
      s = await open();
      mnt = join(s.dataDir, 'mnt', testName('-drive A'));
    });
    after(async () => {
      await s?.close();
    });

    it('mounts at a fresh folder of its own (created 0700); a drive is behind it; sizes are sane', async () => {
      const result = await s.mounts.mount(s.device, mnt);
      assert.equal(result.alreadyMounted, false);
      assert.equal(result.readOnly, false);
      assert.equal(result.fsType, 'ext4');
      assert.equal(await s.mounts.isMountedDevice(mnt), true);
      const status = await s.mounts.status(mnt);
      assert.equal(status.state, 'mounted');
      const space = await s.mounts.statfs(mnt);
      assert.ok(space.sizeBytes > 0 && space.availableBytes > 0 && space.availableBytes <= space.freeBytes && space.freeBytes <= space.sizeBytes, JSON.stringify(space));
      assert.equal((await stat(join(s.dataDir, 'mnt'))).mode & 0o777, 0o700);
    });

    it('is idempotent for the same device; refuses to mount it the other way over itself', async () => {
      assert.equal((await s.mounts.mount(s.device, mnt)).alreadyMounted, true);
      await refusal(s.mounts.mount(s.device, mnt, { readOnly: true }), 'already-mounted', /already mounted .* read-write/);
    });

    it('unmounts: the folder stays, empty, with no drive behind it (writing there would fill the system disk); remounting shows the files again', async () => {
      await writeFile(join(mnt, 'hello.txt'), 'on the drive');
      const result = await s.mounts.unmount(mnt);
      assert.deepEqual({ ...result, device: typeof result.device }, { wasMounted: true, device: 'string', synced: true, flushed: true, lazy: false });
      assert.equal(await s.mounts.isMountedDevice(mnt), false, 'the safety check says no drive');
      assert.equal((await s.mounts.status(mnt)).state, 'not-mounted');
      assert.deepEqual(await readdir(mnt), []);
      assert.equal((await stat(mnt)).mode & 0o777, 0o700);
      assert.equal((await s.mounts.unmount(mnt)).wasMounted, false, 'unmount is idempotent');
      await s.mounts.mount(s.device, mnt);
      assert.equal(await readFile(join(mnt, 'hello.txt'), 'utf8'), 'on the drive');
      await s.mounts.unmount(mnt);
    });

    it('never trusts a plain or missing folder', async () => {
      const plain = join(s.dataDir, 'plain');
      await mkdir(plain, { recursive: true });
      assert.equal(await s.mounts.isMountedDevice(plain), false);
      assert.equal(await s.mounts.isMountedDevice(join(s.dataDir, 'missing')), false);
      assert.equal((await s.mounts.status(join(s.dataDir, 'missing'))).state, 'not-mounted');
    });

    it('refuses a folder with files in it, and leaves the files alone', async () => {
      const busy = join(s.dataDir, 'mnt', testName('-full'));
      await mkdir(busy, { recursive: true });
      await writeFile(join(busy, 'backup-written-while-unmounted'), 'x');
      await refusal(s.mounts.mount(s.device, busy), 'folder-not-empty', /not empty \("backup-written-while-unmounted"\)/);
      assert.deepEqual(await readdir(busy), ['backup-written-while-unmounted']);
    });

    it('formats: refuses a mounted device; unmounted, erases it with the new label', async () => {
      await s.mounts.mount(s.device, mnt);
      await refusal(s.mounts.format(s.device, { label: 'SAFEHOLD-A', fsType: 'ext4' }), 'device-mounted', /is mounted at .*never formats a mounted drive/);
      assert.equal(await readFile(join(mnt, 'hello.txt'), 'utf8'), 'on the drive', 'nothing was touched');
      await s.mounts.unmount(mnt);
      await refusal(s.mounts.format(s.device, { label: 'bad/label', fsType: 'ext4' }), 'invalid-label', /cannot be a drive label/);
      const formatted = await s.mounts.format(s.device, { label: 'SAFEHOLD-A', fsType: 'ext4' });
      assert.equal(formatted.label, 'SAFEHOLD-A');
      assert.match(formatted.uuid, /^[0-9a-f-]{36}$/);
      await s.mounts.mount(s.device, mnt);
      assert.deepEqual((await readdir(mnt)).filter((n) => n !== 'lost+found'), [], 'the old files are gone');
    });

    it('a drive pulled out while mounted: no drive behind the folder; unmount still frees it (nothing could be synced)', async () => {
      assert.equal(await s.mounts.isMountedDevice(mnt), true);
      await s.pull();
      const status = await s.mounts.status(mnt);
      assert.equal(status.state, 'device-gone');
      assert.match(status.state === 'device-gone' ? status.reason : '', /no longer attached|no medium/);
      assert.equal(await s.mounts.isMountedDevice(mnt), false);
      const result = await s.mounts.unmount(mnt);
      assert.equal(result.wasMounted, true);
      assert.equal(result.synced, false);
      assert.equal((await s.mounts.status(mnt)).state, 'not-mounted');
      assert.deepEqual(await readdir(mnt), []);
    });
  });
}

mountsContract('SimulatedMounts', undefined, async () => {
  const root = await mkdtemp(join(tmpdir(), 'safehold-sim-mounts-'));
  const host = await SimulatedHost.open(join(root, 'host'));
  await host.seedDemo();
  return {
    mounts: new SimulatedMounts(host),
    device: '/dev/usb-a1',
    dataDir: join(root, 'data'),
    pull: () => host.unplug('usb-a'),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

mountsContract('LinuxMounts on a loop device', loopDiskSkipReason(), async () => {
  const runner = new ProcessCommandRunner();
  await cleanupLeftovers(runner);
  const dataDir = join(tmpdir(), testName('-data'));
  const disk: LoopDisk = await createLoopDisk({ runner, sizeMiB: 64, label: 'USB-A' });
  return {
    mounts: new LinuxMounts({ runner }),
    device: disk.device,
    dataDir,
    pull: () => pullOut(disk, runner),
    async close() {
      for (const name of await readdir(join(dataDir, 'mnt')).catch(() => [] as string[])) await forceUnmount(join(dataDir, 'mnt', name), runner);
      await disk.cleanup();
      await removeDataFolder(dataDir, runner);
    },
  };
});

describe('SimulatedMounts: specifics', () => {
  let root: string;
  let host: SimulatedHost;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'safehold-sim-mounts-'));
    host = await SimulatedHost.open(join(root, 'host'));
    await host.seedDemo();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("writes through the mount point land in the simulated disk's files/ folder", async () => {
    const mounts = new SimulatedMounts(host);
    const mnt = join(root, 'data', 'mnt', 'a');
    await mounts.mount('/dev/usb-a1', mnt);
    await writeFile(join(mnt, 'x.txt'), 'x');
    assert.equal(await readFile(join(host.filesDir('usb-a'), 'x.txt'), 'utf8'), 'x');
    await mounts.unmount(mnt);
    assert.equal(await readFile(join(host.filesDir('usb-a'), 'x.txt'), 'utf8'), 'x', 'unmount keeps the files on the disk');
  });

  it('refuses to format the system card and an unplugged or unknown device', async () => {
    const mounts = new SimulatedMounts(host);
    await refusal(mounts.format('/dev/mmcblk0p2', { label: 'X', fsType: 'ext4' }), 'system-disk', /never formats it/);
    await refusal(mounts.format('/dev/usb-b1', { label: 'X', fsType: 'ext4' }), 'not-a-block-device', /unplugged/);
    await refusal(mounts.mount('/dev/nope1', join(root, 'x')), 'not-a-block-device', /does not exist/);
  });
});

describe('mountinfo parsing', () => {
  it('reads escaped paths, optional fields and super options', () => {
    const text = [
      '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
      '42 27 7:0 / /srv/data/mnt/drive\\040A\\012x rw,nosuid,nodev,noexec,noatime shared:5 master:1 - ext4 /dev/loop0 rw,errors=remount-ro,emergency_ro',
      'garbage line',
    ].join('\n');
    const [root, drive, ...rest] = parseMountinfo(text);
    assert.equal(rest.length, 0);
    assert.equal(root?.mountpoint, '/');
    assert.deepEqual(drive, {
      id: 42,
      parentId: 27,
      major: 7,
      minor: 0,
      root: '/',
      mountpoint: '/srv/data/mnt/drive A\nx',
      mountOptions: ['rw', 'nosuid', 'nodev', 'noexec', 'noatime'],
      fsType: 'ext4',
      source: '/dev/loop0',
      superOptions: ['rw', 'errors=remount-ro', 'emergency_ro'],
    });
  });

  it('decodes device numbers as glibc does', () => {
    assert.deepEqual(deviceNumbers(0x0700n), { major: 7, minor: 0 });
    assert.deepEqual(deviceNumbers(0xfe00n), { major: 254, minor: 0 });
    assert.deepEqual(deviceNumbers((259n << 8n) | 3n), { major: 259, minor: 3 });
    assert.deepEqual(deviceNumbers((0x100n << 12n) | 5n), { major: 0, minor: 0x100 | 5 });
  });
});
