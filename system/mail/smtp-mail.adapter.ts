/**
 * `MailTransport` over SMTP with nodemailer. A connection is opened for each message (alerts are
 * rare; settings may change between two), with timeouts so a dead server cannot hold a job.
 * nodemailer's errors are translated into `MailError`s a person can act on.
 */
import nodemailer from 'nodemailer';
import { MailError, type MailMessage, type MailTransport, type SmtpSettings } from './mail.js';

export interface SmtpMailTransportOptions {
  /** Give up connecting after this many ms. Default 15 000. */
  connectionTimeoutMs?: number;
  /** Give up waiting for the server's greeting after this many ms. Default 15 000. */
  greetingTimeoutMs?: number;
  /** Give up on a silent connection after this many ms. Default 30 000. */
  socketTimeoutMs?: number;
  /** Extra trusted certificate authorities (PEM), for a server with a private CA. */
  ca?: string[];
}

export class SmtpMailTransport implements MailTransport {
  constructor(private readonly options: SmtpMailTransportOptions = {}) {}

  async send(settings: SmtpSettings, message: MailMessage): Promise<void> {
    const transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.security === 'tls',
      requireTLS: settings.security === 'starttls',
      ignoreTLS: settings.security === 'none',
      auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
      connectionTimeout: this.options.connectionTimeoutMs ?? 15_000,
      greetingTimeout: this.options.greetingTimeoutMs ?? 15_000,
      socketTimeout: this.options.socketTimeoutMs ?? 30_000,
      tls: { rejectUnauthorized: true, servername: settings.host, ...(this.options.ca ? { ca: this.options.ca } : {}) },
    });
    try {
      await transport.sendMail({ from: settings.from, to: settings.to, subject: message.subject, text: message.text, html: message.html });
    } catch (error) {
      throw explain(error, settings);
    } finally {
      transport.close();
    }
  }
}

interface NodemailerError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  cause?: { code?: string; message?: string };
}

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|SIGNATURE|HOSTNAME/i;

/** nodemailer's error → a MailError in words. Exported for tests of the wording. */
export function explain(error: unknown, settings: SmtpSettings): MailError {
  const e = (error ?? {}) as NodemailerError;
  const text = `${e.message ?? ''} ${e.cause?.message ?? ''}`;
  const codes = `${e.code ?? ''} ${e.cause?.code ?? ''}`;
  const where = `${settings.host}:${settings.port}`;
  const make = (kind: MailError['kind'], message: string, advice: string) => new MailError(kind, message, advice, { cause: error });

  if (/ECONNREFUSED/.test(codes + text)) {
    return make('connection-refused', `The mail server ${where} refused the connection.`, 'Check the server name and port; is the mail server running and reachable from this box?');
  }
  if (/ENOTFOUND|EAI_AGAIN|EDNS/.test(codes + text)) {
    return make('host-not-found', `The mail server name "${settings.host}" could not be found.`, 'Check the spelling of the server name, and that this box has working DNS.');
  }
  if (CERT_CODES.test(codes) || /certificate|self[- ]signed/i.test(text)) {
    return make(
      'certificate',
      `The mail server ${where} showed a certificate this box does not trust (${(e.cause?.code ?? e.code ?? 'certificate problem').toString()}).`,
      'Check that the server name matches the certificate, that the certificate is current, and that the security setting matches the port (TLS on 465, STARTTLS on 587).',
    );
  }
  if (/ETIMEDOUT|timeout/i.test(codes + text)) {
    return make('timeout', `The mail server ${where} did not answer in time.`, 'Check the port and the security setting: a TLS port spoken to in plain text (or the reverse) stays silent. A firewall may also drop the connection.');
  }
  if (e.code === 'EAUTH' && e.responseCode === undefined && /support/i.test(text)) {
    return make('auth-failed', `The mail server ${where} offers no way to log in over this connection.`, 'Choose STARTTLS or TLS: most servers accept a password only over an encrypted connection.');
  }
  if (e.code === 'EAUTH') {
    return make('auth-failed', `The mail server ${where} refused the user name or password.`, 'Check the user name and password. Some providers need an app password instead of the account password.');
  }
  if (/STARTTLS|ETLS/i.test(codes + text)) {
    return make('tls-unavailable', `The mail server ${where} does not offer STARTTLS.`, 'Choose TLS (usually port 465), or "none" for a relay on your own network.');
  }
  if (e.responseCode === 530 || /authentication required|auth.*required/i.test(e.response ?? '')) {
    return make('auth-required', `The mail server ${where} wants a user name and password.`, 'Enter the user name and password of the mail account.');
  }
  if (e.code === 'EENVELOPE' || (e.responseCode !== undefined && e.responseCode >= 500)) {
    return make('rejected', `The mail server ${where} refused the message: ${(e.response ?? e.message ?? '').trim()}`, 'Check the sender and recipient addresses; many servers accept only their own accounts as sender.');
  }
  return make('other', `Sending through ${where} failed: ${(e.message ?? String(error)).trim()}`, 'Check the mail settings.');
}
