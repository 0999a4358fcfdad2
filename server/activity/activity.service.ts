/**
 * Writes the activity log, tells whoever listens (the page, through the event bus), and writes each
 * entry as one line of the service's log (pino, standard output).
 *
 * Contract of the log line: the entry's level (info → info, warning → warn, error → error), its
 * `kind` and `subject` as fields and its message as pino's `msg`; never its `data`, which is for the
 * catalog alone. Messages are written for the owner and hold no secret (no password, code, token).
 */
import type { Clock } from '../../system/clock.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { ActivityEntry, ActivityLevel, ActivityRepository, NewActivity } from './activity.repository.js';

/** Activity older than this is pruned (the issue asks for history of at least a year). */
export const ACTIVITY_RETENTION_MS = 400 * 24 * 3600 * 1000;

const LOG_LEVEL = { info: 'info', warning: 'warn', error: 'error' } as const satisfies Record<ActivityLevel, string>;

export class ActivityService {
  constructor(
    private readonly repo: ActivityRepository,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    /** Where each entry is also written as a line; none: the catalog and the bus only (tests). */
    private readonly log?: Logger,
  ) {}

  /** `logDetails`: fields for an expert, written to the log line alone (e.g. `err`, the error with its cause and stack); never a secret. */
  record(entry: NewActivity, logDetails: Record<string, unknown> = {}): ActivityEntry {
    const written = this.repo.add(this.clock.now(), entry);
    this.log?.[LOG_LEVEL[written.level]]({ ...logDetails, kind: written.kind, subject: written.subject }, written.message);
    this.bus.publish('activity', written);
    return written;
  }

  list(limit: number, before?: number): ActivityEntry[] {
    return this.repo.list(limit, before);
  }

  pruneOld(): number {
    return this.repo.prune(this.clock.now() - ACTIVITY_RETENTION_MS);
  }
}
