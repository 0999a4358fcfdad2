/**
 * "Am I protected?": pure judgements over the rotation ledger (no I/O, `now` passed in), so the
 * dashboard, the reminders and the tests share one answer. docs/backup-drives.md, "The rotation
 * ledger", states the rules.
 */
import type { BackupSettings, LedgerEntry, ProtectionView } from './backup.view.js';

const DAY = 24 * 3600 * 1000;

/**
 * When the drive will be full at the pace of its recent good runs: a least-squares line through
 * (time, bytes used). Null with fewer than two runs a day apart, or when usage is not growing.
 */
export function forecastFull(history: Array<{ at: number; usedBytes: number; capacityBytes: number }>): number | null {
  if (history.length < 2) return null;
  const first = history[0]!;
  const last = history[history.length - 1]!;
  if (last.at - first.at < DAY) return null;
  const n = history.length;
  const mx = history.reduce((s, h) => s + h.at, 0) / n;
  const my = history.reduce((s, h) => s + h.usedBytes, 0) / n;
  const sxx = history.reduce((s, h) => s + (h.at - mx) ** 2, 0);
  const sxy = history.reduce((s, h) => s + (h.at - mx) * (h.usedBytes - my), 0);
  const perMs = sxy / sxx;
  if (!(perMs > 0)) return null;
  return Math.round(last.at + Math.max(0, last.capacityBytes - last.usedBytes) / perMs);
}

export function daysBetween(from: number, to: number): number {
  return Math.floor((to - from) / DAY);
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Why a swap is due, or null: a drive plugged in (or one away) for `swapAfterDays` or more, with at least two drives. */
export function swapDue(drives: LedgerEntry[], settings: BackupSettings, now: number): string | null {
  if (drives.length < 2) return null;
  const limit = settings.swapAfterDays;
  for (const d of drives) {
    if (d.connected && d.lastPluggedAt && daysBetween(Date.parse(d.lastPluggedAt), now) >= limit) {
      return `Drive ${d.name} has been plugged in for ${plural(daysBetween(Date.parse(d.lastPluggedAt), now), 'day')}: swap it with another drive, so that a recent backup is kept elsewhere.`;
    }
  }
  const away = drives
    .filter((d) => !d.connected)
    .map((d) => ({ d, since: Date.parse(d.awaySince ?? d.registeredAt) }))
    .sort((a, b) => a.since - b.since)[0];
  if (away && daysBetween(away.since, now) >= limit) {
    return `Drive ${away.d.name} has been away for ${plural(daysBetween(away.since, now), 'day')}: bring it back and swap, so that its backup is brought up to date.`;
  }
  return null;
}

/** The dashboard's answer. */
export function judgeProtection(input: { drives: LedgerEntry[]; sources: number; settings: BackupSettings; recoveryKitNeeded: boolean; now: number }): ProtectionView {
  const { drives, settings, now } = input;
  const good = drives
    .filter((d) => d.lastGoodBackupAt)
    .map((d) => ({ at: d.lastGoodBackupAt!, driveName: d.name }))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const newestBackup = good[0] ?? null;
  const awayDrives = drives.filter((d) => !d.connected).sort((a, b) => Date.parse(a.awaySince ?? a.registeredAt) - Date.parse(b.awaySince ?? b.registeredAt));
  const longestAway = drives.length >= 2 && awayDrives[0] ? { driveName: awayDrives[0].name, since: awayDrives[0].awaySince ?? awayDrives[0].registeredAt } : null;
  const swap = swapDue(drives, settings, now);

  let stale: string | null = null;
  if (drives.length && input.sources) {
    if (newestBackup) {
      const age = daysBetween(Date.parse(newestBackup.at), now);
      if (age >= settings.staleAfterDays) stale = `No drive has had a good backup for ${plural(age, 'day')} (the newest is on drive ${newestBackup.driveName}). Plug a rotation drive in.`;
    } else {
      const since = Math.min(...drives.map((d) => Date.parse(d.registeredAt)));
      if (daysBetween(since, now) >= settings.staleAfterDays) stale = 'No backup has been made yet. Plug a rotation drive in.';
    }
  }

  const suspended = drives.filter((d) => d.pruneSuspended);
  const failing = drives.filter((d) => d.state === 'attention');
  let level: ProtectionView['level'] = 'ok';
  let headline: string;
  if (!drives.length) {
    level = 'attention';
    headline = 'No backups yet: register a USB drive as a rotation backup drive on the Drives page.';
  } else if (!input.sources) {
    level = 'attention';
    headline = 'Nothing is backed up: choose the folders to protect in Settings.';
  } else if (stale) {
    level = 'problem';
    headline = stale;
  } else if (suspended.length) {
    level = 'problem';
    headline = `Suspicious backup on drive ${suspended.map((d) => d.name).join(', ')}: many files changed at once. Old backups are kept until you look.`;
  } else if (failing.length) {
    level = 'attention';
    headline = `The last backup on drive ${failing.map((d) => d.name).join(', ')} did not end well.`;
  } else if (!newestBackup) {
    level = 'attention';
    headline = 'No backup has been made yet. Plug a rotation drive in.';
  } else if (swap) {
    level = 'attention';
    headline = swap;
  } else {
    const age = now - Date.parse(newestBackup.at);
    headline = `Protected: the newest backup is ${age < DAY ? 'from today' : `${plural(daysBetween(Date.parse(newestBackup.at), now), 'day')} old`}, on drive ${newestBackup.driveName}.`;
  }
  if (level === 'ok' && input.recoveryKitNeeded) {
    level = 'attention';
    headline += ' Save the recovery kit: without it the backups cannot be opened if this box is lost.';
  }
  return { level, headline, newestBackup, longestAway, swapDue: swap, stale, recoveryKitNeeded: input.recoveryKitNeeded, drives: drives.length, sources: input.sources };
}
