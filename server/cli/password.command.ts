/**
 * The console's way into the admin account, over the local socket (whoever can open it is the
 * service's user, so no current password is asked):
 *
 *   safehold password         set a new admin password: asked twice without echo on a terminal, or
 *                             the first line of standard input otherwise; every session ends
 *   safehold reset-password   remove the admin password: every session ends and the admin page asks
 *                             for setup again, with the new setup code this prints
 */
import { join } from 'node:path';
import type { Config } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { SETUP_CODE_FILE } from '../auth/setup-code.js';
import { CommandFailure } from './failures.js';
import { localRequest, refusal } from './local-client.js';
import { printable } from './printable.js';

export interface PasswordIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export async function passwordCommand(config: Config, args: string[], io: PasswordIo): Promise<number> {
  if (args.length > 0) throw new InvalidInputError(`Unexpected "${printable(args[0]!)}". Use "safehold password" (it asks for the new one).`);
  let password: string;
  if (io.stdin.isTTY) {
    password = await askHidden(io, 'New admin password: ');
    if ((await askHidden(io, 'Repeat it: ')) !== password) throw new InvalidInputError('The two passwords are not the same; nothing was changed.');
  } else {
    password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
  }
  const res = await localRequest(config.dataDir, 'POST', '/password', { newPassword: password });
  if (res.status !== 204) throw new CommandFailure(`The password was not changed: ${refusal(res.status, res.body)}`);
  io.stdout.write('The admin password is changed; every session of the admin page has ended.\n');
  return 0;
}

export async function resetPasswordCommand(config: Config, args: string[], io: PasswordIo): Promise<number> {
  if (args.length > 0) throw new InvalidInputError(`Unexpected "${printable(args[0]!)}". Use "safehold reset-password".`);
  const res = await localRequest(config.dataDir, 'POST', '/reset-password');
  if (res.status !== 200) throw new CommandFailure(`The password was not reset: ${refusal(res.status, res.body)}`);
  const { setupCode } = res.body as { setupCode: string };
  io.stdout.write(
    [
      'The admin password is removed and every session has ended.',
      'Open the admin page and set a new password with this setup code:',
      '',
      `    ${setupCode}`,
      '',
      `It is also in ${join(config.dataDir, SETUP_CODE_FILE)}.`,
      '',
    ].join('\n'),
  );
  return 0;
}

function readAll(stream: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}

/** One line typed on the terminal without echo; Ctrl-C or Ctrl-D gives up. */
export function askHidden(io: PasswordIo, prompt: string): Promise<string> {
  const { stdin } = io;
  stdin.setRawMode(true); // before the prompt: whatever is typed after it is never echoed
  stdin.resume();
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004') return done(new InvalidInputError('Stopped; nothing was changed.'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
