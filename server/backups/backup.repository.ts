/** Every SQL query about backup runs, the snapshots on rotation drives and the rotation ledger's columns. */
import type { Catalog } from '../catalog/catalog.js';
import type { BackupOutcome, CheckView, DrillView, SourceRunView } from './backup.view.js';

export interface RunRow {
  id: number;
  driveId: string;
  jobId: number | null;
  startedAt: number;
  finishedAt: number | null;
  outcome: BackupOutcome;
  message: string | null;
  sources: SourceRunView[];
  check: CheckView | null;
  drill: DrillView | null;
  usedBytes: number | null;
  capacityBytes: number | null;
  safeToUnplug: boolean;
}

export interface SnapshotRow {
  driveId: string;
  id: string;
  source: string;
  paths: string[];
  time: number;
  runId: number | null;
  files: number | null;
  bytes: number | null;
  filesNew: number | null;
  filesChanged: number | null;
  suspicious: string | null;
}

/** The ledger's own columns of `rotation_drives`. */
export interface LedgerRow {
  lastPluggedAt: number | null;
  lastUnpluggedAt: number | null;
  capacityBytes: number | null;
  freeBytes: number | null;
  checkNextSlice: number;
  slicesRead: number[];
  fullyReadAt: number | null;
  pruneSuspendedAt: number | null;
  pruneSuspendedReason: string | null;
  lastPrunedAt: number | null;
}

const json = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));

/* eslint-disable @typescript-eslint/no-explicit-any */
const toRun = (r: any): RunRow => ({
  id: r.id,
  driveId: r.drive_id,
  jobId: r.job_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  outcome: r.outcome,
  message: r.message,
  // Runs saved before file notes existed have none.
  sources: (json(r.sources, []) as SourceRunView[]).map((s) => ({ ...s, fileNotes: s.fileNotes ?? [], fileNoteCounts: s.fileNoteCounts ?? { unreadable: 0, changed: 0, 'owner-cannot-read': 0 } })),
  check: json(r.check_result, null),
  drill: json(r.drill_result, null),
  usedBytes: r.used_bytes,
  capacityBytes: r.capacity_bytes,
  safeToUnplug: r.safe_to_unplug === 1,
});

const toSnapshot = (r: any): SnapshotRow => ({
  driveId: r.drive_id,
  id: r.id,
  source: r.source,
  paths: json(r.paths, []),
  time: r.time,
  runId: r.run_id,
  files: r.files,
  bytes: r.bytes,
  filesNew: r.files_new,
  filesChanged: r.files_changed,
  suspicious: r.suspicious,
});

export class BackupRepository {
  constructor(readonly db: Catalog) {}

  // --- runs -----------------------------------------------------------------------------------

  startRun(driveId: string, jobId: number | null, now: number): RunRow {
    const id = this.db.prepare("INSERT INTO backup_runs (drive_id, job_id, started_at, outcome) VALUES (?, ?, ?, 'running')").run(driveId, jobId, now).lastInsertRowid;
    return this.run(Number(id))!;
  }

  saveRun(run: RunRow): void {
    this.db
      .prepare(
        `UPDATE backup_runs SET finished_at = ?, outcome = ?, message = ?, sources = ?, check_result = ?, drill_result = ?,
           used_bytes = ?, capacity_bytes = ?, safe_to_unplug = ? WHERE id = ?`,
      )
      .run(
        run.finishedAt,
        run.outcome,
        run.message,
        JSON.stringify(run.sources),
        run.check && JSON.stringify(run.check),
        run.drill && JSON.stringify(run.drill),
        run.usedBytes,
        run.capacityBytes,
        run.safeToUnplug ? 1 : 0,
        run.id,
      );
  }

  run(id: number): RunRow | undefined {
    const row = this.db.prepare('SELECT * FROM backup_runs WHERE id = ?').get(id);
    return row ? toRun(row) : undefined;
  }

  /** Newest first. */
  runs(options: { driveId?: string; limit: number }): RunRow[] {
    const rows = options.driveId
      ? this.db.prepare('SELECT * FROM backup_runs WHERE drive_id = ? ORDER BY id DESC LIMIT ?').all(options.driveId, options.limit)
      : this.db.prepare('SELECT * FROM backup_runs ORDER BY id DESC LIMIT ?').all(options.limit);
    return rows.map(toRun);
  }

  lastRun(driveId: string): RunRow | undefined {
    return this.runs({ driveId, limit: 1 })[0];
  }

  /**
   * The newest run of the drive that ended good or partial and backed at least one source up: a run
   * whose every source was refused (a disk not mounted) protected nothing new, so it is not one.
   */
  lastGoodRun(driveId: string): RunRow | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM backup_runs WHERE drive_id = ? AND outcome IN ('good','partial')
           AND EXISTS (SELECT 1 FROM json_each(backup_runs.sources) WHERE json_extract(value, '$.outcome') = 'backed-up')
         ORDER BY id DESC LIMIT 1`,
      )
      .get(driveId);
    return row ? toRun(row) : undefined;
  }

  /** Good runs with a measured drive usage, oldest first, for the "full by" forecast. */
  usageHistory(driveId: string, limit = 20): Array<{ at: number; usedBytes: number; capacityBytes: number }> {
    const rows = this.db
      .prepare(
        `SELECT finished_at AS at, used_bytes AS usedBytes, capacity_bytes AS capacityBytes FROM backup_runs
         WHERE drive_id = ? AND outcome IN ('good','partial') AND used_bytes IS NOT NULL AND capacity_bytes IS NOT NULL
         ORDER BY id DESC LIMIT ?`,
      )
      .all(driveId, limit) as Array<{ at: number; usedBytes: number; capacityBytes: number }>;
    return rows.reverse();
  }

  /** Runs left `running` (by a process that died), oldest first, with the sources they had saved. */
  runsLeftRunning(): RunRow[] {
    return this.db.prepare("SELECT * FROM backup_runs WHERE outcome = 'running' ORDER BY id").all().map(toRun);
  }

  // --- snapshots --------------------------------------------------------------------------------

  /** Oldest first. */
  snapshots(driveId: string): SnapshotRow[] {
    return this.db.prepare('SELECT * FROM snapshots WHERE drive_id = ? ORDER BY time, id').all(driveId).map(toSnapshot);
  }

  snapshot(driveId: string, id: string): SnapshotRow | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots WHERE drive_id = ? AND (id = ? OR substr(id, 1, 8) = ?)').get(driveId, id, id);
    return row ? toSnapshot(row) : undefined;
  }

  /** The newest snapshot of a source on one drive. */
  latestOf(source: string, driveId: string): SnapshotRow | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots WHERE source = ? AND drive_id = ? ORDER BY time DESC LIMIT 1').get(source, driveId);
    return row ? toSnapshot(row) : undefined;
  }

  /** The newest snapshot of a source on any drive whose file count is known. */
  latestCountedOf(source: string): SnapshotRow | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots WHERE source = ? AND files IS NOT NULL ORDER BY time DESC LIMIT 1').get(source);
    return row ? toSnapshot(row) : undefined;
  }

  /** Distinct sources with snapshots on the drive. */
  sourcesOn(driveId: string): string[] {
    return (this.db.prepare('SELECT DISTINCT source FROM snapshots WHERE drive_id = ? ORDER BY source').all(driveId) as Array<{ source: string }>).map((r) => r.source);
  }

  addSnapshot(row: SnapshotRow): void {
    this.db
      .prepare(
        `INSERT INTO snapshots (drive_id, id, source, paths, time, run_id, files, bytes, files_new, files_changed, suspicious)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (drive_id, id) DO UPDATE SET run_id = excluded.run_id, files = excluded.files, bytes = excluded.bytes,
           files_new = excluded.files_new, files_changed = excluded.files_changed, suspicious = excluded.suspicious`,
      )
      .run(row.driveId, row.id, row.source, JSON.stringify(row.paths), row.time, row.runId, row.files, row.bytes, row.filesNew, row.filesChanged, row.suspicious);
  }

  /**
   * Makes the catalog's list of the drive's snapshots what restic says is on it: a row recorded
   * under restic's short id (as `backup` prints it) takes the full id it starts, keeping its
   * counts; rows for snapshots gone from the drive (forgotten) are removed; snapshots found on the
   * drive that the catalog did not know are added (without counts). What it knew of the rest is kept.
   */
  reconcileSnapshots(driveId: string, onDrive: Array<{ id: string; source: string; paths: string[]; time: number }>): void {
    this.db.transaction(() => {
      const known = new Set(this.snapshots(driveId).map((s) => s.id));
      const present = new Set(onDrive.map((s) => s.id));
      for (const id of [...known]) {
        if (present.has(id)) continue;
        const full = id.length < 64 ? onDrive.find((s) => s.id.startsWith(id) && !known.has(s.id)) : undefined;
        if (full) {
          this.db.prepare('UPDATE snapshots SET id = ?, paths = ?, time = ? WHERE drive_id = ? AND id = ?').run(full.id, JSON.stringify(full.paths), full.time, driveId, id);
          known.add(full.id);
        } else {
          this.db.prepare('DELETE FROM snapshots WHERE drive_id = ? AND id = ?').run(driveId, id);
        }
      }
      for (const s of onDrive) {
        if (known.has(s.id)) continue;
        this.addSnapshot({ driveId, id: s.id, source: s.source, paths: s.paths, time: s.time, runId: null, files: null, bytes: null, filesNew: null, filesChanged: null, suspicious: null });
      }
    })();
  }

  // --- the ledger's columns -------------------------------------------------------------------

  ledger(driveId: string): LedgerRow {
    const r = this.db.prepare('SELECT * FROM rotation_drives WHERE drive_id = ?').get(driveId) as any;
    return {
      lastPluggedAt: r?.last_plugged_at ?? null,
      lastUnpluggedAt: r?.last_unplugged_at ?? null,
      capacityBytes: r?.capacity_bytes ?? null,
      freeBytes: r?.free_bytes ?? null,
      checkNextSlice: r?.check_next_slice ?? 1,
      slicesRead: json(r?.slices_read ?? null, []),
      fullyReadAt: r?.fully_read_at ?? null,
      pruneSuspendedAt: r?.prune_suspended_at ?? null,
      pruneSuspendedReason: r?.prune_suspended_reason ?? null,
      lastPrunedAt: r?.last_pruned_at ?? null,
    };
  }

  setPlugged(driveId: string, plugged: boolean, now: number): void {
    this.db.prepare(`UPDATE rotation_drives SET ${plugged ? 'last_plugged_at' : 'last_unplugged_at'} = ? WHERE drive_id = ?`).run(now, driveId);
  }

  setSpace(driveId: string, capacityBytes: number, freeBytes: number): void {
    this.db.prepare('UPDATE rotation_drives SET capacity_bytes = ?, free_bytes = ? WHERE drive_id = ?').run(capacityBytes, freeBytes, driveId);
  }

  setCheckRound(driveId: string, nextSlice: number, slicesRead: number[], fullyReadAt: number | null): void {
    this.db.prepare('UPDATE rotation_drives SET check_next_slice = ?, slices_read = ?, fully_read_at = ? WHERE drive_id = ?').run(nextSlice, JSON.stringify(slicesRead), fullyReadAt, driveId);
  }

  suspendPruning(driveId: string, reason: string | null, now: number | null): void {
    this.db.prepare('UPDATE rotation_drives SET prune_suspended_at = ?, prune_suspended_reason = ? WHERE drive_id = ?').run(now, reason, driveId);
  }

  setPruned(driveId: string, now: number): void {
    this.db.prepare('UPDATE rotation_drives SET last_pruned_at = ? WHERE drive_id = ?').run(now, driveId);
  }
}
