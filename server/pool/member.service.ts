/**
 * Storage pool members: the box's own disks that hold the shares' files (docs/pool.md; the on-disk
 * layout is docs/pool-format.md).
 *
 * Contract of joining (job `pool.add`, holding the disk's lock):
 * - only a connected disk that is unassigned (not the system disk, not a rotation drive, not a
 *   member already) and that Safehold can recognise again (a serial, a WWN or a filesystem UUID);
 * - `keep`: its filesystem (ext4, xfs or btrfs; anything else is refused with the reason) and every
 *   file on it stay; Safehold works in `Safehold/` only, and refuses a disk that already has a
 *   `Safehold` entry it did not write. `format`: the whole disk is erased and made one ext4
 *   filesystem, only with the disk's name typed again as confirmation;
 * - the disk is first mounted read-only, writing nothing, and a marker found on it is judged: a
 *   rotation drive, another box's or an earlier pool's disk is refused and left as it was;
 * - then it is mounted read-write at `<pool root>/disks/<drive id>` (only when a real device is
 *   behind that folder), the pool marker and `Safehold/shares/` are written, and the catalog records
 *   the member and the drive's role `pool` in one transaction. On failure, what this attempt wrote
 *   (`Safehold/`) is removed and the disk unmounted.
 *
 * Contract of mounting (job `pool.mount`, holding the disk's lock): at start-up and whenever a
 * member is plugged in, it is found by its filesystem UUID, mounted read-only to check its marker
 * (`poolMarkerMatches`: this box, this pool, this disk, this filesystem), and only then mounted
 * read-write. A member that is not connected is `missing`, never removed; one whose marker does not
 * match is `refused`, with the reasons, and nothing is written to it. Members stay mounted while the
 * service runs and are unmounted when it stops.
 */
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import { MARKER_DIR, MarkerError, poolMarkerMatches, readAnyMarker, readPoolMarker, writePoolMarker, type AnyMarker } from '../../system/marker/drive-marker.js';
import type { Mounts } from '../../system/mounts/mounts.js';
import type { ActivityService } from '../activity/activity.service.js';
import { describeForLog, type DriveView } from '../drives/drive.model.js';
import type { DriveService } from '../drives/drive.service.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { JobDefinition, JobView } from '../jobs/job.model.js';
import { boxIds, poolId } from '../settings/box-identity.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import { VERSION } from '../version.js';
import type { AlertService } from '../alerts/alert.service.js';
import type { PoolMemberRepository, PoolMemberRow } from './member.repository.js';
import { missingCondition, type MissingReach } from './pool-notices.js';
import { KEEPABLE_FILESYSTEMS, type PoolMemberState, type PoolMemberView } from './pool.view.js';

export const ADD_MEMBER_JOB = 'pool.add';
export const MOUNT_MEMBER_JOB = 'pool.mount';

/** The folder on a member, under Safehold/, that holds one folder per share. */
export const SHARES_DIR = 'shares';

export const AddMemberBody = z.strictObject({
  driveId: z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'Not a drive id'),
  mode: z.enum(['keep', 'format']),
  /** For `format`: the disk's name as the page shows it, typed again. */
  confirm: z.string().max(200).optional(),
});
export type AddMemberInput = z.infer<typeof AddMemberBody>;

export interface PoolMemberServiceOptions {
  repo: PoolMemberRepository;
  drives: DriveService;
  jobs: JobRunner;
  mounts: Mounts;
  settings: SettingsRepository;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** Where members are mounted (`<poolRoot>/disks/<drive id>`) and shares presented. */
  poolRoot: string;
  /** Tells the owner of a missing disk (what now has one copy); none in some tests. */
  alerts?: AlertService;
  /** What the pool's files look like while a disk is away. */
  reachWithout?: (driveId: string) => MissingReach;
}

interface Live {
  state: PoolMemberState;
  reason: string | null;
  device: string | null;
  /** While missing: when it went away, or null (then the drive's last sighting is told). */
  since?: string | null;
  /** Being mounted after it was missing: say it is back once mounted. */
  returning?: boolean;
}

/** Words for why a filesystem cannot be kept. */
function notKeepable(fsType: string | null): string {
  if (!fsType) return 'it has no filesystem to keep';
  if (['vfat', 'exfat', 'ntfs', 'ntfs3'].includes(fsType)) {
    return `its filesystem is ${fsType}, which cannot keep Linux file permissions and refuses some file names the shares may hold`;
  }
  return `its filesystem is ${fsType}; the pool keeps ext4, xfs or btrfs`;
}

export class PoolMemberService {
  readonly #live = new Map<string, Live>();
  /** Disks being removed from the pool (guided removal): no new file or copy lands on them. */
  readonly #leaving = new Set<string>();

  constructor(private readonly o: PoolMemberServiceOptions) {}

  start(): void {
    this.o.jobs.define(this.#addJob());
    this.o.jobs.define(this.#mountJob());
    this.o.bus.subscribe('inventory', ({ connected, disconnected }) => {
      for (const d of disconnected) if (this.o.repo.get(d.id)) void this.#wentAway(d);
      for (const d of connected) if (this.o.repo.get(d.id)) this.#submitMount(d.id);
    });
  }

  /** Mount every member that is connected now (after the first inventory read); the others are missing. */
  mountAll(): void {
    for (const row of this.o.repo.list()) {
      if (this.o.drives.list().some((d) => d.id === row.driveId)) this.#submitMount(row.driveId);
      else {
        this.#set(row.driveId, { state: 'missing', reason: 'Not connected since Safehold started.', device: null });
        void this.#tellMissing(row.driveId);
      }
    }
  }

  mountpointOf(driveId: string): string {
    return join(this.o.poolRoot, 'disks', driveId);
  }

  async list(): Promise<PoolMemberView[]> {
    return Promise.all(this.o.repo.list().map((row) => this.#view(row)));
  }

  /** The members mounted now, with their mount folders (for the pooled view and the duplicator). */
  mounted(): { driveId: string; mountpoint: string }[] {
    return this.o.repo
      .list()
      .filter((row) => this.#live.get(row.driveId)?.state === 'mounted')
      .map((row) => ({ driveId: row.driveId, mountpoint: this.mountpointOf(row.driveId) }));
  }

  /** The members not mounted now (missing, refused, being mounted): their copies cannot be reached. */
  missing(): { driveId: string; displayName: string }[] {
    return this.o.repo
      .list()
      .filter((row) => this.#live.get(row.driveId)?.state !== 'mounted')
      .map((row) => ({ driveId: row.driveId, displayName: this.o.drives.known(row.driveId)?.drive.displayName ?? row.driveId }));
  }

  /** Check what can be checked now and queue the join. */
  add(input: AddMemberInput): JobView {
    const drive = this.#eligible(input);
    return this.o.jobs.submit(ADD_MEMBER_JOB, { target: drive.id, resources: [`disk:${drive.id}`], params: { mode: input.mode } });
  }

  /** Unmount every member (service stop); a busy one is left mounted and logged. */
  async stop(): Promise<void> {
    for (const row of this.o.repo.list()) {
      const mountpoint = this.mountpointOf(row.driveId);
      if ((await this.o.mounts.status(mountpoint)).state === 'not-mounted') continue;
      await this.o.mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err, driveId: row.driveId }, 'unmounting a pool member at stop'));
    }
  }

  async #view(row: PoolMemberRow): Promise<PoolMemberView> {
    const known = this.o.drives.known(row.driveId);
    const live = this.#live.get(row.driveId) ?? { state: known?.connected ? 'mounting' : 'missing', reason: null, device: null };
    const mountpoint = this.mountpointOf(row.driveId);
    const space = live.state === 'mounted' ? await this.o.mounts.statfs(mountpoint).catch(() => null) : null;
    return {
      driveId: row.driveId,
      displayName: known?.drive.displayName ?? row.driveId,
      device: live.device,
      mountpoint,
      fsType: row.fsType,
      filesystemUuid: row.filesystemUuid,
      sizeBytes: space?.sizeBytes ?? null,
      freeBytes: space?.availableBytes ?? null,
      state: live.state,
      reason: live.reason,
      missingSince: live.state === 'missing' ? (live.since ?? known?.drive.lastSeenAt ?? null) : null,
      joinedAt: new Date(row.joinedAt).toISOString(),
      keptFiles: row.keptFiles,
      missingChoice: live.state === 'missing' ? row.missingChoice : null,
      leaving: this.#leaving.has(row.driveId),
      verdict: known?.drive.health?.verdict ?? null,
    };
  }

  #set(driveId: string, live: Live): void {
    this.#live.set(driveId, live);
    this.o.bus.publish('pool', { changed: driveId });
  }

  #eligible(input: Pick<AddMemberInput, 'driveId' | 'mode' | 'confirm'>): DriveView {
    const drive = this.o.drives.get(input.driveId);
    if (drive.role === 'system') throw new ConflictError(`${drive.displayName} is the system disk: it cannot join the storage pool.`);
    if (drive.role === 'rotation') throw new ConflictError(`${drive.displayName} is rotation backup drive ${drive.rotation?.name ?? ''}: a backup drive cannot also be a pool disk.`.replace(' :', ':'));
    if (this.o.repo.get(drive.id) || drive.role === 'pool') throw new ConflictError(`${drive.displayName} is already a disk of the storage pool.`);
    if (drive.readOnly) throw new ConflictError(`${drive.displayName} is read-only (a write-protect switch, or the kernel made it so after errors): it cannot hold the pool's files.`);
    if (input.mode === 'keep') {
      const fs = drive.partitions.find((p) => p.fsType && p.fsType !== 'swap');
      if (!fs || !(KEEPABLE_FILESYSTEMS as readonly string[]).includes(fs.fsType ?? '')) {
        throw new InvalidInputError(`${drive.displayName} cannot keep its files in the pool: ${notKeepable(fs?.fsType ?? null)}. Choose "Erase and format" to make it ext4.`, [
          { path: 'mode', message: 'This filesystem cannot be kept' },
        ]);
      }
      if (drive.identity.kind === 'none' && !fs.uuid) {
        throw new InvalidInputError(`${drive.displayName} reports no serial number and its filesystem has no UUID: Safehold could not recognise it again.`, [{ path: 'driveId', message: 'No identity' }]);
      }
    } else if (input.confirm?.trim() !== drive.displayName) {
      throw new InvalidInputError(`Type the disk's name (${drive.displayName}) to confirm that everything on it is erased.`, [
        { path: 'confirm', message: `Type ${drive.displayName} to confirm` },
      ]);
    }
    return drive;
  }

  /** The disk's device holding the filesystem with `uuid`, or null (re-formatted, or not read yet). */
  #deviceOf(drive: DriveView, uuid: string): string | null {
    return drive.partitions.find((p) => p.uuid === uuid)?.path ?? null;
  }

  async #prepareFolder(driveId: string, signal: AbortSignal): Promise<string> {
    // The folders above the mount points must let the pooled view (which acts as each user) pass through.
    const disks = join(this.o.poolRoot, 'disks');
    await mkdir(disks, { recursive: true, mode: 0o711 });
    await chmod(this.o.poolRoot, 0o711); // whatever the service's umask (0077)
    await chmod(disks, 0o711);
    const mountpoint = this.mountpointOf(driveId);
    if ((await this.o.mounts.status(mountpoint)).state !== 'not-mounted') {
      // Left mounted by a service that died (kill -9, a crash): start from an unmounted disk.
      await this.o.mounts.unmount(mountpoint, { lazy: true, signal });
    }
    return mountpoint;
  }

  async #mounted(device: string, mountpoint: string, readOnly: boolean, name: string, signal: AbortSignal): Promise<void> {
    await this.o.mounts.mount(device, mountpoint, { readOnly, signal });
    if (!(await this.o.mounts.isMountedDevice(mountpoint))) {
      await this.o.mounts.unmount(mountpoint, { lazy: true }).catch(() => undefined);
      throw new ConflictError(`${name} could not be mounted at ${mountpoint}: no device is behind that folder. Nothing was written.`);
    }
  }

  #addJob(): JobDefinition {
    return {
      kind: ADD_MEMBER_JOB,
      title: () => 'Add a disk to the storage pool',
      run: async ({ target, params, signal, progress }) => {
        const mode = params.mode === 'format' ? 'format' : 'keep';
        let drive = this.o.drives.get(target ?? '');
        drive = this.#eligible({ driveId: drive.id, mode, confirm: drive.displayName });
        const { mounts } = this.o;
        const steps = mode === 'format' ? 4 : 3;
        let step = 0;
        const say = (current: string) => progress({ itemsDone: step++, itemsTotal: steps, current });

        if (mode === 'format') {
          say(`Erasing and formatting ${drive.displayName}`);
          await mounts.format(drive.path, { label: 'SH-POOL', fsType: 'ext4', signal });
          await this.o.drives.refresh(signal);
          const again = this.o.drives.list().find((d) => d.path === drive.path);
          if (!again) throw new Error(`${drive.displayName} disappeared while it was being formatted.`);
          drive = again;
        }
        const partition = drive.partitions.find((p) => p.fsType && (KEEPABLE_FILESYSTEMS as readonly string[]).includes(p.fsType));
        if (!partition?.uuid || !partition.fsType) throw new ConflictError(`${drive.displayName} has no filesystem Safehold can recognise again (no UUID). Nothing was written.`);
        const mountpoint = await this.#prepareFolder(drive.id, signal);

        say(`Looking at ${drive.displayName} without writing to it`);
        await this.#mounted(partition.path, mountpoint, true, drive.displayName, signal);
        try {
          await this.#refuseIfTaken(drive, mountpoint);
        } finally {
          await mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err }, 'unmount after looking at a disk'));
        }

        say(`Writing Safehold's folder on ${drive.displayName}`);
        await this.#mounted(partition.path, mountpoint, false, drive.displayName, signal);
        let wrote = false;
        const joinedAt = this.o.clock.now();
        try {
          wrote = true;
          await writePoolMarker(mountpoint, {
            drive: {
              name: drive.displayName.slice(0, 64),
              identity: { kind: drive.identity.kind === 'none' ? 'fsuuid' : drive.identity.kind, value: drive.identity.kind === 'none' ? partition.uuid : drive.identity.value },
              serial: drive.serial,
              wwn: drive.wwn,
              model: drive.model,
              filesystemUuid: partition.uuid,
            },
            poolId: poolId(this.o.settings),
            boxId: boxIds(this.o.settings).boxId,
            joinedAt: new Date(joinedAt).toISOString(),
            shares: SHARES_DIR,
            writtenBy: `Safehold ${VERSION}`,
          });
          await mkdir(join(mountpoint, MARKER_DIR, SHARES_DIR), { mode: 0o755 });
          this.o.repo.db.transaction(() => {
            this.o.repo.add({ driveId: drive.id, filesystemUuid: partition.uuid!, fsType: partition.fsType!, joinedAt, keptFiles: mode === 'keep' });
            this.o.drives.assignRole(drive.id, { role: 'pool', label: null, since: joinedAt });
          })();
        } catch (error) {
          if (wrote) await rm(join(mountpoint, MARKER_DIR), { recursive: true, force: true }).catch(() => undefined);
          await mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err }, 'unmount after a failed join'));
          throw error;
        }
        this.o.drives.republish();
        this.#set(drive.id, { state: 'mounted', reason: null, device: partition.path });
        this.o.activity.record({
          level: 'info',
          kind: 'pool.member-added',
          subject: drive.id,
          message: `${describeForLog(drive)} joined the storage pool${mode === 'format' ? ' (erased and formatted as ext4)' : ` (its ${partition.fsType} filesystem and files were kept)`}.`,
        });
        return `${drive.displayName} is now a disk of the storage pool.`;
      },
    };
  }

  /** Refuses a disk that carries a marker (a rotation drive, another box's or pool's disk) or a `Safehold` entry of someone else's. */
  async #refuseIfTaken(drive: DriveView, mountpoint: string): Promise<void> {
    const entry = await lstat(join(mountpoint, MARKER_DIR)).catch(() => null);
    if (!entry) return;
    let marker: AnyMarker | null = null;
    try {
      marker = await readAnyMarker(mountpoint);
    } catch (error) {
      if (!(error instanceof MarkerError)) throw error;
      if (error.kind !== 'missing') throw new ConflictError(`${drive.displayName} holds a damaged Safehold folder: ${error.message} Nothing was written to it.`, { cause: error });
    }
    if (!marker) {
      throw new ConflictError(`${drive.displayName} already has a file or folder called ${MARKER_DIR} at its top, which Safehold did not write. Rename or move it, then add the disk again. Nothing was written to it.`);
    }
    const ids = boxIds(this.o.settings);
    if (marker.role === 'rotation') {
      throw new ConflictError(
        `${drive.displayName} is rotation backup drive "${marker.marker.drive.name}"${marker.marker.boxId === ids.boxId ? ' of this box' : ' of another Safehold box'}: a backup drive cannot also be a pool disk. Nothing was written to it.`,
      );
    }
    const other = marker.marker.boxId !== ids.boxId ? 'the storage pool of another Safehold box' : marker.marker.poolId !== poolId(this.o.settings) ? 'an earlier storage pool of this box' : 'this storage pool, but the catalog does not list it';
    throw new ConflictError(`${drive.displayName} already belongs to ${other} (joined ${marker.marker.joinedAt.slice(0, 10)}). Nothing was written to it.`);
  }

  #submitMount(driveId: string): void {
    const queued = this.o.jobs.recent(20).some((j) => j.kind === MOUNT_MEMBER_JOB && j.target === driveId && (j.state === 'queued' || j.state === 'running'));
    if (queued) return;
    this.#set(driveId, { state: 'mounting', reason: null, device: null, returning: this.#live.get(driveId)?.state === 'missing' });
    this.o.jobs.submit(MOUNT_MEMBER_JOB, { target: driveId, resources: [`disk:${driveId}`] });
  }

  #mountJob(): JobDefinition {
    return {
      kind: MOUNT_MEMBER_JOB,
      title: (target) => `Mount pool disk ${(target && this.o.drives.known(target)?.drive.displayName) ?? target ?? ''}`.trim(),
      run: async ({ target, signal }) => {
        const row = this.o.repo.get(target ?? '');
        if (!row) throw new NotFoundError('That disk is not a disk of the storage pool.');
        const drive = this.o.drives.list().find((d) => d.id === row.driveId);
        if (!drive) {
          this.#set(row.driveId, { state: 'missing', reason: 'Not connected.', device: null, since: new Date(this.o.clock.now()).toISOString() });
          return `${row.driveId} is not connected.`;
        }
        const returning = this.#live.get(row.driveId)?.returning ?? false;
        try {
          const device = await this.#mountMember(row, drive, signal);
          this.#set(row.driveId, { state: 'mounted', reason: null, device });
        } catch (error) {
          if (!(error instanceof ConflictError)) {
            this.#set(row.driveId, { state: 'refused', reason: (error as Error).message, device: null });
            throw error;
          }
          this.#set(row.driveId, { state: 'refused', reason: error.message, device: null });
          this.o.activity.record({ level: 'error', kind: 'pool.member-refused', subject: row.driveId, message: error.message });
          throw error;
        }
        await this.#tellBack(row.driveId);
        if (returning) {
          this.o.activity.record({ level: 'info', kind: 'pool.member-back', subject: row.driveId, message: `Pool disk ${describeForLog(drive)} is back and mounted.` });
        }
        return `${drive.displayName} is mounted.`;
      },
    };
  }

  /** Mounts a member after checking its marker on a read-only mount; returns the device. `ConflictError` (nothing written) when refused. */
  async #mountMember(row: PoolMemberRow, drive: DriveView, signal: AbortSignal): Promise<string> {
    const mountpoint = this.mountpointOf(row.driveId);
    const device = this.#deviceOf(drive, row.filesystemUuid);
    if (!device) {
      throw new ConflictError(
        `Pool disk ${drive.displayName} no longer has the filesystem Safehold put its files on (UUID ${row.filesystemUuid}): was it re-formatted? It was not mounted, and nothing was written to it.`,
      );
    }
    const status = await this.o.mounts.status(mountpoint);
    if (status.state === 'mounted' && status.device === device && !status.readOnly) return device;
    await this.#prepareFolder(row.driveId, signal);
    await this.#mounted(device, mountpoint, true, drive.displayName, signal);
    try {
      let marker;
      try {
        marker = await readPoolMarker(mountpoint);
      } catch (error) {
        if (error instanceof MarkerError) throw new ConflictError(`Pool disk ${drive.displayName} was not mounted: ${error.message.replace(/\.+$/, '')}. Nothing was written to it.`, { cause: error });
        throw error;
      }
      const match = poolMarkerMatches(marker, {
        boxId: boxIds(this.o.settings).boxId,
        poolId: poolId(this.o.settings),
        identity: drive.identity,
        serial: drive.serial,
        wwn: drive.wwn,
        filesystemUuid: row.filesystemUuid,
      });
      if (!match.ok) {
        throw new ConflictError(`The disk plugged in as pool disk ${drive.displayName} does not carry the marker Safehold wrote, so nothing was written to it: ${match.reasons.map((r) => r.message).join(' ')}`);
      }
    } finally {
      await this.o.mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err }, 'unmount after the marker check'));
    }
    await this.#mounted(device, mountpoint, false, drive.displayName, signal);
    return device;
  }

  async #wentAway(drive: DriveView): Promise<void> {
    const since = new Date(this.o.clock.now()).toISOString();
    this.#set(drive.id, { state: 'missing', reason: `Not connected since ${since}.`, device: null, since });
    this.o.activity.record({
      level: 'warning',
      kind: 'pool.member-missing',
      subject: drive.id,
      message: `Pool disk ${describeForLog(drive)} is missing (unplugged or not answering). Nothing is copied or deleted because of it: the shares keep working from the other disks until it is back or you say what happened.`,
    });
    const mountpoint = this.mountpointOf(drive.id);
    if ((await this.o.mounts.status(mountpoint)).state !== 'not-mounted') {
      await this.o.mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err, driveId: drive.id }, 'unmounting a missing pool disk'));
    }
    await this.#tellMissing(drive.id);
  }

  /** The open alert of a missing disk: what now has one copy (unless the owner said it will come back). */
  async #tellMissing(driveId: string): Promise<void> {
    const row = this.o.repo.get(driveId);
    if (!row || !this.o.alerts || !this.o.reachWithout || row.missingChoice === 'wait') return;
    const name = this.o.drives.known(driveId)?.drive.displayName ?? driveId;
    await this.o.alerts.observeCondition(missingCondition(driveId, name, this.o.reachWithout(driveId))).catch((err: unknown) => this.o.log.warn({ err }, 'the missing-disk alert'));
  }

  async #tellBack(driveId: string): Promise<void> {
    if (!this.o.alerts) return;
    const name = this.o.drives.known(driveId)?.drive.displayName ?? driveId;
    this.o.repo.setMissingChoice(driveId, null);
    await this.o.alerts.observeCondition(missingCondition(driveId, name, null)).catch((err: unknown) => this.o.log.warn({ err }, 'the missing-disk alert'));
  }

  /** Guided removal begins (`true`) or is over or cancelled (`false`): the views stop or resume putting new files on it. */
  setLeaving(driveId: string, leaving: boolean): void {
    if (leaving) this.#leaving.add(driveId);
    else this.#leaving.delete(driveId);
    this.o.bus.publish('pool', { changed: driveId });
  }

  /** A disk whose files were all copied away leaves the pool: unmounted, its role unassigned, its files left on it as they are. */
  async release(driveId: string): Promise<void> {
    const row = this.o.repo.get(driveId);
    if (!row) throw new NotFoundError('That disk is not a disk of the storage pool.');
    const name = this.o.drives.known(driveId)?.drive.displayName ?? driveId;
    this.o.repo.db.transaction(() => {
      this.o.repo.remove(driveId);
      if (this.o.drives.known(driveId)) this.o.drives.assignRole(driveId, { role: 'unassigned', label: null, since: null });
    })();
    this.#live.delete(driveId);
    this.#leaving.delete(driveId);
    this.o.drives.republish();
    this.o.bus.publish('pool', { changed: driveId });
    const mountpoint = this.mountpointOf(driveId);
    if ((await this.o.mounts.status(mountpoint)).state !== 'not-mounted') {
      await this.o.mounts.unmount(mountpoint, { lazy: true }).catch((err: unknown) => this.o.log.warn({ err, driveId }, 'unmounting a released pool disk'));
    }
    this.o.activity.record({ level: 'info', kind: 'pool.member-removed', subject: driveId, message: `${name} left the storage pool: every file it held has its copies on the other disks. Its files were left on it as they were; it can be unplugged.` });
  }

  /** "It will come back": no reminders while it is away; it is mounted again when it is plugged in. */
  async wait(driveId: string): Promise<void> {
    const row = this.o.repo.get(driveId);
    if (!row) throw new NotFoundError('That disk is not a disk of the storage pool.');
    if (this.#live.get(driveId)?.state !== 'missing') throw new ConflictError('That disk is not missing.');
    this.o.repo.setMissingChoice(driveId, 'wait');
    const name = this.o.drives.known(driveId)?.drive.displayName ?? driveId;
    await this.o.alerts?.observeCondition(missingCondition(driveId, name, null)).catch(() => undefined);
    this.o.activity.record({ level: 'info', kind: 'pool.member-wait', subject: driveId, message: `You said pool disk ${name} will come back: Safehold waits for it and stops reminding you.` });
    this.o.bus.publish('pool', { changed: driveId });
  }

  /** A missing disk that is gone for good leaves the pool (the caller forgets its copies first, in the file catalog). */
  async forget(driveId: string): Promise<void> {
    const row = this.o.repo.get(driveId);
    if (!row) throw new NotFoundError('That disk is not a disk of the storage pool.');
    if (this.#live.get(driveId)?.state === 'mounted') throw new ConflictError('That disk is here and mounted: it is not gone.');
    const name = this.o.drives.known(driveId)?.drive.displayName ?? driveId;
    this.o.repo.db.transaction(() => {
      this.o.repo.remove(driveId);
      if (this.o.drives.known(driveId)) this.o.drives.assignRole(driveId, { role: 'unassigned', label: null, since: null });
    })();
    this.#live.delete(driveId);
    this.o.drives.republish();
    await this.o.alerts?.observeCondition(missingCondition(driveId, name, null)).catch(() => undefined);
    this.o.activity.record({ level: 'warning', kind: 'pool.member-gone', subject: driveId, message: `Pool disk ${name} is gone for good: it left the pool, and its files get new copies on the other disks.` });
    this.o.bus.publish('pool', { changed: driveId });
  }
}
