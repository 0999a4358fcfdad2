/**
 * Drive inventory: reads the block devices through the adapter, gives each a stable identity and a
 * role, records them in the catalog, writes "connected" / "disconnected" to the activity log and
 * publishes the new list to the page.
 *
 * Contract: `refresh()` is the only writer of the `drives` table's inventory columns, and runs one
 * at a time (a call waits for the one running). It is run as the job `drives.refresh`, and by the
 * code that mounts or unmounts a drive (server/backups/drive-access.ts) once it has, so the view
 * never shows a mount point the service has taken away (or lacks one it made). A drive that is not
 * seen is marked disconnected, never deleted.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../system/clock.js';
import type { BlockDevices, DiskFacts } from '../../system/drives/block-devices.js';
import type { ActivityService } from '../activity/activity.service.js';
import { NotFoundError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { JobDefinition } from '../jobs/job.model.js';
import type { DriveHealthSummary } from '../health/health.view.js';
import { describeForLog, displayName, identify, systemRole, type DriveView, type IdentityKind, type RoleRecord } from './drive.model.js';
import type { DriveRepository, StoredDrive } from './drive.repository.js';

export const REFRESH_JOB = 'drives.refresh';
export const INVENTORY_LOCK = 'inventory';

export interface RefreshResult {
  connected: DriveView[];
  disconnected: DriveView[];
  total: number;
}

export interface DriveServiceOptions {
  repo: DriveRepository;
  devices: BlockDevices;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** Absolute path of Safehold's data folder: its disk is a system disk. */
  dataDir: string;
}

export class DriveService {
  #drives: DriveView[] = [];
  #refreshedAt: number | null = null;
  #healthOf: (driveId: string) => DriveHealthSummary | null = () => null;
  readonly #o: DriveServiceOptions;

  constructor(options: DriveServiceOptions) {
    this.#o = options;
    this.#drives = this.#toViews(options.repo.connected());
  }

  /** Where each drive's health summary comes from (the health service, set once at start-up). */
  setHealthSource(healthOf: (driveId: string) => DriveHealthSummary | null): void {
    this.#healthOf = healthOf;
    this.#drives = this.#toViews(this.#o.repo.connected());
  }

  /** Recompute the views (health or a stored role changed) and publish them if anything differs. */
  republish(): void {
    const views = this.#toViews(this.#o.repo.connected());
    const changed = JSON.stringify(stripTimes(views)) !== JSON.stringify(stripTimes(this.#drives));
    this.#drives = views;
    if (changed) this.#o.bus.publish('drives', { drives: views, refreshedAt: this.refreshedAt() });
  }

  /** Connected drives, system disk first, then by kernel name. */
  list(): DriveView[] {
    return this.#drives;
  }

  get(id: string): DriveView {
    const drive = this.#drives.find((d) => d.id === id);
    if (!drive) throw new NotFoundError(`No connected drive has the id "${id}".`);
    return drive;
  }

  /** A drive connected now, or the last view of one that is away (`connected: false`); null when never seen. */
  known(id: string): { drive: DriveView; connected: boolean } | null {
    const connected = this.#drives.find((d) => d.id === id);
    if (connected) return { drive: connected, connected: true };
    const stored = this.#o.repo.get(id);
    return stored ? { drive: this.#toViews([stored])[0]!, connected: false } : null;
  }

  /** What the last inventory read said of a drive, connected or not (a rotation drive that is away); null when never seen. */
  lastKnown(id: string): { model: string | null; serial: string | null; wwn: string | null } | null {
    const stored = this.#o.repo.get(id);
    return stored ? { model: stored.facts.model, serial: stored.facts.serial, wwn: stored.facts.wwn } : null;
  }

  /** Give a connected drive the owner's name (null: back to its model name). */
  rename(id: string, name: string | null): DriveView {
    const before = this.get(id);
    this.#o.repo.setName(id, name);
    this.republish();
    const after = this.get(id);
    this.#o.activity.record({
      level: 'info',
      kind: 'drive.renamed',
      subject: id,
      message: name ? `${describeForLog(before)} is now called "${name}".` : `${before.displayName} no longer has a name of its own: it is shown as ${after.displayName}.`,
    });
    return after;
  }

  /**
   * Write a drive's stored role. Called by the owner of the role only (the rotation service), inside
   * the transaction that records the rest of it; call `republish()` once that has committed.
   */
  assignRole(id: string, record: RoleRecord): void {
    if (!this.#o.repo.setRole(id, record)) throw new NotFoundError(`Safehold knows no drive with the id "${id}".`);
  }

  refreshedAt(): string | null {
    return this.#refreshedAt === null ? null : new Date(this.#refreshedAt).toISOString();
  }

  /** Read the devices now and record what changed; after the refresh already running, if one is. */
  refresh(signal?: AbortSignal): Promise<RefreshResult> {
    const next = this.#refreshing.then(() => this.#refresh(signal));
    this.#refreshing = next.catch(() => undefined);
    return next;
  }

  #refreshing: Promise<unknown> = Promise.resolve();

  async #refresh(signal?: AbortSignal): Promise<RefreshResult> {
    const { repo, devices, activity, bus, clock } = this.#o;
    const facts = await devices.list(signal);
    signal?.throwIfAborted();
    const before = new Map(this.#drives.map((d) => [d.id, d]));

    const seen = uniqueIdentities(facts);
    const now = clock.now();
    const goneIds = repo.recordInventory(seen, now);
    const views = this.#toViews(repo.connected());
    const connected = views.filter((d) => !before.has(d.id));
    const disconnected = goneIds.map((id) => before.get(id)).filter((d): d is DriveView => d !== undefined);

    for (const drive of connected) {
      activity.record({
        level: 'info',
        kind: 'drive.attached',
        subject: drive.id,
        message: `Drive connected: ${describeForLog(drive)}`,
      });
    }
    for (const drive of disconnected) {
      activity.record({
        level: drive.role === 'system' ? 'error' : 'info',
        kind: 'drive.detached',
        subject: drive.id,
        message: `Drive disconnected: ${describeForLog(drive)}`,
      });
    }
    const changed = JSON.stringify(stripTimes(views)) !== JSON.stringify(stripTimes(this.#drives));
    this.#drives = views;
    this.#refreshedAt = now;
    if (changed) bus.publish('drives', { drives: views, refreshedAt: this.refreshedAt() });
    if (connected.length || disconnected.length) bus.publish('inventory', { connected, disconnected });
    return { connected, disconnected, total: views.length };
  }

  /** The job that runs `refresh()`. */
  refreshJob(): JobDefinition {
    return {
      kind: REFRESH_JOB,
      title: () => 'Read the drive inventory',
      run: async ({ signal }) => {
        const result = await this.refresh(signal);
        const parts = [`${result.total} drive${result.total === 1 ? '' : 's'} connected`];
        if (result.connected.length) parts.push(`${result.connected.length} new`);
        if (result.disconnected.length) parts.push(`${result.disconnected.length} gone`);
        return parts.join(', ');
      },
    };
  }

  #toViews(stored: StoredDrive[]): DriveView[] {
    const roles = systemRole(
      stored.map((s) => s.facts),
      this.#o.dataDir,
    );
    return stored
      .map((s): DriveView => {
        const f = s.facts;
        const systemReason = roles.get(f.name) ?? null;
        const assigned = systemReason ? null : s.role;
        const rotation = assigned?.role === 'rotation' ? { name: assigned.label ?? '', registeredAt: new Date(assigned.since ?? s.firstSeenAt).toISOString() } : null;
        const reason = systemReason ?? (rotation ? `Rotation backup drive ${rotation.name}` : assigned?.role === 'pool' ? 'A disk of the storage pool' : null);
        return {
          id: s.id,
          identity: { kind: s.identityKind, value: identify(f).value },
          name: f.name,
          path: f.path,
          ownerName: s.name,
          deviceName: displayName(f),
          displayName: s.name ?? displayName(f),
          model: f.model,
          vendor: f.vendor,
          serial: f.serial,
          wwn: f.wwn,
          sizeBytes: f.sizeBytes,
          bus: f.bus,
          removable: f.removable,
          rotational: f.rotational,
          readOnly: f.readOnly,
          role: systemReason ? 'system' : (assigned?.role ?? 'unassigned'),
          roleReason: reason,
          partitions: f.partitions,
          health: this.#healthOf(s.id),
          rotation,
          firstSeenAt: new Date(s.firstSeenAt).toISOString(),
          lastSeenAt: new Date(s.lastSeenAt).toISOString(),
        };
      })
      .sort((a, b) => Number(b.role === 'system') - Number(a.role === 'system') || a.name.localeCompare(b.name, 'en', { numeric: true }));
  }
}

/** Two disks with one identity (a cloned filesystem UUID) must not share a row: suffix the later ones. */
function uniqueIdentities(facts: DiskFacts[]): { id: string; identityKind: IdentityKind; facts: DiskFacts }[] {
  const used = new Set<string>();
  return facts.map((f) => {
    const identity = identify(f);
    let id = identity.id;
    if (used.has(id)) id = `${identity.id}--${f.name}`;
    used.add(id);
    return { id, identityKind: identity.kind, facts: f };
  });
}

function stripTimes(views: DriveView[]) {
  return views.map(({ lastSeenAt: _l, ...rest }) => rest);
}
