/**
 * Mounting, unmounting and formatting the drives Safehold writes backups on: the adapter line of
 * backup drives. docs/backup-drives.md explains the choices (mount options, the safety check,
 * format options).
 *
 * Two implementations keep this contract (and pass the same contract test,
 * test/medium/mounts.test.ts):
 * - `LinuxMounts` (linux-mounts.adapter.ts): mount(8), umount(8), blkid, mkfs.ext4 on a real box;
 * - `SimulatedMounts` (mounts.sim.ts): the simulated host's directory-backed disks, for the demo.
 *
 * Adapters hold no policy: which drive may be formatted, which drive is a rotation drive, what a
 * marker must say is decided in server/. The adapter refuses only what can never be right (writing
 * over a mounted filesystem, mounting over files, formatting the disk the system runs from).
 */

/** Filesystem types `format()` can create. */
export type FormatFsType = 'ext4';

export interface MountOptions {
  /**
   * Mount read-only, writing nothing at all to the device: no journal or log replay (ext3/ext4
   * `noload`, xfs `norecovery`, btrfs `rescue=nologreplay`), no superblock update. For looking at a
   * drive before deciding to write to it (its marker): a drive then refused is left exactly as it
   * was. What such a mount shows is the filesystem as last checkpointed (files written just before
   * a pulled cable may be missing). Default false.
   */
  readOnly?: boolean;
  signal?: AbortSignal;
}

export interface MountResult {
  /** The block device, symlinks resolved (`/dev/sdb1`, `/dev/loop3`). */
  device: string;
  mountpoint: string;
  /** As blkid names it (`ext4`, `exfat`, …). */
  fsType: string;
  readOnly: boolean;
  /** True when that device was already mounted there and nothing was done. */
  alreadyMounted: boolean;
}

/**
 * How an empty mount folder is kept empty while nothing is mounted on it:
 * - `immutable`: the folder has the immutable attribute (`chattr +i`): nothing can be created in
 *   it, not even by root, yet a filesystem can be mounted over it;
 * - `read-only-tmpfs`: where the data folder's filesystem has no such attribute, an empty
 *   read-only tmpfs (source `safehold-seal`) is mounted on the folder and the drive over it;
 * - `none`: the simulation (its mount folder is replaced by a link while mounted).
 */
export type FolderSeal = 'immutable' | 'read-only-tmpfs' | 'none';

export interface UnmountOptions {
  /**
   * Only for a device that is gone (pulled out, no medium): when the plain unmount fails because
   * something still holds the filesystem, detach it lazily (`umount --lazy`): the folder is free at
   * once, the kernel lets go when the last holder closes. While the device is present this option
   * changes nothing and a busy filesystem is reported as `busy`. Default false.
   */
  lazy?: boolean;
  signal?: AbortSignal;
}

export interface UnmountResult {
  /** False when nothing was mounted there (unmount is idempotent). */
  wasMounted: boolean;
  /** The device that was mounted, or null. */
  device: string | null;
  /** The filesystem's data reached the device before the unmount (`syncfs`). False when the device was gone or failing: recent writes may be lost. */
  synced: boolean;
  /** The device's buffers were flushed after the unmount (`blockdev --flushbufs`). */
  flushed: boolean;
  /** It was detached lazily (`lazy` option, device gone). */
  lazy: boolean;
}

export interface FormatOptions {
  /** Filesystem label: 1 to 16 characters from A-Z a-z 0-9 space . _ + - (ext4 keeps 16 bytes). */
  label: string;
  fsType: FormatFsType;
  signal?: AbortSignal;
}

export interface FormatResult {
  device: string;
  fsType: FormatFsType;
  label: string;
  /** The new filesystem's UUID. */
  uuid: string;
}

/** Sizes in bytes. */
export interface SpaceFacts {
  sizeBytes: number;
  /** Free blocks, including any reserved for root. */
  freeBytes: number;
  /** Free space the service can use. */
  availableBytes: number;
}

/**
 * What is at a folder:
 * - `mounted`: a mount point with a present block device behind it: safe to write;
 * - `not-mounted`: a plain folder (or nothing at all): writing there would fill the system disk;
 * - `device-gone`: still a mount point, but its device was pulled out or lost its medium: every
 *   write fails or is lost; unmount it;
 * - `not-a-device`: a mount point of something that is not a block device (tmpfs, a network share).
 */
export type MountStatus =
  | {
      state: 'mounted';
      device: string;
      fsType: string;
      readOnly: boolean;
      /** The kernel made the filesystem read-only after I/O or consistency errors (`errors=remount-ro`). */
      remountedReadOnlyAfterErrors: boolean;
    }
  | { state: 'not-mounted'; reason: string }
  | { state: 'device-gone'; device: string; fsType: string; reason: string }
  | { state: 'not-a-device'; source: string; fsType: string };

export interface Mounts {
  /**
   * Mounts `device` (a partition, or a whole disk holding a filesystem) at `mountpoint`, a folder of
   * Safehold's own (created with mode 0700, parents too). The filesystem type is probed, never
   * guessed; options always include nodev, nosuid, noexec and noatime (ext2/3/4: errors=remount-ro).
   * The empty folder is sealed first and stays sealed under the mount: whenever nothing is mounted
   * on it (after an unmount, also a lazy one under a running writer) nothing can be created in it,
   * so no write meant for the drive can land on the system disk (`seal()` says how it is sealed).
   * Idempotent when that device is already mounted there with the same read-only setting.
   * Refuses (`MountError`): a path that is not a block device (`not-a-block-device`), no or an
   * unsupported filesystem, a mountpoint that is a symlink, not a folder (`invalid-path`), not
   * empty (`folder-not-empty`) or already a mount point of something else (`already-mounted`).
   */
  mount(device: string, mountpoint: string, options?: MountOptions): Promise<MountResult>;
  /**
   * Writes the filesystem's data to the device (`sync -f`), unmounts, then flushes the device's
   * buffers. Idempotent: nothing mounted there → `wasMounted: false`. A filesystem still in use
   * throws `MountError` kind `busy` with the processes holding it (when they can be found). A
   * device that is gone is unmounted anyway (`synced: false`: recent writes are lost); with
   * `lazy`, also when busy. The folder itself stays (empty).
   */
  unmount(mountpoint: string, options?: UnmountOptions): Promise<UnmountResult>;
  /** How the empty folder at `mountpoint` is sealed (see `FolderSeal`); `none` when it is not (yet). Ask while nothing is mounted on it: a mounted drive hides the folder's own attribute. */
  seal(mountpoint: string): Promise<FolderSeal>;
  /** What is at `path`: see `MountStatus`. Reads no disk (the kernel's mount table and sysfs). */
  status(path: string): Promise<MountStatus>;
  /**
   * True only when `path` is a mount point with a present block device behind it. This is the
   * check before every write to a drive: an unmounted or pulled drive leaves a plain folder, and
   * writing there would fill the system disk. A folder that merely exists is never trusted.
   */
  isMountedDevice(path: string): Promise<boolean>;
  /** Asks the device to write its buffers out (`blockdev --flushbufs`); false when that was not possible (tool missing, device gone). Call after unmount. */
  flush(device: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Creates a new, empty filesystem on `device` (a partition or a whole disk: the device given is
   * formatted, no partition table is made), erasing everything on it. Refuses (`MountError`) when
   * the device or any partition of it is mounted or in use (`device-mounted`), or holds the
   * operating system or another protected path (`system-disk`). The caller must ALSO check the
   * device's role (the adapter cannot know that a disk is a pool member) and ask the owner to
   * confirm; this check is the last line, not the only one.
   */
  format(device: string, options: FormatOptions): Promise<FormatResult>;
  /** Size and free space of the filesystem holding `path`. */
  statfs(path: string): Promise<SpaceFacts>;
}

export type MountErrorKind =
  | 'invalid-path'
  | 'not-a-block-device'
  | 'no-filesystem'
  | 'unsupported-filesystem'
  | 'folder-not-empty'
  | 'already-mounted'
  | 'busy'
  | 'device-gone'
  | 'device-mounted'
  | 'system-disk'
  | 'invalid-label'
  | 'failed';

/** A process holding a filesystem open (found with fuser where installed). */
export interface Holder {
  pid: number;
  /** Its command name (`/proc/<pid>/comm`), or null when it already exited. */
  command: string | null;
}

/** Every refusal and failure of a `Mounts` call: `kind` for code, `message` and `advice` for a person. */
export class MountError extends Error {
  constructor(
    readonly kind: MountErrorKind,
    message: string,
    readonly advice: string | null = null,
    readonly holders: Holder[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MountError';
  }
}

/** Labels `format()` accepts. */
export const LABEL_PATTERN = /^[A-Za-z0-9 ._+-]{1,16}$/;

export function checkLabel(label: string): void {
  if (!LABEL_PATTERN.test(label)) {
    throw new MountError(
      'invalid-label',
      `"${label}" cannot be a drive label: use 1 to 16 characters from A-Z, a-z, 0-9, space, ".", "_", "+", "-".`,
    );
  }
}
