/**
 * Drive inventory, the domain side: how a disk is identified, which role it has, and how it is
 * shown. Pure functions over the adapter's `DiskFacts` (system/drives/block-devices.ts).
 * docs/drives.md explains identity and roles.
 */
import type { Bus, DiskFacts, PartitionFacts } from '../../system/drives/block-devices.js';
import type { DriveHealthSummary } from '../health/health.view.js';

export type IdentityKind = 'wwn' | 'serial' | 'ptuuid' | 'fsuuid' | 'none';

export interface DriveIdentity {
  kind: IdentityKind;
  value: string;
  /** URL-safe id built from kind and value, the catalog's primary key. */
  id: string;
}

/**
 * `system` is computed from what the disk holds at every read and wins over any stored role; the
 * others are data on the drive's row, written by the owner of the role (`rotation`: the rotation
 * service, when a drive is registered; `pool`: the pool's member service, when a disk joins).
 */
export type DriveRole = 'system' | AssignableRole;
export type AssignableRole = 'unassigned' | 'rotation' | 'pool';

/** A stored role: its name in that role ("A" for rotation drive A) and since when, null for unassigned. */
export interface RoleRecord {
  role: AssignableRole;
  label: string | null;
  since: number | null;
}

export interface DriveView {
  id: string;
  identity: { kind: IdentityKind; value: string };
  name: string;
  path: string;
  /** The name the owner gave it ("Photo archive"), or null. */
  ownerName: string | null;
  /** The device's own name: vendor and model, description, or "Disk sdb". */
  deviceName: string;
  /** How the page, the log and the mails name the drive: the owner's name when given, else `deviceName`. */
  displayName: string;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  wwn: string | null;
  sizeBytes: number;
  bus: Bus;
  removable: boolean;
  rotational: boolean | null;
  readOnly: boolean;
  role: DriveRole;
  roleReason: string | null;
  partitions: PartitionFacts[];
  /** SMART health, null before the first read (docs/health.md). */
  health: DriveHealthSummary | null;
  /** Its place in the rotation of backup drives, or null. */
  rotation: { name: string; registeredAt: string } | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

const slug = (text: string) =>
  text
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '');

/**
 * The identity of a disk, most stable first: WWN, then model + serial (a serial is unique only
 * within a maker), then the partition table's UUID, then the first filesystem UUID. A disk with
 * none of those (a blank disk behind a bridge that hides its serial) gets `none`, keyed by its kernel
 * name: it is shown, but nothing is ever attached to that identity.
 */
export function identify(disk: DiskFacts): DriveIdentity {
  const make = (kind: IdentityKind, value: string, key: string): DriveIdentity => ({ kind, value, id: `${kind}-${slug(key)}` });
  if (disk.wwn) return make('wwn', disk.wwn, disk.wwn);
  if (disk.serial) return make('serial', disk.serial, `${disk.model ?? 'disk'}-${disk.serial}`);
  if (disk.ptUuid) return make('ptuuid', disk.ptUuid, disk.ptUuid);
  const fsUuid = disk.partitions.find((p) => p.uuid)?.uuid;
  if (fsUuid) return make('fsuuid', fsUuid, fsUuid);
  return make('none', disk.name, disk.name);
}

/** Mount points that mean "the operating system lives here". */
const SYSTEM_MOUNTS = new Map([
  ['/', 'Holds / (the operating system)'],
  ['/boot', 'Holds /boot'],
  ['/boot/firmware', 'Holds /boot/firmware'],
  ['/boot/efi', 'Holds /boot/efi'],
  ['/usr', 'Holds /usr'],
  ['/var', 'Holds /var'],
  ['[SWAP]', 'Holds the swap space'],
]);

const isInside = (path: string, mount: string) =>
  mount === '/' ? path.startsWith('/') : path === mount || path.startsWith(`${mount}/`);

/**
 * The computed role: `system` for the disk that holds the operating system or Safehold's own data
 * folder (it is never offered for other uses), `unassigned` otherwise. `dataDir` must be absolute.
 */
export function systemRole(disks: DiskFacts[], dataDir: string): Map<string, string> {
  const reasons = new Map<string, string>();
  // The filesystem that holds the data folder is the one with the longest mount point containing it.
  let dataDisk: { name: string; mount: string } | null = null;
  for (const disk of disks) {
    for (const mount of disk.partitions.flatMap((p) => p.mountpoints)) {
      const reason = SYSTEM_MOUNTS.get(mount);
      if (reason && !reasons.has(disk.name)) reasons.set(disk.name, reason);
      if (mount.startsWith('/') && isInside(dataDir, mount) && mount.length > (dataDisk?.mount.length ?? -1)) {
        dataDisk = { name: disk.name, mount };
      }
    }
  }
  if (dataDisk && !reasons.has(dataDisk.name)) reasons.set(dataDisk.name, `Holds Safehold's data folder (${dataDir})`);
  return reasons;
}

const BUS_NAMES: Record<Bus, string> = {
  usb: 'USB',
  sata: 'SATA',
  nvme: 'NVMe',
  scsi: 'SCSI/SAS',
  virtio: 'virtual',
  loop: 'loop device',
  mmc: 'SD card',
  other: 'other',
};

export const busName = (bus: Bus) => BUS_NAMES[bus];

/** Decimal units, like disk makers print on the box: 4000787030016 → "4.0 TB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A PCI vendor id ("0x1af4") or the transport ("ATA") is not a name a person knows a disk by. */
const meaningful = (text: string | null | undefined): string | null => {
  const t = text?.trim();
  return t && !/^(0x[0-9a-f]+|ATA|SATA)$/i.test(t) ? t : null;
};

export function displayName(disk: DiskFacts): string {
  const model = meaningful(disk.model);
  const vendor = meaningful(disk.vendor);
  if (model) return vendor && !model.toLowerCase().startsWith(vendor.toLowerCase()) ? `${vendor} ${model}` : model;
  const description = meaningful(disk.description);
  if (description) return description;
  if (disk.bus === 'loop') return `Loop device ${disk.name}`;
  if (disk.bus === 'virtio') return `Virtual disk ${disk.name}`;
  return `Disk ${disk.name}`;
}

/** "SanDisk Extreme (sdb, 1.0 TB, USB)": how the activity log names a drive. */
export function describeForLog(view: Pick<DriveView, 'displayName' | 'name' | 'sizeBytes' | 'bus'>): string {
  return `${view.displayName} (${view.name}, ${formatSize(view.sizeBytes)}, ${busName(view.bus)})`;
}
