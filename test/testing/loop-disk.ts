/**
 * Loop-device disks for tests (root only): an image file in the temp folder, attached with losetup,
 * formatted ext4 with a label, optionally mounted. Plugging a USB drive = `createLoopDisk()`,
 * pulling it = `detach()`.
 *
 * Everything this helper makes is named `safehold-test-<pid>-…` (images, mount points), so
 * `cleanupLeftovers()` can remove what a crashed run left behind without touching anything else,
 * and without touching a test process that is still running (its pid is alive).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { checked, ProcessCommandRunner, type CommandRunner } from '../../system/process/command-runner.js';

export const TEST_PREFIX = 'safehold-test-';
const OWN = new RegExp(`^${TEST_PREFIX}(\\d+)-`);

/** Why loop-disk tests cannot run here ("needs root: …"), or undefined when they can. */
export function loopDiskSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux loop devices';
  if (process.getuid?.() !== 0) return 'needs root: attaches loop devices and mounts filesystems';
  return undefined;
}

export interface LoopDisk {
  /** `/dev/loopN` */
  readonly device: string;
  /** `loopN` */
  readonly name: string;
  readonly image: string;
  readonly sizeBytes: number;
  readonly label: string;
  readonly uuid: string;
  /** Where it is mounted, or null. */
  readonly mountpoint: string | null;
  /** Mounts the filesystem on a fresh `safehold-test-…` folder and returns that path. */
  mount(): Promise<string>;
  /** Unmounts if mounted. Idempotent. */
  unmount(): Promise<void>;
  /** Unmounts and detaches the loop device (the image file stays). Idempotent. */
  detach(): Promise<void>;
  /** Detaches and deletes the image and mount folder. Idempotent; call it in `after`/`finally`. */
  cleanup(): Promise<void>;
  /** Reformats the (unmounted, attached) device with a new label and uuid. */
  reformat(label: string): Promise<void>;
}

export interface LoopDiskOptions {
  sizeMiB?: number;
  label?: string;
  runner?: CommandRunner;
}

/** Creates, attaches and formats (ext4, labelled, random uuid) a loop disk. */
export async function createLoopDisk(options: LoopDiskOptions = {}): Promise<LoopDisk> {
  const sizeBytes = (options.sizeMiB ?? 64) * 1024 * 1024;
  const image = join(tmpdir(), `${uniqueName()}.img`);
  const file = await open(image, 'w');
  await file.truncate(sizeBytes);
  await file.close();
  const disk = await attachImage(image, options);
  try {
    await disk.reformat(disk.label);
  } catch (error) {
    await disk.cleanup();
    throw error;
  }
  return disk;
}

/**
 * Attaches an existing image (a disk unplugged earlier with `detach()`, or a copy of one) as a
 * loop device, without formatting it: plugging a USB drive in again. `cleanup()` deletes the image.
 */
export async function attachImage(image: string, options: Omit<LoopDiskOptions, 'sizeMiB'> = {}): Promise<LoopDisk> {
  const runner = options.runner ?? new ProcessCommandRunner();
  const { stat } = await import('node:fs/promises');
  const sizeBytes = (await stat(image)).size;
  let device: string;
  try {
    device = (await checked(runner, 'losetup', ['--find', '--show', image])).stdout.trim();
  } catch (error) {
    await rm(image, { force: true });
    throw error;
  }
  let attached = true;
  let mountpoint: string | null = null;
  const mountDirs: string[] = [];
  const disk = {
    device,
    name: basename(device),
    image,
    sizeBytes,
    label: options.label ?? 'SAFEHOLD-T',
    uuid: randomUUID(),
    get mountpoint() {
      return mountpoint;
    },
    async mount() {
      if (mountpoint) return mountpoint;
      const dir = join(tmpdir(), `${uniqueName()}-mnt`);
      await mkdir(dir);
      mountDirs.push(dir);
      await checked(runner, 'mount', [device, dir]);
      mountpoint = dir;
      return dir;
    },
    async unmount() {
      if (!mountpoint) return;
      await checked(runner, 'umount', [mountpoint]);
      mountpoint = null;
    },
    async detach() {
      await disk.unmount();
      if (!attached) return;
      await checked(runner, 'losetup', ['--detach', device]);
      attached = false;
    },
    async cleanup() {
      try {
        await disk.detach();
      } finally {
        await rm(image, { force: true });
        for (const dir of mountDirs) await rm(dir, { recursive: true, force: true });
      }
    },
    async reformat(label: string) {
      disk.label = label;
      disk.uuid = randomUUID();
      await checked(runner, 'mkfs.ext4', ['-q', '-F', '-L', label, '-U', disk.uuid, device]);
    },
  };
  return disk;
}

/**
 * Removes mounts, loop devices, images and folders named `safehold-test-<pid>-…` whose process is
 * gone (a crashed or killed earlier run). Returns what it removed. Safe to call at every start.
 */
export async function cleanupLeftovers(runner: CommandRunner = new ProcessCommandRunner()): Promise<string[]> {
  const removed: string[] = [];
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((f): f is string => f !== undefined)
    .map(unescapeMount);
  for (const target of targets.reverse()) {
    if (!isLeftover(basename(target))) continue;
    const result = await runner.run('umount', [target]);
    if (result.exitCode !== 0) await runner.run('umount', ['--lazy', target]);
    removed.push(target);
  }
  const loops = JSON.parse((await checked(runner, 'losetup', ['--list', '--json'])).stdout || '{}') as {
    loopdevices?: Array<{ name: string; 'back-file'?: string | null }>;
  };
  for (const loop of loops.loopdevices ?? []) {
    const backing = (loop['back-file'] ?? '').replace(/ \(deleted\)$/, '');
    if (!isLeftover(basename(backing))) continue;
    await runner.run('losetup', ['--detach', loop.name]);
    removed.push(loop.name);
  }
  for (const entry of await readdir(tmpdir())) {
    if (!isLeftover(entry)) continue;
    // A leftover that cannot be removed is not this test's failure: it is left for the next try.
    const gone = await removeDataFolder(join(tmpdir(), entry), runner).then(() => true, () => false);
    if (gone) removed.push(join(tmpdir(), entry));
  }
  return removed;
}

function uniqueName(): string {
  return `${TEST_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Ours (by prefix) and left by a process that no longer runs. */
function isLeftover(name: string): boolean {
  const pid = OWN.exec(name)?.[1];
  if (!pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false; // still running: not a leftover
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** A fresh `safehold-test-<pid>-<hex><suffix>` name: folders named so are cleared by `cleanupLeftovers()` after a crash. */
export function testName(suffix = ''): string {
  return `${uniqueName()}${suffix}`;
}

/**
 * Pulls the medium out from under a loop disk, mounted or not, the way a pulled USB cable does:
 * the image is emptied and the device's size set to 0 (`losetup --set-capacity`), so every read
 * and write fails with an I/O error while the kernel still lists the mount. (`losetup --detach`
 * cannot do this: on a mounted loop device it is deferred until the unmount.) The loop device stays
 * attached; `cleanup()` still detaches it.
 */
export async function pullOut(disk: LoopDisk, runner: CommandRunner = new ProcessCommandRunner()): Promise<void> {
  const file = await open(disk.image, 'r+');
  await file.truncate(0);
  await file.close();
  await checked(runner, 'losetup', ['--set-capacity', disk.device]);
}

/**
 * Removes a folder a test (or the service it started) used as Safehold's data folder: its mount
 * folders are sealed while empty (immutable, or an empty read-only tmpfs where the filesystem has no
 * such attribute), which `rm -rf` alone cannot remove. Unmounts whatever is still mounted under it
 * (a drive a failed test left, then the seals; lazily when busy), clears the attribute, then
 * removes the tree. Idempotent.
 */
export async function removeDataFolder(path: string, runner: CommandRunner = new ProcessCommandRunner()): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const inside = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((f): f is string => f !== undefined)
    .map(unescapeMount)
    .filter((target) => target.startsWith(`${path}/`));
  for (const target of inside.reverse()) {
    const result = await runner.run('umount', [target]);
    if (result.exitCode !== 0) await runner.run('umount', ['--lazy', target]);
  }
  await runner.run('chattr', ['-R', '-f', '-i', path]).catch(() => undefined);
  // GNU rm walks trees deeper than PATH_MAX (a test's 4,000-byte paths), where Node's rm cannot.
  const result = await runner.run('rm', ['-rf', '--one-file-system', '--', path]);
  if (result.exitCode !== 0) await rm(path, { recursive: true, force: true });
}

/** Unmounts `path` for a test's cleanup, lazily when a plain unmount fails; never throws. Returns whether something was mounted. */
export async function forceUnmount(path: string, runner: CommandRunner = new ProcessCommandRunner()): Promise<boolean> {
  try {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    const mounted = mountinfo.split('\n').some((line) => line.split(' ')[4] !== undefined && unescapeMount(line.split(' ')[4]!) === path);
    if (!mounted) return false;
    const result = await runner.run('umount', [path]);
    if (result.exitCode !== 0) await runner.run('umount', ['--lazy', path]);
    return true;
  } catch {
    return false;
  }
}
