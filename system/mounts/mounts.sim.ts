/**
 * `Mounts` over the simulated host (system/drives/simulated-host.ts), for `make demo` and tests
 * without root. Same contract as `LinuxMounts` (test/medium/mounts.test.ts runs both).
 *
 * A simulated disk's first filesystem is its `files/` folder. Mounting it at a folder replaces that
 * (empty) folder with a symbolic link to `files/`, so everything written through the mount point
 * really lands on the simulated disk; unmounting puts an empty folder (mode 0700) back, just like a
 * real unmount leaves the empty mount folder. What is mounted where is kept in
 * `<host root>/mounts.json` (replaced atomically). A mounted disk that is unplugged
 * (`bin/safehold sim unplug`) reads as `device-gone`, like a pulled USB drive.
 *
 * Not simulated: read-only mounts are recorded and reported but not enforced; nothing is ever busy;
 * mount folders are not sealed (`seal()` is `none`).
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, rmdir, statfs, symlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../files/files.js';
import { SIMULATED_MOUNTS_FILE, type SimulatedDisk, type SimulatedHost } from '../drives/simulated-host.js';
import {
  checkLabel,
  MountError,
  type FormatOptions,
  type FolderSeal,
  type FormatResult,
  type MountOptions,
  type MountResult,
  type Mounts,
  type MountStatus,
  type SpaceFacts,
  type UnmountResult,
} from './mounts.js';

const registrySchema = z.object({
  mounts: z.array(z.object({ mountpoint: z.string(), device: z.string(), disk: z.string(), readOnly: z.boolean() })),
});
type Registry = z.infer<typeof registrySchema>;

interface Located {
  disk: SimulatedDisk & { name: string };
  index: number;
  device: string;
}

export class SimulatedMounts implements Mounts {
  readonly #host: SimulatedHost;

  constructor(host: SimulatedHost) {
    this.#host = host;
  }

  get #registryFile(): string {
    return join(this.#host.root, SIMULATED_MOUNTS_FILE);
  }

  async mount(device: string, mountpoint: string, options: MountOptions = {}): Promise<MountResult> {
    const readOnly = options.readOnly ?? false;
    const found = await this.#locate(device);
    if (!isAbsolute(mountpoint)) throw new MountError('invalid-path', `"${mountpoint}" is not an absolute path.`);
    const folder = resolve(mountpoint);
    const registry = await this.#read();
    const existing = registry.mounts.find((m) => m.mountpoint === folder);
    if (existing) {
      if (existing.device === found.device && found.disk.plugged) {
        if (existing.readOnly === readOnly) {
          return { device: found.device, mountpoint: folder, fsType: this.#fsType(found), readOnly, alreadyMounted: true };
        }
        throw new MountError(
          'already-mounted',
          `${found.device} is already mounted at ${folder} ${existing.readOnly ? 'read-only' : 'read-write'}.`,
          'Unmount it first to mount it the other way.',
        );
      }
      throw new MountError('already-mounted', `${folder} is already a mount point (of ${existing.device}): Safehold does not mount over it.`, 'Unmount it first.');
    }
    if (!found.disk.plugged) throw new MountError('not-a-block-device', `${device} does not exist (was the drive unplugged?).`);
    const partition = found.disk.partitions[found.index]!;
    if (partition.fsType === null) throw new MountError('no-filesystem', `No filesystem found on ${device}.`, 'Format the drive first (this erases it).');
    if (partition.mountpoint !== undefined || found.index !== firstFilesystem(found.disk)) {
      throw new MountError('unsupported-filesystem', `The simulation mounts only a disk's first filesystem (its files/ folder), not ${device}.`);
    }
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const info = await lstat(folder);
    if (info.isSymbolicLink()) throw new MountError('invalid-path', `${folder} is a symbolic link: Safehold mounts only on a folder of its own.`);
    if (!info.isDirectory()) throw new MountError('invalid-path', `${folder} is not a folder.`);
    const inside = await readdir(folder);
    if (inside.length > 0) {
      throw new MountError(
        'folder-not-empty',
        `${folder} is not empty (${inside.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}): Safehold mounts drives only on empty folders.`,
        'Move the files away (they may be a backup written while no drive was mounted), then try again.',
      );
    }
    await rmdir(folder);
    await symlink(this.#host.filesDir(found.disk.name), folder, 'dir');
    await this.#write({ mounts: [...registry.mounts, { mountpoint: folder, device: found.device, disk: found.disk.name, readOnly }] });
    return { device: found.device, mountpoint: folder, fsType: this.#fsType(found), readOnly, alreadyMounted: false };
  }

  async unmount(mountpoint: string): Promise<UnmountResult> {
    const folder = resolve(mountpoint);
    const registry = await this.#read();
    const entry = registry.mounts.find((m) => m.mountpoint === folder);
    if (!entry) return { wasMounted: false, device: null, synced: false, flushed: false, lazy: false };
    const present = (await this.status(folder)).state === 'mounted';
    await rm(folder, { force: true }); // the symlink, never what it points to
    await mkdir(folder, { mode: 0o700 });
    await this.#write({ mounts: registry.mounts.filter((m) => m !== entry) });
    return { wasMounted: true, device: entry.device, synced: present, flushed: present, lazy: false };
  }

  async status(path: string): Promise<MountStatus> {
    const folder = resolve(path);
    const entry = (await this.#read()).mounts.find((m) => m.mountpoint === folder);
    const info = await lstat(folder).catch(() => null);
    if (!info) return { state: 'not-mounted', reason: `${folder} does not exist.` };
    if (!entry || !info.isSymbolicLink()) return { state: 'not-mounted', reason: `${folder} is a plain folder: no drive is mounted there.` };
    const disk = (await this.#host.readDisks()).disks.find((d) => d.name === entry.disk);
    if (!disk?.plugged) {
      return { state: 'device-gone', device: entry.device, fsType: 'ext4', reason: `${entry.device} is no longer attached (pulled out?).` };
    }
    const fsType = disk.partitions[firstFilesystem(disk)]?.fsType ?? 'unknown';
    return { state: 'mounted', device: entry.device, fsType, readOnly: entry.readOnly, remountedReadOnlyAfterErrors: false };
  }

  /** The simulation does not seal its folders: while mounted, the folder is a link to the disk's files. */
  async seal(): Promise<FolderSeal> {
    return 'none';
  }

  async isMountedDevice(path: string): Promise<boolean> {
    return (await this.status(path)).state === 'mounted';
  }

  async flush(device: string): Promise<boolean> {
    return this.#locate(device).then((f) => f.disk.plugged, () => false);
  }

  async format(device: string, options: FormatOptions): Promise<FormatResult> {
    checkLabel(options.label);
    if (options.fsType !== 'ext4') throw new MountError('unsupported-filesystem', `Safehold formats drives with ext4 only, not ${String(options.fsType)}.`);
    const found = await this.#locate(device);
    if (!found.disk.plugged) throw new MountError('not-a-block-device', `${device} does not exist (was the drive unplugged?).`);
    const partition = found.disk.partitions[found.index]!;
    if (found.disk.partitions.some((p) => p.mountpoint !== undefined)) {
      throw new MountError('system-disk', `${device} is on the disk that holds ${partition.mountpoint ?? 'the system'}: Safehold never formats it.`);
    }
    const mounted = (await this.#read()).mounts.find((m) => m.disk === found.disk.name);
    if (mounted) throw new MountError('device-mounted', `${mounted.device} is mounted at ${mounted.mountpoint}: Safehold never formats a mounted drive.`, 'Unmount it first.');
    const first = firstFilesystem(found.disk);
    if (first >= 0 && first !== found.index) {
      throw new MountError('unsupported-filesystem', `The simulation formats only a disk's first filesystem, not ${device}.`);
    }
    const uuid = randomUUID();
    const { name, ...disk } = found.disk;
    const partitions = disk.partitions.map((p, i) => (i === found.index ? { ...p, fsType: 'ext4', label: options.label, uuid, usedBytes: 0 } : p));
    const files = this.#host.filesDir(name);
    await rm(files, { recursive: true, force: true });
    await mkdir(files, { recursive: true });
    await writeFileAtomic(join(this.#host.disksDir, name, 'disk.json'), `${JSON.stringify({ ...disk, partitions }, null, 2)}\n`);
    return { device: found.device, fsType: 'ext4', label: options.label, uuid };
  }

  async statfs(path: string): Promise<SpaceFacts> {
    const host = await statfs(path);
    const folder = resolve(path);
    const entry = (await this.#read()).mounts.find((m) => m.mountpoint === folder);
    const disk = entry ? (await this.#host.readDisks()).disks.find((d) => d.name === entry.disk) : undefined;
    const partition = disk?.partitions[firstFilesystem(disk)];
    if (!partition) return { sizeBytes: host.blocks * host.bsize, freeBytes: host.bfree * host.bsize, availableBytes: host.bavail * host.bsize };
    const free = Math.max(0, Math.min(partition.sizeBytes - partition.usedBytes, host.bavail * host.bsize));
    return { sizeBytes: partition.sizeBytes, freeBytes: free, availableBytes: free };
  }

  /** The simulated disk and partition behind a device path (`/dev/usb-a1`, the way SimulatedBlockDevices names them). */
  async #locate(device: string): Promise<Located> {
    const { disks } = await this.#host.readDisks();
    for (const disk of disks) {
      const separator = /\d$/.test(disk.name) ? 'p' : '';
      const index = disk.partitions.findIndex((_, i) => `/dev/${disk.name}${separator}${i + 1}` === device);
      if (index >= 0) return { disk, index, device };
      // The whole disk stands for its first filesystem (a drive formatted without a partition table).
      if (device === `/dev/${disk.name}` && disk.partitions.length) {
        const first = Math.max(firstFilesystem(disk), 0);
        return { disk, index: first, device: `/dev/${disk.name}${separator}${first + 1}` };
      }
    }
    throw new MountError('not-a-block-device', `${device} does not exist (was the drive unplugged?).`);
  }

  #fsType(found: Located): string {
    return found.disk.partitions[found.index]?.fsType ?? 'unknown';
  }

  async #read(): Promise<Registry> {
    let text: string;
    try {
      text = await readFile(this.#registryFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { mounts: [] };
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`${this.#registryFile} is not valid JSON.`);
    }
    const parsed = registrySchema.safeParse(data);
    if (!parsed.success) throw new Error(`${this.#registryFile} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return parsed.data;
  }

  async #write(registry: Registry): Promise<void> {
    await writeFileAtomic(this.#registryFile, `${JSON.stringify(registry, null, 2)}\n`);
  }
}

function firstFilesystem(disk: SimulatedDisk): number {
  return disk.partitions.findIndex((p) => p.fsType !== null);
}
