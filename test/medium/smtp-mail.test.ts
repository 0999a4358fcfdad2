/**
 * The mail transport against a real SMTP server (smtp-server) on loopback: a message arrives with
 * its recipients, subject and text; and each way sending goes wrong is reported in words a person
 * understands, without the password and without quoting anything the other end said. A closed port,
 * a silent one and one where another program speaks (an SSH banner) get the same words: telling
 * them apart is what would make the test button a port scanner.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { MailError, type SmtpSettings } from '../../system/mail/mail.js';
import { SmtpMailTransport } from '../../system/mail/smtp-mail.adapter.js';
import { freePort } from '../testing/service.js';
import { SSH_BANNER, startMailCatcher as startSmtp, startTcpListener } from '../testing/smtp.js';

const settings = (port: number, over: Partial<SmtpSettings> = {}): SmtpSettings => ({
  host: '127.0.0.1',
  port,
  security: 'none',
  user: null,
  password: null,
  from: 'safehold@box.lan',
  to: ['owner@family.example', 'second@family.example'],
  ...over,
});

const message = { subject: 'Safehold test e-mail', text: 'If you can read this, alerts will reach you.\nDisk: WDC WD40EFRX (serial WD-123).' };
const transport = new SmtpMailTransport({ connectionTimeoutMs: 2000, greetingTimeoutMs: 1000, socketTimeoutMs: 2000 });

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => assert.fail('sending should have failed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MailError, `a MailError, got ${String(error)}`);
  return error;
}

describe('sending e-mail through a real SMTP server', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('delivers the message with its recipients, subject and text', async () => {
    const smtp = await startSmtp({});
    cleanups.push(smtp.close);
    await transport.send(settings(smtp.port), message);
    assert.equal(smtp.received.length, 1);
    const got = smtp.received[0]!;
    assert.equal(got.from, 'safehold@box.lan');
    assert.deepEqual(got.to, ['owner@family.example', 'second@family.example']);
    assert.match(got.raw, /^Subject: Safehold test e-mail$/m);
    assert.match(got.raw, /If you can read this, alerts will reach you\./);
    assert.match(got.raw, /WD-123/);
  });

  it('logs in when a user is set, and says so plainly when the password is wrong', async () => {
    const smtp = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'box' && auth.password === 'right-password') callback(null, { user: 'box' });
        else callback(new Error('Invalid username or password'));
      },
    });
    cleanups.push(smtp.close);
    await transport.send(settings(smtp.port, { user: 'box', password: 'right-password' }), message);
    assert.equal(smtp.received.length, 1);

    const error = await failure(transport.send(settings(smtp.port, { user: 'box', password: 'hunter2-wrong' }), message));
    assert.equal(error.kind, 'auth-failed');
    assert.match(error.message, /refused the user name or password/);
    assert.ok(!error.message.includes('hunter2') && !error.advice.includes('hunter2'), 'the password is never in the error');

    const noLogin = await failure(transport.send(settings(smtp.port), message));
    assert.equal(noLogin.kind, 'auth-required');
  });

  /** A listening port that is not a mail server (see startTcpListener). */
  async function listener(speak: ((socket: Socket) => void) | null): Promise<number> {
    const tcp = await startTcpListener(speak);
    cleanups.push(tcp.close);
    return tcp.port;
  }
  const sshLike = () => listener((socket) => socket.write(`${SSH_BANNER}\r\n`));
  /** An FTP-like server: a 220 greeting like a mail server's, then it understands nothing. */
  const ftpLike = () =>
    listener((socket) => {
      socket.write('220 ProFTPD 1.3.8 Server (peer-text-ftp) [127.0.0.1]\r\n');
      socket.on('data', () => socket.write('500 Command not understood by peer-text-ftp\r\n'));
    });
  /** Nothing of what the other end said, only what Safehold says about it. */
  const words = (e: MailError) => `${e.kind} ${e.message} ${e.advice}`;
  const samePort = (e: MailError, port: number) => e.message.replaceAll(String(port), '<port>');

  it('gives the same words for a closed port, a silent one and one where another program speaks', async () => {
    const closed = await freePort();
    const silent = await listener(null);
    const ssh = await sshLike();
    const ftp = await ftpLike();
    const answers = new Map<number, MailError>();
    for (const port of [closed, silent, ssh, ftp]) answers.set(port, await failure(transport.send(settings(port), message)));
    for (const [port, error] of answers) {
      assert.equal(error.kind, 'no-mail-server', `port ${port}: ${words(error)}`);
      assert.equal(samePort(error, port), 'No mail server answered at 127.0.0.1:<port>.');
      assert.match(error.advice, /server name and the port/);
      assert.match(error.advice, /encryption/);
    }
    // over TLS too: the banner is not a TLS handshake, and is not quoted either
    const overTls = await failure(transport.send(settings(ssh, { security: 'tls' }), message));
    assert.equal(overTls.kind, 'no-mail-server', words(overTls));
    for (const error of [...answers.values(), overTls]) {
      assert.doesNotMatch(words(error), /SSH|OpenSSH|Debian|ProFTPD|peer-text|understood|greeting|response/i, 'nothing the other end said is repeated');
    }
  });

  it("names the step a mail server refused, not the server's own text", async () => {
    const smtp = await startSmtp({
      onRcptTo(address, _session, callback) {
        if (address.address === 'nobody@family.example') callback(Object.assign(new Error('No such mailbox here, peer-text-rcpt'), { responseCode: 550 }));
        else callback();
      },
      onMailFrom(address, _session, callback) {
        if (address.address === 'spoofed@elsewhere.example') callback(Object.assign(new Error('Relaying denied, peer-text-from'), { responseCode: 553 }));
        else callback();
      },
    });
    cleanups.push(smtp.close);
    const rcpt = await failure(transport.send(settings(smtp.port, { to: ['nobody@family.example'] }), message));
    assert.equal(rcpt.kind, 'rejected');
    assert.equal(rcpt.message, `The mail server 127.0.0.1:${smtp.port} refused the recipient nobody@family.example (reply 550).`);
    const from = await failure(transport.send(settings(smtp.port, { from: 'spoofed@elsewhere.example' }), message));
    assert.equal(from.kind, 'rejected');
    assert.equal(from.message, `The mail server 127.0.0.1:${smtp.port} refused the sender address spoofed@elsewhere.example (reply 553).`);
    for (const error of [rcpt, from]) assert.doesNotMatch(words(error), /peer-text|mailbox|relaying/i);
    assert.equal(smtp.received.length, 0);
  });

  it('says a password is needed when a login is set and no password is stored', async () => {
    const smtp = await startSmtp({ allowInsecureAuth: true, authOptional: false, onAuth: (_auth, _session, callback) => callback(null, { user: 'box' }) });
    cleanups.push(smtp.close);
    const error = await failure(transport.send(settings(smtp.port, { user: 'box', password: null }), message));
    assert.equal(error.kind, 'auth-required');
    assert.match(error.message, /no password is stored/);
    assert.equal(smtp.received.length, 0);
  });

  it('refuses a certificate it cannot trust, and says so', async () => {
    // smtp-server's built-in certificate is self-signed for "localhost"
    const smtp = await startSmtp({ secure: true });
    cleanups.push(smtp.close);
    const error = await failure(transport.send(settings(smtp.port, { security: 'tls', host: 'localhost' }), message));
    assert.equal(error.kind, 'certificate');
    assert.match(error.message, /certificate this box does not trust/);
    assert.equal(smtp.received.length, 0);
  });

  it('says STARTTLS is not offered when it is required and the server lacks it', async () => {
    const smtp = await startSmtp({ disabledCommands: ['STARTTLS'] });
    cleanups.push(smtp.close);
    const error = await failure(transport.send(settings(smtp.port, { security: 'starttls' }), message));
    assert.equal(error.kind, 'tls-unavailable');
    assert.equal(smtp.received.length, 0, 'nothing is sent in plain text when encryption was asked for');
  });
});
