/**
 * The mail transport against a real SMTP server (smtp-server) on loopback: a message arrives with
 * its recipients, subject and text; and each way sending goes wrong is reported in words a person
 * understands, without the password.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { MailError, type SmtpSettings } from '../../system/mail/mail.js';
import { SmtpMailTransport } from '../../system/mail/smtp-mail.adapter.js';
import { freePort } from '../testing/service.js';
import { startMailCatcher as startSmtp } from '../testing/smtp.js';

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

  it('says the connection was refused when nothing listens', async () => {
    const error = await failure(transport.send(settings(await freePort()), message));
    assert.equal(error.kind, 'connection-refused');
    assert.match(error.message, /refused the connection/);
    assert.match(error.advice, /server name and port/);
  });

  it('says the server did not answer in time when it stays silent', async () => {
    const port = await freePort();
    const silent: TcpServer = createTcpServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((done) => silent.listen(port, '127.0.0.1', done));
    cleanups.push(async () => {
      await new Promise<void>((done) => silent.close(() => done()));
    });
    const error = await failure(transport.send(settings(port), message));
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /did not answer in time/);
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
