/** Schema checks for request input: anything that does not match is refused with a 400 naming each wrong field. */
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || what,
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new InvalidInputError(`The ${what} is not valid (${summary}).`, issues);
}

/**
 * Characters that show nothing, or show something other than themselves, where text is displayed
 * again: control characters (`\p{Cc}`: C0, DEL, C1), format characters (`\p{Cf}`: bidi overrides
 * such as U+202E, zero-width spaces and joiners, the BOM), the line and paragraph separators U+2028
 * and U+2029, and lone surrogates (`\p{Cs}` under the `u` flag matches only an unpaired half).
 */
export const INVISIBLE_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;

/**
 * The one format character a name may hold: the zero-width joiner inside an emoji sequence
 * (👨‍👩‍👧 is three emoji joined by U+200D), between two pictographs (the first optionally with its
 * presentation selector or skin tone). A joiner anywhere else hides as well as any other.
 */
const EMOJI_JOINER = /(?<=\p{Extended_Pictographic}[\u{FE0F}\p{EMod}]?)\u200D(?=\p{Extended_Pictographic})/gu;

/** `text` with its emoji joiners replaced by a visible stand-in of the same length (positions unchanged). */
const joinersAllowed = (text: string) => text.replace(EMOJI_JOINER, '+');

/** Whether `text` holds an invisible or control character, the joiners of emoji sequences apart. */
export const hasInvisibleCharacter = (text: string) => INVISIBLE_CHARACTER.test(joinersAllowed(text));

/** The first invisible or control character of `text` as `U+202E` and its position (1-based, in characters), or null. */
export function invisibleCharacter(text: string): { code: string; position: number } | null {
  const match = INVISIBLE_CHARACTER.exec(joinersAllowed(text));
  if (!match) return null;
  const code = `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return { code, position: [...text.slice(0, match.index)].length + 1 };
}

/**
 * The one schema for text a person types and is shown again (names of drives, sources and rotation
 * drives, user names, notes, e-mail addresses): a string refused, anywhere in it, when it holds an
 * invisible or control character ("Names cannot contain invisible or control characters (U+202E at
 * position 4)"; the other checks of the field are then skipped), then trimmed. Callers chain their
 * own `.min()`, `.max()` and `.regex()`. `what` starts the message ("Names", "Notes", "Addresses").
 * File paths and patterns are not names: they may hold any character and do not use this.
 */
export function visibleText(what = 'Names'): z.ZodString {
  return z
    .string()
    .superRefine((value, ctx) => {
      const found = invisibleCharacter(value);
      if (found) {
        ctx.addIssue({ code: 'custom', message: `${what} cannot contain invisible or control characters (${found.code} at position ${found.position})`, continue: false });
      }
    })
    .trim();
}
