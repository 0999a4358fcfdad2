/**
 * When the duplicator runs, and what the owner sees of it (docs/pool.md, "Duplication").
 *
 * Contract: the job `pool.duplicate` (target: a share's name, or null for every share) holds the
 * lock of every mounted pool disk, first deletes on each disk what was deleted while it was away
 * (the journal), then runs one reconcile pass per active share (server/pool/duplicator.ts), with
 * progress on the page. It is started: when a share is created or its level changes; when a disk
 * is mounted (start-up, plug-in); when files change on the disks (`notifyChanged`, coalesced);
 * every `SCHEDULE` (the reconcile that catches what no event announced); and by the owner. One is
 * queued at most: a request while one is queued joins it. Files that were still being written are
 * looked at again a few seconds later.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FileEvents, Watcher } from '../../system/fswatch/file-events.js';
import { MARKER_DIR } from '../../system/marker/drive-marker.js';
import type { Clock } from '../../system/clock.js';
import type { EventBus } from '../events.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { JobInterruptedError, type JobDefinition, type JobView } from '../jobs/job.model.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { ActivityService } from '../activity/activity.service.js';
import { ConflictError } from '../errors.js';
import { DiskGoneError, type Duplicator, type PassDisk, type PassResult } from './duplicator.js';
import type { CopyCounts, FileCatalogRepository } from './file-catalog.repository.js';
import { SHARES_DIR, type PoolMemberService } from './member.service.js';
import type { ShareRepository } from './share.repository.js';
import { cannotTake, wantedCopies } from './placement.js';
import { reserveOf } from './share.service.js';

export const DUPLICATE_JOB = 'pool.duplicate';
export const REMOVE_JOB = 'pool.remove';
/** The reconcile every so often (cron): a missed event costs at most this long. */
export const SCHEDULE = '*/15 * * * *';

/** What a share's files look like now, for the page and `safehold shares`. */
export interface ShareFiles {
  /** Files by number of verified copies: `{ "2": 12408, "1": 31 }`. */
  byCopies: CopyCounts;
  /** Files waiting for a copy because they were still being written at the last pass. */
  waiting: number;
  /** Files that have fewer copies than asked because no disk could take one (the first 20), and why. */
  short: { path: string; copies: number; wanted: number; why: string }[];
  /** Files not duplicated at all, and why (the first 20). */
  skipped: { path: string; why: string }[];
  lastPassAt: string | null;
}

/** What "it is gone" would copy, and what would not fit. */
export interface GonePreflight {
  /** Files that need one or more new copies, and the bytes those copies take. */
  files: number;
  bytes: number;
  /** Whether the disks that are here can hold every new copy they could take (beyond their reserves). */
  fits: boolean;
  /** The other disks here that take no new copy, and why (health, being removed, no room beyond the reserve). */
  notTaking: { driveId: string; displayName: string; why: string }[];
  /** Files that would keep fewer copies than their share asks, and the first 20 of them. */
  fewerCount: number;
  fewer: { share: string; path: string; copies: number; wanted: number }[];
  /** Files whose only copy was on that disk (a share at level 1): lost with it, unless a backup holds them; the first 20. */
  lostCount: number;
  lost: { share: string; path: string }[];
}

export interface DuplicationServiceOptions {
  duplicator: Duplicator;
  catalog: FileCatalogRepository;
  shares: ShareRepository;
  members: PoolMemberService;
  jobs: JobRunner;
  scheduler: Scheduler;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** Wait before a pass after a change (coalescing bursts of events). Default 1 s. */
  delayMs?: number;
  /** Events from the disks (system/fswatch): a pass soon after a change; none: the periodic pass only. */
  events?: FileEvents;
}

export class DuplicationService {
  readonly #last = new Map<string, { result: PassResult; at: number }>();
  #timer: NodeJS.Timeout | null = null;
  /** One watcher per mounted pool disk, on its `Safehold/shares`. */
  readonly #watchers = new Map<string, Watcher>();
  #stopped = false;

  constructor(private readonly o: DuplicationServiceOptions) {}

  start(): void {
    this.o.jobs.define(this.#job());
    this.o.jobs.define(this.#removeJob());
    this.o.bus.subscribe('shares', () => this.request());
    this.o.bus.subscribe('pool', () => {
      this.#watchDisks();
      if (this.o.members.mounted().length) this.request();
    });
    this.o.scheduler.set('pool.reconcile', SCHEDULE, () => this.request(0));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.all([...this.#watchers.values()].map((w) => w.close()));
    this.#watchers.clear();
  }

  /** A watcher on every mounted disk's shares folder, none on the others. Any change means a pass soon. */
  #watchDisks(): void {
    if (!this.o.events || this.#stopped) return;
    const mounted = new Map(this.o.members.mounted().map((m) => [m.driveId, join(m.mountpoint, MARKER_DIR, SHARES_DIR)]));
    for (const [driveId, watcher] of this.#watchers) {
      if (mounted.get(driveId) === watcher.root) continue;
      this.#watchers.delete(driveId);
      void watcher.close();
    }
    for (const [driveId, root] of mounted) {
      if (this.#watchers.has(driveId)) continue;
      const watcher = this.o.events.watch(root, { checkEveryMinutes: 15 });
      this.#watchers.set(driveId, watcher);
      void (async () => {
        for await (const batch of watcher) {
          for (const event of batch) {
            if (event.kind === 'rescan') this.o.log.info({ kind: 'pool.rescan', driveId, reason: event.reason }, event.message);
          }
          if (batch.length) this.request();
        }
      })().catch((err: unknown) => this.o.log.warn({ err, driveId }, 'watching a pool disk'));
    }
  }

  /** Files changed on a disk (events): a pass soon. */
  notifyChanged(): void {
    this.request();
  }

  /** A pass after `delayMs` (coalesced with one already asked for or queued). */
  request(delayMs = this.o.delayMs ?? 1000): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.runNow();
    }, delayMs);
    this.#timer.unref();
  }

  /** The job now (or the one already queued). Null when no disk is mounted. */
  runNow(): JobView | null {
    const queued = this.o.jobs.recent(20).find((j) => j.kind === DUPLICATE_JOB && j.state === 'queued');
    if (queued) return queued;
    const disks = this.o.members.mounted();
    if (disks.length === 0 || this.o.shares.list().every((s) => s.removedAt !== null)) return null;
    return this.o.jobs.submit(DUPLICATE_JOB, { resources: disks.map((d) => `disk:${d.driveId}`) });
  }

  /** "What if this disk died now?": for every pool disk, per share, the files and bytes that would lose their last copy. */
  async exposure(): Promise<{ driveId: string; displayName: string; state: string; files: number; bytes: number; shares: { share: string; files: number; bytes: number }[] }[]> {
    return (await this.o.members.list()).map((m) => {
      const shares = this.o.catalog.onlyOn(m.driveId);
      return {
        driveId: m.driveId,
        displayName: m.displayName,
        state: m.state,
        files: shares.reduce((n, s) => n + s.files, 0),
        bytes: shares.reduce((n, s) => n + s.bytes, 0),
        shares,
      };
    });
  }

  /**
   * Before "it is gone": what must be copied again (the files that had a copy on that disk and
   * would have fewer than their share asks), whether the disks that are here can hold it, and which
   * files would stay with fewer copies (the first 20).
   */
  async preflightGone(driveId: string, options: { present?: boolean } = {}): Promise<GonePreflight> {
    const { disks } = await this.#disks();
    const levels = new Map(this.o.shares.list().map((s) => [s.name.toLowerCase(), s.copies]));
    // The disks that can take copies: the same rule as placement (health, leaving), room beyond the reserve.
    const others = disks.filter((d) => d.driveId !== driveId);
    const takers = others.filter((d) => cannotTake(d, 0) === null);
    const notTaking = others.flatMap((d) => {
      const why = cannotTake(d, 0);
      return why === null ? [] : [{ driveId: d.driveId, displayName: d.displayName, why }];
    });
    const room = new Map(takers.map((d) => [d.driveId, Math.max(0, d.freeBytes - d.reserveBytes)]));
    const here = new Set(others.map((d) => d.driveId));
    let files = 0;
    let bytes = 0;
    const fewer: GonePreflight['fewer'] = [];
    let fewerCount = 0;
    const lost: GonePreflight['lost'] = [];
    let lostCount = 0;
    let stuck = 0;
    // Biggest first: the greedy fill says honestly what cannot fit.
    for (const f of this.o.catalog.filesOn(driveId).sort((a, b) => b.size - a.size)) {
      const level = levels.get(f.share.toLowerCase());
      if (level === undefined) continue;
      const wanted = wantedCopies(level, here.size);
      // What its share asks, which fewer disks may not be able to give.
      const asked = level === 'all' ? here.size : level;
      let have = f.others.filter((id) => here.has(id)).length;
      if (have >= wanted) {
        if (have < asked) {
          fewerCount++;
          if (fewer.length < 20) fewer.push({ share: f.share, path: f.path, copies: have, wanted: asked });
        }
        continue;
      }
      if (have === 0 && !options.present) {
        // Its only copy was on that disk: nothing to copy from.
        lostCount++;
        if (lost.length < 20) lost.push({ share: f.share, path: f.path });
        continue;
      }
      files++;
      bytes += f.size * (wanted - have);
      for (const [id, free] of [...room].sort((a, b) => b[1] - a[1])) {
        if (have >= wanted) break;
        if (f.others.includes(id) || free < f.size) continue;
        room.set(id, free - f.size);
        have++;
      }
      if (have < asked) {
        fewerCount++;
        if (fewer.length < 20) fewer.push({ share: f.share, path: f.path, copies: have, wanted: asked });
      }
      if (have < wanted) stuck++;
    }
    return { files, bytes, fits: stuck === 0, notTaking, fewerCount, fewer, lostCount, lost };
  }

  /** Guided removal: the job that copies away what would lose a copy, then releases the disk. */
  remove(driveId: string): JobView {
    if (!this.o.members.mounted().some((m) => m.driveId === driveId)) throw new ConflictError('That disk is not a mounted disk of the storage pool: a missing disk is removed by saying it is gone.');
    if (this.o.jobs.recent(20).some((j) => j.kind === REMOVE_JOB && j.target === driveId && (j.state === 'queued' || j.state === 'running'))) throw new ConflictError('That disk is already being removed.');
    return this.o.jobs.submit(REMOVE_JOB, { target: driveId, resources: this.o.members.mounted().map((d) => `disk:${d.driveId}`) });
  }

  #removeJob(): JobDefinition {
    return {
      kind: REMOVE_JOB,
      title: () => 'Remove a disk from the storage pool',
      run: async ({ target, signal, progress }) => {
        const driveId = target ?? '';
        this.o.members.setLeaving(driveId, true);
        try {
          const { disks, away } = await this.#disks();
          if (!disks.some((d) => d.driveId === driveId)) throw new ConflictError('That disk is no longer mounted: nothing was changed.');
          let filesDone = 0;
          const why: string[] = [];
          for (const share of this.o.shares.list().filter((s) => s.removedAt === null)) {
            const result = await this.o.duplicator.pass({ share: share.name, copies: share.copies, disks, away, signal, onFile: (path) => progress({ itemsDone: ++filesDone, current: `${share.name}/${path}` }) });
            this.#last.set(share.name.toLowerCase(), { result, at: this.o.clock.now() });
            for (const s of result.short) why.push(`${share.name}/${s.path}: ${s.why}`);
            if (result.waiting) why.push(`${result.waiting} file${result.waiting === 1 ? '' : 's'} of ${share.name} still being written`);
          }
          // Released only when it holds no copy that the others lack.
          const stays = await this.preflightGone(driveId, { present: true });
          if (stays.files > 0) {
            throw new ConflictError(
              `${stays.files} file${stays.files === 1 ? '' : 's'} could not be copied to the other disks yet (${why.slice(0, 3).join('; ') || 'they changed meanwhile'}): the disk stays in the pool, and nothing was lost. Make room or wait, then remove it again.`,
            );
          }
          this.o.catalog.forgetDisk(driveId);
          await this.o.members.release(driveId);
          this.o.bus.publish('duplication', { at: new Date(this.o.clock.now()).toISOString() });
          return 'The disk left the pool: every file it held has its copies on the other disks. It can be unplugged.';
        } finally {
          if (this.o.members.mounted().some((m) => m.driveId === driveId)) this.o.members.setLeaving(driveId, false);
        }
      },
    };
  }

  /** "It is gone": its copies are forgotten, it leaves the pool, and a pass makes the new copies. */
  async gone(driveId: string): Promise<GonePreflight> {
    const preflight = await this.preflightGone(driveId);
    await this.o.members.forget(driveId);
    this.o.catalog.forgetDisk(driveId);
    this.request(0);
    return preflight;
  }

  filesOf(share: string): ShareFiles {
    const last = this.#last.get(share.toLowerCase());
    return {
      byCopies: this.o.catalog.copyCounts(share),
      waiting: last?.result.waiting ?? 0,
      short: last?.result.short.slice(0, 20) ?? [],
      skipped: last?.result.skipped.slice(0, 20) ?? [],
      lastPassAt: last ? new Date(last.at).toISOString() : null,
    };
  }

  async #disks(): Promise<{ disks: (PassDisk & { displayName: string })[]; away: Set<string> }> {
    const members = await this.o.members.list();
    const disks = members
      .filter((m) => m.state === 'mounted')
      .map((m) => ({ driveId: m.driveId, displayName: m.displayName, mountpoint: m.mountpoint, freeBytes: m.freeBytes ?? 0, reserveBytes: reserveOf(m.sizeBytes), verdict: m.verdict, leaving: m.leaving }));
    return { disks, away: new Set(members.filter((m) => m.state !== 'mounted').map((m) => m.driveId)) };
  }

  #job(): JobDefinition {
    return {
      kind: DUPLICATE_JOB,
      title: () => 'Duplicate the shares\' files onto the pool\'s disks',
      run: async ({ signal, progress }) => {
        const { disks, away } = await this.#disks();
        let caughtUp = 0;
        for (const disk of disks) caughtUp += await this.o.duplicator.catchUp(disk);
        if (caughtUp) {
          this.o.activity.record({ level: 'info', kind: 'pool.caught-up', message: `Deleted ${caughtUp} file${caughtUp === 1 ? '' : 's'} from a pool disk that was away when ${caughtUp === 1 ? 'it was' : 'they were'} deleted through the share.` });
        }
        let filesDone = 0;
        let copied = 0;
        let waiting = 0;
        const shortShares: string[] = [];
        for (const share of this.o.shares.list().filter((s) => s.removedAt === null)) {
          let result: PassResult;
          try {
            result = await this.o.duplicator.pass({
              share: share.name,
              copies: share.copies,
              disks,
              away,
              signal,
              onFile: (path) => progress({ itemsDone: ++filesDone, current: `${share.name}/${path}` }),
            });
          } catch (error) {
            if (!(error instanceof DiskGoneError)) throw error;
            this.request(5000); // the pool's state settles (the disk missing), then the next pass goes on
            throw new JobInterruptedError('A pool disk stopped answering during a copy (pulled out, or failing): that copy was not counted, and every file keeps the copies it had. The copies are made when the disk is back, or on the other disks.', { cause: error });
          }
          this.#last.set(share.name.toLowerCase(), { result, at: this.o.clock.now() });
          copied += result.copied;
          waiting += result.waiting;
          if (result.short.length) shortShares.push(`${share.name}: ${result.short.length} file${result.short.length === 1 ? '' : 's'} with fewer copies than asked (${result.short[0]!.why})`);
          if (result.mismatches) {
            this.o.activity.record({ level: 'warning', kind: 'pool.copy-mismatch', subject: share.name, message: `${result.mismatches} cop${result.mismatches === 1 ? 'y' : 'ies'} of files in ${share.name} did not match their source when read back and ${result.mismatches === 1 ? 'was' : 'were'} removed; they are made again.` });
          }
        }
        this.o.bus.publish('duplication', { at: new Date(this.o.clock.now()).toISOString() });
        if (waiting) this.request(3000);
        const parts = [`${filesDone} file${filesDone === 1 ? '' : 's'} looked at`, `${copied} cop${copied === 1 ? 'y' : 'ies'} made`];
        if (waiting) parts.push(`${waiting} still being written (next pass)`);
        return [parts.join(', '), ...shortShares].join('. ');
      },
    };
  }
}
