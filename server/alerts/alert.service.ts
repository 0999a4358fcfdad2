/**
 * Alerts: turns what the monitors observe into activity entries, live events for the page and
 * e-mails, without flooding (alert-policy.ts), and keeps the owner's mail settings.
 *
 * Contract:
 * - `observe()` takes the current state of one condition (a disk's verdict, its temperature, its
 *   presence) and tells the owner only what the policy says: a change at once, a lasting problem
 *   again after 1, 2, 4, 8 … days, a return to normal once. Every message is also an activity entry
 *   and, while the problem lasts, an open alert on the dashboard.
 * - `event()` tells a one-off happening (a self-test failed, a bad-sector counter grew) once.
 * - A mail that cannot be sent never stops monitoring: it is written to the activity log instead.
 * - Until alert e-mail is on, nothing is mailed, and what would have been is remembered for a day
 *   (`alerts.not-sent` in the settings table): `notSetUp()` says so for the status (the overview,
 *   `safehold status`), and the daily state, at the digest's hour every day, is an activity entry
 *   (`alert.not-set-up`) saying that alerts are not set up, the fix, and what was not sent. With
 *   e-mail on, the daily state is the digest mail, when the owner turned it on.
 * - The SMTP password is kept in the secret store, never in the catalog, never returned. It is
 *   stored together with the server it was given for (host, port, security, user) and is only ever
 *   sent to that server: saving another host, port, security or user without giving the password
 *   again forgets it, and a password whose server no longer matches the settings is not used.
 * - A login without encryption (`security: "none"` with a user) is accepted only for a mail server
 *   on this box (loopback): anywhere else the password would cross the network in plain text.
 * - The test mail is sent with the saved settings only, at most `TEST_MAILS_PER_WINDOW` in any
 *   `TEST_MAIL_WINDOW_MS` for the whole box (it can be pointed at any host and port).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import type { MailMessage, MailTransport, SmtpSettings } from '../../system/mail/mail.js';
import type { ActivityService } from '../activity/activity.service.js';
import { isIP } from 'node:net';
import { InvalidInputError, TooManyAttemptsError } from '../errors.js';
import type { EventBus } from '../events.js';
import { visibleText } from '../http/validate.js';
import type { Reason } from '../health/health.model.js';
import type { AlertSettingsInput, AlertSettingsView, OpenAlert } from '../health/health.view.js';
import type { SecretStore } from '../settings/secrets.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import { composeAlert, composeDigest, composeNotice, composeTestMail, type AlertDisk, type AlertKind, type BoxInfo, type NoticeMail } from './alert-mail.js';
import { decide, reminderGapMs } from './alert-policy.js';
import type { AlertRepository, StoredAlert } from './alert.repository.js';
import type { Scheduler } from '../jobs/scheduler.js';

/** Said by the overview, `safehold status` and the daily state until alert e-mail is on. */
export const ALERTS_NOT_SET_UP = 'Alerts are not set up: you will not hear of a failing disk. Turn on "Alerts by e-mail" in Settings (the page\'s /settings#alerts) and send a test e-mail.';

/** Alert mails not sent because e-mail is off: when, and their subject (the last day's, at most `NOT_SENT_KEPT`). */
const NOT_SENT_KEY = 'alerts.not-sent';
const NotSent = z.array(z.object({ at: z.number(), subject: z.string() }));
const NOT_SENT_KEPT = 50;
/** How many subjects the notice names (the newest). */
const NOT_SENT_NAMED = 3;
const DAY_MS = 24 * 3600 * 1000;

/** What the digest mail reports (given by the composition root: disks, open problems, activity, backups). */
export type DigestInput = Omit<Parameters<typeof composeDigest>[0], 'box' | 'from' | 'to'>;

/** Whether alerts reach the owner, as the status reports it. */
export interface AlertsSetUpView {
  setUp: boolean;
  /** Null once e-mail is on; otherwise "Alerts are not set up …", the fix, and what was not sent in the last day. */
  notice: string | null;
  /** Alert mails of the last 24 hours that were not sent because e-mail is off. */
  notSentLastDay: number;
}

export const SMTP_PASSWORD_SECRET = 'smtp-password';
const SETTINGS_KEY = 'alerts';

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;
const Email = z.string().trim().max(254).regex(EMAIL, 'Not an e-mail address');
/** An address as typed on the Settings page (the stored ones are read back with `Email`). */
const TypedEmail = visibleText('Addresses').max(254).regex(EMAIL, 'Not an e-mail address');
/** The sender: an address, or empty while alerts are off. */
const TypedSender = visibleText('Addresses').max(254).refine((v) => v === '' || EMAIL.test(v), 'Not an e-mail address');

/** What is stored (without the password). */
const StoredSettings = z.object({
  enabled: z.boolean(),
  smtp: z.object({
    host: z.string().trim().max(253),
    port: z.number().int().min(1).max(65535),
    security: z.enum(['none', 'starttls', 'tls']),
    user: z.string().max(254).nullable(),
    from: z.union([Email, z.literal('')]),
    to: z.array(Email).max(10),
  }),
  digest: z.object({ enabled: z.boolean(), hour: z.number().int().min(0).max(23) }),
});
type Stored = z.infer<typeof StoredSettings>;

/** The body of `PUT /settings/alerts`. */
export const AlertSettingsInputSchema = z
  .strictObject({
    enabled: z.boolean(),
    smtp: z.strictObject({
      host: z
        .string()
        .trim()
        .max(253)
        .regex(/^[A-Za-z0-9.:[\]_-]*$/, 'Not a server name or address'),
      port: z.number().int().min(1, 'A port is 1 to 65535').max(65535, 'A port is 1 to 65535'),
      security: z.enum(['none', 'starttls', 'tls']),
      user: visibleText('User names').max(254).nullable(),
      password: z.string().max(1024).nullable().optional(),
      from: TypedSender,
      to: z.array(TypedEmail).max(10, 'At most 10 recipients'),
    }),
    digest: z.strictObject({ enabled: z.boolean(), hour: z.number().int().min(0).max(23) }),
  })
  .superRefine((value, ctx) => {
    if (!value.enabled) return;
    if (!value.smtp.host) ctx.addIssue({ code: 'custom', path: ['smtp', 'host'], message: 'Enter the mail server to send alerts through' });
    if (!value.smtp.from) ctx.addIssue({ code: 'custom', path: ['smtp', 'from'], message: 'Enter the sender address' });
    if (value.smtp.to.length === 0) ctx.addIssue({ code: 'custom', path: ['smtp', 'to'], message: 'Enter at least one address to send alerts to' });
  })
  .superRefine((value, ctx) => {
    // on or off: the test button sends with these settings too
    const plain = plainLoginProblem({ ...value.smtp, user: value.smtp.user?.trim() || null });
    if (plain) ctx.addIssue({ code: 'custom', path: ['smtp', 'security'], message: plain });
  }) satisfies z.ZodType<AlertSettingsInput>;

const DEFAULTS: Stored = {
  enabled: false,
  smtp: { host: '', port: 587, security: 'starttls', user: null, from: '', to: [] },
  digest: { enabled: false, hour: 8 },
};

/** Test mails allowed in any window, for the whole box. */
const TEST_MAILS_PER_WINDOW = 5;
/** The window of `TEST_MAILS_PER_WINDOW`, in ms (5 minutes). */
const TEST_MAIL_WINDOW_MS = 5 * 60 * 1000;

/** The part of the SMTP settings a stored password belongs to: it is never sent anywhere else. */
interface PasswordServer {
  host: string;
  port: number;
  security: 'none' | 'starttls' | 'tls';
  user: string | null;
}

/**
 * The secret file `smtp-password`: the password and the server it was given for (JSON). A file of
 * an earlier version holds the bare password: it belongs to the settings saved with it.
 */
const StoredPassword = z.object({
  password: z.string(),
  for: z.object({ host: z.string(), port: z.number(), security: z.enum(['none', 'starttls', 'tls']), user: z.string().nullable() }),
});
type StoredPassword = z.infer<typeof StoredPassword>;

const serverOf = (smtp: PasswordServer): PasswordServer => ({ host: smtp.host, port: smtp.port, security: smtp.security, user: smtp.user });
const sameServer = (a: PasswordServer, b: PasswordServer) => a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port && a.security === b.security && a.user === b.user;

/** `localhost`, 127.0.0.0/8 or ::1: a server on this box, where plain text never crosses a network. */
function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return isIP(h) === 6 && /^(0*:)*:?0*1$/.test(h);
}

const PLAIN_LOGIN =
  'Choose STARTTLS or TLS: with no encryption the user name and password would cross the network in plain text. A relay on your own network that needs no login can stay on "none" with the user name left empty.';

/** Why these settings would send a login in plain text over a network, or null when they do not. */
function plainLoginProblem(smtp: { host: string; security: string; user: string | null }): string | null {
  return smtp.security === 'none' && smtp.user && !isLoopbackHost(smtp.host) ? PLAIN_LOGIN : null;
}

/** The state of one condition now. */
export interface Observation {
  /** Stable key: `health:<drive id>`, `temperature:<drive id>`, `missing:<drive id>`. */
  key: string;
  kind: AlertKind;
  disk: AlertDisk;
  state: string;
  /** True for the normal state (healthy, present, cool). */
  normal: boolean;
  severity: 'warning' | 'error';
  /** One line for the dashboard and the activity log. */
  message: string;
  reasons: Reason[];
}

/** A lasting condition that is not one disk's health (see `observeCondition`). */
export interface ConditionObservation {
  /** Stable key: `source:<name>`, `rotation:swap`, `backups:stale`. */
  key: string;
  /** For the activity log: `alert.<kind>`. */
  kind: string;
  state: string;
  normal: boolean;
  severity: 'warning' | 'error';
  /** One line for the dashboard and the activity log. */
  message: string;
  /** The drive it is about, when one. */
  driveId?: string | null;
  mail: NoticeMail;
}

export type OpenAlertEvent = OpenAlert | { key: string; resolved: true };

export interface AlertServiceOptions {
  repo: AlertRepository;
  settings: SettingsRepository;
  secrets: SecretStore;
  transport: MailTransport;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** The admin page's address as the owner reaches it, for links in mails (known once listening). */
  pageUrl: () => string;
  /**
   * The daily state, at the digest's hour (default 08:00, box time): armed by `start()`, re-armed
   * when the settings are saved. `digest` gathers what the digest mail reports.
   */
  daily?: { scheduler: Scheduler; digest: () => DigestInput };
}

/** The schedule of the daily state (`alerts.daily`). */
export const DAILY_SCHEDULE = 'alerts.daily';

export class AlertService {
  constructor(private readonly o: AlertServiceOptions) {}

  /** Arms the daily state (see `daily` in the options). */
  start(): void {
    this.#armDaily();
  }

  #armDaily(): void {
    const daily = this.o.daily;
    if (!daily) return;
    daily.scheduler.set(DAILY_SCHEDULE, `0 ${this.storedSettings().digest.hour} * * *`, () => this.dailyState(daily.digest));
  }

  /**
   * The day's state: while e-mail is off, an activity entry (warning, `alert.not-set-up`) that
   * alerts are not set up, with the fix and the mails of the last day that were not sent; with
   * e-mail on, the digest mail when it is turned on (otherwise nothing).
   */
  async dailyState(digest: () => DigestInput): Promise<void> {
    const view = this.notSetUp();
    if (view.notice) {
      this.o.activity.record({ level: 'warning', kind: 'alert.not-set-up', message: `Daily state: ${view.notice}` });
      return;
    }
    await this.sendDigest(digest());
  }

  /** Whether alerts go out by e-mail; while not, the notice says so, with the fix and what was not sent. */
  notSetUp(): AlertsSetUpView {
    if (this.storedSettings().enabled) return { setUp: true, notice: null, notSentLastDay: 0 };
    const notSent = this.#notSentLastDay();
    if (notSent.length === 0) return { setUp: false, notice: ALERTS_NOT_SET_UP, notSentLastDay: 0 };
    const named = notSent.slice(-NOT_SENT_NAMED).reverse().map((m) => `"${m.subject}"`);
    const more = notSent.length > named.length ? ` and ${notSent.length - named.length} more` : '';
    const count = notSent.length === 1 ? '1 alert e-mail was' : `${notSent.length} alert e-mails were`;
    return {
      setUp: false,
      notice: `${ALERTS_NOT_SET_UP} ${count} not sent in the last day because of it: ${named.join(', ')}${more}. What they said is in the activity log.`,
      notSentLastDay: notSent.length,
    };
  }

  #notSentLastDay(): z.infer<typeof NotSent> {
    const since = this.o.clock.now() - DAY_MS;
    return this.o.settings.get(NOT_SENT_KEY, NotSent, []).filter((m) => m.at > since);
  }

  /** Remembers a mail that was not sent because e-mail is off (the last day's, at most `NOT_SENT_KEPT`). */
  #noteNotSent(subject: string): void {
    const kept = [...this.#notSentLastDay(), { at: this.o.clock.now(), subject }].slice(-NOT_SENT_KEPT);
    this.o.settings.put(NOT_SENT_KEY, kept);
  }

  box(): BoxInfo {
    return { hostname: hostname(), pageUrl: this.o.pageUrl(), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone };
  }

  storedSettings(): Stored {
    return this.o.settings.get(SETTINGS_KEY, StoredSettings, DEFAULTS);
  }

  async settings(): Promise<AlertSettingsView> {
    const s = this.storedSettings();
    return { ...s, smtp: { ...s.smtp, passwordSet: (await this.#password(s.smtp)) !== null } };
  }

  /**
   * Saves the settings. `password` absent keeps the stored one only while host, port, security and
   * user stay what it was given for (otherwise it is forgotten); `null` removes it; a string
   * replaces it, for these settings.
   */
  async saveSettings(input: AlertSettingsInput): Promise<AlertSettingsView> {
    const { password, ...smtp } = input.smtp;
    const stored: Stored = { enabled: input.enabled, smtp: { ...smtp, user: smtp.user?.trim() || null }, digest: input.digest };
    const server = serverOf(stored.smtp);
    const given = typeof password === 'string' && password.length > 0 ? password : null;
    const kept = password === null || given ? null : await this.#password(server);
    // (re)written with the server it is for, which also binds a bare password of an earlier version
    if (given ?? kept) await this.o.secrets.write(SMTP_PASSWORD_SECRET, JSON.stringify({ password: (given ?? kept)!, for: server } satisfies StoredPassword));
    else await this.o.secrets.remove(SMTP_PASSWORD_SECRET);
    this.o.settings.put(SETTINGS_KEY, stored);
    this.#armDaily();
    this.o.activity.record({ level: 'info', kind: 'settings.alerts', message: `Alert settings saved (${stored.enabled ? `e-mail to ${stored.smtp.to.join(', ')}` : 'e-mail off'}).` });
    return this.settings();
  }

  /**
   * Send the test mail with the saved settings; throws `MailError` (with advice, never the other
   * end's words) when it fails, `TooManyAttemptsError` after `TEST_MAILS_PER_WINDOW` tries in the window.
   */
  async sendTest(): Promise<{ sent: true; to: string[] }> {
    const smtp = await this.#smtp();
    if (!smtp) throw new InvalidInputError('Enter and save the mail server, the sender and a recipient first.', [{ path: 'smtp.host', message: 'Enter the mail server' }]);
    this.#countTest();
    try {
      await this.o.transport.send(smtp, composeTestMail(this.box(), new Date(this.o.clock.now()).toISOString()));
    } catch (error) {
      this.o.log.warn({ kind: 'alert.test-failed', err: error }, `Test e-mail not sent: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    this.o.activity.record({ level: 'info', kind: 'alert.test', message: `Test e-mail sent to ${smtp.to.join(', ')}.` });
    return { sent: true, to: smtp.to };
  }

  /** When the test mails of the window were sent (ms), oldest first. */
  readonly #testsAt: number[] = [];

  #countTest(): void {
    const now = this.o.clock.now();
    while (this.#testsAt.length > 0 && this.#testsAt[0]! <= now - TEST_MAIL_WINDOW_MS) this.#testsAt.shift();
    if (this.#testsAt.length >= TEST_MAILS_PER_WINDOW) {
      const seconds = Math.max(1, Math.ceil((this.#testsAt[0]! + TEST_MAIL_WINDOW_MS - now) / 1000));
      throw new TooManyAttemptsError(
        `${TEST_MAILS_PER_WINDOW} test e-mails were tried in the last ${TEST_MAIL_WINDOW_MS / 60_000} minutes, which is as many as Safehold sends. Try again in ${seconds} seconds.`,
        seconds,
      );
    }
    this.#testsAt.push(now);
  }

  open(): OpenAlert[] {
    return this.o.repo.open().map(toOpenAlert);
  }

  /** Tell the owner about this condition if, and only if, the policy says so. */
  async observe(observation: Observation): Promise<void> {
    const told = this.#remember({ ...observation, driveId: observation.disk.id, kind: `alert.${observation.kind}` });
    if (!told) return;
    const { decision, before, stored, now } = told;
    await this.#mail(
      composeAlert(
        {
          kind: observation.kind,
          reason: decision,
          state: observation.state,
          previousState: before?.state ?? null,
          disk: observation.disk,
          reasons: observation.reasons,
          since: new Date(stored?.since ?? now).toISOString(),
          at: new Date(now).toISOString(),
          nextReminderAt: stored ? new Date(stored.lastSentAt + reminderGapMs(stored.sendCount)).toISOString() : null,
        },
        this.box(),
      ),
    );
  }

  /**
   * A lasting condition that is not one disk's health (a source that is missing, a rotation swap
   * that is due): the same policy as `observe()` — told at once, reminded after 1, 2, 4, 8 … days
   * (never more than once a day), an open alert on the dashboard while it lasts. The return to
   * normal is logged, not mailed.
   */
  async observeCondition(condition: ConditionObservation): Promise<void> {
    const told = this.#remember({ ...condition, kind: `alert.${condition.kind}` });
    if (!told || condition.normal) return;
    const mail = told.decision === 'reminder' ? { ...condition.mail, subject: `Reminder: ${condition.mail.subject}` } : condition.mail;
    await this.#mail(composeNotice(mail, this.box(), new Date(told.now).toISOString()));
  }

  /** A one-off happening that is not about a disk's health (a backup ended, a snapshot looks suspicious): logged, and mailed once unless `mailed: false`. */
  async notify(notice: { kind: string; severity: 'info' | 'warning' | 'error'; subject?: string | null; message: string; mail: NoticeMail; mailed?: boolean }): Promise<void> {
    this.o.activity.record({ level: notice.severity, kind: `alert.${notice.kind}`, subject: notice.subject ?? undefined, message: notice.message });
    if (notice.mailed === false) return;
    await this.#mail(composeNotice(notice.mail, this.box(), new Date(this.o.clock.now()).toISOString()));
  }

  /** The alert memory and activity log side of a lasting condition; what to mail, or null when nothing is told. */
  #remember(c: { key: string; kind: string; state: string; normal: boolean; severity: 'warning' | 'error'; message: string; driveId?: string | null }) {
    const now = this.o.clock.now();
    const before = this.o.repo.get(c.key) ?? null;
    const decision = decide(now, { key: c.key, state: c.state, normal: c.normal }, before);
    if (decision.memory) {
      this.o.repo.save({ ...decision.memory, driveId: c.driveId ?? null, severity: c.severity, message: c.message });
    } else {
      this.o.repo.remove(c.key);
    }
    if (!decision.send) return null;
    const stored = decision.memory ? this.o.repo.get(c.key)! : null;
    this.o.activity.record({
      level: c.normal ? 'info' : c.severity,
      kind: c.kind,
      subject: c.driveId ?? undefined,
      message: decision.send === 'reminder' ? `Still: ${c.message}` : c.message,
    });
    this.o.bus.publish('alert', stored ? toOpenAlert(stored) : { key: c.key, resolved: true });
    return { decision: decision.send, before, stored, now };
  }

  /** A one-off happening (a failed self-test, a growing counter): logged and mailed once. */
  async event(observation: Omit<Observation, 'normal'>): Promise<void> {
    const at = new Date(this.o.clock.now()).toISOString();
    this.o.activity.record({ level: observation.severity, kind: `alert.${observation.kind}`, subject: observation.disk.id, message: observation.message });
    await this.#mail(
      composeAlert(
        { kind: observation.kind, reason: 'new', state: observation.state, previousState: null, disk: observation.disk, reasons: observation.reasons, since: at, at, nextReminderAt: null },
        this.box(),
      ),
    );
  }

  /** The daily digest of the last 24 hours, when enabled. */
  async sendDigest(input: DigestInput): Promise<void> {
    if (!this.storedSettings().digest.enabled) return;
    const now = this.o.clock.now();
    const period = { from: new Date(now - 24 * 3600 * 1000).toISOString(), to: new Date(now).toISOString() };
    await this.#mail(composeDigest({ ...input, box: this.box(), ...period }));
  }

  /**
   * The SMTP settings with the password, or null when they are incomplete. The password is the
   * stored one only when it was given for these host, port, security and user. Throws
   * `InvalidInputError` when they would log in in plain text over a network (settings of an
   * earlier version: saving refuses them now).
   */
  async #smtp(): Promise<SmtpSettings | null> {
    const s = this.storedSettings();
    if (!s.smtp.host || !s.smtp.from || s.smtp.to.length === 0) return null;
    const plain = plainLoginProblem(s.smtp);
    if (plain) throw new InvalidInputError(plain, [{ path: 'smtp.security', message: plain }]);
    return { ...s.smtp, password: await this.#password(s.smtp) };
  }

  /** The stored password when it belongs to `server`, else null. */
  async #password(server: PasswordServer): Promise<string | null> {
    const raw = await this.o.secrets.read(SMTP_PASSWORD_SECRET);
    if (raw === null) return null;
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // a bare password, of an earlier version
    }
    const bound = StoredPassword.safeParse(parsed);
    if (!bound.success) return sameServer(server, serverOf(this.storedSettings().smtp)) ? raw : null;
    return sameServer(server, bound.data.for) ? bound.data.password : null;
  }

  async #mail(message: MailMessage): Promise<void> {
    if (!this.storedSettings().enabled) {
      this.#noteNotSent(message.subject);
      return;
    }
    try {
      const smtp = await this.#smtp();
      if (!smtp) return;
      await this.o.transport.send(smtp, message);
      this.o.log.info({ kind: 'alert.mail-sent' }, `Alert e-mail sent to ${smtp.to.join(', ')} ("${message.subject}").`);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.o.activity.record({ level: 'warning', kind: 'alert.mail-failed', message: `An alert e-mail could not be sent ("${message.subject}"): ${why}` }, { err: error });
    }
  }
}

function toOpenAlert(a: StoredAlert): OpenAlert {
  return { key: a.key, driveId: a.driveId, state: a.state, severity: a.severity, message: a.message, since: new Date(a.since).toISOString() };
}
