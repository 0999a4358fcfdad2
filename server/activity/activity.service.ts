/**
 * Writes the activity log and tells whoever listens (the page, through the event bus).
 */
import type { Clock } from '../../system/clock.js';
import type { EventBus } from '../events.js';
import type { ActivityEntry, ActivityRepository, NewActivity } from './activity.repository.js';

/** Activity older than this is pruned (the issue asks for history of at least a year). */
export const ACTIVITY_RETENTION_MS = 400 * 24 * 3600 * 1000;

export class ActivityService {
  constructor(
    private readonly repo: ActivityRepository,
    private readonly bus: EventBus,
    private readonly clock: Clock,
  ) {}

  record(entry: NewActivity): ActivityEntry {
    const written = this.repo.add(this.clock.now(), entry);
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
