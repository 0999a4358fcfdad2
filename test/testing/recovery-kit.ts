/**
 * Reading the recovery kit's text as a person would: the commands under a heading, as argument
 * arrays with the placeholders replaced, run with stock restic and nothing but what the kit says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { DRIVE_PLACEHOLDER, TARGET_PLACEHOLDER } from '../../server/backups/recovery-kit.service.js';

/** Runs stock restic as a person would from the kit: argument array, a clean environment (no password variables), optional input on stdin. */
export function runRestic(args: string[], options: { env?: Record<string, string>; stdin?: string; home: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.home, ...options.env };
    const child = execFile(args[0]!, args.slice(1), { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(options.stdin ?? '');
  });
}

/** The lines of the text under a heading (the heading's line starts with `heading`), up to the next blank line. */
export function blockAfter(lines: string[], heading: string, from = 0): string[] {
  const at = lines.findIndex((l, i) => i >= from && l.startsWith(heading));
  assert.ok(at >= 0, `the kit has a line starting with ${JSON.stringify(heading)}`);
  const block: string[] = [];
  for (let i = at + 1; i < lines.length && lines[i] !== ''; i++) block.push(lines[i]!);
  return block;
}

/** A command line of the kit (four spaces, `restic …`) as an argument array, the placeholders replaced. */
export function commandOf(line: string, drive: string, target: string): string[] {
  assert.match(line, /^ {4}restic /, `a command line: ${JSON.stringify(line)}`);
  return line
    .trim()
    .split(/ +/)
    .map((arg) => (arg.startsWith(`${DRIVE_PLACEHOLDER}/`) ? drive + arg.slice(DRIVE_PLACEHOLDER.length) : arg === TARGET_PLACEHOLDER ? target : arg));
}
