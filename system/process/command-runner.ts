/**
 * The one way Safehold runs another program.
 *
 * Contract:
 * - Programs are run with an argument array and `shell: false`: no string from anywhere ever
 *   reaches a shell.
 * - `run()` resolves with `{ exitCode, stdout, stderr }` for every exit status: a non-zero status is
 *   data for the caller to decode (smartctl's bit mask, restic's "repository locked" code), not an
 *   error. It rejects only when the program cannot be started (`ToolMissingError` when it is not
 *   installed), is killed by the timeout or the AbortSignal (`CommandAbortedError`), or prints more
 *   than `maxOutputBytes`.
 * - Errors carry the command line with secrets redacted and at most ~1000 bytes of output.
 * - Programs are found on the runner's fixed tools path (system/tools.ts: `SAFEHOLD_TOOLS_PATH`'s
 *   folders, then the system folders), never on the PATH the service inherited; the program gets
 *   that same PATH (so what it starts in turn, like restic's `ssh`, comes from there too).
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { toolsPath } from '../tools.js';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /**
   * Kill the program after this many milliseconds. Default 60 000. `Infinity`: no time limit (a
   * daemon the caller watches, like smbd; stop it with `signal`).
   */
  timeoutMs?: number;
  /** Abort (SIGTERM, then SIGKILL after 2 s) when this signal fires. */
  signal?: AbortSignal;
  /** Bytes written to the program's standard input, then closed. Default: nothing (stdin closed). */
  input?: string | Buffer;
  /** Extra environment variables (merged over the service's own). `PATH` is always the runner's tools path. */
  env?: Record<string, string>;
  /** Working directory. Default: the service's. */
  cwd?: string;
  /** Values to replace with `***` in every error message and log line (passwords, tokens). */
  secrets?: string[];
  /** Refuse output larger than this (stdout + stderr). Default 64 MiB. */
  maxOutputBytes?: number;
  /**
   * Called with each complete line of standard output as it arrives (UTF-8 decoded, without its
   * `\n`; a last line without one is passed when the program exits). For long jobs that report
   * progress (restic's `--json` status lines). If it throws, the program is stopped and `run()`
   * rejects with that error. Default: none.
   */
  onStdoutLine?: (line: string) => void;
  /**
   * Keep standard output in `CommandResult.stdout`. Default true. With false, `stdout` is `''`
   * and standard output does not count toward `maxOutputBytes` (only one line longer than it
   * does): a long job's progress is never held in memory. Use with `onStdoutLine`.
   */
  collectStdout?: boolean;
  /**
   * Called with each chunk of standard output as it arrives, raw bytes (for output that is not
   * lines of UTF-8: inotifywait's NUL-separated file names). Error handling as `onStdoutLine`.
   * Default: none.
   */
  onStdoutChunk?: (chunk: Buffer) => void;
  /** Called with each chunk of standard error as it arrives, raw bytes. Error handling as `onStdoutLine`. Default: none. */
  onStderrChunk?: (chunk: Buffer) => void;
  /**
   * Keep standard error in `CommandResult.stderr`. Default true. With false, `stderr` is `''` and
   * does not count toward `maxOutputBytes`: a program that runs for months never fills memory with
   * its diagnostics. Use with `onStderrChunk`.
   */
  collectStderr?: boolean;
  /**
   * Signal sent first when the timeout or the AbortSignal stops the program. Default `SIGTERM`.
   * (restic 0.14 cleans up its repository lock only on `SIGINT`.)
   */
  killSignal?: NodeJS.Signals;
  /**
   * Milliseconds between `killSignal` and `SIGKILL`. Default 2000. An abort whose reason is an
   * `UrgentStop` (the caller knows the program cannot clean up: its disk is gone) uses the
   * reason's own, shorter grace instead.
   */
  killGraceMs?: number;
}

/**
 * The reason to abort a run with when waiting out `killGraceMs` is pointless (restic retrying to
 * remove its lock from a drive that was pulled out): the program gets `killSignal`, then SIGKILL
 * after `graceMs`.
 */
export interface UrgentStop {
  readonly urgentStopGraceMs: number;
}

const urgentGraceOf = (reason: unknown): number | null =>
  typeof reason === 'object' && reason !== null && typeof (reason as UrgentStop).urgentStopGraceMs === 'number' ? (reason as UrgentStop).urgentStopGraceMs : null;

export interface CommandRunner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

const MAX_DETAIL_BYTES = 1000;

/** Base class of the runner's errors; `command` is printable (secrets redacted). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The program is not installed (spawn said ENOENT). */
export class ToolMissingError extends CommandError {}

/** The program was stopped by its timeout or by the caller's AbortSignal. */
export class CommandAbortedError extends CommandError {
  constructor(
    message: string,
    command: string,
    output: string,
    readonly reason: 'timeout' | 'aborted',
  ) {
    super(message, command, output);
  }
}

/** Thrown by `checked()` when a program exits non-zero. */
export class CommandFailedError extends CommandError {
  constructor(
    message: string,
    command: string,
    output: string,
    readonly exitCode: number,
  ) {
    super(message, command, output);
  }
}

/** Quote an argument for display only (never executed). */
function displayArg(arg: string): string {
  return /^[\w./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

export function describeCommand(command: string, args: readonly string[], secrets: readonly string[] = []): string {
  return redact([command, ...args].map(displayArg).join(' '), secrets);
}

/** The last ~1000 bytes of a program's output, for error messages. */
export function outputTail(stdout: string, stderr: string, secrets: readonly string[] = []): string {
  const text = redact(`${stderr.trim()}\n${stdout.trim()}`.trim(), secrets);
  return text.length > MAX_DETAIL_BYTES ? `…${text.slice(-MAX_DETAIL_BYTES)}` : text;
}

export interface ProcessCommandRunnerOptions {
  /** Folders programs are looked up in (`:`-separated), also the programs' PATH. Default `toolsPath()`, read once here. */
  toolsPath?: string;
}

export class ProcessCommandRunner implements CommandRunner {
  readonly #path: string;

  constructor(options: ProcessCommandRunnerOptions = {}) {
    this.#path = options.toolsPath ?? toolsPath();
  }

  run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const { timeoutMs = 60_000, signal, input, env, cwd, secrets = [], maxOutputBytes = 64 * 1024 * 1024 } = options;
    const { onStdoutLine, collectStdout = true, killSignal = 'SIGTERM', killGraceMs = 2000 } = options;
    const { onStdoutChunk, onStderrChunk, collectStderr = true } = options;
    const shown = describeCommand(command, args, secrets);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new CommandAbortedError(`${shown}: aborted before start`, shown, '', 'aborted'));
        return;
      }
      const child = spawn(command, [...args], {
        shell: false,
        cwd,
        env: { ...process.env, ...env, PATH: this.#path },
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let stopReason: 'timeout' | 'aborted' | 'too-large' | 'callback' | undefined;
      let callbackError: unknown;
      let killTimer: NodeJS.Timeout | undefined;

      const stop = (reason: 'timeout' | 'aborted' | 'too-large' | 'callback') => {
        if (stopReason) return;
        stopReason = reason;
        child.kill(killSignal);
        const grace = reason === 'aborted' ? (urgentGraceOf(signal?.reason) ?? killGraceMs) : killGraceMs;
        killTimer = setTimeout(() => child.kill('SIGKILL'), grace);
        killTimer.unref();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
      timer?.unref();
      const onAbort = () => stop('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });

      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxOutputBytes) stop('too-large');
        else into.push(chunk);
      };
      // Line streaming: a decoder keeps multi-byte characters split across chunks whole.
      const decoder = new StringDecoder('utf8');
      let pending = '';
      const emitLines = (text: string, final: boolean) => {
        if (!onStdoutLine || stopReason === 'callback') return;
        pending += text;
        const lines = pending.split('\n');
        pending = final ? '' : lines.pop()!;
        if (final && lines.at(-1) === '') lines.pop();
        if (pending.length > maxOutputBytes) stop('too-large');
        try {
          for (const line of lines) onStdoutLine(line);
        } catch (error) {
          callbackError = error;
          stop('callback');
        }
      };
      const passChunk = (callback: (chunk: Buffer) => void, chunk: Buffer) => {
        if (stopReason === 'callback') return;
        try {
          callback(chunk);
        } catch (error) {
          callbackError = error;
          stop('callback');
        }
      };
      const collectOut = collect(out);
      const collectErr = collect(err);
      child.stdout!.on('data', (chunk: Buffer) => {
        if (collectStdout) collectOut(chunk);
        if (onStdoutLine) emitLines(decoder.write(chunk), false);
        if (onStdoutChunk) passChunk(onStdoutChunk, chunk);
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (collectStderr) collectErr(chunk);
        if (onStderrChunk) passChunk(onStderrChunk, chunk);
      });
      if (input !== undefined) {
        child.stdin!.on('error', () => {}); // the program may exit without reading; its exit status tells
        child.stdin!.end(input);
      }

      const cleanup = () => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (error: NodeJS.ErrnoException) => {
        cleanup();
        if (error.code === 'ENOENT') reject(new ToolMissingError(`${command} is not installed`, shown, '', { cause: error }));
        else reject(new CommandError(`${shown} could not be started: ${error.message}`, shown, '', { cause: error }));
      });
      child.on('close', (code, killedBy) => {
        cleanup();
        if (onStdoutLine && !stopReason) emitLines(decoder.end(), true);
        if (stopReason === 'callback') {
          reject(callbackError);
          return;
        }
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        const tail = outputTail(stdout, stderr, secrets);
        if (stopReason === 'too-large') {
          reject(new CommandError(`${shown} printed more than ${maxOutputBytes} bytes`, shown, tail));
        } else if (stopReason) {
          const what = stopReason === 'timeout' ? `timed out after ${timeoutMs} ms` : 'was cancelled';
          reject(new CommandAbortedError(`${shown} ${what}`, shown, tail, stopReason));
        } else {
          resolve({ exitCode: code ?? (killedBy ? 128 + 15 : 1), stdout, stderr });
        }
      });
    });
  }
}

/** Run and require exit status 0; otherwise throw `CommandFailedError` with the output's tail. */
export async function checked(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const result = await runner.run(command, args, options);
  if (result.exitCode !== 0) {
    const shown = describeCommand(command, args, options.secrets);
    const tail = outputTail(result.stdout, result.stderr, options.secrets);
    throw new CommandFailedError(`${shown} exited with status ${result.exitCode}: ${tail}`, shown, tail, result.exitCode);
  }
  return result;
}
