/**
 * How the command line ends when something is not done: one line in words on standard error and
 * an exit status (2 wrong usage, 3 no service running, 1 anything else), never a JavaScript stack.
 * An error nobody foresaw (a bug in the command line) says "internal error" and where to report
 * it; its stack is printed only with SAFEHOLD_DEBUG=1.
 */
import { InvalidInputError } from '../errors.js';

/** Wrong usage: the message says what is wrong; the usage hint is added, exit status 2. */
export class UsageError extends Error {}

/** Not done, and the message says why (the service refused, a file exists, …): exit status 1. */
export class CommandFailure extends Error {}

/** No service answers on the data folder's socket (or this user may not open it): exit status 3. */
export class NoServiceError extends Error {}

export interface FailureOutput {
  write(text: string): unknown;
}

/**
 * Writes `error` for a person on `stderr` and returns the exit status. `explained` are further
 * error classes whose message is words enough (the service's own, like "already running").
 */
export function reportFailure(error: unknown, stderr: FailureOutput, options: { explained?: Array<abstract new (...args: never[]) => Error>; debug?: boolean } = {}): number {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError || error instanceof InvalidInputError) {
    stderr.write(`safehold: ${message}\nRun "safehold help" for the commands.\n`);
    return 2;
  }
  if (error instanceof NoServiceError) {
    stderr.write(`safehold: ${message}\n`);
    return 3;
  }
  const systemError = typeof (error as NodeJS.ErrnoException | null)?.syscall === 'string';
  if (error instanceof CommandFailure || systemError || (options.explained ?? []).some((kind) => error instanceof kind)) {
    stderr.write(`safehold: ${message}\n`);
    return 1;
  }
  stderr.write(
    `safehold: internal error: ${message}\n` +
      'This is a bug in Safehold, not something you did. Please report it to the Safehold project with the command you ran' +
      (options.debug ? ' and the details below.\n' : ' and what it prints with SAFEHOLD_DEBUG=1 in front.\n'),
  );
  if (options.debug && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return 1;
}
