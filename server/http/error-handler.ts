/** The one place where errors become HTTP answers: `{ error: { code, message, issues? } }`. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { MailError } from '../../system/mail/mail.js';
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotAuthenticatedError,
  NotFoundError,
  TooManyAttemptsError,
  UnavailableError,
} from '../errors.js';

interface HttpError {
  status: number;
  code: string;
  message: string;
  extra?: Record<string, unknown>;
}

function classify(error: unknown): HttpError | null {
  if (error instanceof InvalidInputError) return { status: 400, code: 'invalid_input', message: error.message, extra: { issues: error.issues } };
  if (error instanceof NotAuthenticatedError) return { status: 401, code: 'not_authenticated', message: error.message };
  if (error instanceof ForbiddenError) return { status: 403, code: 'forbidden', message: error.message, extra: error.issues.length ? { issues: error.issues } : {} };
  if (error instanceof NotFoundError) return { status: 404, code: 'not_found', message: error.message };
  if (error instanceof ConflictError || error instanceof BusyError) return { status: 409, code: 'conflict', message: error.message };
  if (error instanceof TooManyAttemptsError) {
    return { status: 429, code: 'too_many_attempts', message: error.message, extra: { retryAfterSeconds: error.retryAfterSeconds } };
  }
  if (error instanceof MailError) {
    return { status: 502, code: 'mail_failed', message: error.message, extra: { kind: error.kind, advice: error.advice } };
  }
  if (error instanceof UnavailableError) {
    return { status: 503, code: 'unavailable', message: error.message, extra: error.advice ? { advice: error.advice } : {} };
  }
  // Errors raised by Express's body parser carry a status and a type.
  const e = error as { status?: number; type?: string };
  if (e.type === 'entity.too.large') return { status: 413, code: 'too_large', message: 'The request body is too large.' };
  if (e.type === 'entity.parse.failed') return { status: 400, code: 'invalid_input', message: 'The request body is not valid JSON.', extra: { issues: [] } };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, code: 'invalid_input', message: 'The request could not be read.', extra: { issues: [] } };
  }
  return null;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const known = classify(error);
    if (!known) {
      log.error({ err: error, method: req.method, url: req.originalUrl }, 'request failed');
      res.status(500).json({ error: { code: 'internal', message: 'Something went wrong inside Safehold. The service log has the details.' } });
      return;
    }
    if (known.status === 429) res.set('Retry-After', String(known.extra?.retryAfterSeconds ?? 1));
    res.status(known.status).json({ error: { code: known.code, message: known.message, ...known.extra } });
  };
}

export const apiNotFound: RequestHandler = (req, _res, next) =>
  next(new NotFoundError(`There is no API route ${req.method} ${req.originalUrl}.`));
