/**
 * How the command line shows a name or a path it did not write itself (a drive's name, a file in a
 * snapshot, a message quoting them): on one line, and as the characters it really holds.
 */
import { hasInvisibleCharacter, INVISIBLE_CHARACTER } from '../http/validate.js';

const EVERY_INVISIBLE = new RegExp(INVISIBLE_CHARACTER.source, 'gu');
/** `\uXXXX` for each UTF-16 unit (two for a character beyond U+FFFF, as JSON writes it). */
const escape = (c: string) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/**
 * `text` unchanged when it holds no invisible or control character (validate.ts: C0, DEL, C1,
 * bidi overrides and other format characters but an emoji sequence's joiner, U+2028/U+2029, lone
 * surrogates); otherwise written
 * JSON-quoted with each such character as a `\uXXXX` escape (`"evil\u202etxt.exe"`), so nothing
 * moves the cursor, reorders the line or hides. Pure.
 */
export function printable(text: string): string {
  if (!hasInvisibleCharacter(text)) return text;
  // JSON.stringify escapes C0 and lone surrogates; the rest (DEL, C1, format characters, U+2028/9) is escaped here.
  return JSON.stringify(text).replace(EVERY_INVISIBLE, escape);
}
