/**
 * `MailTransport` over SMTP with nodemailer. A connection is opened for each message (alerts are
 * rare; settings may change between two), with timeouts so a dead server cannot hold a job.
 * nodemailer's errors are translated into `MailError`s a person can act on, in Safehold's words,
 * never the other end's (see `explain()`).
 */
import { isIP } from 'node:net';
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
      tls: { rejectUnauthorized: true, ...(isIP(settings.host) ? {} : { servername: settings.host }), ...(this.options.ca ? { ca: this.options.ca } : {}) },
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
  /** The system's code under nodemailer's own (ECONNREFUSED under ESOCKET, ENOTFOUND under EDNS). */
  originalCode?: string;
  /** The SMTP step that failed: CONN, EHLO, STARTTLS, AUTH PLAIN, MAIL FROM, RCPT TO, DATA; API for nodemailer's own checks. */
  command?: string;
  responseCode?: number | false;
  /** The addresses a server refused at RCPT TO. */
  rejected?: string[];
  cause?: { code?: string };
}

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|SIGNATURE|HOSTNAME/i;

/**
 * nodemailer's error → a MailError in words. Exported for tests of the wording.
 *
 * Contract: the words are Safehold's own, chosen from the error's codes and the SMTP step that
 * failed, never from what the other end said (its greeting, banner or reply text): the test button
 * can be pointed at any host and port, and must not read out what answers there. The one thing
 * taken from a mail server's reply is its three-digit code, after it greeted and spoke SMTP. A
 * closed port, a silent one and one where something other than a mail server answers get the same
 * words (`no-mail-server`): telling them apart would make the button a port scanner.
 */
export function explain(error: unknown, settings: SmtpSettings): MailError {
  const e = (error ?? {}) as NodemailerError;
  const codes = [e.code, e.originalCode, e.cause?.code].filter((c): c is string => typeof c === 'string');
  const where = `${settings.host}:${settings.port}`;
  const reply = typeof e.responseCode === 'number' ? ` (reply ${e.responseCode})` : '';
  const make = (kind: MailError['kind'], message: string, advice: string) => new MailError(kind, message, advice, { cause: error });

  if (codes.some((c) => /^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/.test(c))) {
    return make('host-not-found', `The mail server name "${settings.host}" could not be found.`, 'Check the spelling of the server name, and that this box has working DNS.');
  }
  const certificate = codes.find((c) => CERT_CODES.test(c));
  if (certificate) {
    return make(
      'certificate',
      `The mail server ${where} showed a certificate this box does not trust (${certificate}).`,
      'Check that the server name matches the certificate, that the certificate is current, and that the security setting matches the port (TLS on 465, STARTTLS on 587).',
    );
  }
  if (e.code === 'EAUTH' && e.command === 'API') {
    return make('auth-required', `Logging in to ${where} as "${settings.user ?? ''}" needs a password, and no password is stored for these settings.`, 'Type the password again and save: a stored password is forgotten when the server, port, encryption or user name changes.');
  }
  if (e.code === 'EAUTH') {
    return make('auth-failed', `The mail server ${where} refused the user name or password${reply}.`, 'Check the user name and password. Some providers need an app password instead of the account password.');
  }
  if (e.code === 'ETLS' && e.command === 'STARTTLS' && reply) {
    return make('tls-unavailable', `The mail server ${where} does not offer STARTTLS.`, 'Choose TLS (usually port 465), or "none" for a relay on your own network that needs no login.');
  }
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') {
    if (e.responseCode === 530) {
      return make('auth-required', `The mail server ${where} wants a user name and password.`, 'Enter the user name and password of the mail account.');
    }
    const refused =
      e.command === 'MAIL FROM' ? `the sender address ${settings.from}`
      : e.command === 'RCPT TO' ? `the recipient${(e.rejected ?? settings.to).length === 1 ? '' : 's'} ${(e.rejected ?? settings.to).join(', ')}`
      : e.command === 'DATA' ? 'the message'
      : null;
    if (refused) {
      return make('rejected', `The mail server ${where} refused ${refused}${reply}.`, 'Check the sender and recipient addresses; many servers accept only their own accounts as sender.');
    }
  }
  if (e.command === 'API' || e.command === undefined) {
    return make('other', `Sending through ${where} failed.`, 'Check the mail settings; the service log has the details.');
  }
  return make(
    'no-mail-server',
    `No mail server answered at ${where}.`,
    'Check the server name and the port, and that the encryption setting matches the port (TLS on 465, STARTTLS on 587, none on 25): a mail server spoken to with the wrong one does not answer. Is it running, and reachable from this box?',
  );
}
