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
 * - The SMTP password is kept in the secret store, never in the catalog, never returned.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import type { MailMessage, MailTransport, SmtpSettings } from '../../system/mail/mail.js';
import type { ActivityService } from '../activity/activity.service.js';
import { InvalidInputError } from '../errors.js';
import type { EventBus } from '../events.js';
import { visibleText } from '../http/validate.js';
import type { Reason } from '../health/health.model.js';
import type { AlertSettingsInput, AlertSettingsView, OpenAlert } from '../health/health.view.js';
import type { SecretStore } from '../settings/secrets.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import { composeAlert, composeDigest, composeNotice, composeTestMail, type AlertDisk, type AlertKind, type BoxInfo, type NoticeMail } from './alert-mail.js';
import { decide, reminderGapMs } from './alert-policy.js';
import type { AlertRepository, StoredAlert } from './alert.repository.js';

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
  }) satisfies z.ZodType<AlertSettingsInput>;

const DEFAULTS: Stored = {
  enabled: false,
  smtp: { host: '', port: 587, security: 'starttls', user: null, from: '', to: [] },
  digest: { enabled: false, hour: 8 },
};

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
  /** Called when the digest settings change (to re-arm its schedule). */
  onDigestChange?: (digest: Stored['digest']) => void;
}

export class AlertService {
  constructor(private readonly o: AlertServiceOptions) {}

  box(): BoxInfo {
    return { hostname: hostname(), pageUrl: this.o.pageUrl(), timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone };
  }

  storedSettings(): Stored {
    return this.o.settings.get(SETTINGS_KEY, StoredSettings, DEFAULTS);
  }

  async settings(): Promise<AlertSettingsView> {
    const s = this.storedSettings();
    return { ...s, smtp: { ...s.smtp, passwordSet: await this.o.secrets.has(SMTP_PASSWORD_SECRET) } };
  }

  async saveSettings(input: AlertSettingsInput): Promise<AlertSettingsView> {
    const { password, ...smtp } = input.smtp;
    if (password === null) await this.o.secrets.remove(SMTP_PASSWORD_SECRET);
    else if (typeof password === 'string' && password.length > 0) await this.o.secrets.write(SMTP_PASSWORD_SECRET, password);
    const stored: Stored = { enabled: input.enabled, smtp: { ...smtp, user: smtp.user?.trim() || null }, digest: input.digest };
    this.o.settings.put(SETTINGS_KEY, stored);
    this.o.onDigestChange?.(stored.digest);
    this.o.activity.record({ level: 'info', kind: 'settings.alerts', message: `Alert settings saved (${stored.enabled ? `e-mail to ${stored.smtp.to.join(', ')}` : 'e-mail off'}).` });
    return this.settings();
  }

  /** Send the test mail with the saved settings; throws `MailError` (with advice) when it fails. */
  async sendTest(): Promise<{ sent: true; to: string[] }> {
    const smtp = await this.#smtp();
    if (!smtp) throw new InvalidInputError('Enter and save the mail server, the sender and a recipient first.', [{ path: 'smtp.host', message: 'Enter the mail server' }]);
    await this.o.transport.send(smtp, composeTestMail(this.box(), new Date(this.o.clock.now()).toISOString()));
    this.o.activity.record({ level: 'info', kind: 'alert.test', message: `Test e-mail sent to ${smtp.to.join(', ')}.` });
    return { sent: true, to: smtp.to };
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
  async sendDigest(input: Omit<Parameters<typeof composeDigest>[0], 'box' | 'from' | 'to'>): Promise<void> {
    if (!this.storedSettings().digest.enabled) return;
    const now = this.o.clock.now();
    const period = { from: new Date(now - 24 * 3600 * 1000).toISOString(), to: new Date(now).toISOString() };
    await this.#mail(composeDigest({ ...input, box: this.box(), ...period }));
  }

  /** The SMTP settings with the password, or null when alerts by e-mail are off or incomplete. */
  async #smtp(): Promise<SmtpSettings | null> {
    const s = this.storedSettings();
    if (!s.smtp.host || !s.smtp.from || s.smtp.to.length === 0) return null;
    return { ...s.smtp, password: await this.o.secrets.read(SMTP_PASSWORD_SECRET) };
  }

  async #mail(message: MailMessage): Promise<void> {
    if (!this.storedSettings().enabled) return;
    const smtp = await this.#smtp();
    if (!smtp) return;
    try {
      await this.o.transport.send(smtp, message);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.o.log.warn({ err: error }, 'alert e-mail not sent');
      this.o.activity.record({ level: 'warning', kind: 'alert.mail-failed', message: `An alert e-mail could not be sent ("${message.subject}"): ${why}` });
    }
  }
}

function toOpenAlert(a: StoredAlert): OpenAlert {
  return { key: a.key, driveId: a.driveId, state: a.state, severity: a.severity, message: a.message, since: new Date(a.since).toISOString() };
}
