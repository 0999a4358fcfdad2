/** Schema checks for request input: anything that does not match is refused with a 400 naming each wrong field. */
import type { z } from 'zod';
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
