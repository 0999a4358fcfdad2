/** A real SMTP server (smtp-server) on loopback that keeps every message it receives, and other listening sockets that are not mail servers, for tests. */
import { createServer, type Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { freePort } from './service.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface MailCatcher {
  port: number;
  received: ReceivedMail[];
  close(): Promise<void>;
}

/** Plain SMTP without login unless `options` say otherwise (STARTTLS off by default). */
export async function startMailCatcher(options: Partial<SMTPServerOptions> = {}): Promise<MailCatcher> {
  const received: ReceivedMail[] = [];
  const port = await freePort();
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => {});
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { port, received, close: () => new Promise<void>((done) => server.close(() => done())) };
}

/** The Subject header as a mail app shows it: unfolded, RFC 2047 encoded-words (Q or B) decoded. */
export function subjectOf(raw: string): string {
  const header = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1] ?? '';
  return header
    .replace(/\r?\n[ \t]/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    );
}

export interface TcpListener {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A TCP server on loopback that is not a mail server: `speak` is called with each connection (an
 * SSH-like banner, an FTP-like dialogue); without it the port stays silent.
 */
export async function startTcpListener(speak: ((socket: Socket) => void) | null): Promise<TcpListener> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const listener: TcpListener = {
    port,
    connections: 0,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
  const server = createServer((socket) => {
    listener.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    speak?.(socket);
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return listener;
}

/** What an OpenSSH server says first, with a marker no Safehold answer may repeat. */
export const SSH_BANNER = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 peer-text-ssh';
