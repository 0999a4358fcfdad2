/**
 * LinuxBlockDevices against real loop devices (root only): what the drive page would show when a
 * USB drive is plugged in, mounted, reformatted and pulled out.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { DiskFacts } from '../../system/drives/block-devices.js';
import { LinuxBlockDevices } from '../../system/drives/linux-block-devices.adapter.js';
import { ProcessCommandRunner, type CommandRunner } from '../../system/process/command-runner.js';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, type LoopDisk } from '../testing/loop-disk.js';
import { waitFor } from '../testing/service.js';

/** The real runner, counting how often each device was probed with blkid. */
class CountingRunner extends ProcessCommandRunner {
  readonly probes = new Map<string, number>();
  override run(command: string, args: readonly string[], options?: Parameters<CommandRunner['run']>[2]) {
    if (command === 'blkid') {
      const device = args.at(-1)!;
      this.probes.set(device, (this.probes.get(device) ?? 0) + 1);
    }
    return super.run(command, args, options);
  }
}

/** Our disk, found by its image file (another test may reuse the loop number once it is free). */
const ours = (disks: DiskFacts[], loop: LoopDisk) => disks.find((d) => d.backingFile === loop.image);

describe('LinuxBlockDevices on loop devices', { skip: loopDiskSkipReason() }, () => {
  const runner = new CountingRunner();
  let devices: LinuxBlockDevices;
  let loop: LoopDisk;

  before(async () => {
    await cleanupLeftovers(runner);
    devices = new LinuxBlockDevices({ runner });
    loop = await createLoopDisk({ runner, sizeMiB: 64, label: 'USB-BACKUP' });
  });
  after(async () => {
    await loop?.cleanup();
  });

  it('shows an attached loop disk with size, filesystem, uuid, label and backing file', async () => {
    const disk = ours(await devices.list(), loop);
    assert.ok(disk, `${loop.device} is listed`);
    assert.equal(disk.name, loop.name);
    assert.equal(disk.path, loop.device);
    assert.equal(disk.bus, 'loop');
    assert.equal(disk.sizeBytes, 64 * 1024 * 1024);
    assert.equal(disk.backingFile, loop.image);
    assert.equal(typeof disk.attachSeq, 'number');
    assert.deepEqual(
      disk.partitions.map((p) => [p.path, p.fsType, p.uuid, p.label, p.mountpoints, p.freeBytes]),
      [[loop.device, 'ext4', loop.uuid, 'USB-BACKUP', [], null]],
    );
  });

  it('does not probe the disk again while nothing about it changed (a sleeping disk stays asleep)', async () => {
    await devices.list();
    const probed = runner.probes.get(loop.device) ?? 0;
    assert.ok(probed >= 1);
    await devices.list();
    await devices.list();
    assert.equal(runner.probes.get(loop.device), probed);
  });

  it('shows where it is mounted and how much space is free; the fingerprint notices the mount', async () => {
    const before = await devices.fingerprint();
    const probed = runner.probes.get(loop.device);
    const mountpoint = await loop.mount();
    try {
      assert.notEqual(await devices.fingerprint(), before);
      const [part] = ours(await devices.list(), loop)!.partitions;
      assert.deepEqual(part?.mountpoints, [mountpoint]);
      assert.ok(part?.freeBytes && part.freeBytes > 40 * 1024 * 1024 && part.freeBytes < 64 * 1024 * 1024, `free: ${part?.freeBytes}`);
      assert.equal(part?.label, 'USB-BACKUP');
      assert.equal(runner.probes.get(loop.device), probed, 'mounting is no reason to probe again');
    } finally {
      await loop.unmount();
    }
  });

  it('shows the new label and uuid after the disk is reformatted; the fingerprint notices', async () => {
    const before = await devices.fingerprint();
    await loop.reformat('RENAMED');
    assert.notEqual(await devices.fingerprint(), before);
    const [part] = ours(await devices.list(), loop)!.partitions;
    assert.equal(part?.label, 'RENAMED');
    assert.equal(part?.uuid, loop.uuid);
  });

  it('still lists disks when drivelist fails (description is then unknown)', async () => {
    const withBrokenDrivelist = new LinuxBlockDevices({
      runner,
      drivelist: { list: () => Promise.reject(new Error('native addon missing')) },
    });
    const disk = ours(await withBrokenDrivelist.list(), loop);
    assert.equal(disk?.partitions[0]?.label, 'RENAMED');
    assert.equal(disk?.description, null);
  });

  it('trusts lsblk and probes nothing when udev keeps a database', async () => {
    const udevDb = await mkdtemp(join(tmpdir(), 'safehold-udev-'));
    try {
      const counting = new CountingRunner();
      const withUdev = new LinuxBlockDevices({ runner: counting, udevDataDir: udevDb });
      assert.ok(ours(await withUdev.list(), loop));
      assert.equal(counting.probes.size, 0);
    } finally {
      await rm(udevDb, { recursive: true, force: true });
    }
  });

  it('drops the disk when it is detached; the fingerprint notices', async () => {
    // The fingerprint is judged on a view of /sys that holds our device alone (other tests attach
    // and detach theirs meanwhile). The kernel lets go of a loop device once nobody holds it open
    // (another service's blkid may be probing it), so the test waits for the disk to leave the list,
    // as a person waits for it to leave the page, and then asks the fingerprint.
    const sysRoot = await mkdtemp(join(tmpdir(), 'safehold-sys-'));
    try {
      await mkdir(join(sysRoot, 'block'));
      await symlink(`/sys/block/${loop.name}`, join(sysRoot, 'block', loop.name));
      const ourView = new LinuxBlockDevices({ runner, sysRoot });
      const before = await ourView.fingerprint();
      await loop.detach();
      await waitFor(async () => ours(await devices.list(), loop) === undefined, 30_000, `${loop.device} to leave the list`);
      assert.notEqual(await ourView.fingerprint(), before);
    } finally {
      await rm(sysRoot, { recursive: true, force: true });
    }
  });
});

describe('loop-disk test helper', { skip: loopDiskSkipReason() }, () => {
  it('clears the loop device, mount and image a crashed test run left behind', async () => {
    const helper = new URL('../testing/loop-disk.js', import.meta.url).href;
    const crashed = `const { createLoopDisk } = await import(${JSON.stringify(helper)});
      const disk = await createLoopDisk({ label: 'CRASHED' });
      console.log(JSON.stringify({ device: disk.device, image: disk.image, mountpoint: await disk.mount() }));
      process.exit(0);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', crashed]);
    const left = JSON.parse(stdout) as { device: string; image: string; mountpoint: string };
    try {
      const removed = await cleanupLeftovers();
      assert.ok(removed.includes(left.device) && removed.includes(left.image), removed.join(', '));
      assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(left.mountpoint), 'unmounted');
      assert.ok(!existsSync(left.image) && !existsSync(left.mountpoint), 'files removed');
    } finally {
      await cleanupLeftovers();
    }
  });
});
