/** Every SQL query about alerts: what was last told to the owner, per alert key (table alert_memory). */
import type { Catalog } from '../catalog/catalog.js';
import type { AlertMemory } from './alert-policy.js';

export interface StoredAlert extends AlertMemory {
  driveId: string | null;
  severity: 'warning' | 'error';
  message: string;
}

interface Row {
  key: string;
  drive_id: string | null;
  severity: 'warning' | 'error';
  message: string;
  state: string;
  normal: number;
  since: number;
  last_sent_at: number;
  send_count: number;
}

const toStored = (r: Row): StoredAlert => ({
  key: r.key,
  driveId: r.drive_id,
  severity: r.severity,
  message: r.message,
  state: r.state,
  normal: r.normal === 1,
  since: r.since,
  lastSentAt: r.last_sent_at,
  sendCount: r.send_count,
});

export class AlertRepository {
  constructor(readonly db: Catalog) {}

  get(key: string): StoredAlert | undefined {
    const row = this.db.prepare('SELECT * FROM alert_memory WHERE key = ?').get(key) as Row | undefined;
    return row && toStored(row);
  }

  /** Problems going on now, errors first, then the oldest first. */
  open(): StoredAlert[] {
    return (
      this.db.prepare(`SELECT * FROM alert_memory WHERE normal = 0 ORDER BY severity = 'error' DESC, since`).all() as Row[]
    ).map(toStored);
  }

  save(alert: StoredAlert): void {
    this.db
      .prepare(
        `INSERT INTO alert_memory (key, drive_id, severity, message, state, normal, since, last_sent_at, send_count)
         VALUES (@key, @driveId, @severity, @message, @state, @normal, @since, @lastSentAt, @sendCount)
         ON CONFLICT (key) DO UPDATE SET drive_id = @driveId, severity = @severity, message = @message, state = @state,
           normal = @normal, since = @since, last_sent_at = @lastSentAt, send_count = @sendCount`,
      )
      .run({ ...alert, normal: alert.normal ? 1 : 0 });
  }

  remove(key: string): void {
    this.db.prepare('DELETE FROM alert_memory WHERE key = ?').run(key);
  }
}
