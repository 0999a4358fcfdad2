/** Structured logs (pino, JSON lines) to standard output; secrets are never passed to it. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'safehold' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
