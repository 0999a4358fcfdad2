// How numbers and times are written on the page. Sizes use decimal units as disk vendors do
// ("4.0 TB" for 4,000,787,030,016 bytes); times are relative, with the absolute time for a title.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/**
 * 4000787030016 -> "4.0 TB", 31914983424 -> "32 GB", 0 -> "0 B": one decimal below 10, none
 * above, the same rule the server uses in activity messages.
 */
export function formatBytes(bytes: number | null | undefined): string {
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

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

/** "just now", "3 minutes ago", "in 2 hours", "yesterday". `now` in epoch ms. */
export function formatRelative(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  let delta = (t - now) / 1000;
  if (Math.abs(delta) < 45) return 'just now';
  for (const [unit, size] of STEPS) {
    if (Math.abs(delta) < size) return rtf.format(Math.round(delta), unit);
    delta /= size;
  }
  return rtf.format(Math.round(delta), 'year');
}

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/** The full local date and time, for titles. */
export function formatAbsolute(iso: string | null | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : absolute.format(t);
}

/** 3725 -> "1 h 2 min", 42 -> "42 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

export const BUS_LABELS: Record<string, string> = {
  usb: 'USB', sata: 'SATA', nvme: 'NVMe', scsi: 'SCSI', virtio: 'Virtual', loop: 'Loop device', mmc: 'SD card', other: 'Other',
};

export function busLabel(bus: string): string {
  return BUS_LABELS[bus] ?? bus;
}

export function roleLabel(role: string): string {
  switch (role) {
    case 'system': return 'System disk';
    case 'unassigned': return 'Not in use';
    case 'rotation': return 'Rotation drive';
    case 'pool': return 'Pool disk';
    default: return role.charAt(0).toUpperCase() + role.slice(1).replace(/[-_]/g, ' ');
  }
}

export const IDENTITY_LABELS: Record<string, string> = {
  wwn: 'World Wide Name', serial: 'Serial number', ptuuid: 'Partition table UUID', fsuuid: 'Filesystem UUID', none: 'None',
};

export function plural(n: number, one: string, many = one + 's'): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

// ---- disk health (issue 3) ----

export type Tone = 'ok' | 'attention' | 'problem' | 'neutral';

/**
 * How a drive's health reads at a glance: the verdict in words and its colour. A failing or warning
 * verdict always shows as such; an unknown one says why (asleep, no SMART, not read yet).
 */
export function healthLook(summary: { verdict: string; state: string } | null | undefined): { label: string; tone: Tone } {
  if (!summary) return { label: 'Not checked yet', tone: 'neutral' };
  switch (summary.verdict) {
    case 'failing': return { label: 'Failing', tone: 'problem' };
    case 'warning': return { label: 'Warning', tone: 'attention' };
    case 'healthy': return { label: 'Healthy', tone: 'ok' };
  }
  if (summary.state === 'asleep') return { label: 'Asleep, not read', tone: 'neutral' };
  if (summary.state === 'no-smart') return { label: 'Health not reported', tone: 'neutral' };
  return { label: 'Unknown', tone: 'neutral' };
}

/** 41 -> "41 °C"; null -> "—". */
export function formatTemperature(c: number | null | undefined): string {
  return c === null || c === undefined || !Number.isFinite(c) ? '—' : `${Math.round(c)} °C`;
}

/** 26305 -> "26,305 hours (3.0 years)". */
export function formatPowerOn(hours: number | null | undefined): string {
  if (hours === null || hours === undefined) return '—';
  const years = hours / (24 * 365);
  const tail = years >= 1 ? ` (${years.toFixed(1)} years)` : hours >= 48 ? ` (${Math.round(hours / 24)} days)` : '';
  return `${plural(hours, 'hour')}${tail}`;
}

/** Short local date, for chart axes: "12 Mar". */
export function formatDay(ms: number): string {
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(ms);
}

/** Short local date and time, for a chart's readout: "12 Mar, 14:30". */
export function formatDayTime(ms: number): string {
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(ms);
}
