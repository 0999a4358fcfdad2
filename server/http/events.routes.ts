/**
 * Server-Sent Events: the page's live view of drives, activity, jobs, status, alerts, the storage
 * pool, its shares and their duplication (docs/api.md).
 * On connect the client gets the current drives and status, then every change as it happens.
 */
import { Router, type Response } from 'express';
import type { EventBus, EventMap, Topic } from '../events.js';
import type { DriveService } from '../drives/drive.service.js';
import type { StatusService } from '../status/status.service.js';

const HEARTBEAT_MS = 25_000;

export class EventStreams {
  readonly #open = new Set<Response>();

  /** End every open stream (at shutdown, so the HTTP server can close). */
  closeAll(): void {
    for (const res of this.#open) res.end();
    this.#open.clear();
  }

  routes(bus: EventBus, drives: DriveService, status: StatusService): Router {
    const router = Router();
    router.get('/events', (req, res) => {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      const send = <T extends Topic>(topic: T, payload: EventMap[T]) => res.write(`event: ${topic}\ndata: ${JSON.stringify(payload)}\n\n`);
      res.write('retry: 3000\n\n');
      send('drives', { drives: drives.list(), refreshedAt: drives.refreshedAt() });
      send('status', status.status());
      const stops = [
        bus.subscribe('drives', (p) => {
          send('drives', p);
          send('status', status.status());
        }),
        bus.subscribe('activity', (p) => send('activity', p)),
        bus.subscribe('job', (p) => {
          send('job', p);
          // A job that ended may change the overall status (a backup made, a drive verified).
          if (p.state !== 'running' && p.state !== 'queued') send('status', status.status());
        }),
        bus.subscribe('alert', (p) => {
          send('alert', p);
          send('status', status.status());
        }),
        // A pool disk joined, was mounted, refused or went missing: the page reads GET /pool again.
        bus.subscribe('pool', (p) => send('pool', p)),
        // A share was made, changed, removed or brought back; a duplication pass ended: the page reads GET /shares again.
        bus.subscribe('shares', (p) => send('shares', p)),
        bus.subscribe('duplication', (p) => send('duplication', p)),
      ];
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      this.#open.add(res);
      req.on('close', () => {
        clearInterval(heartbeat);
        for (const stop of stops) stop();
        this.#open.delete(res);
      });
    });
    return router;
  }
}
