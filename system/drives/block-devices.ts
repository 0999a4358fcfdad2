/**
 * What the operating system says about its block devices: the adapter line of drive inventory.
 *
 * Two implementations keep this contract (and pass the same contract test):
 * - `LinuxBlockDevices` (linux-block-devices.adapter.ts): lsblk, blkid, /sys, drivelist and
 *   systeminformation on a real machine;
 * - `SimulatedBlockDevices` (simulated-host.ts): directory-backed disks under the data
 *   folder, for `make demo` and benchmarks.
 *
 * Adapters report facts only. Identity, roles and "is this the system disk" policy live in
 * server/drives; the adapter reports the mount points that policy needs.
 */

/** How a disk is attached. `other` when the OS does not say. */
export type Bus = 'usb' | 'sata' | 'nvme' | 'scsi' | 'virtio' | 'loop' | 'mmc' | 'other';

export interface PartitionFacts {
  /** Kernel name, e.g. `sdb1` (changes between boots: never an identity). */
  name: string;
  /** Device path, e.g. `/dev/sdb1`. */
  path: string;
  sizeBytes: number;
  /** Filesystem type as blkid names it (`ext4`, `vfat`, `exfat`, `swap`, …), or null when none. */
  fsType: string | null;
  /** Filesystem UUID, or null. */
  uuid: string | null;
  /** Filesystem label, or null. */
  label: string | null;
  /** Every place this filesystem is mounted (`[SWAP]` for active swap); empty when not mounted. */
  mountpoints: string[];
  /** Free bytes available to the service's user, when mounted; null otherwise. */
  freeBytes: number | null;
}

export interface DiskFacts {
  /** Kernel name, e.g. `sdb`, `nvme0n1`, `loop3`, `mmcblk0`. */
  name: string;
  /** `/dev/<name>`. */
  path: string;
  /** Changes every time the kernel attaches a medium (Linux diskseq); null when unknown. */
  attachSeq: number | null;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  wwn: string | null;
  /** Partition-table UUID (GPT disk GUID or MBR id), or null. */
  ptUuid: string | null;
  sizeBytes: number;
  bus: Bus;
  /** The kernel or bridge says the medium is removable or hot-pluggable. */
  removable: boolean;
  /** Spinning disk (true), solid state (false), unknown (null). */
  rotational: boolean | null;
  readOnly: boolean;
  /** For loop devices: the file behind it. */
  backingFile: string | null;
  /** A human description when the OS has one better than model (drivelist's `description`). */
  description: string | null;
  /** Partitions; a disk formatted without a partition table appears as one entry with the disk's own path. */
  partitions: PartitionFacts[];
}

/** A sign that the set of devices may have changed; the drive service then re-reads the list. */
export type ChangeListener = () => void;

export interface BlockDevices {
  /** Every block device that holds (or can hold) data, with its partitions. Never wakes a sleeping disk. */
  list(signal?: AbortSignal): Promise<DiskFacts[]>;
  /**
   * A cheap fingerprint of the attached devices and mounts (no process spawned where possible):
   * when it changes, `list()` would answer differently. Called every second or two.
   */
  fingerprint(): Promise<string>;
  /** Start pushing change hints (udev events, inotify) where the platform has them; returns a stop function. */
  watch(onChange: ChangeListener): () => void;
  /** Names of the tools this adapter needs that are missing (e.g. `['lsblk']`); empty when complete. */
  missingTools(): Promise<string[]>;
}
