// The one typed client of the HTTP API. Every server call of the page goes through here:
// it adds the CSRF token and JSON headers to state-changing calls, sends the session cookie,
// turns every non-2xx answer into an ApiError carrying the server's message, and reports an
// expired session (401 outside login) to the one listener the app registers.
import type {
  Acknowledgements, ActivityEntry, AlertSettingsInput, AlertSettingsView, ApiErrorBody, ApiIssue, DriveHealthView,
  ChangePasswordRequest, DriveList, Drive, Health, HealthSettings, Job, LoginAnswer, LoginRequest, OpenAlert, SessionInfo, SetupRequest,
  PoolAddInput, PoolMember, Share, ShareInput, ShareCopies, ShareGuest, ShareAccess, HouseholdUser, PoolExposure, GonePreflight, RotationDrive, RotationRegisterInput, Source, SourceInput, Status, TestEmailSent,
  BackupRunView, BackupSettings, BrowseListing, LedgerEntry, ProtectionView, RecoveryKit, RestoreInput, RestoreStarted,
  SnapshotView,
} from './types.ts';

export const API_BASE = '/api/v1';

/** An error answered by the server (or a failure to reach it: status 0, code "network"). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: ApiIssue[] = [],
    readonly retryAfterSeconds: number | null = null,
    /** Set when this 401 ended the page's session (the app goes to the login page). */
    readonly sessionEnded = false,
    /** The server's advice on what to do, and its finer `kind` of failure, when it gave them. */
    readonly detail: { advice?: string; kind?: string } = {},
  ) {
    super(message);
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** A 401 is an expected answer (wrong password), not an expired session. */
  authCall?: boolean;
  /** The answer is plain text, not JSON. */
  text?: boolean;
}

export class ApiClient {
  #csrfToken: string | null = null;
  #onUnauthenticated: (() => void) | null = null;

  constructor(private readonly fetcher: typeof fetch = (...a) => fetch(...a)) {}

  /** Token sent as X-CSRF-Token; set from GET /session and renewed by setup and login. */
  setCsrfToken(token: string | null): void {
    this.#csrfToken = token;
  }

  /** Called once for each 401 outside the login and setup calls. */
  onUnauthenticated(listener: () => void): void {
    this.#onUnauthenticated = listener;
  }

  // ---- routes (docs/api.md) ----
  health() { return this.#request<Health>('GET', '/health'); }
  session() { return this.#request<SessionInfo>('GET', '/session', { authCall: true }); }
  setup(body: SetupRequest) { return this.#request<LoginAnswer>('POST', '/setup', { body, authCall: true }); }
  login(body: LoginRequest) { return this.#request<LoginAnswer>('POST', '/login', { body, authCall: true }); }
  logout() { return this.#request<void>('POST', '/logout', { authCall: true }); }
  changePassword(body: ChangePasswordRequest) { return this.#request<LoginAnswer>('POST', '/password', { body }); }
  status() { return this.#request<Status>('GET', '/status'); }
  drives() { return this.#request<DriveList>('GET', '/drives'); }
  drive(id: string) { return this.#request<Drive>('GET', `/drives/${encodeURIComponent(id)}`); }
  refreshDrives() { return this.#request<{ job: Job }>('POST', '/drives/refresh', { body: {} }); }
  renameDrive(id: string, name: string | null) { return this.#request<Drive>('PUT', `/drives/${encodeURIComponent(id)}/name`, { body: { name } }); }
  activity(params: { limit?: number; before?: number } = {}) {
    return this.#request<{ entries: ActivityEntry[] }>('GET', '/activity', { query: params });
  }
  jobs(params: { limit?: number } = {}) {
    return this.#request<{ jobs: Job[] }>('GET', '/jobs', { query: params });
  }
  cancelJob(id: number) {
    return this.#request<{ job: Job }>('POST', `/jobs/${id}/cancel`, { body: {} });
  }

  // ---- disk health and alerts (issue 3) ----
  driveHealth(id: string) { return this.#request<DriveHealthView>('GET', `/drives/${encodeURIComponent(id)}/health`); }
  startSelfTest(id: string, kind: 'short' | 'long') {
    return this.#request<{ job: Job }>('POST', `/drives/${encodeURIComponent(id)}/health/self-test`, { body: { kind } });
  }
  acknowledge(id: string, key: string, note: string | null) {
    return this.#request<Acknowledgements>('POST', `/drives/${encodeURIComponent(id)}/health/acknowledgements`, { body: { key, note } });
  }
  removeAcknowledgement(id: string, key: string) {
    return this.#request<Acknowledgements>('DELETE', `/drives/${encodeURIComponent(id)}/health/acknowledgements/${encodeURIComponent(key)}`);
  }
  checkHealth() { return this.#request<{ job: Job }>('POST', '/health/check', { body: {} }); }
  openAlerts() { return this.#request<{ alerts: OpenAlert[] }>('GET', '/alerts/open'); }
  healthSettings() { return this.#request<HealthSettings>('GET', '/settings/health'); }
  saveHealthSettings(body: HealthSettings) { return this.#request<HealthSettings>('PUT', '/settings/health', { body }); }
  alertSettings() { return this.#request<AlertSettingsView>('GET', '/settings/alerts'); }
  saveAlertSettings(body: AlertSettingsInput) { return this.#request<AlertSettingsView>('PUT', '/settings/alerts', { body }); }
  /** 502 `mail_failed` when sending fails: the ApiError's `detail` has the kind and the advice. */
  sendTestEmail() { return this.#request<TestEmailSent>('POST', '/settings/alerts/test', { body: {} }); }

  // ---- backup sources (issue 4) ----
  sources() { return this.#request<{ sources: Source[] }>('GET', '/sources'); }
  /** 400 with issues `name`, `path`, `excludes.N`; 409 when the name or the folder is already a source. */
  addSource(body: SourceInput) { return this.#request<Source>('POST', '/sources', { body }); }
  setSourceExcludes(name: string, excludes: string[]) {
    return this.#request<Source>('PUT', `/sources/${encodeURIComponent(name)}`, { body: { excludes } });
  }
  /** 204; the source's backups are kept. */
  removeSource(name: string) { return this.#request<void>('DELETE', `/sources/${encodeURIComponent(name)}`); }

  // ---- rotation backup drives (issue 4) ----
  rotationDrives() { return this.#request<{ drives: RotationDrive[] }>('GET', '/rotation/drives'); }
  /**
   * 202 with the `rotation.register` job. 400 with issues `name`, `confirm`, `mode` (keep without a
   * filesystem, a name in use); 409 for the system disk, a registered or a disconnected drive.
   */
  registerRotationDrive(body: RotationRegisterInput) { return this.#request<{ job: Job }>('POST', '/rotation/drives', { body }); }

  // ---- the storage pool (issue 11) ----
  pool() { return this.#request<{ members: PoolMember[] }>('GET', '/pool'); }
  /**
   * 202 with the `pool.add` job. 400 with issues `mode` (a filesystem that cannot be kept) or
   * `confirm` (the disk's name not typed exactly); 409 for the system disk, a rotation drive, a disk
   * already in the pool or a read-only one.
   */
  addPoolMember(body: PoolAddInput) { return this.#request<{ job: Job }>('POST', '/pool/members', { body }); }
  poolExposure() { return this.#request<{ disks: PoolExposure[] }>('GET', '/pool/exposure'); }
  /** 409 when the disk is not missing. */
  gonePreflight(driveId: string) { return this.#request<{ preflight: GonePreflight }>('GET', `/pool/members/${encodeURIComponent(driveId)}/gone-preflight`); }
  /** "It will come back" (`wait`) or "it is gone" (`gone`: removed from the pool, its files copied again). 409 when not missing. */
  missingChoice(driveId: string, choice: 'wait' | 'gone') {
    return this.#request<{ choice: string; preflight?: GonePreflight }>('POST', `/pool/members/${encodeURIComponent(driveId)}/missing`, { body: { choice } });
  }
  /** 202 with the `pool.duplicate` job; 409 when no pool disk is mounted or there is no share. */
  duplicateNow() { return this.#request<{ job: Job }>('POST', '/pool/duplicate'); }

  shares() { return this.#request<{ shares: Share[] }>('GET', '/shares'); }
  /** 400 with issues `name` (not a share's name, or used) or `copies`. */
  createShare(body: ShareInput) { return this.#request<{ share: Share }>('POST', '/shares', { body }); }
  /** 409 for a removed share. */
  updateShare(name: string, body: { copies?: ShareCopies; guest?: ShareGuest }) { return this.#request<{ share: Share }>('PATCH', `/shares/${encodeURIComponent(name)}`, { body }); }
  removeShare(name: string) { return this.#request<{ share: Share }>('POST', `/shares/${encodeURIComponent(name)}/remove`); }
  restoreShare(name: string) { return this.#request<{ share: Share }>('POST', `/shares/${encodeURIComponent(name)}/restore`); }
  /** 202 with the `pool.delete-share` job; 400 for a wrong `confirm`, 409 when not removed or a pool disk is missing. */
  deleteShareFiles(name: string, confirm: string) { return this.#request<{ job: Job }>('POST', `/shares/${encodeURIComponent(name)}/delete-files`, { body: { confirm } }); }
  grant(share: string, user: string, access: ShareAccess) {
    return this.#request<{ share: Share }>('PUT', `/shares/${encodeURIComponent(share)}/grants/${encodeURIComponent(user)}`, { body: { access } });
  }
  revoke(share: string, user: string) { return this.#request<{ share: Share }>('DELETE', `/shares/${encodeURIComponent(share)}/grants/${encodeURIComponent(user)}`); }

  householdUsers() { return this.#request<{ users: HouseholdUser[] }>('GET', '/pool/users'); }
  /** 400 with issues `name` or `password` (the strength judge's reason); 503 when Samba is missing or refuses. */
  createHouseholdUser(name: string, password: string) { return this.#request<{ user: HouseholdUser }>('POST', '/pool/users', { body: { name, password } }); }
  setHouseholdPassword(name: string, password: string) { return this.#request<void>('PUT', `/pool/users/${encodeURIComponent(name)}/password`, { body: { password } }); }
  removeHouseholdUser(name: string) { return this.#request<void>('DELETE', `/pool/users/${encodeURIComponent(name)}`); }

  // ---- backups onto rotation drives (issue 4) ----
  ledger() { return this.#request<{ drives: LedgerEntry[] }>('GET', '/backups/ledger'); }
  protection() { return this.#request<ProtectionView>('GET', '/backups/protection'); }
  backupRuns(params: { drive?: string; limit?: number } = {}) {
    return this.#request<{ runs: BackupRunView[] }>('GET', '/backups/runs', { query: params });
  }
  /** Oldest first, from the catalog (known while the drive is away). */
  snapshots(driveId: string) {
    return this.#request<{ snapshots: SnapshotView[] }>('GET', `/backups/drives/${encodeURIComponent(driveId)}/snapshots`);
  }
  /** 202 with the `backup.rotation` job; 409 when the drive is not plugged in (or busy). */
  runBackup(driveId: string) {
    return this.#request<{ job: Job }>('POST', `/backups/drives/${encodeURIComponent(driveId)}/run`, { body: {} });
  }
  resumePruning(driveId: string) {
    return this.#request<LedgerEntry>('POST', `/backups/drives/${encodeURIComponent(driveId)}/resume-pruning`, { body: {} });
  }
  backupSettings() { return this.#request<BackupSettings>('GET', '/backups/settings'); }
  /** 400 with issues naming the field (`retention.daily`, `tripwire.percent`, `drill.maxBytes`…). */
  saveBackupSettings(body: BackupSettings) { return this.#request<BackupSettings>('PUT', '/backups/settings', { body }); }

  // ---- restore (the drive must be plugged in) ----
  /** One folder of a snapshot (its top folder without `path`); 400 for a path outside the snapshot's folder. */
  browse(driveId: string, snapshotId: string, path?: string) {
    return this.#request<BrowseListing>('GET', `${snapshotPath(driveId, snapshotId)}/ls`, { query: { path } });
  }
  /** 202 with the `backup.restore` job and the folder the files go to. */
  restore(driveId: string, snapshotId: string, body: RestoreInput) {
    return this.#request<RestoreStarted>('POST', `${snapshotPath(driveId, snapshotId)}/restore`, { body });
  }
  /** Where the browser downloads one file of a snapshot (an attachment; the session cookie goes along). */
  downloadUrl(driveId: string, snapshotId: string, path: string): string {
    return `${API_BASE}${snapshotPath(driveId, snapshotId)}/download?${new URLSearchParams({ path })}`;
  }

  // ---- recovery kit ----
  /** With every repository's password: only for the admin. */
  recoveryKit() { return this.#request<RecoveryKit>('GET', '/recovery-kit'); }
  /** The same as plain text with the exact restic commands. */
  recoveryKitText() { return this.#request<string>('GET', '/recovery-kit/text', { text: true }); }
  /** Where the browser downloads the kit as a file. */
  readonly recoveryKitFileUrl = `${API_BASE}/recovery-kit/text`;
  markRecoveryKitSaved() { return this.#request<{ savedAt: string }>('POST', '/recovery-kit/saved', { body: {} }); }

  /** URL of the Server-Sent Events stream. */
  readonly eventsUrl = `${API_BASE}/events`;

  async #request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    let url = API_BASE + path;
    if (options.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(options.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const headers: Record<string, string> = { Accept: options.text ? 'text/plain, application/json' : 'application/json' };
    const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (this.#csrfToken) headers['X-CSRF-Token'] = this.#csrfToken;
      init.body = JSON.stringify(options.body ?? {});
    }

    let res: Response;
    try {
      res = await this.fetcher(url, init);
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the Safehold service. Is the box switched on and on the network?', [], null);
    }

    if (res.ok) {
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      if (options.text) return text as T;
      return (text ? JSON.parse(text) : undefined) as T;
    }

    const err = await toApiError(res, res.status === 401 && !options.authCall);
    if (err.sessionEnded) this.#onUnauthenticated?.();
    throw err;
  }
}

function snapshotPath(driveId: string, snapshotId: string): string {
  return `/backups/drives/${encodeURIComponent(driveId)}/snapshots/${encodeURIComponent(snapshotId)}`;
}

async function toApiError(res: Response, sessionEnded: boolean): Promise<ApiError> {
  let body: Partial<ApiErrorBody> | null = null;
  try {
    body = (await res.json()) as Partial<ApiErrorBody>;
  } catch {
    body = null;
  }
  const e = body?.error;
  const header = Number(res.headers.get('Retry-After'));
  const retry = e?.retryAfterSeconds ?? (Number.isFinite(header) && header > 0 ? header : null);
  if (e && typeof e.message === 'string') {
    const detail = {
      ...(typeof e.advice === 'string' && e.advice ? { advice: e.advice } : {}),
      ...(typeof e.kind === 'string' && e.kind ? { kind: e.kind } : {}),
    };
    return new ApiError(res.status, e.code ?? 'error', e.message, Array.isArray(e.issues) ? e.issues : [], retry, sessionEnded, detail);
  }
  return new ApiError(res.status, 'http_' + res.status, `The service answered ${res.status} ${res.statusText}`.trim(), [], retry, sessionEnded);
}
