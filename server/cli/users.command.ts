/**
 * `safehold users …`: the household users who reach the shares from their computers
 * (docs/samba.md). A password is read from a file or standard input, never from the command line
 * (every user of the box could read it there, in `ps`):
 *   users [--json]                                 every household user and the shares they may use
 *   users add NAME --password-file FILE|-          a new household user (the first line of FILE)
 *   users password NAME --password-file FILE|-     a new password
 *   users remove NAME                              the user, their grants and their password go
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config.js';
import type { HouseholdUserView } from '../pool/user.service.js';
import { InvalidInputError } from '../errors.js';
import { CommandFailure, UsageError } from './failures.js';
import { askHidden, type PasswordIo } from './password.command.js';
import { callService } from './local-client.js';
import type { OptionKinds, ParsedLine } from './options.js';
import { printable } from './printable.js';

export const USERS_OPTIONS: OptionKinds = { json: { type: 'boolean' }, 'password-file': { type: 'string' } };

const USE = 'Use "safehold users [--json]", "users add NAME --password-file FILE", "users password NAME --password-file FILE" or "users remove NAME" (FILE "-": standard input).';

const accessWords = (access: 'rw' | 'ro') => (access === 'rw' ? 'read and change' : 'read only');

export async function usersCommand(config: Config, args: string[], values: ParsedLine['values'], json: boolean, io: PasswordIo): Promise<number> {
  const [action = 'list', name, ...extra] = args;
  if (extra.length) throw new UsageError(USE);
  const at = (n: string) => `/pool/users/${encodeURIComponent(n)}`;
  if (action === 'list') {
    if (name !== undefined || values['password-file'] !== undefined) throw new UsageError(USE);
    const body = (await callService(config.dataDir, 'GET', '/pool/users', undefined, 200)) as { users: HouseholdUserView[] };
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.users.length === 0) process.stdout.write('No household users yet. Make one with "safehold users add NAME --password-file FILE".\n');
    else {
      for (const u of body.users) {
        const shares = u.grants.length ? u.grants.map((g) => `${printable(g.share)} (${accessWords(g.access)})`).join(', ') : 'no shares yet';
        process.stdout.write(`${printable(u.name).padEnd(20)} ${shares}${u.canLogIn ? '' : '  (no password in Samba: set one with "safehold users password")'}\n`);
      }
    }
    return 0;
  }
  if (!name) throw new UsageError(USE);
  switch (action) {
    case 'add': {
      const password = await passwordFrom(values['password-file'], io);
      const { user } = (await callService(config.dataDir, 'POST', '/pool/users', { name, password }, 201)) as { user: HouseholdUserView };
      if (json) process.stdout.write(`${JSON.stringify({ user }, null, 2)}\n`);
      else process.stdout.write(`Household user ${printable(user.name)} is made. Give them a share with "safehold shares grant SHARE ${printable(user.name)} rw".\n`);
      return 0;
    }
    case 'password': {
      const password = await passwordFrom(values['password-file'], io);
      await callService(config.dataDir, 'PUT', `${at(name)}/password`, { password }, 204);
      process.stdout.write(`The password of ${printable(name)} is changed.\n`);
      return 0;
    }
    case 'remove': {
      if (values['password-file'] !== undefined) throw new UsageError(USE);
      await callService(config.dataDir, 'DELETE', at(name), undefined, 204);
      process.stdout.write(`Household user ${printable(name)} is removed; the files they wrote stay in the shares.\n`);
      return 0;
    }
    default:
      throw new UsageError(USE);
  }
}

/** The first line of the file (`-`: standard input; on a terminal, typed twice without echo), without its line ending. */
async function passwordFrom(file: unknown, io: PasswordIo): Promise<string> {
  if (typeof file !== 'string' || file === '') throw new UsageError('Give the password in a file: --password-file FILE (its first line), or --password-file - to read it from standard input.');
  if (file === '-' && io.stdin.isTTY) {
    const password = await askHidden(io, 'Password of the household user: ');
    if ((await askHidden(io, 'Repeat it: ')) !== password) throw new InvalidInputError('The two passwords are not the same; nothing was changed.');
    return password;
  }
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw new CommandFailure(`Could not read the password file ${printable(file)}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no such file' : (error as Error).message}.`);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new CommandFailure(`The first line of ${file === '-' ? 'standard input' : printable(file)} is empty: put the password there.`);
  return password;
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}
