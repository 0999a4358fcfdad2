/**
 * Pure parsing of `lsblk --json --bytes` and `blkid -p -o export` output into the drive model.
 *
 * No I/O here: the adapter runs the tools and reads /sys, then hands the text and the sysfs facts
 * to these functions. Tolerant of the value types older util-linux versions print (sizes and flags
 * as strings, "0"/"1" booleans) because a Pi may run an older Debian.
 */
import type { Bus, DiskFacts, PartitionFacts } from './block-devices.js';

/** The columns the adapter asks lsblk for (explicit, so a newer lsblk cannot change the shape). */
export const LSBLK_COLUMNS = [
  'NAME', 'KNAME', 'PATH', 'SIZE', 'TYPE', 'TRAN', 'SUBSYSTEMS', 'MODEL', 'VENDOR', 'SERIAL', 'WWN',
  'PTUUID', 'PTTYPE', 'RM', 'HOTPLUG', 'ROTA', 'RO', 'FSTYPE', 'UUID', 'LABEL', 'MOUNTPOINTS', 'FSAVAIL',
] as const;

/** One lsblk row, normalised: strings trimmed (empty → null), sizes and flags typed. */
export interface LsblkDevice {
  name: string;
  path: string;
  type: string;
  sizeBytes: number;
  tran: string | null;
  subsystems: string | null;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  wwn: string | null;
  ptUuid: string | null;
  removable: boolean;
  hotplug: boolean;
  /** null when lsblk did not print the column. */
  rotational: boolean | null;
  readOnly: boolean;
  fsType: string | null;
  uuid: string | null;
  label: string | null;
  mountpoints: string[];
  fsAvail: number | null;
  children: LsblkDevice[];
}

/** What blkid found by reading a device's first sectors. All null when it found nothing. */
export interface FsProbe {
  fsType: string | null;
  uuid: string | null;
  label: string | null;
  ptUuid: string | null;
}

export const EMPTY_PROBE: FsProbe = Object.freeze({ fsType: null, uuid: null, label: null, ptUuid: null });

/** Facts the adapter gathers outside lsblk, per disk (keyed by kernel name). */
export interface DiskExtras {
  attachSeq: number | null;
  backingFile: string | null;
  description: string | null;
  /** blkid results by device path; consulted only for fields lsblk left null. */
  probes: ReadonlyMap<string, FsProbe>;
}

type Raw = Record<string, unknown>;

function text(value: unknown): string | null {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return null;
}

function flag(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1') return true;
  if (value === 0 || value === '0') return false;
  return null;
}

function normalise(raw: Raw): LsblkDevice {
  const name = text(raw.kname) ?? text(raw.name);
  if (!name) throw new Error(`lsblk printed a device without a name: ${JSON.stringify(raw).slice(0, 200)}`);
  const mountpoints = Array.isArray(raw.mountpoints)
    ? raw.mountpoints.map(text).filter((m): m is string => m !== null)
    : [text(raw.mountpoint)].filter((m): m is string => m !== null);
  return {
    name,
    path: text(raw.path) ?? `/dev/${name}`,
    type: text(raw.type) ?? 'disk',
    sizeBytes: num(raw.size) ?? 0,
    tran: text(raw.tran)?.toLowerCase() ?? null,
    subsystems: text(raw.subsystems),
    model: text(raw.model),
    vendor: text(raw.vendor),
    serial: text(raw.serial),
    wwn: text(raw.wwn),
    ptUuid: text(raw.ptuuid),
    removable: flag(raw.rm) ?? false,
    hotplug: flag(raw.hotplug) ?? false,
    rotational: flag(raw.rota),
    readOnly: flag(raw.ro) ?? false,
    fsType: text(raw.fstype),
    uuid: text(raw.uuid),
    label: text(raw.label),
    mountpoints,
    fsAvail: num(raw.fsavail),
    children: Array.isArray(raw.children) ? raw.children.map((c) => normalise(c as Raw)) : [],
  };
}

/** Parse `lsblk -J -b -o …` output (tree form). Throws with a short excerpt when it is not lsblk JSON. */
export function parseLsblkJson(output: string): LsblkDevice[] {
  let data: unknown;
  try {
    data = JSON.parse(output);
  } catch (error) {
    throw new Error(`lsblk printed something that is not JSON: ${output.slice(0, 200)}`, { cause: error });
  }
  const list = (data as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(list)) throw new Error('lsblk JSON has no "blockdevices" array');
  return list.map((d) => normalise(d as Raw));
}

/** Parse `blkid -p -o export <dev>` output (KEY=value lines). Unknown keys are ignored. */
export function parseBlkidExport(output: string): FsProbe {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  const get = (key: string) => text(values.get(key));
  return { fsType: get('TYPE'), uuid: get('UUID'), label: get('LABEL'), ptUuid: get('PTUUID') };
}

/**
 * Whether a top-level device can hold data: not empty (size 0: an unattached loop device, an empty
 * card reader or optical drive) and not memory (zram, ram).
 */
export function holdsData(device: LsblkDevice): boolean {
  if (device.sizeBytes <= 0) return false;
  if (/^(zram|ram)\d+$/.test(device.name)) return false;
  return device.type === 'disk' || device.type === 'loop';
}

const TRANSPORTS: Record<string, Bus> = {
  usb: 'usb',
  sata: 'sata',
  ata: 'sata',
  pata: 'sata',
  nvme: 'nvme',
  sas: 'scsi',
  spi: 'scsi',
  fc: 'scsi',
  iscsi: 'scsi',
  mmc: 'mmc',
  virtio: 'virtio',
};

/** How the disk is attached, from lsblk's TRAN column first, then the kernel name and subsystems. */
export function busOf(device: Pick<LsblkDevice, 'name' | 'tran' | 'subsystems' | 'type'>): Bus {
  const byTransport = device.tran ? TRANSPORTS[device.tran] : undefined;
  if (byTransport) return byTransport;
  if (device.type === 'loop' || /^loop\d+$/.test(device.name)) return 'loop';
  if (/^mmcblk\d+$/.test(device.name)) return 'mmc';
  if (/^vd[a-z]+$/.test(device.name) || device.subsystems?.split(':').includes('virtio')) return 'virtio';
  return 'other';
}

function partition(device: LsblkDevice, probe: FsProbe | undefined): PartitionFacts {
  const mounted = device.mountpoints.length > 0;
  return {
    name: device.name,
    path: device.path,
    sizeBytes: device.sizeBytes,
    fsType: device.fsType ?? probe?.fsType ?? null,
    uuid: device.uuid ?? probe?.uuid ?? null,
    label: device.label ?? probe?.label ?? null,
    mountpoints: device.mountpoints,
    freeBytes: mounted ? device.fsAvail : null,
  };
}

/**
 * The model of one top-level lsblk device, or null when it holds no data (see `holdsData`).
 * lsblk's values win; a probe fills only what lsblk left null (it has no udev database to read).
 * Partitions are the `part` children; a disk without any that carries a filesystem (or is mounted)
 * is reported as one partition with the disk's own name and path.
 */
export function toDiskFacts(device: LsblkDevice, extras: DiskExtras): DiskFacts | null {
  if (!holdsData(device)) return null;
  const selfProbe = extras.probes.get(device.path);
  const parts = device.children.filter((c) => c.type === 'part').map((c) => partition(c, extras.probes.get(c.path)));
  if (parts.length === 0) {
    const whole = partition(device, selfProbe);
    if (whole.fsType !== null || whole.mountpoints.length > 0) parts.push(whole);
  }
  const bus = busOf(device);
  return {
    name: device.name,
    path: device.path,
    attachSeq: extras.attachSeq,
    model: device.model,
    vendor: device.vendor,
    serial: device.serial,
    wwn: device.wwn,
    ptUuid: device.ptUuid ?? selfProbe?.ptUuid ?? null,
    sizeBytes: device.sizeBytes,
    bus,
    removable: device.removable || device.hotplug,
    // The kernel calls loop and virtio devices rotational by default: that says nothing of the medium.
    rotational: bus === 'loop' || bus === 'virtio' ? null : device.rotational,
    readOnly: device.readOnly,
    backingFile: extras.backingFile,
    description: extras.description,
    partitions: parts,
  };
}
