/**
 * `safehold smart assess FILE [--json]`: judges a saved smartctl JSON output offline, with the same
 * rules as the service (server/health/assess.ts). `-` reads standard input. It is how a person checks
 * a disk from another machine (`smartctl --json -x /dev/sda | safehold smart assess -`).
 *
 * Output: with `--json`, exactly `{ "verdict", "reasons": [ … ], "device": { "model", "serial",
 * "interface" } }`; otherwise the verdict on one line, then one line per reason.
 * Exit status: 0 whatever the verdict (a failing disk is an answer, not an error); 1 when the file
 * cannot be read or is not smartctl JSON; 2 for wrong usage. Messages for 1 and 2 go to `io.stderr`.
 */
import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors.js';
import { assess } from '../health/assess.js';
import type { Assessment, DiskInterface } from '../health/health.model.js';
import { parseSmartJson } from '../health/smart.model.js';

export interface SmartAssessIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  /** Where errors go. Default `process.stderr`. */
  stderr?: NodeJS.WritableStream;
}

export interface SmartAssessOutput extends Assessment {
  device: { model: string | null; serial: string | null; interface: DiskInterface };
}

export const SMART_ASSESS_USAGE = 'Usage: safehold smart assess FILE [--json]   (FILE "-" reads standard input)';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function readProblem(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `Cannot read ${file}: there is no such file.`;
  if (code === 'EACCES' || code === 'EPERM') return `Cannot read ${file}: permission denied.`;
  if (code === 'EISDIR') return `Cannot read ${file}: it is a folder, not a file.`;
  return `Cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`;
}

function humanText(file: string, out: SmartAssessOutput): string {
  const { model, serial, interface: iface } = out.device;
  const disk = [model, serial ? `serial ${serial}` : null, iface === 'unknown' ? null : iface.toUpperCase()].filter(Boolean).join(', ');
  const lines = [`${out.verdict.toUpperCase()}: ${disk || (file === '-' ? 'standard input' : file)}`];
  for (const r of out.reasons) lines.push(`  ${r.severity.padEnd(8)} ${r.message}`);
  return `${lines.join('\n')}\n`;
}

/** Runs the command with `args` = what follows `smart assess`; resolves to the exit status (see the header). */
export async function smartAssessCommand(args: string[], io: SmartAssessIo): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  const json = args.includes('--json');
  const operands = args.filter((a) => a !== '--json');
  const unknownOption = operands.find((a) => a.startsWith('-') && a !== '-');
  if (operands.length !== 1 || unknownOption) {
    const problem = unknownOption ? `Unknown option "${unknownOption}".` : operands.length === 0 ? 'Which file? Give a smartctl JSON file, or "-" for standard input.' : 'Give one file at a time.';
    stderr.write(`safehold: ${problem}\n${SMART_ASSESS_USAGE}\n`);
    return 2;
  }
  const file = operands[0]!;
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    stderr.write(`safehold: ${readProblem(file, error)}\n`);
    return 1;
  }
  let output: SmartAssessOutput;
  try {
    const smart = parseSmartJson(text);
    const { verdict, reasons } = assess(smart);
    output = { verdict, reasons, device: { model: smart.device?.model ?? null, serial: smart.device?.serial ?? null, interface: smart.device?.interface ?? 'unknown' } };
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    stderr.write(`safehold: ${file === '-' ? 'standard input' : file}: ${error.message}\n`);
    return 1;
  }
  io.stdout.write(json ? `${JSON.stringify(output, null, 2)}\n` : humanText(file, output));
  return 0;
}
