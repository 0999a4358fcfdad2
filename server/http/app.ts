/**
 * The two HTTP front doors of the service:
 * - `lanApp`: the admin page and the API for browsers on the LAN, behind the Host check, sessions,
 *   Origin + CSRF checks and security headers;
 * - `localApp`: the same API on the Unix socket `<data>/safehold.sock` (mode 0600) for the command
 *   line on this machine: whoever can open the socket is the service's own user, so no session.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { activityRoutes } from '../activity/activity.routes.js';
import type { ActivityService } from '../activity/activity.service.js';
import { authRoutes, localAuthRoutes, requireSession } from '../auth/auth.routes.js';
import type { AuthService } from '../auth/auth.service.js';
import { driveRoutes } from '../drives/drives.routes.js';
import type { DriveService } from '../drives/drive.service.js';
import type { EventBus } from '../events.js';
import type { AlertService } from '../alerts/alert.service.js';
import { diskHealthRoutes } from '../health/health.routes.js';
import { sourceRoutes } from '../backups/sources.routes.js';
import { rotationRoutes } from '../backups/rotation.routes.js';
import type { PoolMemberService } from '../pool/member.service.js';
import { poolRoutes } from '../pool/pool.routes.js';
import type { ShareService } from '../pool/share.service.js';
import type { DuplicationService } from '../pool/duplication.service.js';
import { sharesRoutes } from '../pool/shares.routes.js';
import type { HouseholdUserService } from '../pool/user.service.js';
import { usersRoutes } from '../pool/users.routes.js';
import type { RotationService } from '../backups/rotation.service.js';
import type { SourceService } from '../backups/source.service.js';
import { backupRoutes } from '../backups/backups.routes.js';
import type { BackupService } from '../backups/backup.service.js';
import { restoreRoutes } from '../backups/restore.routes.js';
import type { RestoreService } from '../backups/restore.service.js';
import { recoveryKitRoutes } from '../backups/recovery-kit.routes.js';
import type { RecoveryKitService } from '../backups/recovery-kit.service.js';
import type { HealthService } from '../health/health.service.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { jobRoutes } from '../jobs/jobs.routes.js';
import { healthRoutes, statusRoutes } from '../status/status.routes.js';
import type { StatusService } from '../status/status.service.js';
import { apiNotFound, errorHandler } from './error-handler.js';
import type { EventStreams } from './events.routes.js';
import { csrfCheck, hostCheck, noStore, securityHeaders } from './security.js';

export interface ApiDeps {
  auth: AuthService;
  drives: DriveService;
  jobs: JobRunner;
  activity: ActivityService;
  status: StatusService;
  health: HealthService;
  alerts: AlertService;
  sources: SourceService;
  rotation: RotationService;
  pool: PoolMemberService;
  shares: ShareService;
  duplication: DuplicationService;
  users: HouseholdUserService;
  backups: BackupService;
  restore: RestoreService;
  recoveryKit: RecoveryKitService;
  bus: EventBus;
  streams: EventStreams;
  log: Logger;
  version: string;
  startedAt: number;
}

/** Largest JSON body accepted; larger ones get 413. */
export const BODY_LIMIT = '16kb';

/** The routes that need an identity, for either door. */
function protectedRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.use(statusRoutes(deps.status));
  router.use(driveRoutes(deps.drives, deps.jobs));
  router.use(activityRoutes(deps.activity));
  router.use(jobRoutes(deps.jobs));
  router.use(diskHealthRoutes(deps.health, deps.alerts));
  router.use(sourceRoutes(deps.sources));
  router.use(rotationRoutes(deps.rotation));
  router.use(poolRoutes(deps.pool, deps.duplication));
  router.use(sharesRoutes(deps.shares));
  router.use(usersRoutes(deps.users, deps.shares));
  router.use(backupRoutes(deps.backups));
  router.use(restoreRoutes(deps.restore));
  router.use(recoveryKitRoutes(deps.recoveryKit));
  router.use(deps.streams.routes(deps.bus, deps.drives, deps.status));
  return router;
}

function base(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  return app;
}

/**
 * `trustedProxies`: addresses (or subnets) of reverse proxies whose X-Forwarded-For and
 * X-Forwarded-Proto are believed (the client is the right-most hop that is not one of them); empty:
 * forwarded headers are ignored.
 */
export function lanApp(deps: ApiDeps, options: { uiDir: string; allowedHosts: readonly string[]; trustedProxies: readonly string[] }): Express {
  const app = base();
  app.set('trust proxy', options.trustedProxies.length ? [...options.trustedProxies] : false);
  app.use('/api/v1', noStore());
  app.use(securityHeaders()); // first, so refusals carry the headers too
  app.use(hostCheck(options.allowedHosts));

  const api = Router();
  api.use(express.json({ limit: BODY_LIMIT }));
  api.use(csrfCheck());
  api.use(healthRoutes(deps.version, deps.startedAt));
  api.use(authRoutes(deps.auth));
  api.use(requireSession(deps.auth), protectedRoutes(deps));
  api.use(apiNotFound);
  app.use('/api/v1', api);

  app.use(uiRoutes(options.uiDir));
  app.use(errorHandler(deps.log));
  return app;
}

export function localApp(deps: ApiDeps): Express {
  const app = base();
  app.use('/api/v1', noStore());
  const api = Router();
  api.use(express.json({ limit: BODY_LIMIT }));
  api.use(healthRoutes(deps.version, deps.startedAt));
  api.use(localAuthRoutes(deps.auth));
  api.use(protectedRoutes(deps));
  api.use(apiNotFound);
  app.use('/api/v1', api);
  app.use(errorHandler(deps.log));
  return app;
}

/**
 * The built admin page; any other GET path gets index.html (the page routes on the client). Source
 * maps are never served (the build makes none; one left in the folder gets 404): they would hand
 * out the page's source for nothing the box needs.
 */
function uiRoutes(uiDir: string): RequestHandler {
  const index = join(uiDir, 'index.html');
  const router = Router();
  router.use((req, res, next) => {
    if (!req.path.endsWith('.map')) return next();
    res.status(404).type('text/plain').send('Not found.');
  });
  router.use(express.static(uiDir, { index: false, maxAge: '1h', immutable: false }));
  router.get(/.*/, (_req, res) => {
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The admin page has not been built. Run "make build" (or "make run") and reload.');
      return;
    }
    res.set('Cache-Control', 'no-cache').sendFile(index);
  });
  return router;
}
