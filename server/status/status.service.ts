/**
 * "Is everything all right?": the overall status the dashboard and `safehold status` show, and the
 * features that cannot work on this machine because a program is missing (with the line that fixes it).
 */
import { hostname } from 'node:os';
import type { DriveService } from '../drives/drive.service.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { AlertsSetUpView } from '../alerts/alert.service.js';
import type { OpenAlert } from '../health/health.view.js';

export type Overall = 'ok' | 'attention' | 'problem';

export interface Feature {
  id: string;
  name: string;
  available: boolean;
  reason: string | null;
  fix: string | null;
}

export interface StatusView {
  overall: Overall;
  headline: string;
  box: { hostname: string; version: string; startedAt: string; dataDir: string; simulated: boolean };
  /** Connected drives, and how many of them have each role (they add up to `connected`). */
  drives: { connected: number; system: number; rotation: number; pool: number; unassigned: number };
  jobs: { running: number; queued: number };
  features: Feature[];
  inventoryRefreshedAt: string | null;
  /** Whether alerts go out by e-mail; `notice` (null once they do) says plainly what is missing, the fix, and what was not sent. */
  alerts: AlertsSetUpView;
}

/** The Debian packages behind each program, for the "fix" line. */
export const PACKAGE_OF: Record<string, string> = {
  lsblk: 'util-linux',
  blkid: 'util-linux',
  smartctl: 'smartmontools',
  restic: 'restic',
  mergerfs: 'mergerfs',
  smbd: 'samba',
};

export interface FeatureNeed {
  id: string;
  name: string;
  programs: string[];
}

/** What each feature needs installed. */
export const FEATURE_NEEDS: FeatureNeed[] = [
  { id: 'drives', name: 'Drive inventory', programs: ['lsblk', 'blkid'] },
  { id: 'smart', name: 'Disk health (SMART)', programs: ['smartctl'] },
  { id: 'backups', name: 'Backups (restic)', programs: ['restic'] },
  { id: 'pool', name: 'Storage pool and shares (mergerfs, Samba)', programs: ['mergerfs', 'smbd'] },
];

export function features(missing: ReadonlySet<string>): Feature[] {
  return FEATURE_NEEDS.map(({ id, name, programs }) => {
    const lacking = programs.filter((p) => missing.has(p));
    if (lacking.length === 0) return { id, name, available: true, reason: null, fix: null };
    const packages = [...new Set(lacking.map((p) => PACKAGE_OF[p] ?? p))];
    return {
      id,
      name,
      available: false,
      reason: `${lacking.join(' and ')} ${lacking.length === 1 ? 'is' : 'are'} not installed`,
      fix: `apt-get install ${packages.join(' ')}`,
    };
  });
}

export interface StatusServiceOptions {
  drives: DriveService;
  jobs: JobRunner;
  version: string;
  startedAt: number;
  dataDir: string;
  simulated: boolean;
  /** Programs found missing at start-up. */
  missingPrograms: ReadonlySet<string>;
  /** Problems going on now (the alert service's open alerts). */
  openAlerts: () => OpenAlert[];
  /**
   * "Am I protected?" of the backups: a problem or attention there is one here too. With no backup
   * at all (`newestBackup` null) its attention ranks above a disk's warning.
   */
  protection: () => { level: Overall; headline: string; newestBackup: { at: string; driveName: string } | null };
  /** Whether alert e-mail is turned on (the saved settings), and what was not sent while it is not. */
  alerts: () => AlertsSetUpView;
  /** Why the shares cannot be reached over the network now (Samba not running), in words; null when they can. */
  sharesProblem?: () => string | null;
}

export class StatusService {
  constructor(private readonly o: StatusServiceOptions) {}

  status(): StatusView {
    const drives = this.o.drives.list();
    const count = (role: string) => drives.filter((d) => d.role === role).length;
    const list = features(this.o.missingPrograms);
    const sharesProblem = this.o.sharesProblem?.() ?? null;
    if (sharesProblem) list.push({ id: 'smb', name: 'Shares on the network (Samba)', available: false, reason: sharesProblem, fix: null });
    const unavailable = list.filter((f) => !f.available);
    const inventoryDown = unavailable.some((f) => f.id === 'drives');
    const open = this.o.openAlerts();
    // A disk unplugged with its health problem still open keeps the problem in the headline.
    const away = open
      .filter((a) => a.key.startsWith('health:') && a.driveId && (a.state === 'failing' || a.state === 'warning') && !drives.some((d) => d.id === a.driveId))
      .map((a) => ({ displayName: `${this.o.drives.known(a.driveId!)?.drive.displayName ?? a.driveId} (unplugged)`, verdict: a.state }));
    const failing = [...drives.filter((d) => d.health?.verdict === 'failing'), ...away.filter((d) => d.verdict === 'failing')];
    const warning = [...drives.filter((d) => d.health?.verdict === 'warning'), ...away.filter((d) => d.verdict === 'warning')];
    const errors = open.filter((a) => a.severity === 'error');
    const names = (list: { displayName: string }[]) => list.map((d) => d.displayName).join(', ');
    const connected = `${drives.length} drive${drives.length === 1 ? '' : 's'} connected`;
    const protection = this.o.protection();
    let overall: Overall;
    let headline: string;
    if (inventoryDown) {
      [overall, headline] = ['problem', 'Safehold cannot read the drives of this machine'];
    } else if (failing.length) {
      [overall, headline] = ['problem', `${failing.length === 1 ? 'A disk is' : `${failing.length} disks are`} failing: ${names(failing)}`];
    } else if (errors.length) {
      [overall, headline] = ['problem', errors[0]!.message];
    } else if (protection.level === 'problem') {
      [overall, headline] = ['problem', protection.headline];
    } else if (protection.level === 'attention' && !protection.newestBackup) {
      // No backup at all (no drive, no folder, none made yet) matters more than a disk to watch.
      [overall, headline] = ['attention', protection.headline];
    } else if (warning.length) {
      [overall, headline] = ['attention', `${warning.length === 1 ? 'A disk needs' : `${warning.length} disks need`} attention: ${names(warning)}`];
    } else if (protection.level === 'attention') {
      [overall, headline] = ['attention', protection.headline];
    } else if (unavailable.length) {
      [overall, headline] = ['attention', `${connected}; ${unavailable.map((f) => f.name).join(' and ')} unavailable`];
    } else {
      [overall, headline] = ['ok', connected];
    }
    return {
      overall,
      headline,
      box: {
        hostname: hostname(),
        version: this.o.version,
        startedAt: new Date(this.o.startedAt).toISOString(),
        dataDir: this.o.dataDir,
        simulated: this.o.simulated,
      },
      drives: { connected: drives.length, system: count('system'), rotation: count('rotation'), pool: count('pool'), unassigned: count('unassigned') },
      jobs: this.o.jobs.counts(),
      features: list,
      inventoryRefreshedAt: this.o.drives.refreshedAt(),
      alerts: this.o.alerts(),
    };
  }
}
