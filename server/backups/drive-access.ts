/**
 * The one place that mounts and unmounts rotation drives, so that a plug-in backup, a restore and
 * the owner browsing a snapshot can share one drive without pulling it from under each other.
 *
 * Contract:
 * - `open(driveId)` mounts the registered drive at `<data>/mnt/<drive id>` when it is not mounted
 *   yet (read-write: restic takes locks even to read), and refuses unless a real device is behind
 *   that folder (`isMountedDevice`). It returns a lease; every lease must be closed once.
 * - The drive is unmounted (synced, unmounted, flushed) when the last lease closes: at once for
 *   `close()`, or after `lingerMs` without a new lease for `close({ linger })` (browsing a
 *   snapshot: the owner clicks folder after folder). `closeNow` on a lingering drive unmounts it.
 * - A drive whose device is gone is unmounted lazily, so its folder is free for the next plug-in.
 * - A drive is found by its identity in the inventory, never by /dev name; the filesystem is the
 *   partition with the UUID recorded at registration, else the first filesystem on the drive.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readMarker, repositoryPathOnDrive } from '../../system/marker/drive-marker.js';
import type { Mounts, UnmountResult } from '../../system/mounts/mounts.js';
import type { ResticRepository } from '../../system/restic/restic.js';
import type { DriveView } from '../drives/drive.model.js';
import type { DriveService } from '../drives/drive.service.js';
import { ConflictError } from '../errors.js';
import type { SecretStore } from '../settings/secrets.js';
import type { RotationRepository } from './rotation.repository.js';

/** How long a browsing lease keeps a drive mounted after its last use. */
export const BROWSE_LINGER_MS = 5 * 60 * 1000;

export interface DriveLease {
  readonly driveId: string;
  /** Where the drive's filesystem is mounted. */
  readonly mountpoint: string;
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
}

export class DriveAccess {
  readonly #open = new Map<string, Open>();
  /** One mount/unmount at a time per drive. */
  readonly #queue = new Map<string, Promise<unknown>>();

  constructor(
    private readonly o: { mounts: Mounts; drives: DriveService; repo: RotationRepository; secrets: SecretStore; dataDir: string; log: Logger },
  ) {}

  /**
   * The restic repository on a leased drive: where its marker says it is, with the password file
   * kept at registration. Throws `MarkerError` when the marker cannot be read.
   */
  async repository(lease: DriveLease): Promise<ResticRepository> {
    const row = this.o.repo.get(lease.driveId);
    if (!row) throw new ConflictError('That drive is not a rotation drive.');
    const marker = await readMarker(lease.mountpoint);
    return { path: join(lease.mountpoint, repositoryPathOnDrive(marker)), passwordFile: this.o.secrets.pathOf(row.passwordSecret) };
  }

  #mountpointOf(driveId: string): string {
    return join(this.o.dataDir, 'mnt', driveId);
  }

  /** True while a lease (or a lingering one) keeps the drive mounted. */
  isOpen(driveId: string): boolean {
    return this.#open.has(driveId);
  }

  /** Mounts the drive if needed and returns a lease on it. Throws `ConflictError` when it is not plugged in or not registered. */
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
        await this.o.mounts.unmount(mountpoint, { lazy: true }).catch(() => undefined);
        this.#open.delete(driveId);
        entry = undefined;
      }
      if (!entry) {
        const device = filesystemOf(drive, row.filesystemUuid);
        await mkdir(join(this.o.dataDir, 'mnt'), { recursive: true, mode: 0o700 });
        await this.o.mounts.mount(device, mountpoint, { signal });
        if (!(await this.o.mounts.isMountedDevice(mountpoint))) {
          await this.o.mounts.unmount(mountpoint, { lazy: true }).catch(() => undefined);
          throw new ConflictError(`Rotation drive ${row.name} could not be mounted at ${mountpoint}: no device is behind that folder. Nothing was written.`);
        }
        entry = { count: 0, device, timer: null };
        this.#open.set(driveId, entry);
      }
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = null;
      entry.count++;
      return this.#lease(driveId, mountpoint, entry.device);
    });
  }

  /** Unmounts every lingering drive now (service stop). Leases still held are left to their owners. */
  async closeIdle(): Promise<void> {
    for (const [driveId, entry] of this.#open) {
      if (entry.count === 0) await this.#unmount(driveId).catch((err: unknown) => this.o.log.warn({ err, driveId }, 'unmount at stop'));
    }
  }

  #lease(driveId: string, mountpoint: string, device: string): DriveLease {
    let closed = false;
    return {
      driveId,
      mountpoint,
      device,
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

  /** Unmount when no lease holds the drive; lazily when its device is gone. */
  async #unmount(driveId: string): Promise<UnmountResult | null> {
    const entry = this.#open.get(driveId);
    if (!entry || entry.count > 0) return null;
    if (entry.timer) clearTimeout(entry.timer);
    const mountpoint = this.#mountpointOf(driveId);
    const status = await this.o.mounts.status(mountpoint);
    const result = await this.o.mounts.unmount(mountpoint, { lazy: status.state === 'device-gone' });
    this.#open.delete(driveId);
    return result;
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
