/**
 * Sending e-mail: the adapter line of alerts. `send()` delivers one message with the owner's SMTP
 * settings or throws a `MailError` whose `kind` and `message` say what went wrong in words a person
 * understands (no mail server answered, authentication failed, certificate problem…), with
 * `advice` on what to check. Secrets (the SMTP password) never appear in an error or a log line,
 * and neither does anything the other end said (its banner or reply text): see `explain()`.
 *
 * Two implementations: `SmtpMailTransport` (nodemailer, smtp-mail.adapter.ts) and
 * `OutboxMailTransport` (mail.sim.ts: writes each message to a folder, for the demo).
 */

export type SmtpSecurity = 'none' | 'starttls' | 'tls';

export interface SmtpSettings {
  host: string;
  port: number;
  /** `none`: plain text (a relay on the LAN); `starttls`: upgrade required (port 587); `tls`: TLS from the start (port 465). */
  security: SmtpSecurity;
  user: string | null;
  password: string | null;
  from: string;
  to: string[];
}

export interface MailMessage {
  subject: string;
  /** Plain text: every mail app can show it. */
  text: string;
  /** Optional HTML alternative. */
  html?: string;
}

export type MailErrorKind =
  /** Nothing that speaks SMTP answered: the port is closed, silent, or another program's (one kind on purpose). */
  | 'no-mail-server'
  | 'host-not-found'
  | 'certificate'
  | 'tls-unavailable'
  | 'auth-failed'
  | 'auth-required'
  | 'rejected'
  | 'other';

export class MailError extends Error {
  constructor(
    readonly kind: MailErrorKind,
    message: string,
    readonly advice: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MailError';
  }
}

export interface MailTransport {
  send(settings: SmtpSettings, message: MailMessage): Promise<void>;
}
