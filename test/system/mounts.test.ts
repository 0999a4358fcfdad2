/**
 * LinuxMounts with real loop devices, mount(8), mkfs.ext4 and blkid (root only): what happens to a
 * backup drive on a box — formatted, mounted, marked, unmounted while something holds it, and
 * pulled out while mounted. The shared contract (test/medium/mounts.test.ts) covers the rest.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readMarker, writeMarker, type DriveMarkerFields } from '../../system/marker/drive-marker.js';
import { LinuxMounts } from '../../system/mounts/linux-mounts.adapter.js';
import { parseMountinfo } from '../../system/mounts/mountinfo.parse.js';
import { MountError } from '../../system/mounts/mounts.js';
import { checked, ProcessCommandRunner, type RunOptions } from '../../system/process/command-runner.js';
import { cleanupLeftovers, createLoopDisk, forceUnmount, loopDiskSkipReason, pullOut, removeDataFolder, testName, type LoopDisk } from '../testing/loop-disk.js';
import { refusal } from '../testing/mounts.js';

/** The real runner with a seatbelt: wipefs and mkfs may only ever touch this test's loop devices. */
class GuardedRunner extends ProcessCommandRunner {
  readonly allowed = new Set<string>();
  override run(command: string, args: readonly string[], options?: RunOptions) {
    if ((command === 'wipefs' || command.startsWith('mkfs')) && !this.allowed.has(args.at(-1)!)) {
      return Promise.reject(new Error(`test seatbelt: ${command} on ${args.at(-1)} refused`));
    }
    return super.run(command, args, options);
  }
}

const mountEntry = async (path: string) => parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')).reverse().find((e) => e.mountpoint === path);

describe('LinuxMounts on loop devices', { skip: loopDiskSkipReason() }, () => {
  const runner = new GuardedRunner();
  const plain = new ProcessCommandRunner();
  const mounts = new LinuxMounts({ runner });
  const dataDir = join(tmpdir(), testName('-data'));
  const mountpoints: string[] = [];
  const disks: LoopDisk[] = [];
  const children: ChildProcess[] = [];
  let disk: LoopDisk;
  let other: LoopDisk;

  /** A fresh mount folder, recorded for cleanup; crash leftovers are recognised by its name. */
  const folder = (suffix: string) => {
    const path = join(dataDir, 'mnt', testName(suffix));
    mountpoints.push(path);
    return path;
  };
  const newDisk = async (label: string) => {
    const d = await createLoopDisk({ runner: plain, sizeMiB: 64, label });
    disks.push(d);
    runner.allowed.add(d.device);
    return d;
  };
  const holdOpen = (cwd: string) => {
    const child = spawn('sleep', ['600'], { cwd, stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  const marker: DriveMarkerFields = {
    drive: { name: 'A', identity: { kind: 'fsuuid', value: 'x' }, serial: null, wwn: null, model: null, filesystemUuid: null },
    rotationSetId: 'rotation-set-0001',
    boxId: 'box-0000000001',
    registeredAt: '2025-05-01T10:00:00.000Z',
    repository: 'repository',
  };

  before(async () => {
    await cleanupLeftovers(runner);
    disk = await newDisk('OLD-LABEL');
    other = await newDisk('OTHER');
  });
  after(async () => {
    for (const child of children) await stop(child);
    for (const path of mountpoints.reverse()) await forceUnmount(path, runner);
    for (const d of disks) await d.cleanup().catch(() => {});
    await removeDataFolder(dataDir, runner);
  });

  it('formats a whole device with a label: blkid sees ext4 and the label; no reserved blocks; read-only on errors', async () => {
    const result = await mounts.format(disk.device, { label: 'SAFEHOLD-A', fsType: 'ext4' });
    const probe = (await checked(runner, 'blkid', ['-p', '-o', 'export', disk.device])).stdout;
    assert.match(probe, /^TYPE=ext4$/m);
    assert.match(probe, /^LABEL=SAFEHOLD-A$/m);
    assert.match(probe, new RegExp(`^UUID=${result.uuid}$`, 'm'));
    assert.notEqual(result.uuid, disk.uuid, 'a new filesystem');
    const superblock = (await checked(runner, 'tune2fs', ['-l', disk.device])).stdout;
    assert.match(superblock, /^Reserved block count:\s+0$/m);
    assert.match(superblock, /^Errors behavior:\s+Remount read-only$/m);
    assert.match(superblock, /^Inode count:\s+1024$/m, 'one inode per 64 KiB');
  });

  it('mounts with nodev, nosuid, noexec, noatime and errors=remount-ro; a marker written there survives unmount and remount', async () => {
    const mnt = folder('-A');
    await mounts.mount(disk.device, mnt);
    const entry = await mountEntry(mnt);
    for (const option of ['rw', 'nodev', 'nosuid', 'noexec', 'noatime']) assert.ok(entry?.mountOptions.includes(option), `${option} in ${entry?.mountOptions}`);
    // Safehold's format sets remount-ro in the superblock, so the kernel does not repeat it; a drive
    // formatted elsewhere (errors=continue, mke2fs's default) gets it from the mount option.
    assert.ok(!entry?.superOptions.some((o) => o.startsWith('errors=')), String(entry?.superOptions));
    const foreign = folder('-foreign');
    await mounts.mount(other.device, foreign);
    assert.ok((await mountEntry(foreign))?.superOptions.includes('errors=remount-ro'));
    await mounts.unmount(foreign);
    const space = await mounts.statfs(mnt);
    assert.ok(space.sizeBytes > 50 * 1024 * 1024 && space.sizeBytes <= 64 * 1024 * 1024, `size ${space.sizeBytes}`);
    // No blocks reserved for root (-m 0); ext4 itself keeps back up to 2% for its own metadata.
    assert.ok(space.availableBytes >= space.freeBytes * 0.97, JSON.stringify(space));

    const written = await writeMarker(mnt, marker);
    const unmounted = await mounts.unmount(mnt);
    assert.deepEqual(unmounted, { wasMounted: true, device: disk.device, synced: true, flushed: true, lazy: false });
    assert.equal(await mounts.isMountedDevice(mnt), false, 'the empty folder left behind is not a drive');
    await mounts.mount(disk.device, mnt, { readOnly: true });
    assert.equal((await mounts.status(mnt)).state, 'mounted');
    assert.deepEqual(await readMarker(mnt), written);
    await assert.rejects(writeFile(join(mnt, 'x'), 'x'), { code: 'EROFS' }, 'a read-only mount refuses writes');
    await mounts.unmount(mnt);
  });

  it('seals the empty mount folder: a drive mounts over it; after an unmount, also a lazy one under a writer, nothing can be created in it', async () => {
    const mnt = folder('-sealed');
    await mounts.mount(disk.device, mnt);
    const writer = holdOpen(mnt);
    await new Promise((resolve) => writer.once('spawn', resolve));
    await checked(plain, 'umount', ['--lazy', mnt]); // the mount taken away under a running writer
    assert.equal((await mounts.status(mnt)).state, 'not-mounted');
    assert.equal(await mounts.seal(mnt), 'immutable');
    const mkdirP = await plain.run('mkdir', ['-p', join(mnt, 'Safehold', 'repository', 'data', '31')]);
    assert.notEqual(mkdirP.exitCode, 0, 'mkdir -p in the empty folder fails');
    assert.match(mkdirP.stderr, /Operation not permitted/);
    await assert.rejects(writeFile(join(mnt, 'pack'), 'x'), { code: 'EPERM' });
    assert.deepEqual(await readdir(mnt), []);
    await stop(writer);
    await mounts.mount(disk.device, mnt);
    assert.equal(await mounts.isMountedDevice(mnt), true, 'mounts again over the sealed folder');
    await mounts.unmount(mnt);
  });

  it('seals with an empty read-only tmpfs where the data folder has no immutable attribute (ramfs); mounts and unmounts above it', async () => {
    const ram = folder('-ramfs');
    await mkdir(ram, { recursive: true });
    await checked(plain, 'mount', ['-t', 'ramfs', '-o', 'mode=0700', 'safehold-test-ramfs', ram]);
    const mnt = join(ram, 'drive');
    mountpoints.push(mnt, mnt); // the drive, then the seal beneath it
    try {
      await mounts.mount(disk.device, mnt);
      assert.equal(await mounts.seal(mnt), 'read-only-tmpfs');
      assert.equal(await mounts.isMountedDevice(mnt), true);
      await writeFile(join(mnt, 'on-the-drive'), 'yes');
      assert.equal((await mounts.unmount(mnt)).wasMounted, true);
      assert.equal((await mounts.status(mnt)).state, 'not-mounted', 'the seal is not a drive');
      assert.equal((await mounts.unmount(mnt)).wasMounted, false, 'and is never unmounted as one');
      await assert.rejects(mkdir(join(mnt, 'Safehold')), { code: 'EROFS' });
      await mounts.mount(disk.device, mnt, { readOnly: true });
      assert.equal(await readFile(join(mnt, 'on-the-drive'), 'utf8'), 'yes');
      await mounts.unmount(mnt);
    } finally {
      await forceUnmount(mnt, runner);
      await forceUnmount(mnt, runner);
      await forceUnmount(ram, runner);
    }
  });

  it('a read-only mount writes nothing to the device: no journal replay, no superblock update', async () => {
    const mnt = folder('-look');
    await mounts.mount(disk.device, mnt, { readOnly: true });
    assert.ok((await mountEntry(mnt))?.superOptions.includes('norecovery'), 'ext4 mounted with noload');
    await mounts.unmount(mnt);
    const before = (await checked(plain, 'sha256sum', [disk.image])).stdout;
    await mounts.mount(disk.device, mnt, { readOnly: true });
    await readMarker(mnt).catch(() => undefined);
    await mounts.unmount(mnt);
    assert.equal((await checked(plain, 'sha256sum', [disk.image])).stdout, before, 'the image is unchanged');
  });

  it('refuses what it must never mount: not a block device, no filesystem, a symlinked folder, a folder that already is a mount point', async () => {
    await refusal(mounts.mount('/dev/null', folder('-null')), 'not-a-block-device', /not a block device/);
    await refusal(mounts.mount('relative/dev', folder('-rel')), 'invalid-path', /not a device path/);
    await refusal(mounts.mount('/dev/does-not-exist', folder('-gone')), 'not-a-block-device', /does not exist \(was the drive unplugged\?\)/);

    const blank = await newDisk('BLANK');
    await checked(plain, 'wipefs', ['--all', '--quiet', blank.device]);
    await refusal(mounts.mount(blank.device, folder('-blank')), 'no-filesystem', /No filesystem found/);

    const target = join(dataDir, 'elsewhere');
    await mkdir(target, { recursive: true });
    const link = folder('-link');
    await mkdir(join(link, '..'), { recursive: true });
    await symlink(target, link);
    await refusal(mounts.mount(disk.device, link), 'invalid-path', /symbolic link/);

    const taken = folder('-taken');
    await mounts.mount(other.device, taken);
    await refusal(mounts.mount(disk.device, taken), 'already-mounted', new RegExp(`already a mount point \\(of ${other.device}\\)`));
    await mounts.unmount(taken);
  });

  it('refuses to format the system disk and any disk holding a protected path', async () => {
    const root = await mountEntry('/');
    if (root?.source.startsWith('/dev/')) {
      // The seatbelt runner guarantees nothing is written even if this check failed.
      await refusal(mounts.format(root.source, { label: 'NEVER', fsType: 'ext4' }), 'system-disk', /holds \/: Safehold never formats it/);
    }
    const data = folder('-data-disk');
    await mounts.mount(other.device, data);
    const guarded = new LinuxMounts({ runner, protectedPaths: [join(data, 'safehold-data')] });
    await mkdir(join(data, 'safehold-data'));
    await refusal(guarded.format(other.device, { label: 'NEVER', fsType: 'ext4' }), 'system-disk', /holds .*safehold-data/);
    await mounts.unmount(data);
  });

  it('reports a busy drive with who holds it, and leaves it mounted; lazy does nothing while the drive is present', async () => {
    const mnt = folder('-busy');
    await mounts.mount(disk.device, mnt);
    const sleeper = holdOpen(mnt);
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    await assert.rejects(mounts.unmount(mnt), (error: unknown) => {
      assert.ok(error instanceof MountError);
      assert.equal(error.kind, 'busy');
      assert.match(error.message, /is in use by .*sleep \(pid \d+\)/);
      assert.ok(error.holders.some((h) => h.pid === sleeper.pid && h.command === 'sleep'), JSON.stringify(error.holders));
      assert.match(error.advice ?? '', /Close what uses the drive/);
      return true;
    });
    await assert.rejects(mounts.unmount(mnt, { lazy: true }), (error: unknown) => error instanceof MountError && error.kind === 'busy');
    assert.equal(await mounts.isMountedDevice(mnt), true, 'still mounted and usable');
    await stop(sleeper);
    assert.equal((await mounts.unmount(mnt)).wasMounted, true);
  });

  it('losetup --detach on a mounted loop device is deferred: the drive stays usable until unmounted, then the device goes', async () => {
    const d = await newDisk('DETACH');
    const mnt = folder('-detach');
    await mounts.mount(d.device, mnt);
    await checked(runner, 'losetup', ['--detach', d.device]);
    assert.equal(await mounts.isMountedDevice(mnt), true, 'the kernel keeps the device while it is mounted');
    await writeFile(join(mnt, 'still-works'), 'yes');
    const result = await mounts.unmount(mnt);
    assert.equal(result.synced, true);
    const listed = (await checked(runner, 'losetup', ['--list', '--noheadings', '--output', 'BACK-FILE'])).stdout;
    assert.ok(!listed.includes(d.image), 'the loop device was released at the unmount');
  });

  it('a drive pulled out while mounted and held open: device-gone, busy on a plain unmount, freed with lazy', async () => {
    const d = await newDisk('PULLED');
    const mnt = folder('-pulled');
    await mounts.mount(d.device, mnt);
    await writeFile(join(mnt, 'unsaved'), 'written to the page cache only');
    const sleeper = holdOpen(mnt);
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    await pullOut(d, runner);

    const status = await mounts.status(mnt);
    assert.deepEqual(status, { state: 'device-gone', device: d.device, fsType: 'ext4', reason: `${d.device} reports no medium (size 0): pulled out or failed.` });
    assert.equal(await mounts.isMountedDevice(mnt), false, 'never write there');
    await refusal(mounts.unmount(mnt), 'busy', /in use by .*sleep/);
    const result = await mounts.unmount(mnt, { lazy: true });
    assert.deepEqual(result, { wasMounted: true, device: d.device, synced: false, flushed: false, lazy: true });
    assert.equal((await mounts.status(mnt)).state, 'not-mounted');
    await stop(sleeper);
  });
});
