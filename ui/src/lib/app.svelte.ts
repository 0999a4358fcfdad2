// The page's state, built once: the API client, the state classes, and the actions that span
// more than one of them (entering and leaving a session, keeping the URL in step with it).
// Components read from here and call these actions; they hold no server state themselves.
import { ApiClient, ApiError } from './api/client.ts';
import {
  JOB_BACKUP_RESTORE, JOB_BACKUP_ROTATION, JOB_POOL_ADD, JOB_POOL_DELETE_SHARE,
  type AlertSettingsInput, type PoolAddInput, type ShareAccess, type ShareCopies, type ShareGuest, type ShareInput, type BackupSettings, type HealthSettings, type Job, type Overall, type RestoreTarget, type RotationRegisterInput,
  type ChangePasswordRequest, type SetupRequest, type SourceInput,
} from './api/types.ts';
import { ActivityState } from './state/activity.svelte.ts';
import { AlertsState } from './state/alerts.svelte.ts';
import { BackupsState } from './state/backups.svelte.ts';
import { Clock } from './state/clock.svelte.ts';
import { DrivesState } from './state/drives.svelte.ts';
import { HealthState, type SelfTestKind } from './state/health.svelte.ts';
import { JobsState } from './state/jobs.svelte.ts';
import { LiveEvents } from './state/live.svelte.ts';
import { Notices, type ShownError } from './state/notices.svelte.ts';
import { PoolState } from './state/pool.svelte.ts';
import { RecoveryKitState } from './state/recovery-kit.svelte.ts';
import { RestoreState } from './state/restore.svelte.ts';
import { RotationState } from './state/rotation.svelte.ts';
import { Router, type RouteName } from './state/router.svelte.ts';
import { Session } from './state/session.svelte.ts';
import { SettingsState } from './state/settings.svelte.ts';
import { SharesState } from './state/shares.svelte.ts';
import { SourcesState } from './state/sources.svelte.ts';
import { StatusState } from './state/status.svelte.ts';

export type Page = 'starting' | 'offline' | RouteName;

const RANK: Record<Overall, number> = { ok: 0, attention: 1, problem: 2 };

export class App {
  readonly api = new ApiClient();
  readonly clock = new Clock();
  readonly notices = new Notices();
  readonly router = new Router();
  readonly session = new Session(this.api);
  readonly status = new StatusState(this.api);
  readonly jobs = new JobsState(this.api);
  readonly drives = new DrivesState(this.api, this.jobs);
  readonly activity = new ActivityState(this.api);
  readonly alerts = new AlertsState(this.api);
  readonly health = new HealthState(this.api, this.jobs);
  readonly settings = new SettingsState(this.api);
  readonly sources = new SourcesState(this.api);
  readonly rotation = new RotationState(this.api, this.jobs);
  readonly backups = new BackupsState(this.api, this.jobs);
  readonly restore = new RestoreState(this.api, this.jobs);
  readonly recoveryKit = new RecoveryKitState(this.api);
  readonly pool = new PoolState(this.api, this.jobs);
  readonly shares = new SharesState(this.api, this.jobs);
  readonly live = new LiveEvents({
    url: this.api.eventsUrl,
    handlers: {
      drives: (d) => {
        this.drives.apply(d);
        this.#quietly(this.health.drivesChanged(d.drives));
        // A rotation drive plugged in or pulled out: its place in the ledger changed.
        if (this.backups.drivesChanged(d.drives)) this.#quietly(this.backups.reloadAll());
      },
      activity: (e) => this.activity.add(e),
      job: (j) => {
        this.jobs.apply(j);
        // A rescan that found no change sends no `drives` event; read the new refresh time.
        if (j.kind === 'drives.refresh' && j.state === 'succeeded') void this.drives.load().catch(() => undefined);
        this.#quietly(this.health.jobChanged(j));
        this.#rotationJobChanged(j);
        this.#backupJobChanged(j);
        this.#poolJobChanged(j);
        this.#sharesJobChanged(j);
      },
      status: (s) => this.status.apply(s),
      alert: (a) => this.alerts.apply(a),
      pool: () => this.#quietly([...this.pool.changed(), ...(this.shares.exposureLoaded ? [this.shares.loadExposure()] : [])]),
      shares: () => this.#quietly(this.shares.changed()),
      duplication: () => this.#quietly(this.shares.changed()),
    },
    onResync: () => void this.#loadAll(),
    onLost: () => this.#stillSignedIn(),
  });

  /**
   * The overall state shown on the dashboard: the server's, made worse by open alerts and drive
   * verdicts the page already knows of (so the pill never says "All good" beside a failing disk).
   */
  overall = $derived.by<{ overall: Overall; headline: string } | null>(() => {
    const status = this.status.status;
    if (!status) return null;
    const alerts = this.alerts.alerts;
    const verdicts = this.drives.drives.map((d) => d.health?.verdict);
    let seen: Overall = 'ok';
    if (alerts.some((a) => a.severity === 'error') || verdicts.includes('failing')) seen = 'problem';
    else if (alerts.length || verdicts.includes('warning')) seen = 'attention';
    if (RANK[seen] <= RANK[status.overall]) return { overall: status.overall, headline: status.headline };
    const first = alerts[0];
    const failing = this.drives.drives.filter((d) => d.health?.verdict === 'failing');
    const headline = first
      ? alerts.length === 1 ? first.message : `${alerts.length} open problems. The worst: ${first.message}`
      : failing.length
        ? `${failing.map((d) => d.displayName).join(', ')} ${failing.length === 1 ? 'is' : 'are'} failing`
        : 'A disk needs attention';
    return { overall: seen, headline };
  });

  /** True when GET /session could not be reached at start. */
  offline = $state(false);

  /** What the page shows: the session decides before the URL does. */
  page = $derived.by<Page>(() => {
    if (this.offline) return 'offline';
    if (!this.session.loaded) return 'starting';
    if (this.session.setupRequired) return 'setup';
    if (!this.session.authenticated) return 'login';
    const r = this.router.route;
    return r === 'login' || r === 'setup' ? 'dashboard' : r;
  });

  /** The URL that matches `page` when the current one does not (e.g. /drives while logged out). */
  canonicalPath = $derived.by<string | null>(() => {
    const route = this.router.route;
    if (this.page === 'setup' && route !== 'setup') return '/setup';
    if (this.page === 'login' && route !== 'login') return '/login';
    if (this.page === 'dashboard' && (route === 'login' || route === 'setup')) return '/';
    return null;
  });

  #returnTo: string | null = null;
  #entered = false;

  constructor() {
    this.api.onUnauthenticated(() => this.#sessionEnded());
  }

  /** First load: read the session, then everything the dashboard shows. */
  async start(): Promise<void> {
    this.clock.start();
    try {
      await this.session.load();
      this.offline = false;
    } catch (err) {
      this.offline = true;
      this.notices.handleError(err);
      return;
    }
    if (this.session.authenticated) this.#enter();
  }

  /** Replaces the URL with `canonicalPath`, remembering where a logged-out visitor wanted to go. */
  fixUrl(): void {
    const to = this.canonicalPath;
    if (!to) return;
    if (to === '/login' && this.router.route !== 'not-found' && this.router.route !== 'setup') {
      const query = this.router.query.toString();
      this.#returnTo = this.router.path + (query ? `?${query}` : '') + (this.router.hash ? `#${this.router.hash}` : '');
    }
    this.router.navigate(to, { replace: true });
  }

  async setup(request: SetupRequest): Promise<ShownError | null> {
    try {
      await this.session.setup(request);
    } catch (err) {
      const shown = this.notices.handleError(err, ['setupCode', 'username', 'password']);
      // 409: set up meanwhile (another tab); 403 may be a stale CSRF token. Re-read either way.
      if (shown.status === 409 || shown.status === 403) void this.session.load().catch(() => undefined);
      return shown;
    }
    this.notices.dismissError();
    this.#enter();
    // The next step of setup: alert e-mail (skippable; the overview keeps asking until it is on).
    this.router.navigate(SETUP_ALERTS_PATH, { replace: true });
    this.notices.info(`Welcome, ${this.session.username}. Safehold is set up.`);
    return null;
  }

  async changePassword(request: ChangePasswordRequest): Promise<ShownError | null> {
    try {
      await this.session.changePassword(request);
    } catch (err) {
      return this.notices.handleError(err, ['currentPassword', 'newPassword']);
    }
    this.notices.dismissError();
    this.notices.info('Password changed. Every other browser signed in to this box was logged out.');
    return null;
  }

  async login(username: string, password: string): Promise<ShownError | null> {
    try {
      await this.session.login(username, password);
    } catch (err) {
      const shown = this.notices.handleError(err, ['username', 'password']);
      // A 403 may be a CSRF token that expired while the page stood open: fetch a fresh one.
      if (shown.status === 403) void this.session.load().catch(() => undefined);
      return shown;
    }
    this.notices.dismissError();
    this.#enter();
    const to = this.#returnTo && this.#returnTo !== '/login' ? this.#returnTo : '/';
    this.#returnTo = null;
    this.router.navigate(to, { replace: true });
    return null;
  }

  async logout(): Promise<void> {
    try {
      await this.session.logout();
    } catch (err) {
      this.notices.handleError(err);
    }
    this.#leave();
    this.#returnTo = null;
    this.router.navigate('/login', { replace: true });
  }

  async rescan(): Promise<void> {
    try {
      await this.drives.rescan();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** Names a drive; returns the field error of a 400 (or null when saved). */
  async renameDrive(id: string, name: string | null): Promise<ShownError | null> {
    try {
      await this.drives.rename(id, name);
    } catch (err) {
      return this.notices.handleError(err, ['name']);
    }
    this.notices.info(name ? `The disk is now called "${name}".` : 'The disk is shown by its model again.');
    return null;
  }

  async cancelJob(id: number): Promise<void> {
    try {
      await this.jobs.cancel(id);
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** Reads one disk's health page; failures go to the banner. */
  async openDriveHealth(driveId: string): Promise<void> {
    try {
      await this.health.load(driveId);
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  async startSelfTest(driveId: string, kind: SelfTestKind): Promise<void> {
    try {
      await this.health.startSelfTest(driveId, kind);
      this.notices.info(kind === 'short' ? 'Short self-test started.' : 'Long self-test started. It can take several hours.');
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** Returns true when the acknowledgement was stored. */
  async acknowledge(driveId: string, key: string, note: string | null): Promise<boolean> {
    try {
      await this.health.acknowledge(driveId, key, note);
      return true;
    } catch (err) {
      this.notices.handleError(err);
      return false;
    }
  }

  async removeAcknowledgement(driveId: string, key: string): Promise<void> {
    try {
      await this.health.removeAcknowledgement(driveId, key);
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  async checkDisksNow(): Promise<void> {
    try {
      await this.health.checkNow();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  async loadSettings(): Promise<void> {
    try {
      await this.settings.load();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** Saves the alert settings; returns the field errors of a 400 (or null when saved). */
  async saveAlertSettings(input: AlertSettingsInput): Promise<ShownError | null> {
    try {
      await this.settings.saveAlerts(input);
    } catch (err) {
      return this.notices.handleError(err, ALERT_FIELDS);
    }
    this.notices.dismissError();
    this.notices.info('Alert settings saved.');
    // Whether alerts are set up is part of the status (the overview's "not set up" card).
    this.#quietly([this.status.load()]);
    return null;
  }

  async saveHealthSettings(input: HealthSettings): Promise<ShownError | null> {
    try {
      await this.settings.saveHealth(input);
    } catch (err) {
      return this.notices.handleError(err, ['pollSchedule', 'shortTestSchedule', 'longTestSchedule']);
    }
    this.notices.dismissError();
    this.notices.info('Schedules saved.');
    return null;
  }

  async loadSources(): Promise<void> {
    try {
      await this.sources.load();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /**
   * Adds a folder to protect; returns the field errors of a 400 (`name`, `path`, `excludes.N`,
   * `excludes`), or the 409's message (name or folder already a source); null when added.
   */
  async addSource(input: SourceInput): Promise<ShownError | null> {
    try {
      await this.sources.add(input);
    } catch (err) {
      return this.notices.handleError(err, ['name', 'path', ...excludeFields(input.excludes)]);
    }
    this.notices.dismissError();
    this.notices.info(`${input.path} will be backed up as "${input.name}".`);
    return null;
  }

  /** Replaces a source's exclusions; returns the field errors of a 400 (`excludes.N`, `excludes`). */
  async setSourceExcludes(name: string, excludes: string[]): Promise<ShownError | null> {
    try {
      await this.sources.setExcludes(name, excludes);
    } catch (err) {
      const shown = this.notices.handleError(err, excludeFields(excludes));
      if (shown.status === 404) this.#quietly([this.sources.load()]);
      return shown;
    }
    this.notices.dismissError();
    this.notices.info(`Exclusions of "${name}" saved.`);
    return null;
  }

  /** Stops protecting a folder (its backups are kept); returns true when removed. */
  async removeSource(name: string): Promise<boolean> {
    try {
      await this.sources.remove(name);
    } catch (err) {
      const shown = this.notices.handleError(err);
      if (shown.status === 404) this.#quietly([this.sources.load()]);
      return false;
    }
    this.notices.dismissError();
    this.notices.info(`"${name}" is no longer protected. Its backups are kept.`);
    return true;
  }

  async sendTestEmail(): Promise<void> {
    try {
      await this.settings.sendTest();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** Reads the registered rotation drives (for the next free name); failures go to the banner. */
  async loadRotationDrives(): Promise<void> {
    try {
      await this.rotation.load();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** "Use as a rotation backup drive" was opened: start afresh and read the names in use. */
  openRotationPanel(driveId: string): void {
    this.rotation.forget(driveId);
    void this.loadRotationDrives();
  }

  /**
   * Starts registering a rotation drive (202: its job is then followed live). Returns the field
   * errors of a 400 (`name`, `confirm`, `mode`) or the message of a 409; null when started.
   */
  async registerRotationDrive(input: RotationRegisterInput): Promise<ShownError | null> {
    try {
      await this.rotation.register(input);
    } catch (err) {
      const shown = this.notices.handleError(err, ['name', 'confirm', 'mode']);
      if (shown.status === 409) this.#quietly([this.drives.load()]);
      return shown;
    }
    this.notices.dismissError();
    return null;
  }

  // ---- the storage pool (issue 11) ----

  /** The Storage page opened: its disks; failures go to the banner. */
  async loadPool(): Promise<void> {
    try {
      await this.pool.load();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** "Add to the storage pool" was opened: start afresh. */
  openPoolPanel(driveId: string): void {
    this.pool.forget(driveId);
  }

  /**
   * Starts a disk's join to the pool (202: its job is then followed live). Returns the field
   * errors of a 400 (`mode`, `confirm`) or the message of a 409; null when started.
   */
  async addToPool(input: PoolAddInput): Promise<ShownError | null> {
    try {
      await this.pool.add(input);
    } catch (err) {
      const shown = this.notices.handleError(err, ['mode', 'confirm']);
      if (shown.status === 409) this.#quietly([this.drives.load()]);
      return shown;
    }
    this.notices.dismissError();
    return null;
  }

  // ---- shares, household users, missing disks (issue 11) ----

  /** The Storage page opened: its disks, what each alone holds, the shares and the household users. */
  async loadStorage(): Promise<void> {
    const results = await Promise.allSettled([this.pool.load(), this.shares.load(), this.shares.loadUsers(), this.shares.loadExposure()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) this.notices.handleError(failed.reason);
  }

  /** Makes a share; returns the field errors of a 400 (`name`, `copies`), or null when made. */
  async createShare(input: ShareInput): Promise<ShownError | null> {
    try {
      await this.shares.create(input);
    } catch (err) {
      return this.notices.handleError(err, ['name', 'copies']);
    }
    this.notices.dismissError();
    this.notices.info(`The share "${input.name}" is made.`);
    return null;
  }

  /** Changes a share's level or guest access; returns true when saved. */
  async updateShare(name: string, change: { copies?: ShareCopies; guest?: ShareGuest }): Promise<boolean> {
    return this.#shareAction(() => this.shares.update(name, change), change.copies !== undefined ? `"${name}" will keep its files at the new level.` : `Guest access of "${name}" saved.`);
  }

  removeShare(name: string): Promise<boolean> {
    return this.#shareAction(() => this.shares.remove(name), `"${name}" is off the network. Its files are kept on the disks.`);
  }

  restoreShare(name: string): Promise<boolean> {
    return this.#shareAction(() => this.shares.restore(name), `"${name}" is back.`);
  }

  /** Starts deleting a removed share's files; returns the 400's field error (`confirm`) or the 409's message, null when started. */
  async deleteShareFiles(name: string, confirm: string): Promise<ShownError | null> {
    try {
      await this.shares.deleteFiles(name, confirm);
    } catch (err) {
      return this.notices.handleError(err, ['confirm']);
    }
    this.notices.dismissError();
    return null;
  }

  grantShare(share: string, user: string, access: ShareAccess): Promise<boolean> {
    return this.#shareAction(() => this.shares.grant(share, user, access), `${user} may ${access === 'rw' ? 'read and change' : 'read'} "${share}".`);
  }

  revokeShare(share: string, user: string): Promise<boolean> {
    return this.#shareAction(() => this.shares.revoke(share, user), `${user} can no longer use "${share}".`);
  }

  /** Adds a household user; returns the field errors of a 400 (`name`, `password`), or null when added. */
  async addHouseholdUser(name: string, password: string): Promise<ShownError | null> {
    try {
      await this.shares.addUser(name, password);
    } catch (err) {
      return this.notices.handleError(err, ['name', 'password']);
    }
    this.notices.dismissError();
    this.notices.info(`${name} can now log in to the shares they are given.`);
    return null;
  }

  async setHouseholdPassword(name: string, password: string): Promise<ShownError | null> {
    try {
      await this.shares.setPassword(name, password);
    } catch (err) {
      return this.notices.handleError(err, ['password']);
    }
    this.notices.dismissError();
    this.notices.info(`${name}'s password is changed.`);
    return null;
  }

  removeHouseholdUser(name: string): Promise<boolean> {
    return this.#shareAction(() => this.shares.removeUser(name), `${name} is removed. The files they wrote stay in the shares.`);
  }

  duplicateNow(): Promise<boolean> {
    return this.#shareAction(async () => void (await this.shares.duplicateNow()), null);
  }

  /** "It is gone": reads what re-duplicating would copy. */
  async readGonePreflight(driveId: string): Promise<void> {
    try {
      await this.shares.preflight(driveId);
    } catch (err) {
      const shown = this.notices.handleError(err);
      if (shown.status === 409) this.#quietly([this.pool.load()]);
    }
  }

  /** "It will come back" or "it is gone" (after the pre-flight); re-reads the pool. */
  async chooseForMissing(driveId: string, choice: 'wait' | 'gone'): Promise<boolean> {
    const ok = await this.#shareAction(
      () => this.shares.missingChoice(driveId, choice),
      choice === 'wait'
        ? 'Safehold will wait for the disk and stops reminding you.'
        : 'The disk is out of the pool; its files are being copied again onto the other disks.',
    );
    this.#quietly([this.pool.load(), this.shares.loadExposure(), this.shares.load()]);
    return ok;
  }

  async #shareAction(work: () => Promise<void>, done: string | null): Promise<boolean> {
    try {
      await work();
    } catch (err) {
      const shown = this.notices.handleError(err);
      if (shown.status === 404 || shown.status === 409) this.#quietly(this.shares.changed());
      return false;
    }
    this.notices.dismissError();
    if (done) this.notices.info(done);
    return true;
  }

  // ---- backups onto rotation drives (issue 4) ----

  /** The Backups page opened: the ledger, the recent runs and the settings. */
  async loadBackupsPage(): Promise<void> {
    const results = await Promise.allSettled(this.backups.loadPage());
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) this.notices.handleError(failed.reason);
  }

  async loadBackupSettings(): Promise<void> {
    try {
      await this.backups.loadSettings();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** Saves the backup settings; returns the field errors of a 400 (or null when saved). */
  async saveBackupSettings(input: BackupSettings): Promise<ShownError | null> {
    try {
      await this.backups.saveSettings(input);
    } catch (err) {
      return this.notices.handleError(err, BACKUP_SETTING_FIELDS);
    }
    this.notices.dismissError();
    this.notices.info('Backup settings saved.');
    return null;
  }

  /** "Back up now" on a plugged-in drive; the job is then shown on its card. */
  async backUpNow(driveId: string): Promise<void> {
    try {
      await this.backups.runNow(driveId);
    } catch (err) {
      const shown = this.notices.handleError(err);
      if (shown.status === 409) this.#quietly([this.backups.loadLedger()]);
    }
  }

  /** "I have looked: resume pruning". */
  async resumePruning(driveId: string): Promise<void> {
    try {
      await this.backups.resumePruning(driveId);
    } catch (err) {
      this.notices.handleError(err);
      return;
    }
    this.notices.info('Pruning resumes at the next plug-in: old snapshots are removed again as the retention settings say.', 6000);
    this.#quietly([this.backups.loadProtection()]);
  }

  // ---- restore ----

  /**
   * The restore page opened (or its `?drive=` changed): reads the ledger, and chooses the drive in
   * the URL, else the one chosen before, else the first one plugged in; its snapshots are read
   * afresh and the newest is chosen.
   */
  async openRestore(driveId: string | null): Promise<void> {
    try {
      if (!this.backups.ledgerLoaded) await this.backups.loadLedger();
    } catch (err) {
      this.notices.handleError(err);
      return;
    }
    const ledger = this.backups.ledger;
    const wanted = driveId ?? this.restore.driveId ?? ledger.find((d) => d.connected)?.driveId ?? ledger[0]?.driveId ?? null;
    const entry = ledger.find((d) => d.driveId === wanted);
    if (!entry) return;
    await this.chooseRestoreDrive(entry.driveId);
  }

  /** A backup changed the snapshots on the drive being restored from: list them again, keeping what is shown while it exists. */
  async refreshRestoreSnapshots(): Promise<void> {
    try {
      await this.restore.refreshSnapshots(this.#connected(this.restore.driveId));
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  async chooseRestoreDrive(driveId: string): Promise<void> {
    try {
      await this.restore.chooseDrive(driveId, this.#connected(driveId));
    } catch (err) {
      this.notices.handleError(err);
    }
    this.#browsed();
  }

  async chooseRestoreSource(source: string): Promise<void> {
    try {
      await this.restore.chooseSource(source, this.#connected(this.restore.driveId));
    } catch (err) {
      this.notices.handleError(err);
    }
    this.#browsed();
  }

  async chooseRestoreSnapshot(snapshotId: string): Promise<void> {
    try {
      await this.restore.chooseSnapshot(snapshotId, this.#connected(this.restore.driveId));
    } catch (err) {
      this.notices.handleError(err);
    }
    this.#browsed();
  }

  /** Opens a folder of the chosen snapshot. */
  async browseTo(path: string): Promise<void> {
    try {
      await this.restore.open(path);
    } catch (err) {
      this.notices.handleError(err);
    }
    this.#browsed();
  }

  /**
   * Browsing mounted the drive (the server keeps it mounted 5 minutes after the last look) and no
   * event says so: when the ledger still calls it safe to unplug, read it again.
   */
  #browsed(): void {
    const entry = this.restore.driveId ? this.backups.byDrive(this.restore.driveId) : undefined;
    if (entry?.state === 'safe-to-unplug' && this.restore.path !== null) this.#quietly(this.backups.reloadAll());
  }

  /** Starts restoring the ticked files; returns the failure (shown in the banner too) or null. */
  async startRestore(target: RestoreTarget): Promise<ShownError | null> {
    try {
      await this.restore.restore(target);
    } catch (err) {
      return this.notices.handleError(err, ['paths', 'target', 'overwrite']);
    }
    this.notices.dismissError();
    return null;
  }

  // ---- recovery kit ----

  async loadRecoveryKit(): Promise<void> {
    try {
      await this.recoveryKit.load();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  async markRecoveryKitSaved(): Promise<void> {
    try {
      await this.recoveryKit.markSaved();
    } catch (err) {
      this.notices.handleError(err);
      return;
    }
    this.notices.dismissError();
    this.notices.info('Thank you. Keep the kit away from the box, with the other drive or in a safe place.', 6000);
    this.#quietly([this.backups.loadProtection()]);
  }

  async loadMoreActivity(): Promise<void> {
    try {
      await this.activity.loadMore();
    } catch (err) {
      this.notices.handleError(err);
    }
  }

  /** After the service could not be reached at start. */
  async retryStart(): Promise<void> {
    this.notices.dismissError();
    await this.start();
  }

  #enter(): void {
    this.#entered = true;
    void this.#loadAll();
    this.live.start();
  }

  #leave(): void {
    this.#entered = false;
    this.live.stop();
    this.status.clear();
    this.drives.clear();
    this.jobs.clear();
    this.activity.clear();
    this.alerts.clear();
    this.health.clear();
    this.settings.clear();
    this.sources.clear();
    this.rotation.clear();
    this.backups.clear();
    this.restore.clear();
    this.recoveryKit.clear();
    this.pool.clear();
    this.shares.clear();
  }

  async #loadAll(): Promise<void> {
    const results = await Promise.allSettled([
      this.status.load(),
      this.drives.load(),
      this.jobs.load(),
      this.activity.load(),
      this.alerts.load(),
      ...this.health.reloadAll(),
      ...(this.rotation.loaded ? [this.rotation.load()] : []),
      ...this.backups.reloadAll(),
      ...(this.pool.loaded ? [this.pool.load()] : []),
      // The overview counts the shares; the Storage page shows them.
      this.shares.load(),
      ...(this.shares.usersLoaded ? [this.shares.loadUsers()] : []),
      ...(this.shares.exposureLoaded ? [this.shares.loadExposure()] : []),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) this.notices.handleError(failed.reason);
  }

  /** A duplication pass or a share's deletion ended: re-read the shares and what each disk alone holds. */
  #sharesJobChanged(job: Job): void {
    const ended = this.shares.jobChanged(job);
    if (!ended) return;
    this.#quietly(this.shares.changed());
    if (ended.kind === JOB_POOL_DELETE_SHARE && ended.state === 'succeeded') this.notices.info(ended.message ?? 'The share\'s files are deleted.', 6000);
  }

  /**
   * A registration ended: re-read the rotation drives, and the drive list when it succeeded (the
   * new role), in case no `drives` event brought it; say how one started here ended.
   */
  #rotationJobChanged(job: Job): void {
    const ended = this.rotation.jobChanged(job);
    if (!ended) return;
    const work = [this.rotation.load()];
    if (ended.state === 'succeeded') work.push(this.drives.load());
    this.#quietly(work);
    if (ended.ours && ended.state === 'succeeded') this.notices.info(job.message ?? 'The drive is now a rotation backup drive.', 6000);
  }

  /**
   * A join or a mount of a pool disk ended: re-read the pool once the page read it, and the drive
   * list after a join (the new role), in case no `drives` event brought it; say how a join started
   * here ended.
   */
  #poolJobChanged(job: Job): void {
    const ended = this.pool.jobChanged(job);
    if (!ended) return;
    const work = this.pool.changed();
    if (ended.kind === JOB_POOL_ADD && ended.state === 'succeeded') work.push(this.drives.load());
    this.#quietly(work);
    if (ended.ours && ended.kind === JOB_POOL_ADD && ended.state === 'succeeded') this.notices.info(job.message ?? 'The disk is now a disk of the storage pool.', 6000);
  }

  /**
   * A backup, restore or registration started or ended: re-read the ledger, the protection and the
   * runs; say how a backup or a restore the page watched ended.
   */
  #backupJobChanged(job: Job): void {
    const change = this.backups.jobChanged(job);
    if (!change) return;
    this.#quietly(this.backups.reloadAll());
    if (!change.endedHere) return;
    if (job.kind === JOB_BACKUP_ROTATION && job.state === 'succeeded') {
      const name = job.target ? this.backups.byDrive(job.target)?.name : undefined;
      this.notices.info(job.message ?? (name ? `Drive ${name} is backed up and safe to unplug.` : 'The backup is done.'), 8000);
    } else if (job.kind === JOB_BACKUP_RESTORE && job.state === 'succeeded' && this.restore.started?.jobId === job.id && this.router.route !== 'restore') {
      this.notices.info(job.message ?? 'Your files are restored.', 6000);
    }
  }

  /** Whether a registered drive is plugged in now (the ledger, else the drive list). */
  #connected(driveId: string | null): boolean {
    if (!driveId) return false;
    const entry = this.backups.byDrive(driveId);
    return entry ? entry.connected : this.drives.drives.some((d) => d.id === driveId);
  }

  /** Background re-reads: a failure shows in the banner, once. */
  #quietly(work: Promise<void>[]): void {
    if (work.length === 0) return;
    void Promise.allSettled(work).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) this.notices.handleError(failed.reason);
    });
  }

  /** A 401 outside login: the session is gone; fetch a fresh CSRF token and show the login page. */
  #sessionEnded(): void {
    if (!this.#entered) return;
    this.session.ended();
    this.#leave();
    void this.session.load().catch(() => undefined);
  }

  /** Asked by the live stream after the server closed it. */
  async #stillSignedIn(): Promise<boolean> {
    try {
      await this.session.load();
    } catch {
      return true; // the service is unreachable: keep trying
    }
    if (!this.session.authenticated) {
      this.#sessionEnded();
      this.notices.handleError(new ApiError(401, 'not_authenticated', 'Not logged in', [], null, true));
      return false;
    }
    return true;
  }
}

/** The setup's step after the password: alert e-mail. */
export const SETUP_ALERTS_PATH = '/setup/alerts';

/** The form fields of the alert settings, as the server names them in a 400's issues. */
const ALERT_FIELDS = [
  'enabled', 'smtp.host', 'smtp.port', 'smtp.security', 'smtp.user', 'smtp.password', 'smtp.from', 'smtp.to',
  'digest.enabled', 'digest.hour',
];

/** The backup settings' fields, as the server names them in a 400's issues. */
const BACKUP_SETTING_FIELDS = [
  'retention.daily', 'retention.weekly', 'retention.monthly', 'retention.yearly', 'retention', 'tripwire.percent', 'tripwire.minFiles',
  'checkSlices', 'drill.files', 'drill.maxBytes', 'swapAfterDays', 'staleAfterDays',
];

/** The issue paths of a list of exclusions: each pattern (`excludes.2`), then the list itself. */
const excludeFields = (excludes: readonly string[]): string[] => [...excludes.map((_, i) => `excludes.${i}`), 'excludes'];

export const app = new App();
