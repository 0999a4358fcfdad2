/**
 * The service's in-process event bus: domain services publish, the SSE route and the status
 * service listen. Typed by topic; listeners must not throw (an error is logged and dropped).
 */
import { EventEmitter } from 'node:events';
import type { ActivityEntry } from './activity/activity.repository.js';
import type { DriveView } from './drives/drive.model.js';
import type { JobView } from './jobs/job.model.js';
import type { StatusView } from './status/status.service.js';
import type { OpenAlert } from './health/health.view.js';

export interface EventMap {
  drives: { drives: DriveView[]; refreshedAt: string | null };
  /** Drives that were plugged in or pulled out by one inventory read (only when there are some). */
  inventory: { connected: DriveView[]; disconnected: DriveView[] };
  activity: ActivityEntry;
  job: JobView;
  status: StatusView;
  /** A drive became a rotation drive (its id after any format: a drive without a serial is known by its new filesystem). */
  rotation: { registered: string };
  /** A storage pool member was added, mounted, refused or went missing (read the pool again). */
  pool: { changed: string };
  /** A share was created, changed, removed, brought back or deleted (read the shares again). */
  shares: { changed: string };
  /** A duplication pass ended: the shares' file counts changed (read the shares again). */
  duplication: { at: string };
  /** An alert opened or changed, or one that closed. */
  alert: OpenAlert | { key: string; resolved: true };
}

export type Topic = keyof EventMap;

export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    this.#emitter.setMaxListeners(200); // one per open page (SSE), plus a few services
  }

  publish<T extends Topic>(topic: T, payload: EventMap[T]): void {
    this.#emitter.emit(topic, payload);
  }

  /** Returns the function that stops listening. */
  subscribe<T extends Topic>(topic: T, listener: (payload: EventMap[T]) => void): () => void {
    const safe = (payload: EventMap[T]) => {
      try {
        listener(payload);
      } catch {
        // a listener's failure must not stop the publisher
      }
    };
    this.#emitter.on(topic, safe);
    return () => this.#emitter.off(topic, safe);
  }
}
