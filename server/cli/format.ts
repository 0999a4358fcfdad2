/**
 * How the command line writes numbers, times and states for a person: the same words and units as
 * the admin page (ui/src/lib/format.ts and the page's labels, mirrored here: the page is built by
 * Vite from its own tree, the command line by tsc from this one). `--json` never goes through here.
 * Pure; a time is shown in the box's zone (the process's TZ) unless a zone is given.
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/**
 * Decimal units as disk vendors print them, the page's `formatBytes`: 4000787030016 → "4.0 TB",
 * 31914983424 → "32 GB", 999600 → "1.0 MB", 0 → "0 B"; one decimal below 10, none above; a
 * missing or non-finite size → "—".
 */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 1000) return `${Math.max(0, Math.round(bytes))} B`;
  let v = bytes;
  let i = 0;
  while (v >= 999.5 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 9.95 ? v.toFixed(1) : v.toFixed(0)} ${UNITS[i]}`;
}

/** 1 → "1 snapshot", 2 → "2 snapshots", 1234 → "1,234 snapshots"; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

function parts(ms: number, timeZone: string | undefined): Record<string, string> {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  return Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, p.value]));
}

/** ICU's short zone name, or the offset where the zone has no common abbreviation: "CET", "UTC", "UTC-05:00", "UTC+05:30". */
function zoneName(name: string): string {
  const offset = /^GMT([+-])(\d{1,2})(?::(\d\d))?$/.exec(name);
  return offset ? `UTC${offset[1]}${offset[2]!.padStart(2, '0')}:${offset[3] ?? '00'}` : name;
}

/**
 * An ISO time as the box's clock shows it, with the zone: "2026-12-02 14:05 CET",
 * "2026-07-01 09:30 UTC-04:00"; null → "never"; a string that is not a time, as it is.
 */
export function formatTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return 'never';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const p = parts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${zoneName(p.timeZoneName ?? '')}`.trimEnd();
}

/** An ISO time's day on the box's calendar: "2026-12-02"; null → "never". */
export function formatDate(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return 'never';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const p = parts(ms, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** A rotation drive's place in the ledger, as the Backups page's badge says it. */
export const LEDGER_STATE_WORDS: Record<string, string> = {
  away: 'away',
  'backing-up': 'backing up',
  'safe-to-unplug': 'safe to unplug',
  'in-use': 'open for restoring',
  attention: 'needs attention',
};

/** A drive's role, as the Drives page says it (its `roleLabel`). */
export function roleWords(role: string): string {
  switch (role) {
    case 'system':
      return 'System disk';
    case 'unassigned':
      return 'Not in use';
    case 'rotation':
      return 'Rotation drive';
    case 'pool':
      return 'Pool disk';
    default:
      return role.charAt(0).toUpperCase() + role.slice(1).replace(/[-_]/g, ' ');
  }
}

/** A drive's health at a glance, as the Drives page's badge says it (its `healthLook`). */
export function healthWords(summary: { verdict: string; state: string } | null | undefined): string {
  if (!summary) return 'Not checked yet';
  switch (summary.verdict) {
    case 'failing':
      return 'Failing';
    case 'warning':
      return 'Warning';
    case 'healthy':
      return 'Healthy';
  }
  if (summary.state === 'asleep') return 'Asleep, not read';
  if (summary.state === 'no-smart') return 'Health not reported';
  return 'Unknown';
}

/** How a job ended or stands, for a job that left no message of its own. */
export const JOB_STATE_WORDS: Record<string, string> = {
  queued: 'Waiting to start.',
  running: 'Running.',
  succeeded: 'Done.',
  failed: 'Failed.',
  cancelled: 'Cancelled.',
  interrupted: 'Interrupted (the service stopped while it ran).',
};
