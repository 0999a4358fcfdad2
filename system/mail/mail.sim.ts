/**
 * `MailTransport` for the demo: every message is written as a text file to an outbox folder
 * (atomically), so a person trying Safehold without a mail server can still read its alerts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/files.js';
import type { MailMessage, MailTransport, SmtpSettings } from './mail.js';

export class OutboxMailTransport implements MailTransport {
  #count = 0;

  constructor(private readonly folder: string) {}

  async send(settings: SmtpSettings, message: MailMessage): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = join(this.folder, `${stamp}-${++this.#count}.txt`);
    const headers = [`From: ${settings.from}`, `To: ${settings.to.join(', ')}`, `Subject: ${message.subject}`];
    await writeFileAtomic(file, `${headers.join('\n')}\n\n${message.text}\n`, 0o600);
  }
}
