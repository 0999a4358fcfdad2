/**
 * The words of every alert e-mail, as pure functions: an alert about one disk (`composeAlert`), the
 * daily digest (`composeDigest`) and the "send test e-mail" message (`composeTestMail`).
 *
 * Contract:
 * - Each mail is a `MailMessage`: a short subject with the most important word first (readable in a
 *   phone's list), a plain-text body (short paragraphs, lines wrapped at 70 characters, no tables)
 *   and an HTML alternative with the same content (one column, system fonts, inline styles only, no
 *   images, scripts or external resources; the only links point into the admin page, `box.pageUrl`).
 * - An alert body has four parts, always in this order: What happened, Which disk, What it means,
 *   What to do next; then a link to the disk's page. Reminders say since when the problem lasts and
 *   when the next reminder comes.
 * - Every value that comes from a disk (model, serial, the owner's name, reasons) is stripped of
 *   control characters, and escaped in the HTML.
 * - The words never blur backup and duplication: a disk alert is about the disk, and its advice is
 *   "make sure your backups are current" (a point-in-time copy kept elsewhere), never that the data
 *   is safe because it has copies on other disks.
 * - Deterministic: the same input gives the same mail. Times are shown in `box.timeZone` (the
 *   process's zone when absent). docs/alerts.md describes every mail.
 */
import type { Bus } from '../../system/drives/block-devices.js';
import type { MailMessage } from '../../system/mail/mail.js';
import { busName, formatSize } from '../drives/drive.model.js';
import type { Reason, Verdict } from '../health/health.model.js';

export interface AlertDisk {
  id: string;
  /** The device's own name (vendor and model): the owner's name is `ownerName`. */
  displayName: string;
  model: string | null;
  serial: string | null;
  path: string;
  bus: Bus;
  sizeBytes: number;
  /** The name the owner gave it (later), or null. */
  ownerName: string | null;
  /** 'system' | 'unassigned' | … */
  role: string;
}

export type AlertKind = 'verdict' | 'self-test-failed' | 'counter-grew' | 'missing' | 'back' | 'too-hot';

export interface AlertEvent {
  kind: AlertKind;
  /** From the alert policy: new | changed | resolved | reminder. */
  reason: 'new' | 'changed' | 'resolved' | 'reminder';
  /** The state now: for 'verdict' a Verdict; for others e.g. 'missing' / 'present' / 'too-hot' / 'ok'. */
  state: string;
  /** The state before, when known (for "was warning, now failing"). */
  previousState: string | null;
  disk: AlertDisk;
  /** The assessment's reasons (most severe first), when about health. */
  reasons: Reason[];
  /** When the problem started (ISO): reminders say "since …, N days". */
  since: string;
  /** Now (ISO). */
  at: string;
  /** For reminders: when the next one comes (ISO), so the mail can say "next reminder in 4 days". */
  nextReminderAt: string | null;
  /**
   * For 'too-hot': the temperature now, in °C. Optional: when absent, it is read from the
   * temperature reason ("Temperature 63 °C is over …").
   */
  temperatureC?: number | null;
}

export interface BoxInfo {
  hostname: string;
  /** The admin page's address as the owner uses it, e.g. http://safehold.local:8080/ */
  pageUrl: string;
  /** IANA zone the times are shown in ("Europe/Berlin"); the process's zone when absent. */
  timeZone?: string;
}

export interface DigestDisk {
  disk: AlertDisk;
  verdict: Verdict;
  /** The most important reason, in words. */
  headline: string;
  temperatureC: number | null;
}

export interface DigestInput {
  box: BoxInfo;
  /** The period the digest covers, as ISO times (the last 24 hours). */
  from: string;
  to: string;
  disks: DigestDisk[];
  /** Problems that are still open (what alerts were sent for and is not resolved). */
  open: Array<{ message: string; since: string }>;
  /** The activity log of the period. */
  activity: Array<{ at: string; level: 'info' | 'warning' | 'error'; message: string }>;
  /** "Am I protected?" of the backups, when known: shown first. */
  backups?: { level: 'ok' | 'attention' | 'problem'; headline: string };
}

/** Where the owner changes the alert settings, relative to `pageUrl`: the Settings page's alerts section. */
export const ALERT_SETTINGS_PATH = 'settings#alerts';
/** Where the activity log is, relative to `pageUrl`. */
export const ACTIVITY_PATH = 'activity';
/** At most this many activity lines in a digest; the rest is "and N more". */
export const DIGEST_ACTIVITY_LINES = 30;
/** Plain-text lines are wrapped at this many characters (a link or a long word may be longer). */
export const TEXT_WIDTH = 70;

const DAY_MS = 24 * 3600 * 1000;
/** Glues words the plain-text wrap must not split ("3 days", "Tue 4 Mar 2025"); a space once rendered. */
const GLUE = '\u00a0';
const glue = (text: string) => text.replace(/ /g, GLUE);
const unglue = (text: string) => text.replace(/\u00a0/g, ' ');
const HOUR_MS = 3600 * 1000;

// ---------------------------------------------------------------------------------------------
// The content model: one structure, rendered twice (plain text and HTML).

type Tone = 'bad' | 'warn' | 'good' | 'info';

type Block =
  | { p: string }
  | { ul: string[] }
  | { ol: string[] }
  | { kv: Array<[string, string]> }
  | { link: { label: string; url: string } }
  /** A list whose items start with a coloured label ("FAILING", "Warning"). */
  | { tagged: Array<{ tag: string; tone: Tone; text: string }> };

interface Section {
  title: string;
  blocks: Block[];
}

interface Mail {
  subject: string;
  /** One line shown as a coloured banner in the HTML (the text body starts with the sections). */
  banner: { text: string; tone: Tone };
  sections: Section[];
  footer: string[];
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** Hardware and log strings: no control characters (a newline in a subject is a header), no runs of spaces. */
export function clean(text: string | null | undefined): string {
  return (text ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

export function escapeHtml(text: string): string {
  return unglue(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n}${GLUE}${n === 1 ? one : many}`;

const baseUrl = (pageUrl: string) => {
  const url = clean(pageUrl);
  return url.endsWith('/') ? url : `${url}/`;
};

const diskUrl = (box: BoxInfo, disk: AlertDisk) => `${baseUrl(box.pageUrl)}drives/${encodeURIComponent(disk.id)}/health`;

const parseTime = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : Number.NaN);

/** "Tue 4 Mar 2025, 14:05" (with `year`) or "Tue 4 Mar, 14:05", in the box's zone. */
export function formatTime(iso: string, timeZone?: string, options: { year?: boolean; time?: boolean } = {}): string {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return clean(iso);
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(new Date(t));
  } catch {
    // An unknown time zone in the settings must not stop an alert: fall back to UTC, said so.
    return `${formatTime(iso, 'UTC', options)} UTC`;
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const date = `${part('weekday')} ${part('day')} ${part('month')}${options.year === false ? '' : ` ${part('year')}`}`;
  return glue(options.time === false ? date : `${date}, ${part('hour')}:${part('minute')}`);
}

/** "5 minutes", "3 hours", "2 days": whole units, rounded down (a reminder after 1.9 days says "1 day"). */
export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return 'a moment';
  if (ms < HOUR_MS) return ms < 60_000 ? 'less than a minute' : plural(Math.floor(ms / 60_000), 'minute');
  if (ms < DAY_MS) return plural(Math.floor(ms / HOUR_MS), 'hour');
  return plural(Math.floor(ms / DAY_MS), 'day');
}

/** A gap to come, rounded to the nearest unit (the next reminder "in 4 days"). */
function formatGap(ms: number): string {
  if (!(ms > 0)) return 'a moment';
  if (ms < HOUR_MS) return plural(Math.max(1, Math.round(ms / 60_000)), 'minute');
  if (ms < DAY_MS) return plural(Math.max(1, Math.round(ms / HOUR_MS)), 'hour');
  return plural(Math.round(ms / DAY_MS), 'day');
}

// ---------------------------------------------------------------------------------------------
// How a disk is named.

const kernelName = (path: string) => clean(path).replace(/^\/dev\//, '') || 'unknown device';

/** The maker's name of the disk: its device name (AlertDisk.displayName), else its model, else its kernel name. */
function diskName(disk: AlertDisk): string {
  return clean(disk.displayName) || clean(disk.model) || `Disk ${kernelName(disk.path)}`;
}

/**
 * How a subject names the disk, owner's name first: "Photos (WDC WD40EFRX, serial WD-1)",
 * "WDC WD40EFRX (serial WD-1)", or with the kernel name when the disk hides its serial.
 */
export function subjectDiskName(disk: AlertDisk): string {
  const owner = clean(disk.ownerName);
  const serial = clean(disk.serial);
  const which = serial ? `serial ${serial}` : kernelName(disk.path);
  return owner ? `${owner} (${diskName(disk)}, ${which})` : `${diskName(disk)} (${which})`;
}

function roleLine(role: string): string {
  switch (clean(role)) {
    case 'system':
      return 'this is the system disk (the operating system and Safehold run from it)';
    case 'unassigned':
      return 'not used by Safehold yet (unassigned)';
    case 'rotation':
      return 'a rotation backup drive';
    case 'pool':
      return 'a disk of the storage pool (it holds files of the shared folders)';
    case '':
      return 'not known';
    default:
      return clean(role);
  }
}

function whichDisk(disk: AlertDisk, present: boolean): Section {
  const kv: Array<[string, string]> = [];
  const owner = clean(disk.ownerName);
  if (owner) kv.push(['Your name for it', owner]);
  kv.push(['Model', clean(disk.model) || (diskName(disk) !== `Disk ${kernelName(disk.path)}` ? diskName(disk) : 'not reported')]);
  kv.push(['Serial', clean(disk.serial) || 'not reported (the disk or its enclosure hides it)']);
  if (disk.sizeBytes > 0) kv.push(['Size', formatSize(disk.sizeBytes)]);
  kv.push([present ? 'Plugged in' : 'Last seen', `${busName(disk.bus)}, as ${clean(disk.path) || 'an unknown device'}`]);
  kv.push(['Role', roleLine(disk.role)]);
  return { title: 'Which disk', blocks: [{ kv }] };
}

// ---------------------------------------------------------------------------------------------
// Reasons, sorted by what they ask of the owner.

const LINK_KEYS = new Set(['ata:188', 'ata:199']);
const LINK_CODES = new Set(['ata-command-timeout', 'ata-crc']);
const TEMPERATURE_CODES = new Set(['temperature', 'nvme-cw-temperature']);
const SEVERITY_ORDER: Record<Reason['severity'], number> = { failing: 0, warning: 1, unknown: 2, info: 3 };

const isProblem = (r: Reason) => r.severity === 'failing' || r.severity === 'warning';
/** 188 (command timeouts) and 199 (interface CRC errors): the path to the disk, not the disk. */
export const isLinkReason = (r: Reason) => isProblem(r) && (LINK_CODES.has(r.code) || (r.attribute !== undefined && LINK_KEYS.has(r.attribute)));
const isTemperatureReason = (r: Reason) => isProblem(r) && TEMPERATURE_CODES.has(r.code);
const isDiskReason = (r: Reason) => isProblem(r) && !isLinkReason(r) && !isTemperatureReason(r);

/** At most this many reasons are listed in a mail; the rest are on the disk's page. */
const MAX_REASONS = 8;

/** The reasons a person should read: problems first; the info ones only when there is nothing else. */
function shownReasons(reasons: Reason[]): { lines: string[]; more: number } {
  const sorted = [...reasons].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const serious = sorted.filter((r) => r.severity !== 'info');
  const pick = (serious.length ? serious : sorted).map((r) => clean(r.message)).filter((m) => m);
  return { lines: pick.slice(0, MAX_REASONS), more: Math.max(0, pick.length - MAX_REASONS) };
}

function reasonBlocks(reasons: Reason[], lead: string): Block[] {
  const { lines, more } = shownReasons(reasons);
  if (!lines.length) return [];
  const items = more ? [...lines, `and ${plural(more, 'more reason')} on the disk's page`] : lines;
  return [{ p: lead }, { ul: items }];
}

function temperatureOf(event: AlertEvent): number | null {
  if (typeof event.temperatureC === 'number' && Number.isFinite(event.temperatureC)) return Math.round(event.temperatureC);
  for (const r of event.reasons) {
    if (!TEMPERATURE_CODES.has(r.code)) continue;
    const m = /(-?\d+(?:\.\d+)?)\s*°C/.exec(r.message);
    if (m?.[1]) return Math.round(Number(m[1]));
  }
  return null;
}

/** "+3" from a trend reason ("Pending sectors: 8, was 5 on 2025-03-03 (+3)."), summed over trends. */
function growthOf(reasons: Reason[]): number | null {
  let total = 0;
  let found = false;
  for (const r of reasons) {
    if (r.code !== 'trend') continue;
    const m = /\(\+(\d+)\)/.exec(r.message);
    if (m?.[1]) {
      total += Number(m[1]);
      found = true;
    }
  }
  return found ? total : null;
}

// ---------------------------------------------------------------------------------------------
// Advice: the steps, per situation. Every step is a full sentence a person can act on.

const STEP = {
  backupsNow:
    'Make sure your backups are current, now: check that the last backup finished and holds ' +
    'what matters. A backup is a point-in-time copy kept on another drive or offsite.',
  backupsCheck: 'Make sure your backups are current (a point-in-time copy of what matters, kept on another drive or offsite).',
  backUpWhatMatters:
    'Back up what matters now: make sure your backups are current, and if the last one is ' +
    'old, run one before anything else.',
  replaceSoon: 'Replace this disk as soon as you can.',
  replace: 'Replace this disk.',
  noLongTests:
    'Do not run long self-tests or other heavy work on it: every hour of reading can make a ' +
    'dying disk worse.',
  noMoreTests: 'Do not run more long self-tests on it: they wear a dying disk further.',
  systemDisk: 'It is the system disk: when it dies, the box stops. Plan the replacement now.',
  longTest:
    "Run a long self-test from the disk's page: it reads the whole disk and shows whether more " +
    'sectors are bad.',
  watch:
    'Watch it: Safehold writes again if the numbers grow or the verdict gets worse. If it keeps ' +
    'getting worse, plan to replace the disk.',
  growsAgain: 'If the count grows again, plan to replace the disk.',
  cableUsb:
    'Reseat the USB cable at both ends, or try another cable and another USB port. Check the ' +
    'enclosure and its power supply; replace the enclosure if the errors go on.',
  cable:
    'Reseat the data and power cables at both ends, or replace the data cable. If the disk sits ' +
    'in a dock or an enclosure, try another slot or replace the enclosure.',
  acknowledge:
    "Then acknowledge the counter on the disk's page: Safehold ignores its current value and " +
    'warns again only if it grows.',
  airflow: 'Give the box air: vents free, not in a closed cupboard, away from heaters and sunlight.',
  fans: 'Check that the fans turn and are not clogged with dust.',
  place: 'Leave space around the disk\'s enclosure, stand it upright, or move it to a cooler place.',
  pluggedUsb:
    'Is it plugged in and powered? Check the cable at both ends and the power supply of its ' +
    'enclosure, and try another USB port.',
  plugged: 'Is it plugged in and powered? Check its data and power cables at both ends.',
  onPurpose: 'If you unplugged it on purpose, there is nothing to do: you get a mail when it is back.',
  unknownPage: "Open the disk's page to see why it could not be read.",
  unknownEnclosure:
    'If the disk sits in a USB enclosure that hides SMART, an enclosure that passes SMART ' +
    'through lets Safehold watch the disk.',
  nothing: 'Nothing to do. Safehold keeps watching the disk.',
  nothingBack: 'Nothing to do. Safehold is checking its health again and writes if anything is wrong.',
} as const;

const isUsb = (disk: AlertDisk) => disk.bus === 'usb';
const cableStep = (disk: AlertDisk) => (isUsb(disk) ? STEP.cableUsb : STEP.cable);
const coolingSteps = (disk: AlertDisk) => (isUsb(disk) ? [STEP.airflow, STEP.fans, STEP.place] : [STEP.airflow, STEP.fans]);

/** The steps for a disk with these reasons and this verdict (failing steps win over warning ones); the disk's page shows the same. */
export function healthSteps(verdict: Verdict, reasons: Reason[], disk: AlertDisk): string[] {
  const link = reasons.some(isLinkReason);
  const hot = reasons.some(isTemperatureReason);
  const media = reasons.some(isDiskReason);
  const steps: string[] = [];
  if (verdict === 'failing') {
    steps.push(STEP.backupsNow, STEP.replaceSoon, STEP.noLongTests);
    if (clean(disk.role) === 'system') steps.push(STEP.systemDisk);
    if (link) steps.push(cableStep(disk));
    if (hot) steps.push(STEP.airflow);
    return steps;
  }
  if (verdict === 'warning') {
    if (media || (!link && !hot)) steps.push(STEP.backupsCheck, STEP.longTest, STEP.watch);
    if (link) steps.push(cableStep(disk), STEP.acknowledge);
    if (hot) steps.push(...coolingSteps(disk));
    if (!media && (link || hot)) steps.push(STEP.backupsCheck);
    return steps;
  }
  if (verdict === 'unknown') return [STEP.unknownPage, STEP.unknownEnclosure, STEP.backupsCheck];
  return [STEP.nothing];
}

// ---------------------------------------------------------------------------------------------
// Alerts.

const VERDICTS: readonly Verdict[] = ['healthy', 'warning', 'failing', 'unknown'];
const asVerdict = (state: string): Verdict => (VERDICTS as readonly string[]).includes(state) ? (state as Verdict) : 'unknown';

const VERDICT_WORD: Record<Verdict, string> = { failing: 'FAILING', warning: 'warning', healthy: 'healthy', unknown: 'unknown' };
const VERDICT_TONE: Record<Verdict, Tone> = { failing: 'bad', warning: 'warn', healthy: 'good', unknown: 'info' };

/** "warning" → "a warning"; any other state as it is, cleaned. */
function stateWords(state: string | null): string {
  const s = clean(state);
  if (s === 'warning') return 'warning';
  if (s === 'failing') return 'failing';
  return s || 'unknown';
}

interface Story {
  subject: string;
  banner: string;
  tone: Tone;
  happened: Block[];
  means: Block[];
  steps: string[];
  present: boolean;
  /** For reminders: "this disk is …" ("still failing", "still missing"). */
  still?: string;
}

function verdictStory(event: AlertEvent, name: string, when: string): Story {
  const verdict = asVerdict(clean(event.state));
  const prev = event.previousState ? stateWords(event.previousState) : null;
  const reminder = event.reason === 'reminder';
  const reasons = event.reasons;
  const onlyLink = verdict === 'warning' && reasons.some(isLinkReason) && !reasons.some(isDiskReason) && !reasons.some(isTemperatureReason);

  if (verdict === 'healthy') {
    return {
      subject: `Back to healthy: ${name}`,
      banner: 'Back to healthy',
      tone: 'good',
      happened: [{ p: `This disk is healthy again${prev ? ` (${prev === 'warning' ? 'it had a warning' : prev === 'unknown' ? 'its health was unknown' : `it was ${prev}`})` : ''}. Noticed on ${when}.` }],
      means: [{ p: 'Safehold finds no problem in what the disk reports now.' }, ...reasonBlocks(reasons, 'What was checked:')],
      steps: [STEP.nothing],
      present: true,
    };
  }

  const word = VERDICT_WORD[verdict];
  const label = verdict === 'failing' ? 'FAILING disk' : verdict === 'warning' ? (onlyLink ? 'Disk warning (cable or enclosure)' : 'Disk warning') : 'Disk health unknown';
  const subject = reminder ? `disk still ${verdict}: ${name}` : `${label}: ${name}`;
  const happened: string =
    verdict === 'unknown'
      ? `Safehold could not judge the health of this disk${prev && prev !== 'unknown' ? ` (it was ${prev})` : ''}.`
      : prev && prev !== word.toLowerCase()
        ? `The health of this disk changed from ${prev} to ${verdict}.`
        : verdict === 'failing'
          ? 'Safehold found that this disk is failing.'
          : onlyLink
            ? 'Safehold found errors on the connection to this disk (a warning).'
            : 'Safehold found early signs of trouble on this disk (a warning).';

  const means: Block[] = [];
  if (verdict === 'failing') {
    means.push({ p: 'The disk is likely to stop working, possibly soon, and parts of it may already be unreadable.' });
  } else if (verdict === 'warning') {
    if (onlyLink) {
      means.push({
        p:
          'The errors point at the connection to the disk (the cable, the enclosure or its ' +
          'power), usually not at the disk itself.',
      });
    } else {
      means.push({ p: 'The disk still works, but it shows early signs of trouble and needs watching.' });
    }
  } else {
    means.push({ p: 'Without a reading, Safehold cannot tell whether the disk is going bad.' });
  }
  means.push(...reasonBlocks(reasons, verdict === 'unknown' ? 'Why:' : 'What Safehold saw:'));

  return {
    subject,
    banner: verdict === 'failing' ? 'Disk FAILING' : verdict === 'warning' ? 'Disk warning' : 'Disk health unknown',
    tone: VERDICT_TONE[verdict],
    happened: [{ p: `${happened}${reminder ? '' : ` Noticed on ${when}.`}` }],
    means,
    steps: healthSteps(verdict, reasons, event.disk),
    present: true,
    still: verdict === 'unknown' ? 'still of unknown health' : `still ${verdict === 'warning' ? 'showing a warning' : verdict}`,
  };
}

function backStory(event: AlertEvent, box: BoxInfo, name: string, when: string): Story {
  const was = parseTime(event.since);
  const now = parseTime(event.at);
  const away = !Number.isNaN(was) && !Number.isNaN(now) && now - was >= 60_000 ? ` It had been missing since ${formatTime(event.since, box.timeZone)} (${formatDuration(now - was)}).` : '';
  return {
    subject: `Disk back: ${name}`,
    banner: 'Disk back',
    tone: 'good',
    happened: [{ p: `This disk is connected again. Noticed on ${when}.${away}` }],
    means: [{ p: 'Its files can be read again. Safehold reads its health again before it judges it.' }],
    steps: [STEP.nothingBack],
    present: true,
  };
}

function storyOf(event: AlertEvent, box: BoxInfo): Story {
  const name = subjectDiskName(event.disk);
  const when = formatTime(event.at, box.timeZone);
  const resolved = event.reason === 'resolved';
  const hasFailing = event.reasons.some((r) => r.severity === 'failing');

  switch (event.kind) {
    case 'verdict':
      return verdictStory(event, name, when);

    case 'self-test-failed':
      if (resolved) {
        return {
          subject: `Self-test passed again: ${name}`,
          banner: 'Self-test passed',
          tone: 'good',
          happened: [{ p: `The latest self-test of this disk passed; the earlier one had failed. Noticed on ${when}.` }],
          means: [
            { p: 'The disk could read what it tested this time. A disk whose test failed once stays suspect: keep an eye on its verdict.' },
            ...reasonBlocks(event.reasons, 'What Safehold saw:'),
          ],
          steps: [STEP.backupsCheck, STEP.watch],
          present: true,
        };
      }
      return {
        subject: event.reason === 'reminder' ? `self-test still failed: ${name}` : `Self-test FAILED: ${name}`,
        banner: 'Self-test FAILED',
        tone: 'bad',
        happened: [{ p: `The disk's own self-test failed.${event.reason === 'reminder' ? '' : ` Noticed on ${when}.`}` }],
        means: [
          {
            p:
              'The disk could not read part of its own surface. That is one of the clearest ' +
              'signs that a disk is failing.',
          },
          ...reasonBlocks(event.reasons, 'What Safehold saw:'),
        ],
        steps: [STEP.backUpWhatMatters, STEP.replace, STEP.noMoreTests, ...(clean(event.disk.role) === 'system' ? [STEP.systemDisk] : [])],
        present: true,
        still: 'still showing a failed self-test',
      };

    case 'counter-grew': {
      if (resolved) {
        return {
          subject: `Bad sectors steady again: ${name}`,
          banner: 'Bad sectors steady',
          tone: 'good',
          happened: [{ p: `The count of bad sectors on this disk has stopped growing. Noticed on ${when}.` }],
          means: [
            { p: 'The sectors already counted are still bad; the disk is not getting worse for now.' },
            ...reasonBlocks(event.reasons, 'What Safehold saw:'),
          ],
          steps: [STEP.backupsCheck, STEP.watch],
          present: true,
        };
      }
      const growth = growthOf(event.reasons);
      const grewBy = growth === null ? '' : ` (+${growth})`;
      return {
        subject: event.reason === 'reminder' ? `bad sectors still growing: ${name}` : `Bad sectors growing${grewBy}: ${name}`,
        banner: `Bad sectors growing${grewBy}`,
        tone: hasFailing ? 'bad' : 'warn',
        happened: [
          {
            p:
              `The count of bad sectors on this disk grew${growth === null ? '' : ` by ${growth}`} ` +
              `since the previous reading.${event.reason === 'reminder' ? '' : ` Noticed on ${when}.`}`,
          },
        ],
        means: [
          {
            p:
              'A bad sector is a place the disk can no longer read or write reliably. A count that ' +
              'keeps growing often comes before a failure.',
          },
          ...reasonBlocks(event.reasons, 'What Safehold saw:'),
        ],
        steps: hasFailing ? healthSteps('failing', event.reasons, event.disk) : [STEP.backupsCheck, STEP.longTest, STEP.growsAgain],
        present: true,
        still: 'still showing more bad sectors than before',
      };
    }

    case 'too-hot': {
      if (resolved) {
        const t = temperatureOf(event);
        return {
          subject: `Temperature back to normal: ${name}`,
          banner: 'Temperature back to normal',
          tone: 'good',
          happened: [{ p: `This disk is back under its temperature limit${t === null ? '' : ` (${t} °C now)`}. Noticed on ${when}.` }],
          means: [{ p: 'The heat is no longer shortening its life.' }],
          steps: [STEP.nothing],
          present: true,
        };
      }
      const t = temperatureOf(event);
      const hot = t === null ? '' : `${t} °C `;
      return {
        subject: event.reason === 'reminder' ? `still too hot: ${hot}on ${name}` : `Too hot: ${hot}on ${name}`,
        banner: `Too hot${t === null ? '' : `: ${t} °C`}`,
        tone: 'warn',
        happened: [
          { p: `This disk is ${t === null ? 'hotter than its limit' : `at ${t} °C, over its limit`}.${event.reason === 'reminder' ? '' : ` Noticed on ${when}.`}` },
        ],
        means: [
          {
            p:
              'Heat shortens a disk\'s life and can cause read errors; over its critical limit a ' +
              'disk may switch itself off.',
          },
          ...reasonBlocks(event.reasons, 'What Safehold saw:'),
        ],
        steps: coolingSteps(event.disk),
        present: true,
        still: `still too hot${t === null ? '' : ` (${t} °C)`}`,
      };
    }

    case 'missing':
      if (!resolved) {
        return {
          subject: event.reason === 'reminder' ? `disk still missing: ${name}` : `Disk missing: ${name}`,
          banner: 'Disk missing',
          tone: 'warn',
          happened: [
            {
              p:
                `Safehold can no longer see this disk: it is unplugged, switched off, or its ` +
                `connection failed.${event.reason === 'reminder' ? '' : ` Noticed on ${when}.`}`,
            },
          ],
          means: [
            {
              p:
                'A missing disk is not a deleted one: nothing was removed, and Safehold does not ' +
                'treat its files as deleted. They cannot be read until the disk is back.',
            },
          ],
          steps: [isUsb(event.disk) ? STEP.pluggedUsb : STEP.plugged, STEP.onPurpose],
          present: false,
          still: 'still missing',
        };
      }
      // A resolved "missing" is a disk that is back.
      return backStory(event, box, name, when);
    case 'back':
      return backStory(event, box, name, when);
  }
}

/**
 * The mail for one alert. The subject starts with the state ("FAILING disk:", "Back to healthy:",
 * "Reminder (3 days): disk still failing:", "Disk missing:", "Too hot: 63 °C on …") and names the disk,
 * the owner's name first; it ends with the box's hostname.
 */
export function composeAlert(event: AlertEvent, box: BoxInfo): MailMessage {
  const story = storyOf(event, box);
  const host = clean(box.hostname) || 'Safehold';
  const reminder = event.reason === 'reminder';
  const since = parseTime(event.since);
  const at = parseTime(event.at);
  const lasted = !Number.isNaN(since) && !Number.isNaN(at) ? at - since : Number.NaN;

  let subject = story.subject;
  let happened = story.happened;
  if (reminder) {
    const howLong = Number.isNaN(lasted) ? '' : ` (${formatDuration(lasted)})`;
    subject = `Reminder${howLong}: ${subject}`;
    const sinceWhen = Number.isNaN(since) ? '' : `, since ${formatTime(event.since, box.timeZone)}${howLong}`;
    const next = parseTime(event.nextReminderAt);
    happened = [
      { p: `Reminder: this disk is ${story.still ?? 'still in the same state'}${sinceWhen}.` },
      {
        p:
          !Number.isNaN(next) && !Number.isNaN(at)
            ? `The next reminder comes in ${formatGap(next - at)} (${formatTime(event.nextReminderAt ?? '', box.timeZone)}), unless this changes: a change is mailed at once.`
            : 'You get a mail as soon as this changes.',
      },
    ];
  }

  const footer = [`Sent by Safehold on ${host}, ${formatTime(event.at, box.timeZone)}.`];

  const mail: Mail = {
    subject: `${subject} — ${host}`,
    banner: { text: reminder ? `Reminder: ${story.banner}` : story.banner, tone: story.tone },
    sections: [
      { title: 'What happened', blocks: happened },
      whichDisk(event.disk, story.present),
      { title: 'What it means', blocks: story.means },
      { title: 'What to do next', blocks: [{ ol: story.steps }, { link: { label: "Open the disk's page", url: diskUrl(box, event.disk) } }] },
    ],
    footer,
  };
  return render(mail);
}

// ---------------------------------------------------------------------------------------------
// Notices: mails about things that are not one disk's health (backups, rotation reminders).

/** A mail about a backup, a rotation reminder or another happening that is not a disk's health. */
export interface NoticeMail {
  /** Without the host name (added). */
  subject: string;
  banner: string;
  tone: 'bad' | 'warn' | 'good' | 'info';
  /** Paragraphs: what happened. */
  happened: string[];
  /** Facts shown as "key: value" lines (drive, serial, sizes). */
  facts?: Array<[string, string]>;
  /** Paragraphs: what it means. */
  means?: string[];
  /** Numbered steps: what to do next. */
  steps?: string[];
  /** A page of the admin page, relative to its address (`backups`). */
  link?: { label: string; path: string };
}

/** Renders a notice like every other alert mail (the same plain text and HTML). */
export function composeNotice(notice: NoticeMail, box: BoxInfo, at: string): MailMessage {
  const host = clean(box.hostname) || 'Safehold';
  const sections: Section[] = [{ title: 'What happened', blocks: notice.happened.map((p) => ({ p })) }];
  if (notice.facts?.length) sections.push({ title: 'Details', blocks: [{ kv: notice.facts }] });
  if (notice.means?.length) sections.push({ title: 'What it means', blocks: notice.means.map((p) => ({ p })) });
  const next: Block[] = [];
  if (notice.steps?.length) next.push({ ol: notice.steps });
  if (notice.link) next.push({ link: { label: notice.link.label, url: `${baseUrl(box.pageUrl)}${notice.link.path}` } });
  if (next.length) sections.push({ title: 'What to do next', blocks: next });
  return render({
    subject: `${notice.subject} — ${host}`,
    banner: { text: notice.banner, tone: notice.tone },
    sections,
    footer: [`Sent by Safehold on ${host}, ${formatTime(at, box.timeZone)}.`],
  });
}

// ---------------------------------------------------------------------------------------------
// The daily digest.

const VERDICT_RANK: Record<Verdict, number> = { failing: 0, warning: 1, unknown: 2, healthy: 3 };
const LEVEL_RANK = { error: 0, warning: 1, info: 2 } as const;
const DIGEST_TAG: Record<Verdict, string> = { failing: 'FAILING', warning: 'Warning', unknown: 'Unknown', healthy: 'Healthy' };

/**
 * One mail a day: every disk on one line (worst first), the problems still open, and the period's
 * activity (errors, then warnings, then the rest; at most `DIGEST_ACTIVITY_LINES`, then "and N more").
 */
export function composeDigest(input: DigestInput): MailMessage {
  const { box } = input;
  const host = clean(box.hostname) || 'Safehold';
  const tz = box.timeZone;
  const disks = [...input.disks].sort((a, b) => VERDICT_RANK[asVerdict(a.verdict)] - VERDICT_RANK[asVerdict(b.verdict)]);
  const count = (v: Verdict) => disks.filter((d) => asVerdict(d.verdict) === v).length;
  const errors = input.activity.filter((a) => a.level === 'error').length;

  const summary: string[] = [];
  if (count('failing')) summary.push(`${plural(count('failing'), 'disk')} FAILING`);
  if (count('warning')) summary.push(plural(count('warning'), 'warning'));
  if (count('unknown')) summary.push(`${count('unknown')} unknown`);
  if (!summary.length && disks.length) summary.push(disks.length === 1 ? 'the disk is healthy' : `all ${disks.length} disks healthy`);
  if (!disks.length) summary.push('no disks');
  if (errors) summary.push(`${plural(errors, 'error')} in the log`);
  const backups = input.backups;
  if (backups && backups.level !== 'ok') summary.push(backups.level === 'problem' ? 'backups at risk' : 'backups need attention');
  const worst: Tone =
    count('failing') || errors || backups?.level === 'problem' ? 'bad' : count('warning') || count('unknown') || backups?.level === 'attention' ? 'warn' : 'good';

  const diskItems = disks.map(({ disk, verdict, headline, temperatureC }) => {
    const v = asVerdict(verdict);
    const details = [
      `${formatSize(disk.sizeBytes)}, ${busName(disk.bus)}`,
      typeof temperatureC === 'number' && Number.isFinite(temperatureC) ? `${Math.round(temperatureC)} °C` : null,
    ].filter((s): s is string => s !== null);
    const head = clean(headline);
    return { tag: DIGEST_TAG[v], tone: VERDICT_TONE[v], text: `${subjectDiskName(disk)}, ${details.join(', ')}${head ? `: ${head}` : ''}` };
  });

  const now = parseTime(input.to);
  const openItems = input.open.map((o) => {
    const t = parseTime(o.since);
    const lasted = !Number.isNaN(t) && !Number.isNaN(now) ? ` (${formatDuration(now - t)})` : '';
    return `${clean(o.message).replace(/[.:;,]+$/, '')}, since ${formatTime(o.since, tz)}${lasted}`;
  });

  const activity = input.activity
    .map((a, i) => ({ ...a, i }))
    .sort((a, b) => LEVEL_RANK[a.level] - LEVEL_RANK[b.level] || (parseTime(a.at) || 0) - (parseTime(b.at) || 0) || a.i - b.i);
  const shown = activity.slice(0, DIGEST_ACTIVITY_LINES);
  const more = activity.length - shown.length;
  const activityItems = shown.map((a) => ({
    tag: a.level === 'error' ? 'Error' : a.level === 'warning' ? 'Warning' : formatTime(a.at, tz, { year: false }),
    tone: (a.level === 'error' ? 'bad' : a.level === 'warning' ? 'warn' : 'info') as Tone,
    text: a.level === 'info' ? clean(a.message) : `${formatTime(a.at, tz, { year: false })}: ${clean(a.message)}`,
  }));

  const activityBlocks: Block[] = activityItems.length ? [{ tagged: activityItems }] : [{ p: 'Nothing was logged.' }];
  if (more > 0) activityBlocks.push({ p: `And ${more} more in the activity log.` });
  activityBlocks.push({ link: { label: 'Open the activity log', url: `${baseUrl(box.pageUrl)}${ACTIVITY_PATH}` } });

  const mail: Mail = {
    subject: `Daily summary: ${summary.join(', ')} — ${host}`,
    banner: { text: `Daily summary: ${summary.join(', ')}`, tone: worst },
    sections: [
      ...(backups
        ? [{ title: 'Backups', blocks: [{ p: clean(backups.headline) }, { link: { label: 'Open the backups page', url: `${baseUrl(box.pageUrl)}backups` } }] as Block[] }]
        : []),
      {
        title: 'Disks',
        blocks: diskItems.length ? [{ tagged: diskItems }] : [{ p: 'No disks are known yet.' }],
      },
      { title: 'Problems still open', blocks: openItems.length ? [{ ul: openItems }] : [{ p: 'None.' }] },
      {
        title: `Activity, ${formatTime(input.from, tz, { year: false })} to ${formatTime(input.to, tz, { year: false })}`,
        blocks: activityBlocks,
      },
    ],
    footer: [
      `Sent once a day by Safehold on ${host}. Alerts about a change are sent at once, besides this summary.`,
      `Change the settings: ${baseUrl(box.pageUrl)}${ALERT_SETTINGS_PATH}`,
    ],
  };
  return render(mail);
}

// ---------------------------------------------------------------------------------------------
// The test mail.

/** The "send test e-mail" button's message: says it is a test, how alerts arrive, where to change them. */
export function composeTestMail(box: BoxInfo, at: string): MailMessage {
  const host = clean(box.hostname) || 'Safehold';
  const settings = `${baseUrl(box.pageUrl)}${ALERT_SETTINGS_PATH}`;
  const mail: Mail = {
    subject: `Test e-mail from Safehold on ${host}`,
    banner: { text: 'Test e-mail: alerts reach you', tone: 'good' },
    sections: [
      {
        title: 'What happened',
        blocks: [{ p: `This is a test e-mail from Safehold on ${host}, sent on ${formatTime(at, box.timeZone)} from the alert settings.` }],
      },
      {
        title: 'What it means',
        blocks: [
          {
            p:
              'Alerts will arrive this way: when a disk goes bad or gets better, goes missing or ' +
              'comes back, fails a self-test or gets too hot, and in a daily summary if you chose one.',
          },
        ],
      },
      {
        title: 'What to do next',
        blocks: [
          {
            ol: [
              'Nothing, if this mail is in your inbox.',
              'If it landed in spam or junk, mark it as not spam, so that alerts are not missed.',
              'Change who receives alerts, or the daily summary, in the alert settings.',
            ],
          },
          { link: { label: 'Open the alert settings', url: settings } },
        ],
      },
    ],
    footer: [`Sent by Safehold on ${host}.`],
  };
  return render(mail);
}

// ---------------------------------------------------------------------------------------------
// Rendering: plain text.

/** Wraps `text` at `width`, the first line after `first`, the others after `rest`; never breaks a word. */
export function wrap(text: string, width = TEXT_WIDTH, first = '', rest = first): string[] {
  const words = text.split(/ +/).filter((w) => w);
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else {
      line = empty ? line + word : `${line} ${word}`;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

function textBlock(block: Block): string[] {
  return textLines(block).map(unglue);
}

function textLines(block: Block): string[] {
  if ('p' in block) return wrap(block.p);
  if ('ul' in block) return block.ul.flatMap((item) => wrap(item, TEXT_WIDTH, '- ', '  '));
  if ('ol' in block) return block.ol.flatMap((item, i) => wrap(item, TEXT_WIDTH, `${i + 1}. `, '   '));
  if ('kv' in block) return block.kv.flatMap(([k, v]) => wrap(`${k}: ${v}`, TEXT_WIDTH, '', '  '));
  if ('tagged' in block) return block.tagged.flatMap((t) => wrap(`${t.tag}: ${t.text}`, TEXT_WIDTH, '- ', '  '));
  return [`${block.link.label}:`, block.link.url];
}

function renderText(mail: Mail): string {
  const out: string[] = [];
  for (const section of mail.sections) {
    out.push(unglue(section.title));
    section.blocks.forEach((block, i) => {
      // A paragraph after a list gets a blank line before it; lists hug the line that leads into them.
      if (i > 0 && !('ul' in block || 'ol' in block || 'tagged' in block)) out.push('');
      out.push(...textBlock(block));
    });
    out.push('');
  }
  out.push('--');
  for (const line of mail.footer) out.push(...wrap(line).map(unglue));
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Rendering: HTML (inline styles only; mail clients strip <style> and block external resources).

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const TONES: Record<Tone, { fg: string; bg: string }> = {
  bad: { fg: '#9b1c1c', bg: '#fdecec' },
  warn: { fg: '#7a4a00', bg: '#fff3dc' },
  good: { fg: '#1d6b34', bg: '#e7f5eb' },
  info: { fg: '#3d4552', bg: '#eef0f3' },
};

const safeHref = (url: string) => (/^https?:\/\//i.test(url) ? escapeHtml(url) : null);

function htmlBlock(block: Block): string {
  const p = 'margin:0 0 10px 0;';
  if ('p' in block) return `<p style="${p}">${escapeHtml(block.p)}</p>`;
  if ('ul' in block) return `<ul style="margin:0 0 10px 0;padding-left:20px;">${block.ul.map((i) => `<li style="margin:0 0 4px 0;">${escapeHtml(i)}</li>`).join('')}</ul>`;
  if ('ol' in block) return `<ol style="margin:0 0 10px 0;padding-left:22px;">${block.ol.map((i) => `<li style="margin:0 0 6px 0;">${escapeHtml(i)}</li>`).join('')}</ol>`;
  if ('kv' in block) {
    return block.kv
      .map(([k, v]) => `<p style="margin:0 0 4px 0;"><span style="color:#5b6472;">${escapeHtml(k)}:</span> ${escapeHtml(v)}</p>`)
      .join('');
  }
  if ('tagged' in block) {
    return block.tagged
      .map((t) => {
        const tone = TONES[t.tone];
        return (
          `<p style="margin:0 0 6px 0;"><span style="display:inline-block;padding:0 6px;border-radius:3px;` +
          `font-weight:600;color:${tone.fg};background:${tone.bg};">${escapeHtml(t.tag)}</span> ${escapeHtml(t.text)}</p>`
        );
      })
      .join('');
  }
  const href = safeHref(block.link.url);
  if (!href) return `<p style="${p}">${escapeHtml(`${block.link.label}: ${block.link.url}`)}</p>`;
  return (
    `<p style="margin:14px 0 10px 0;"><a href="${href}" style="display:inline-block;padding:10px 16px;border-radius:6px;` +
    `background:#1f4fa3;color:#ffffff;text-decoration:none;font-weight:600;">${escapeHtml(block.link.label)}</a></p>` +
    `<p style="margin:0 0 10px 0;font-size:13px;color:#5b6472;word-break:break-all;">${escapeHtml(block.link.url)}</p>`
  );
}

function renderHtml(mail: Mail): string {
  const tone = TONES[mail.banner.tone];
  const sections = mail.sections
    .map(
      (s) =>
        `<h2 style="margin:18px 0 6px 0;font-size:16px;line-height:1.3;color:#1c2430;">${escapeHtml(s.title)}</h2>` +
        s.blocks.map(htmlBlock).join(''),
    )
    .join('');
  const footer = mail.footer.map((f) => `<p style="margin:0 0 4px 0;">${escapeHtml(f)}</p>`).join('');
  return (
    '<!DOCTYPE html><html><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(mail.subject)}</title></head>` +
    `<body style="margin:0;padding:0;background:#ffffff;">` +
    `<div style="max-width:560px;margin:0 auto;padding:16px;font-family:${FONT};font-size:15px;line-height:1.45;color:#1c2430;">` +
    `<p style="margin:0 0 8px 0;padding:10px 12px;border-radius:6px;font-size:17px;font-weight:700;` +
    `color:${tone.fg};background:${tone.bg};">${escapeHtml(mail.banner.text)}</p>` +
    sections +
    `<div style="margin-top:20px;padding-top:10px;border-top:1px solid #d9dde3;font-size:13px;color:#5b6472;">${footer}</div>` +
    '</div></body></html>'
  );
}

function render(mail: Mail): MailMessage {
  return { subject: clean(mail.subject), text: renderText(mail), html: renderHtml(mail) };
}
