/**
 * Shares: the household's shared folders, each kept on the pool's disks with a duplication level
 * (docs/pool.md, "Shares").
 *
 * Contract:
 * - A share's files are plain files under `Safehold/shares/<name>/` on the pool disks
 *   (docs/pool-format.md); its folder exists on every mounted disk, so the pooled view can place a
 *   new file on any of them.
 * - The pooled view of an active share is mounted at `<pool root>/shares/<name>` over that folder
 *   on every mounted disk (system/mergerfs): a disk whose health verdict is warning or failing takes
 *   no new file there (`no-create`), and every disk keeps a reserve (4 GiB or 2% of it, whichever is
 *   smaller) that new files never fill. The view's disks follow the pool: a disk that goes missing
 *   leaves every view at once, one that is mounted joins them.
 * - Removing a share takes it off the network (its view is unmounted) but keeps its files on the
 *   disks and in the catalog until the owner confirms a second time (`deleteFiles`, with the
 *   share's name typed again); until then it can be brought back (`restore`).
 * - Every change is announced on the bus (`shares`), for Samba and the duplicator.
 */
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import { MARKER_DIR } from '../../system/marker/drive-marker.js';
import type { Branch, PoolView } from '../../system/mergerfs/pool-view.js';
import { checkShareName, SambaInputError } from '../../system/samba/samba.js';
import type { ActivityService } from '../activity/activity.service.js';
import type { DriveService } from '../drives/drive.service.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { JobDefinition, JobView } from '../jobs/job.model.js';
import { SHARES_DIR, type PoolMemberService } from './member.service.js';
import type { ShareFiles } from './duplication.service.js';
import type { Copies, Guest, ShareRepository, ShareRow } from './share.repository.js';

export const DELETE_SHARE_JOB = 'pool.delete-share';

const CopiesInput = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal('all')]);
const GuestInput = z.enum(['none', 'ro', 'rw']);

export const CreateShareBody = z.strictObject({
  name: z.string().min(1).max(40),
  copies: CopiesInput,
  guest: GuestInput.optional(),
});
export const UpdateShareBody = z.strictObject({ copies: CopiesInput.optional(), guest: GuestInput.optional() }).refine((v) => v.copies !== undefined || v.guest !== undefined, 'Give copies or guest');
export const DeleteFilesBody = z.strictObject({ confirm: z.string().max(40) });

/** A share as the API and the page see it. */
export interface ShareView {
  name: string;
  copies: Copies;
  guest: Guest;
  /** Its pooled folder on the box (what Samba exports). */
  path: string;
  state: 'active' | 'removed';
  createdAt: string;
  removedAt: string | null;
  /** Its files by number of verified copies, and what waits or is short of copies; null before the duplicator is there. */
  files: ShareFiles | null;
  /** Who may use it over the network, by user name. */
  grants: { user: string; access: 'rw' | 'ro' }[];
  /** What to type on each computer to reach it (docs/pool.md); Windows null when Samba is not on port 445. Null while removed, or without Samba. */
  smb: SmbAddresses | null;
}

export interface SmbAddresses {
  /** `\\host\Share`, or null when Samba listens on another port than 445 (Windows cannot take one). */
  windows: string | null;
  /** `smb://host/Share` (with `:port` when not 445). */
  macos: string;
  linux: string;
}

/** The reserve new files never fill on a disk: 4 GiB or 2% of it, whichever is smaller. */
export function reserveOf(sizeBytes: number | null): number {
  const fourGiB = 4 * 1024 ** 3;
  return sizeBytes === null ? fourGiB : Math.min(fourGiB, Math.floor(sizeBytes * 0.02));
}

export interface ShareServiceOptions {
  repo: ShareRepository;
  members: PoolMemberService;
  drives: DriveService;
  views: PoolView;
  jobs: JobRunner;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  poolRoot: string;
  /** Backups: an active share is a backup source (server/backups/source.service.ts `addShare`). */
  sources?: { addShare(share: string, path: string): unknown; removeShare(share: string, path: string): void };
  /** What the duplicator knows of a share's files (counts by copies, what waits or is short of copies). */
  filesOf?: (share: string) => ShareFiles;
  /**
   * Whom the shares' folders belong to (the owner Samba writes files as); the service's own when
   * omitted or null. Asked when a share's folder is first made ready, not before.
   */
  filesOwner?: () => Promise<{ uid: number; gid: number } | null>;
  /** The network side of a share's view: its grants and addresses (server/pool/smb.service.ts). */
  network?: { grantsOf(share: string): ShareView['grants']; addressesOf(share: string): SmbAddresses | null };
  /** Awaited after each update of the views (Samba exports the shares whose view is mounted); its failure is logged. */
  onViewsApplied?: () => Promise<void>;
}

export class ShareService {
  /** One view update at a time. */
  #applying: Promise<void> = Promise.resolve();
  /** Shares whose pooled view is mounted now. */
  readonly #mountedViews = new Set<string>();

  constructor(private readonly o: ShareServiceOptions) {}

  start(): void {
    this.o.jobs.define(this.#deleteFilesJob());
    // Every active share is a backup source (also those made before shares were).
    for (const share of this.o.repo.list()) if (share.removedAt === null) this.o.sources?.addShare(share.name, this.viewPathOf(share.name));
    // A disk mounted or gone changes every view's disks.
    this.o.bus.subscribe('pool', () => void this.applyViews().catch((err: unknown) => this.o.log.warn({ err }, 'updating the shares\' views')));
  }

  viewPathOf(name: string): string {
    return join(this.o.poolRoot, 'shares', name);
  }

  list(): ShareView[] {
    return this.o.repo.list().map((s) => this.#view(s));
  }

  /** The active shares whose pooled view is mounted now: what may be on the network. */
  exported(): { name: string; path: string; guest: Guest }[] {
    return this.o.repo
      .list()
      .filter((s) => s.removedAt === null && this.#mountedViews.has(s.name))
      .map((s) => ({ name: s.name, path: this.viewPathOf(s.name), guest: s.guest }));
  }

  get(name: string): ShareView {
    const share = this.o.repo.get(name);
    if (!share) throw new NotFoundError(`There is no share called ${JSON.stringify(name)}.`);
    return this.#view(share);
  }

  #view(s: ShareRow): ShareView {
    return {
      name: s.name,
      copies: s.copies,
      guest: s.guest,
      path: this.viewPathOf(s.name),
      state: s.removedAt === null ? 'active' : 'removed',
      createdAt: new Date(s.createdAt).toISOString(),
      removedAt: s.removedAt === null ? null : new Date(s.removedAt).toISOString(),
      files: this.o.filesOf?.(s.name) ?? null,
      grants: this.o.network?.grantsOf(s.name) ?? [],
      smb: s.removedAt === null ? (this.o.network?.addressesOf(s.name) ?? null) : null,
    };
  }

  async create(input: z.infer<typeof CreateShareBody>): Promise<ShareView> {
    try {
      checkShareName(input.name);
    } catch (error) {
      if (error instanceof SambaInputError) throw new InvalidInputError(error.message, [{ path: 'name', message: error.message }]);
      throw error;
    }
    const same = this.o.repo.get(input.name);
    if (same) {
      throw new InvalidInputError(
        same.removedAt === null
          ? `There is already a share called ${same.name}.`
          : `The removed share ${same.name} still holds its files: bring it back, or delete its files first.`,
        [{ path: 'name', message: 'Already used' }],
      );
    }
    this.o.repo.add({ name: input.name, copies: input.copies, guest: input.guest ?? 'none', createdAt: this.o.clock.now() });
    this.o.sources?.addShare(input.name, this.viewPathOf(input.name));
    this.o.activity.record({
      level: 'info',
      kind: 'share.created',
      subject: input.name,
      message: `Share ${input.name} was created: ${copiesWords(input.copies)}.`,
    });
    await this.applyViews();
    this.o.bus.publish('shares', { changed: input.name });
    return this.get(input.name);
  }

  async update(name: string, change: z.infer<typeof UpdateShareBody>): Promise<ShareView> {
    const share = this.#active(name);
    this.o.repo.update(share.name, change);
    if (change.copies !== undefined && change.copies !== share.copies) {
      this.o.activity.record({ level: 'info', kind: 'share.changed', subject: share.name, message: `Share ${share.name} now keeps ${copiesWords(change.copies)} (before: ${copiesWords(share.copies)}).` });
    }
    if (change.guest !== undefined && change.guest !== share.guest) {
      this.o.activity.record({
        level: change.guest === 'none' ? 'info' : 'warning',
        kind: 'share.guest',
        subject: share.name,
        message: change.guest === 'none' ? `Share ${share.name} no longer lets guests in.` : `Share ${share.name} lets anyone on the network in without a password (${change.guest === 'rw' ? 'reading and writing' : 'reading'}).`,
      });
    }
    this.o.bus.publish('shares', { changed: share.name });
    return this.get(share.name);
  }

  /** Off the network, files kept (the first confirmation). */
  async remove(name: string): Promise<ShareView> {
    const share = this.#active(name);
    this.o.repo.setRemoved(share.name, this.o.clock.now());
    this.o.sources?.removeShare(share.name, this.viewPathOf(share.name));
    await this.applyViews();
    this.o.activity.record({
      level: 'warning',
      kind: 'share.removed',
      subject: share.name,
      message: `Share ${share.name} was removed from the network. Its files stay on the pool's disks until you delete them (Storage page), and it can be brought back until then.`,
    });
    this.o.bus.publish('shares', { changed: share.name });
    return this.get(share.name);
  }

  /** A removed share back on the network. */
  async restore(name: string): Promise<ShareView> {
    const share = this.o.repo.get(name);
    if (!share) throw new NotFoundError(`There is no share called ${JSON.stringify(name)}.`);
    if (share.removedAt === null) return this.#view(share);
    this.o.repo.setRemoved(share.name, null);
    this.o.sources?.addShare(share.name, this.viewPathOf(share.name));
    await this.applyViews();
    this.o.activity.record({ level: 'info', kind: 'share.restored', subject: share.name, message: `Share ${share.name} is back on the network.` });
    this.o.bus.publish('shares', { changed: share.name });
    return this.get(share.name);
  }

  /** The second confirmation: a job deletes a removed share's files from every disk, then the share. */
  deleteFiles(name: string, confirm: string): JobView {
    const share = this.o.repo.get(name);
    if (!share) throw new NotFoundError(`There is no share called ${JSON.stringify(name)}.`);
    if (share.removedAt === null) throw new ConflictError(`Share ${share.name} is still on the network: remove it first.`);
    if (confirm.trim() !== share.name) {
      throw new InvalidInputError(`Type the share's name (${share.name}) to confirm that its files are deleted from every disk.`, [{ path: 'confirm', message: `Type ${share.name} to confirm` }]);
    }
    const missing = this.o.members.missing();
    if (missing.length) {
      throw new ConflictError(
        `${missing.map((m) => m.displayName).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: ${share.name}'s files there could not be deleted. Plug ${missing.length === 1 ? 'it' : 'them'} in first.`,
      );
    }
    const disks = this.o.members.mounted().map((m) => `disk:${m.driveId}`);
    return this.o.jobs.submit(DELETE_SHARE_JOB, { target: share.name, resources: disks });
  }

  #active(name: string): ShareRow {
    const share = this.o.repo.get(name);
    if (!share) throw new NotFoundError(`There is no share called ${JSON.stringify(name)}.`);
    if (share.removedAt !== null) throw new ConflictError(`Share ${share.name} was removed: bring it back first.`);
    return share;
  }

  #deleteFilesJob(): JobDefinition {
    return {
      kind: DELETE_SHARE_JOB,
      title: (target) => `Delete the files of share ${target ?? ''}`.trim(),
      run: async ({ target, signal, progress }) => {
        const share = this.o.repo.get(target ?? '');
        if (!share || share.removedAt === null) throw new ConflictError('That share is not a removed one.');
        const disks = this.o.members.mounted();
        let done = 0;
        for (const disk of disks) {
          signal.throwIfAborted();
          progress({ itemsDone: done++, itemsTotal: disks.length, current: disk.mountpoint });
          await rm(join(disk.mountpoint, MARKER_DIR, SHARES_DIR, share.name), { recursive: true, force: true });
        }
        this.o.repo.delete(share.name);
        this.o.activity.record({ level: 'warning', kind: 'share.deleted', subject: share.name, message: `The files of share ${share.name} were deleted from every pool disk (${disks.length}).` });
        this.o.bus.publish('shares', { changed: share.name });
        return `Share ${share.name} and its files are gone from the pool's disks. Its backups are kept on the backup drives.`;
      },
    };
  }

  /** Unmount every view (service stop); lazily, so an open file does not keep the service from stopping. */
  async stop(): Promise<void> {
    await this.#applying.catch(() => undefined);
    for (const share of this.o.repo.list()) {
      await this.o.views.unmount(this.viewPathOf(share.name), { lazy: true }).catch((err: unknown) => this.o.log.warn({ err, share: share.name }, 'unmounting a share view'));
      this.#mountedViews.delete(share.name);
    }
  }

  /**
   * Makes the views what the catalog and the pool say: each active share's folder on every mounted
   * disk, its view over them; removed shares' views unmounted. One at a time; safe to call often.
   */
  applyViews(): Promise<void> {
    const next = this.#applying.catch(() => undefined).then(() => this.#apply());
    this.#applying = next;
    return next;
  }

  async #apply(): Promise<void> {
    try {
      await this.#applyViews();
    } finally {
      await this.o.onViewsApplied?.().catch((err: unknown) => this.o.log.warn({ err }, 'exporting the shares'));
    }
  }

  async #applyViews(): Promise<void> {
    const disks = await this.o.members.list();
    const mounted = disks.filter((d) => d.state === 'mounted');
    let owner: { uid: number; gid: number } | null | undefined;
    await mkdir(join(this.o.poolRoot, 'shares'), { recursive: true, mode: 0o755 });
    await chmod(join(this.o.poolRoot, 'shares'), 0o755);
    // While a disk is being mounted (start-up, a plug-in), the views keep the disks they have: a
    // view left up by an earlier run keeps serving, and a later change of the pool updates it.
    const settling = disks.some((d) => d.state === 'mounting');
    for (const share of this.o.repo.list()) {
      const where = this.viewPathOf(share.name);
      if (share.removedAt !== null) {
        this.#mountedViews.delete(share.name);
        await this.o.views.unmount(where, { lazy: true });
        continue;
      }
      if (settling) continue;
      const branches: Branch[] = [];
      for (const disk of mounted) {
        const folder = join(disk.mountpoint, MARKER_DIR, SHARES_DIR, share.name);
        await mkdir(folder, { recursive: true, mode: 0o775 });
        // The folder above must let the files owner through too, whatever umask made it (the service's is 0077).
        await chmod(join(disk.mountpoint, MARKER_DIR, SHARES_DIR), 0o755);
        await chmod(folder, 0o775);
        if (owner === undefined) owner = (await this.o.filesOwner?.()) ?? null;
        if (owner) await chown(folder, owner.uid, owner.gid);
        const troubled = disk.verdict === 'warning' || disk.verdict === 'failing' || disk.leaving;
        branches.push({ path: folder, mode: troubled ? 'no-create' : 'read-write', reserveBytes: reserveOf(disk.sizeBytes) });
      }
      if (branches.length === 0) {
        // No disk to put files on: no view (Samba then shows nothing rather than an empty folder on the system disk).
        this.#mountedViews.delete(share.name);
        await this.o.views.unmount(where, { lazy: true });
        continue;
      }
      await this.o.views.mount(where, branches, { name: share.name, reserveBytes: reserveOf(null) });
      this.#mountedViews.add(share.name);
    }
  }
}

/** "2 copies of each file, on 2 different disks", "one copy (not duplicated)", "a copy on every disk". */
export function copiesWords(copies: Copies): string {
  if (copies === 'all') return 'a copy of each file on every disk of the pool';
  if (copies === 1) return 'one copy of each file (not duplicated: a dead disk loses what was on it)';
  return `${copies} copies of each file, each on a different disk`;
}
