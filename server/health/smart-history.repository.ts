/**
 * Every SQL query about SMART reads: the history of key values per drive (kept at least a year),
 * the latest raw read, and the owner's acknowledgements. The policy (what to read, how to judge)
 * lives elsewhere.
 */
import type { SmartState as ReadState } from '../../system/smart/smartctl.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Verdict as StoredVerdict } from './health.model.js';

export type { ReadState, StoredVerdict };

export interface SmartReadRecord {
  driveId: string;
  at: number;
  state: ReadState;
  verdict: StoredVerdict;
  temperatureC: number | null;
  powerOnHours: number | null;
  counters: Record<string, number>;
}

export interface LatestRead {
  driveId: string;
  at: number;
  state: ReadState;
  verdict: StoredVerdict;
  reasons: unknown[];
  temperatureC: number | null;
  /** smartctl's JSON text of the last real read (kept while the disk sleeps); null when none. */
  raw: string | null;
  deviceType: string | null;
}

export interface Acknowledgement {
  driveId: string;
  key: string;
  value: number;
  note: string | null;
  at: number;
}

interface ReadRow {
  drive_id: string;
  at: number;
  state: ReadState;
  verdict: StoredVerdict;
  temperature_c: number | null;
  power_on_hours: number | null;
  counters: string;
}

const toRecord = (r: ReadRow): SmartReadRecord => ({
  driveId: r.drive_id,
  at: r.at,
  state: r.state,
  verdict: r.verdict,
  temperatureC: r.temperature_c,
  powerOnHours: r.power_on_hours,
  counters: JSON.parse(r.counters) as Record<string, number>,
});

const DAY_MS = 24 * 3600 * 1000;

export class SmartHistoryRepository {
  constructor(readonly db: Catalog) {}

  /**
   * Record one read in one transaction: the drive's latest state, and, for a real read (`read`
   * given), a history row. A null `raw` or `deviceType` keeps the stored one (a sleeping disk's read
   * has none).
   */
  record(latest: LatestRead, read?: SmartReadRecord): void {
    this.db.transaction(() => {
      if (read) {
        this.db
          .prepare(
            `INSERT INTO smart_reads (drive_id, at, state, verdict, temperature_c, power_on_hours, counters)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(read.driveId, read.at, read.state, read.verdict, read.temperatureC, read.powerOnHours, JSON.stringify(read.counters));
      }
      this.db
        .prepare(
          `INSERT INTO smart_latest (drive_id, at, state, verdict, reasons, temperature_c, raw, device_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (drive_id) DO UPDATE SET at = excluded.at, state = excluded.state, verdict = excluded.verdict,
             reasons = excluded.reasons, temperature_c = excluded.temperature_c, raw = COALESCE(excluded.raw, smart_latest.raw),
             device_type = COALESCE(excluded.device_type, smart_latest.device_type)`,
        )
        .run(latest.driveId, latest.at, latest.state, latest.verdict, JSON.stringify(latest.reasons), latest.temperatureC, latest.raw, latest.deviceType);
    })();
  }

  latest(driveId: string): LatestRead | undefined {
    const row = this.db.prepare('SELECT * FROM smart_latest WHERE drive_id = ?').get(driveId) as
      | {
          drive_id: string;
          at: number;
          state: ReadState;
          verdict: StoredVerdict;
          reasons: string;
          temperature_c: number | null;
          raw: string | null;
          device_type: string | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      driveId: row.drive_id,
      at: row.at,
      state: row.state,
      verdict: row.verdict,
      reasons: JSON.parse(row.reasons) as unknown[],
      temperatureC: row.temperature_c,
      raw: row.raw,
      deviceType: row.device_type,
    };
  }

  /** The newest real read, for trends; undefined when none. */
  lastRead(driveId: string, before = Number.MAX_SAFE_INTEGER): SmartReadRecord | undefined {
    const row = this.db
      .prepare(`SELECT * FROM smart_reads WHERE drive_id = ? AND at < ? ORDER BY at DESC LIMIT 1`)
      .get(driveId, before) as ReadRow | undefined;
    return row && toRecord(row);
  }

  /** History of one drive between two times, oldest first (temperature chart, trends). */
  history(driveId: string, from: number, to: number): SmartReadRecord[] {
    return (
      this.db.prepare('SELECT * FROM smart_reads WHERE drive_id = ? AND at >= ? AND at <= ? ORDER BY at').all(driveId, from, to) as ReadRow[]
    ).map(toRecord);
  }

  /**
   * Compaction: reads older than `olderThan` are reduced to one row per drive and day, keeping the
   * day's highest temperature, its last counters and power-on hours, and its worst verdict. Rows
   * older than `dropBefore` (default: none) are deleted. Returns how many rows were removed.
   */
  compact(olderThan: number, dropBefore?: number): number {
    return this.db.transaction(() => {
      const before = (this.db.prepare('SELECT count(*) AS n FROM smart_reads').get() as { n: number }).n;
      const days = this.db
        .prepare(
          `SELECT drive_id, at / ${DAY_MS} AS day FROM smart_reads
           WHERE at < ? AND compacted = 0 GROUP BY drive_id, day`,
        )
        .all(olderThan) as { drive_id: string; day: number }[];
      const rows = this.db.prepare(
        `SELECT * FROM smart_reads WHERE drive_id = ? AND at >= ? AND at < ? AND compacted = 0 ORDER BY at`,
      );
      const del = this.db.prepare('DELETE FROM smart_reads WHERE drive_id = ? AND at >= ? AND at < ? AND compacted = 0');
      const insert = this.db.prepare(
        `INSERT INTO smart_reads (drive_id, at, state, verdict, temperature_c, power_on_hours, counters, compacted)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
      );
      for (const { drive_id, day } of days) {
        const start = day * DAY_MS;
        const end = Math.min(start + DAY_MS, olderThan);
        const dayRows = rows.all(drive_id, start, end) as ReadRow[];
        const withData = dayRows.filter((r) => r.state === 'read');
        const last = withData.at(-1) ?? dayRows.at(-1)!;
        const worst = dayRows.reduce((a, b) => (rankOf(b.verdict) > rankOf(a.verdict) ? b : a));
        const temps = dayRows.map((r) => r.temperature_c).filter((t): t is number => t !== null);
        del.run(drive_id, start, end);
        insert.run(drive_id, last.at, last.state, worst.verdict, temps.length ? Math.max(...temps) : null, last.power_on_hours, last.counters);
      }
      if (dropBefore !== undefined) this.db.prepare('DELETE FROM smart_reads WHERE at < ?').run(dropBefore);
      const after = (this.db.prepare('SELECT count(*) AS n FROM smart_reads').get() as { n: number }).n;
      return before - after;
    })();
  }

  acknowledge(ack: Acknowledgement): void {
    this.db
      .prepare(
        `INSERT INTO smart_acks (drive_id, key, value, note, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (drive_id, key) DO UPDATE SET value = excluded.value, note = excluded.note, at = excluded.at`,
      )
      .run(ack.driveId, ack.key, ack.value, ack.note, ack.at);
  }

  acknowledgements(driveId: string): Acknowledgement[] {
    return (
      this.db.prepare('SELECT * FROM smart_acks WHERE drive_id = ? ORDER BY key').all(driveId) as {
        drive_id: string;
        key: string;
        value: number;
        note: string | null;
        at: number;
      }[]
    ).map((r) => ({ driveId: r.drive_id, key: r.key, value: r.value, note: r.note, at: r.at }));
  }

  removeAcknowledgement(driveId: string, key: string): boolean {
    return this.db.prepare('DELETE FROM smart_acks WHERE drive_id = ? AND key = ?').run(driveId, key).changes === 1;
  }
}

function rankOf(verdict: StoredVerdict): number {
  return { failing: 3, warning: 2, healthy: 1, unknown: 0 }[verdict];
}
