/**
 * The one option parser of the command line (node:util parseArgs, strict): every command names
 * the options it knows, on top of the settings every command takes (server/config.ts: --data,
 * --port, …); anything else, or a known option without its value, is a `UsageError` (exit status
 * 2 with the usage hint), never ignored. `--opt=value` and `--opt value` both work; `--` ends the
 * options (what follows is positional, for a file called "--json").
 */
import { parseArgs } from 'node:util';
import { UsageError } from './failures.js';

export type OptionKinds = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** The settings of server/config.ts, taken by every command (the service's, or the one it talks to). */
export const SETTINGS: OptionKinds = {
  data: { type: 'string' },
  port: { type: 'string' },
  listen: { type: 'string' },
  hosts: { type: 'string' },
  'log-level': { type: 'string' },
  'trusted-proxy': { type: 'string' },
  'pool-root': { type: 'string' },
  'smb-port': { type: 'string' },
  simulate: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface ParsedLine {
  positionals: string[];
  /** Each given option by its name without dashes: a string, `true`, or a list (`multiple`). */
  values: Record<string, string | boolean | string[] | undefined>;
  /** The settings given, as `loadConfig` takes them (`--data` → DIR, `--simulate` → "true"). */
  settings: Map<string, string>;
}

/**
 * Parses `argv` (everything after `safehold`) knowing `options` besides `SETTINGS`; `what` names
 * the command in messages ("safehold drives"). Throws `UsageError`.
 */
export function parseLine(argv: string[], options: OptionKinds, what: string): ParsedLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: { ...SETTINGS, ...options }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(usageProblem(error, what));
  }
  const values = parsed.values as ParsedLine['values'];
  const settings = new Map<string, string>();
  for (const name of Object.keys(SETTINGS)) {
    const value = values[name];
    if (name !== 'help' && value !== undefined) settings.set(`--${name}`, String(value));
  }
  return { positionals: parsed.positionals, values, settings };
}

/** The first word that is not an option or an option's value: the command (`safehold --data x status`). */
export function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return argv[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    const name = arg.replace(/^--?/, '');
    if (SETTINGS[name]?.type === 'string') i++;
  }
  return undefined;
}

/** parseArgs's complaint in the command line's words. */
function usageProblem(error: unknown, what: string): string {
  const e = error as { code?: string; message?: string };
  const option = /'(-{1,2}[^' =]+)/.exec(e.message ?? '')?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option ${option} for "${what}".`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take/.test(e.message ?? '') ? `${option} takes no value.` : `${option} needs a value.`;
    default:
      return e.message ?? String(error);
  }
}
