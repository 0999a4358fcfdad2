// Exclusion patterns of a backup source as the owner types them: one per line in a textarea.
import type { ShownError } from './state/notices.svelte.ts';

/** The patterns of a textarea: one per line, trimmed, empty lines dropped. */
export function parseExcludes(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

/** The textarea's text for a list of patterns. */
export const excludesText = (excludes: readonly string[]): string => excludes.join('\n');

/**
 * The server's complaints about the patterns sent (`excludes.N` names the Nth, `excludes` the
 * list), in words that quote the pattern, since the line numbers of the textarea may differ.
 */
export function excludesError(shown: ShownError, sent: readonly string[]): string | undefined {
  const parts: string[] = [];
  for (const [path, message] of Object.entries(shown.fields)) {
    const m = /^excludes\.(\d+)$/.exec(path);
    if (m) parts.push(`“${shorten(sent[Number(m[1])] ?? '')}”: ${message}`);
    else if (path === 'excludes') parts.push(message);
  }
  return parts.length ? parts.join(' · ') : undefined;
}

const shorten = (pattern: string): string => (pattern.length > 40 ? `${pattern.slice(0, 39)}…` : pattern);
