/**
 * A directory-backed fake of a machine's disks, for `make demo`, benchmarks and tests that need
 * many disks. `SimulatedBlockDevices` reports these disks through the same `BlockDevices` contract
 * as the Linux adapter, so everything above the adapter line runs unchanged.
 *
 * On-disk format (documented in docs/drives.md; hand-editable):
 *   <root>/disks/<NAME>/disk.json   the disk's facts and whether it is plugged in
 *   <root>/disks/<NAME>/files/      the "filesystem" of its first partition: reported as that
 *                                   partition's mount point while plugged (a fixed disk's, mounted
 *                                   as by fstab), so later features can really write files there
 *   <root>/mounts.json              what SimulatedMounts mounted where (system/mounts/mounts.sim.ts):
 *                                   such a disk's first partition is reported mounted there instead;
 *                                   a removable disk's is mounted nowhere else, as on a box without
 *                                   automount
 * disk.json is always replaced atomically (temp file, fsync, rename).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/files.js';
import { z } from 'zod';
import type { BlockDevices, ChangeListener, DiskFacts, PartitionFacts } from './block-devices.js';

/** The simulated mount table, in the host's root: `{ mounts: [{ mountpoint, device, disk, readOnly }] }`. */
export const SIMULATED_MOUNTS_FILE = 'mounts.json';

const BUSES = ['usb', 'sata', 'nvme', 'scsi', 'virtio', 'loop', 'mmc', 'other'] as const;
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

const partitionSchema = z.object({
  fsType: z.string().min(1).nullable(),
  uuid: z.string().min(1).nullable(),
  label: z.string().min(1).nullable(),
  sizeBytes: z.number().int().nonnegative(),
  usedBytes: z.number().int().nonnegative(),
  /** Absolute path reported as mount point while plugged (e.g. "/" for the system card). Without it the first partition with a filesystem is mounted at `files/`, the others are not mounted. */
  mountpoint: z.string().startsWith('/').optional(),
});

const diskSchema = z.object({
  model: z.string().nullable(),
  vendor: z.string().nullable(),
  serial: z.string().nullable(),
  wwn: z.string().nullable(),
  ptUuid: z.string().nullable().default(null),
  description: z.string().nullable().default(null),
  sizeBytes: z.number().int().nonnegative(),
  bus: z.enum(BUSES),
  removable: z.boolean(),
  rotational: z.boolean().nullable(),
  plugged: z.boolean(),
  /** Raised by every plug, like the kernel's diskseq. */
  attachSeq: z.number().int().nonnegative().default(1),
  partitions: z.array(partitionSchema),
});

const mountTableSchema = z.object({ mounts: z.array(z.object({ disk: z.string(), mountpoint: z.string() }).passthrough()) });

export type SimulatedPartition = z.infer<typeof partitionSchema>;
export type SimulatedDisk = z.infer<typeof diskSchema>;
/** What `addDisk` takes: a disk.json plus the folder name (also the kernel-style device name). */
export type SimulatedDiskSpec = z.input<typeof diskSchema> & { name: string };

/** A disk.json that could not be read; that disk is left out of the list. */
export interface SimulatedDiskProblem {
  name: string;
  message: string;
}

/** Thrown for a NAME with no disk folder; the message lists the names that exist. */
export class UnknownSimulatedDiskError extends Error {
  constructor(
    readonly diskName: string,
    readonly existing: string[],
  ) {
    super(`No simulated disk named "${diskName}". Existing: ${existing.length ? existing.join(', ') : '(none)'}.`);
    this.name = 'UnknownSimulatedDiskError';
  }
}

const GB = 1000 ** 3;

export class SimulatedHost {
  private constructor(readonly root: string) {}

  /** Opens (creating if needed) the simulated host under `root`. */
  static async open(root: string): Promise<SimulatedHost> {
    await mkdir(join(root, 'disks'), { recursive: true });
    return new SimulatedHost(root);
  }

  get disksDir(): string {
    return join(this.root, 'disks');
  }

  /** The folder standing for the first partition's filesystem of disk `name`. */
  filesDir(name: string): string {
    return join(this.disksDir, name, 'files');
  }

  /** Names of every disk folder (plugged or not), sorted. */
  async listNames(): Promise<string[]> {
    const entries = await readdir(this.disksDir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && NAME_PATTERN.test(e.name)).map((e) => e.name).sort();
  }

  /** Adds a disk. Throws when the name is invalid or taken, or the spec is not a valid disk. */
  async addDisk(spec: SimulatedDiskSpec): Promise<void> {
    const { name, ...rest } = spec;
    if (!NAME_PATTERN.test(name)) throw new Error(`"${name}" is not a valid simulated disk name (a-z, 0-9, ".", "_", "-"; up to 32).`);
    const disk = parseDisk(name, rest);
    const dir = join(this.disksDir, name);
    try {
      await mkdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`A simulated disk named "${name}" already exists.`);
      throw error;
    }
    await mkdir(join(dir, 'files'), { recursive: true });
    await this.#write(name, disk);
  }

  /** Marks the disk plugged and raises its attachSeq. Idempotent: plugging a plugged disk changes nothing. */
  async plug(name: string): Promise<void> {
    const disk = await this.#read(name);
    if (disk.plugged) return;
    await this.#write(name, { ...disk, plugged: true, attachSeq: disk.attachSeq + 1 });
  }

  /** Marks the disk unplugged (its files stay in place). Idempotent. */
  async unplug(name: string): Promise<void> {
    const disk = await this.#read(name);
    if (!disk.plugged) return;
    await this.#write(name, { ...disk, plugged: false });
  }

  /** Where SimulatedMounts mounted each disk (disk name → mount points); empty when nothing is, or the table cannot be read. */
  async mountedAt(): Promise<Map<string, string[]>> {
    const table = new Map<string, string[]>();
    const text = await readFile(join(this.root, SIMULATED_MOUNTS_FILE), 'utf8').catch(() => null);
    if (text === null) return table;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return table; // SimulatedMounts says what is wrong with it
    }
    const parsed = mountTableSchema.safeParse(data);
    for (const m of parsed.success ? parsed.data.mounts : []) table.set(m.disk, [...(table.get(m.disk) ?? []), m.mountpoint]);
    return table;
  }

  /** Every readable disk, plus one problem per disk.json that could not be read or is invalid. */
  async readDisks(): Promise<{ disks: Array<SimulatedDisk & { name: string }>; problems: SimulatedDiskProblem[] }> {
    const disks: Array<SimulatedDisk & { name: string }> = [];
    const problems: SimulatedDiskProblem[] = [];
    for (const name of await this.listNames()) {
      try {
        disks.push({ name, ...(await this.#read(name)) });
      } catch (error) {
        problems.push({ name, message: (error as Error).message });
      }
    }
    return { disks, problems };
  }

  /**
   * Adds the demo set's disks that do not exist yet (existing ones, and their plug state, are kept):
   * the system SD card mounted at "/", two SATA hard disks, USB drives usb-a (plugged) and usb-b
   * (unplugged) with labelled ext4 filesystems, and usb-old (plugged), a failing disk (`demoDisks()`).
   */
  async seedDemo(): Promise<void> {
    const existing = new Set(await this.listNames());
    for (const spec of demoDisks()) if (!existing.has(spec.name)) await this.addDisk(spec);
  }

  async #read(name: string): Promise<SimulatedDisk> {
    let text: string;
    try {
      text = await readFile(join(this.disksDir, name, 'disk.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const names = await this.listNames();
      if (!names.includes(name)) throw new UnknownSimulatedDiskError(name, names);
      throw new Error(`Simulated disk "${name}" has no disk.json.`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`Simulated disk "${name}": disk.json is not valid JSON.`);
    }
    return parseDisk(name, data);
  }

  async #write(name: string, disk: SimulatedDisk): Promise<void> {
    await writeFileAtomic(join(this.disksDir, name, 'disk.json'), `${JSON.stringify(disk, null, 2)}\n`);
  }
}

function parseDisk(name: string, data: unknown): SimulatedDisk {
  const result = diskSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new Error(`Simulated disk "${name}": disk.json is invalid: ${issues}`);
  }
  const used = result.data.partitions.reduce((sum, p) => sum + p.sizeBytes, 0);
  if (used > result.data.sizeBytes) throw new Error(`Simulated disk "${name}": partitions are larger than the disk.`);
  return result.data;
}

export interface SimulatedBlockDevicesOptions {
  /** Told about each unreadable disk.json once per distinct message. Default: a process warning. */
  onProblem?: (problem: SimulatedDiskProblem) => void;
}

/** `BlockDevices` over a `SimulatedHost`: plugged disks only, same shapes as the Linux adapter. */
export class SimulatedBlockDevices implements BlockDevices {
  readonly #host: SimulatedHost;
  readonly #onProblem: (problem: SimulatedDiskProblem) => void;
  readonly #reported = new Set<string>();

  constructor(host: SimulatedHost, options: SimulatedBlockDevicesOptions = {}) {
    this.#host = host;
    this.#onProblem = options.onProblem ?? ((p) => process.emitWarning(p.message, 'SimulatedDiskWarning'));
  }

  async list(signal?: AbortSignal): Promise<DiskFacts[]> {
    signal?.throwIfAborted();
    const { disks, problems } = await this.#host.readDisks();
    for (const problem of problems) {
      if (this.#reported.has(problem.message)) continue;
      this.#reported.add(problem.message);
      this.#onProblem(problem);
    }
    const mountedAt = await this.#host.mountedAt();
    return disks.filter((d) => d.plugged && d.sizeBytes > 0).map((d) => this.#facts(d, mountedAt.get(d.name) ?? []));
  }

  /** `mounted`: where SimulatedMounts mounted the disk's first filesystem. */
  #facts(disk: SimulatedDisk & { name: string }, mounted: string[]): DiskFacts {
    const path = `/dev/${disk.name}`;
    const separator = /\d$/.test(disk.name) ? 'p' : '';
    const firstWithFs = disk.partitions.findIndex((p) => p.fsType !== null);
    const firstMounts = mounted.length ? mounted : disk.removable ? [] : [this.#host.filesDir(disk.name)];
    const partitions: PartitionFacts[] = disk.partitions.map((p, i) => {
      const mountpoints = p.mountpoint ? [p.mountpoint] : i === firstWithFs ? firstMounts : [];
      return {
        name: `${disk.name}${separator}${i + 1}`,
        path: `${path}${separator}${i + 1}`,
        sizeBytes: p.sizeBytes,
        fsType: p.fsType,
        uuid: p.uuid,
        label: p.label,
        mountpoints,
        freeBytes: mountpoints.length ? Math.max(0, p.sizeBytes - p.usedBytes) : null,
      };
    });
    return {
      name: disk.name,
      path,
      attachSeq: disk.attachSeq,
      model: disk.model,
      vendor: disk.vendor,
      serial: disk.serial,
      wwn: disk.wwn,
      ptUuid: disk.ptUuid,
      sizeBytes: disk.sizeBytes,
      bus: disk.bus,
      removable: disk.removable,
      rotational: disk.rotational,
      readOnly: false,
      backingFile: null,
      description: disk.description,
      partitions,
    };
  }

  /** Hash of each disk.json's identity (inode, size, mtime) and the mount table's: a stat per file, no file read. */
  async fingerprint(): Promise<string> {
    const names = await this.#host.listNames();
    const identity = async (label: string, file: string) => {
      const s = await stat(file, { bigint: true }).catch(() => null);
      return s ? `${label} ${s.ino} ${s.size} ${s.mtimeNs}` : `${label} -`;
    };
    const rows = await Promise.all([
      ...names.map((name) => identity(name, join(this.#host.disksDir, name, 'disk.json'))),
      identity(`/${SIMULATED_MOUNTS_FILE}`, join(this.#host.root, SIMULATED_MOUNTS_FILE)),
    ]);
    return createHash('sha256').update(rows.join('\n')).digest('hex');
  }

  /** No push hints: callers poll `fingerprint()` (plug/unplug come from the CLI, another process). */
  watch(_onChange: ChangeListener): () => void {
    return () => {};
  }

  async missingTools(): Promise<string[]> {
    return [];
  }
}

function ext4(label: string | null, uuid: string, sizeBytes: number, usedBytes: number): SimulatedPartition {
  return { fsType: 'ext4', uuid, label, sizeBytes, usedBytes };
}

/**
 * The demo set: the models, serials and sizes of real drives whose captured SMART output the demo
 * replays (test/fixtures/smartctl/, `DEMO_SMART` below). Serials, WWNs and UUIDs are fixed so a
 * re-seeded demo keeps its identities.
 */
export function demoDisks(): SimulatedDiskSpec[] {
  const sdSize = 31_914_983_424; // a "32 GB" card
  const MiB = 1024 * 1024;
  const sata = [
    { name: 'sda', model: 'WDC WD140EDFZ-11A0VA0', serial: '9RK1XXXX', wwn: '0x5000cca264ee6d7', size: 14_000_519_643_136, used: 3_200 * GB },
    { name: 'sdb', model: 'ST3500418AS', serial: '9VM8XXXX', wwn: '0x5000c5001234567', size: 500_107_862_016, used: 210 * GB },
  ];
  const usb = [
    { name: 'usb-a', model: 'Samsung SSD 840 Series', vendor: 'Samsung', serial: 'S14LNEACC02756X', size: 500_107_862_016, rotational: false },
    { name: 'usb-b', model: 'pSSD', vendor: 'SanDisk', serial: '06c9f4c44', size: 15_693_664_256, rotational: false },
  ];
  const old = { name: 'usb-old', model: 'WDC WD3200BEVT-60ZCT0', vendor: 'WDC', serial: 'WD-WXE708D44602', size: 320_072_933_376 };
  return [
    {
      name: 'mmcblk0',
      model: 'SD32G', vendor: null, serial: '0x8a3c21f0', wwn: null, ptUuid: '5c8e2a1f',
      description: 'SD card SD32G', sizeBytes: sdSize, bus: 'mmc', removable: false, rotational: false, plugged: true,
      partitions: [
        { fsType: 'vfat', uuid: '4A1B-2C3D', label: 'bootfs', sizeBytes: 512 * MiB, usedBytes: 64 * MiB, mountpoint: '/boot/firmware' },
        { ...ext4('rootfs', 'b1f3c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d', sdSize - 516 * MiB, 6 * GB), mountpoint: '/' },
      ],
    },
    ...sata.map((d, i) => ({
      name: d.name,
      model: d.model, vendor: 'ATA', serial: d.serial,
      wwn: d.wwn, ptUuid: `6f1d9e2a-3b4c-4d5e-8f6a-7b8c9d0e1f2${i}`,
      description: null, sizeBytes: d.size, bus: 'sata' as const, removable: false, rotational: true, plugged: true,
      partitions: [ext4(null, `e2c4a6b8-1d3f-4a5b-9c7d-8e9f0a1b2c3${i}`, d.size - 2 * MiB, d.used)],
    })),
    ...usb.map((d, i) => ({
      name: d.name,
      model: d.model, vendor: d.vendor, serial: d.serial,
      wwn: null, ptUuid: `0a1b2c3${i}`, description: null, sizeBytes: d.size, bus: 'usb' as const,
      removable: true, rotational: d.rotational, plugged: i === 0,
      partitions: [ext4(`BACKUP-${i === 0 ? 'A' : 'B'}`, `7c9e6679-7425-40de-944b-e07fc1f90ae${i}`, d.size - MiB, 0)],
    })),
    {
      // an old laptop disk in a USB case, plugged in: its capture is a disk failing now
      name: old.name,
      model: old.model, vendor: old.vendor, serial: old.serial,
      wwn: null, ptUuid: '3e5d7f91', description: null, sizeBytes: old.size, bus: 'usb',
      removable: true, rotational: true, plugged: true,
      partitions: [ext4('OLD-LAPTOP', '2d4f6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a70', old.size - MiB, 180 * GB)],
    },
  ];
}

/**
 * The captured `smartctl --json -x` outputs (test/fixtures/smartctl/, real drives: INDEX.md) the
 * demo's disks answer with, and what each one shows on the page.
 */
export const DEMO_SMART: Record<string, { file: string; shows: string }> = {
  sda: { file: 'sat-wdc-wd140edfz-healthy-selftest-running.json', shows: 'Healthy, a self-test running' },
  sdb: { file: 'sat-seagate-st3500418as-1-reallocated.json', shows: 'Warning: 1 reallocated sector' },
  'usb-a': { file: 'sat-samsung-ssd840-crc-errors.json', shows: 'Warning: cable errors (CRC)' },
  'usb-b': { file: 'usb-sat-sandisk-pssd-healthy.json', shows: 'Healthy' },
  'usb-old': { file: 'usbjmicron-wdc-wd3200bevt-failing-now.json', shows: 'Failing: 535 reallocated sectors, its own check says FAILED' },
};
