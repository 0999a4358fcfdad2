/**
 * The one place that mounts and unmounts rotation drives, so that a plug-in backup, a restore and
 * the owner browsing a snapshot can share one drive without pulling it from under each other.
 *
 * Contract:
 * - `open(driveId)` mounts the registered drive at `<data>/mnt/<drive id>` when it is not mounted
 *   yet. It first mounts it read-only in a way that writes nothing to the device (no journal
 *   replay), reads the marker and compares it with the catalog, and checks that the repository the
 *   marker names is there; only a drive that passes is unmounted and mounted read-write (restic
 *   takes locks even to read). A drive refused is left exactly as it was: `ConflictError` with the
 *   reasons and "nothing was written to it". It refuses unless a real device is behind that folder
 *   (`isMountedDevice`). It returns a lease; every lease must be closed once.
 * - Files a backup wrote into the empty mount folder while no drive was mounted (an older Safehold,
 *   or a folder that could not be sealed) are recognised as Safehold's own (only restic's
 *   repository folders and files under `Safehold/`), removed, and told in the activity log; anything
 *   else there is left alone and the mount is refused with what to move.
 * - While leased, the service holds the drive's root folder open, and every path it hands to restic
 *   is under `lease.root` (`/proc/<pid>/fd/<n>`): a path that exists only on the mounted filesystem.
 *   If the mount is taken away under a running restic (a lazy unmount), its writes still go to the
 *   drive or fail; no `mkdir -p` can re-create that path in the empty mount folder on the system disk.
 * - The drive is unmounted (synced, unmounted, flushed) when the last lease closes: at once for
 *   `close()`, or after `lingerMs` without a new lease for `close({ linger })` (browsing a
 *   snapshot: the owner clicks folder after folder). `closeNow` on a lingering drive unmounts it.
 * - A drive whose device is gone is unmounted lazily, so its folder is free for the next plug-in.
 * - After it mounts a drive for a lease and after it unmounts one, the drive inventory is read
 *   again before the call returns: "safe to unplug" is never said beside a card still showing the
 *   drive mounted.
 * - A drive is found by its identity in the inventory, never by /dev name; the filesystem is the
 *   partition with the UUID recorded at registration, else the first filesystem on the drive.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MARKER_DIR, markerMatches, MarkerError, readMarker, repositoryPathOnDrive, type DriveMarker } from '../../system/marker/drive-marker.js';
import { MountError, type Mounts, type UnmountResult } from '../../system/mounts/mounts.js';
import type { ResticRepository } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import { formatSize, type DriveView } from '../drives/drive.model.js';
import type { DriveService } from '../drives/drive.service.js';
import { ConflictError } from '../errors.js';
import type { SecretStore } from '../settings/secrets.js';
import type { RotationDriveRow, RotationRepository } from './rotation.repository.js';

/** How long a browsing lease keeps a drive mounted after its last use. */
export const BROWSE_LINGER_MS = 5 * 60 * 1000;

export interface DriveLease {
  readonly driveId: string;
  /** Where the drive's filesystem is mounted: for asking whether it still is (`Mounts.status`), never for writing. */
  readonly mountpoint: string;
  /**
   * The root of the drive's filesystem as long as the lease is open (`/proc/<pid>/fd/<n>`, the
   * folder the service holds open; the mount point itself where /proc is missing): a path that
   * exists only on the drive. Everything written to the drive goes through it.
   */
  readonly root: string;
  /** The device mounted (`/dev/sdb1`). */
  readonly device: string;
  /**
   * Gives the lease back. The last one unmounts the drive (at once, or after `lingerMs`); the
   * result says whether that unmount happened now and how it went (null when other leases remain
   * or the unmount was deferred).
   */
  close(options?: { lingerMs?: number }): Promise<UnmountResult | null>;
}

interface Open {
  count: number;
  device: string;
  timer: NodeJS.Timeout | null;
  /** The drive's root folder, held open while mounted. */
  handle: FileHandle;
  root: string;
}

/** The folders restic's local backend makes in a repository: what a backup can leave behind in an empty mount folder. */
const RESTIC_FOLDERS = new Set(['data', 'index', 'snapshots', 'locks', 'keys']);

export class DriveAccess {
  readonly #open = new Map<string, Open>();
  /** One mount/unmount at a time per drive. */
  readonly #queue = new Map<string, Promise<unknown>>();

  constructor(
    private readonly o: {
      mounts: Mounts;
      drives: DriveService;
      repo: RotationRepository;
      secrets: SecretStore;
      activity: ActivityService;
      /** This box's ids (a drive's marker must name them). */
      boxIds: () => { boxId: string; rotationSetId: string };
      dataDir: string;
      log: Logger;
    },
  ) {}

  /**
   * The restic repository on a leased drive: where its marker says it is, with the password file
   * kept at registration. Throws `MarkerError` when the marker cannot be read.
   */
  async repository(lease: DriveLease): Promise<ResticRepository> {
    const row = this.o.repo.get(lease.driveId);
    if (!row) throw new ConflictError('That drive is not a rotation drive.');
    const marker = await readMarker(lease.root);
    return { path: join(lease.root, repositoryPathOnDrive(marker)), passwordFile: this.o.secrets.pathOf(row.passwordSecret) };
  }

  #mountpointOf(driveId: string): string {
    return join(this.o.dataDir, 'mnt', driveId);
  }

  /** True while a lease (or a lingering one) keeps the drive mounted. */
  isOpen(driveId: string): boolean {
    return this.#open.has(driveId);
  }

  /**
   * Mounts the drive if needed (after checking its marker on a read-only mount) and returns a lease
   * on it. Throws `ConflictError` when it is not plugged in, not registered, or refused for its
   * marker or a missing repository (nothing was written to it then).
   */
  open(driveId: string, signal?: AbortSignal): Promise<DriveLease> {
    return this.#serial(driveId, async () => {
      const row = this.o.repo.get(driveId);
      if (!row) throw new ConflictError('That drive is not a rotation drive.');
      const drive = this.o.drives.list().find((d) => d.id === driveId);
      if (!drive) throw new ConflictError(`Rotation drive ${row.name} is not plugged in.`);
      const mountpoint = this.#mountpointOf(driveId);
      let entry = this.#open.get(driveId);
      if (entry && !(await this.o.mounts.isMountedDevice(mountpoint))) {
        // Pulled out and plugged in again while a lease lingered: start over.
        if (entry.timer) clearTimeout(entry.timer);
        await entry.handle.close().catch(() => undefined);
        await this.o.mounts.unmount(mountpoint, { lazy: true }).catch(() => undefined);
        this.#open.delete(driveId);
        entry = undefined;
      }
      if (!entry) {
        const device = filesystemOf(drive, row.filesystemUuid);
        await mkdir(join(this.o.dataDir, 'mnt'), { recursive: true, mode: 0o700 });
        if ((await this.o.mounts.status(mountpoint)).state !== 'not-mounted') {
          // Left mounted by a service that died (kill -9, a crash): start from an unmounted drive.
          await this.o.mounts.unmount(mountpoint, { lazy: true, signal });
        }
        await this.#mount(row, device, mountpoint, true, signal);
        try {
          await this.#checkDrive(row, drive, mountpoint);
        } finally {
          await this.o.mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err, driveId }, 'unmount after the marker check'));
        }
        await this.#mount(row, device, mountpoint, false, signal);
        let handle: FileHandle;
        try {
          handle = await this.#holdRoot(row, mountpoint);
        } catch (error) {
          await this.o.mounts.unmount(mountpoint, { lazy: true }).catch(() => undefined);
          throw error;
        }
        entry = { count: 0, device, timer: null, handle, root: await rootPath(handle, mountpoint) };
        this.#open.set(driveId, entry);
        await this.#reread(driveId);
      }
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = null;
      entry.count++;
      return this.#lease(driveId, mountpoint, entry);
    });
  }

  /** Mounts (read-only: writing nothing), first removing what a backup left in the empty folder when it is Safehold's own. */
  async #mount(row: RotationDriveRow, device: string, mountpoint: string, readOnly: boolean, signal?: AbortSignal): Promise<void> {
    try {
      await this.o.mounts.mount(device, mountpoint, { readOnly, signal });
    } catch (error) {
      if (!(error instanceof MountError && error.kind === 'folder-not-empty')) throw error;
      const strays = await safeholdStrays(mountpoint);
      if (!strays) throw new ConflictError(`Rotation drive ${row.name} was not mounted: ${error.message} ${error.advice ?? ''}`.trim(), { cause: error });
      await rm(join(mountpoint, MARKER_DIR), { recursive: true });
      this.o.activity.record({
        level: 'warning',
        kind: 'backup.strays-removed',
        subject: row.driveId,
        message: `Removed ${formatSize(strays.bytes)} that a backup onto drive ${row.name} had written into its mount folder ${mountpoint} on the system disk while the drive was not mounted (${strays.files} file${strays.files === 1 ? '' : 's'} under ${MARKER_DIR}/, restic's repository folders only). Nothing on the drive was touched.`,
      });
      await this.o.mounts.mount(device, mountpoint, { readOnly, signal });
    }
    if (!(await this.o.mounts.isMountedDevice(mountpoint))) {
      await this.o.mounts.unmount(mountpoint, { lazy: true }).catch(() => undefined);
      throw new ConflictError(`Rotation drive ${row.name} could not be mounted at ${mountpoint}: no device is behind that folder. Nothing was written.`);
    }
  }

  /** The marker must match the catalog and the repository it names must be there; otherwise a `ConflictError` saying nothing was written. */
  async #checkDrive(row: RotationDriveRow, drive: DriveView, mountpoint: string): Promise<void> {
    let marker: DriveMarker;
    try {
      marker = await readMarker(mountpoint);
    } catch (error) {
      if (error instanceof MarkerError) throw new ConflictError(`Drive ${row.name}: ${error.message.replace(/\.+$/, '')}. Nothing was written to it.`, { cause: error });
      throw error;
    }
    const ids = this.o.boxIds();
    const match = markerMatches(marker, {
      boxId: ids.boxId,
      rotationSetId: ids.rotationSetId,
      identity: drive.identity,
      serial: drive.serial,
      wwn: drive.wwn,
      driveName: row.name,
      filesystemUuid: row.filesystemUuid,
    });
    if (!match.ok) {
      throw new ConflictError(`The drive plugged in as ${row.name} does not carry the marker Safehold expects, so nothing was written to it: ${match.reasons.map((r) => r.message).join(' ')}`);
    }
    const repository = repositoryPathOnDrive(marker);
    const config = await lstat(join(mountpoint, repository, 'config')).catch(() => null);
    if (!config?.isFile()) {
      throw new ConflictError(
        `Drive ${row.name}'s repository is missing: was the drive reformatted? Its marker is there, but ${repository} holds no restic repository, so the backups it had are not on it (a new filesystem, with only the marker copied back). ` +
          `If the old ${MARKER_DIR} folder was copied somewhere, copy all of it back onto the drive, ${repository} included; otherwise use another drive for backups. Nothing was written to it.`,
      );
    }
  }

  /** Opens the drive's root folder and checks it is the mounted drive's (not the empty folder beneath). */
  async #holdRoot(row: RotationDriveRow, mountpoint: string): Promise<FileHandle> {
    const handle = await open(mountpoint, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const held = await handle.stat({ bigint: true });
      const there = await stat(mountpoint, { bigint: true });
      if (held.dev !== there.dev || held.ino !== there.ino || !(await this.o.mounts.isMountedDevice(mountpoint))) {
        throw new ConflictError(`Rotation drive ${row.name} went away while it was being mounted at ${mountpoint}. Nothing was written.`);
      }
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Unmounts every lingering drive now (service stop). Leases still held are left to their owners. */
  async closeIdle(): Promise<void> {
    for (const [driveId, entry] of this.#open) {
      if (entry.count === 0) await this.#unmount(driveId).catch((err: unknown) => this.o.log.warn({ err, driveId }, 'unmount at stop'));
    }
  }

  #lease(driveId: string, mountpoint: string, entry: Open): DriveLease {
    let closed = false;
    return {
      driveId,
      mountpoint,
      root: entry.root,
      device: entry.device,
      close: (options = {}) => {
        if (closed) return Promise.resolve(null);
        closed = true;
        return this.#serial(driveId, async () => {
          const entry = this.#open.get(driveId);
          if (!entry) return null;
          entry.count--;
          if (entry.count > 0) return null;
          if (options.lingerMs) {
            entry.timer = setTimeout(() => {
              void this.#serial(driveId, () => this.#unmount(driveId)).catch((err: unknown) => this.o.log.warn({ err, driveId }, 'unmount after browsing'));
            }, options.lingerMs);
            entry.timer.unref();
            return null;
          }
          return this.#unmount(driveId);
        });
      },
    };
  }

  /** Unmount when no lease holds the drive; lazily when its device is gone. The inventory is read again before it returns. */
  async #unmount(driveId: string): Promise<UnmountResult | null> {
    const entry = this.#open.get(driveId);
    if (!entry || entry.count > 0) return null;
    if (entry.timer) clearTimeout(entry.timer);
    await entry.handle.close().catch(() => undefined);
    const mountpoint = this.#mountpointOf(driveId);
    const status = await this.o.mounts.status(mountpoint);
    try {
      const result = await this.o.mounts.unmount(mountpoint, { lazy: status.state === 'device-gone' });
      this.#open.delete(driveId);
      return result;
    } finally {
      await this.#reread(driveId);
    }
  }

  /** The drive view shows the mount points as they are now (the page's card, `safehold drives`); the hot-plug watcher would, a moment later. */
  async #reread(driveId: string): Promise<void> {
    await this.o.drives.refresh().catch((err: unknown) => this.o.log.warn({ err, driveId }, 'reading the drive inventory after mounting or unmounting'));
  }

  #serial<T>(driveId: string, work: () => Promise<T>): Promise<T> {
    const before = this.#queue.get(driveId) ?? Promise.resolve();
    const next = before.then(work, work);
    const settled = next.catch(() => undefined);
    this.#queue.set(driveId, settled);
    void settled.then(() => {
      if (this.#queue.get(driveId) === settled) this.#queue.delete(driveId);
    });
    return next;
  }
}

/** The device holding the drive's filesystem: the partition recorded at registration, else the first with a filesystem, else the whole disk. */
export function filesystemOf(drive: DriveView, filesystemUuid: string | null): string {
  const recorded = filesystemUuid ? drive.partitions.find((p) => p.uuid === filesystemUuid) : undefined;
  const first = drive.partitions.find((p) => p.fsType && p.fsType !== 'swap');
  return (recorded ?? first)?.path ?? drive.path;
}

/**
 * What a backup left in an empty mount folder while no drive was mounted on it, when it is all
 * Safehold's own: only `Safehold/<repository>/` with restic's folders (data, index, snapshots,
 * locks, keys) and plain files in them, nothing else, no link. Null when anything else is there.
 */
export async function safeholdStrays(folder: string): Promise<{ files: number; bytes: number } | null> {
  const top = await readdir(folder, { withFileTypes: true });
  if (top.length !== 1 || top[0]!.name !== MARKER_DIR || !top[0]!.isDirectory()) return null;
  const found = { files: 0, bytes: 0 };
  const walk = async (dir: string, depth: number): Promise<boolean> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth === 1 && !/^[A-Za-z0-9._-]+$/.test(entry.name)) return false; // the repository folder
        if (depth === 2 && !RESTIC_FOLDERS.has(entry.name)) return false;
        if (depth === 3 && !/^[0-9a-f]{2}$/.test(entry.name)) return false;
        if (depth > 3 || !(await walk(path, depth + 1))) return false;
      } else if (entry.isFile() && depth >= 3 && /^[0-9a-f]{64}(-tmp-\d+)?$/.test(entry.name)) {
        found.files++;
        found.bytes += (await lstat(path)).size;
      } else {
        return false;
      }
    }
    return true;
  };
  return (await walk(join(folder, MARKER_DIR), 1)) ? found : null;
}

/** `/proc/<pid>/fd/<n>` of the open folder: a path to the drive's root that no `mkdir -p` can re-create; the mount point where /proc is missing. */
async function rootPath(handle: FileHandle, mountpoint: string): Promise<string> {
  const path = `/proc/${process.pid}/fd/${handle.fd}`;
  const [via, there] = await Promise.all([stat(path, { bigint: true }).catch(() => null), handle.stat({ bigint: true })]);
  return via && via.dev === there.dev && via.ino === there.ino ? path : mountpoint;
}
