// What the page tells the person outside a form: the one error banner (the server's message,
// as is) and short confirmations. `handleError` is the single place every failure goes through.
import { ApiError } from '../api/client.ts';
import type { ApiIssue } from '../api/types.ts';

export interface ShownError {
  message: string;
  /** Field errors from an invalid_input answer, keyed by path ("password", "setupCode"). */
  fields: Record<string, string>;
  /** Issues whose path matches no field the caller named. */
  other: ApiIssue[];
  status: number;
  code: string;
  retryAfterSeconds: number | null;
  /** What to do about it, in the server's words, when it said. */
  advice: string | null;
}

export interface Toast {
  id: number;
  message: string;
}

export class Notices {
  /** The error shown in the banner; the newest replaces an older one. */
  error = $state<ShownError | null>(null);
  toasts = $state<Toast[]>([]);
  #nextId = 1;

  dismissError(): void {
    this.error = null;
  }

  /** A short confirmation that disappears by itself after `ms` milliseconds. */
  info(message: string, ms = 4000): void {
    const id = this.#nextId++;
    this.toasts = [...this.toasts, { id, message }];
    setTimeout(() => this.dismissToast(id), ms);
  }

  dismissToast(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /**
   * Shows any failure in the banner and returns it in a form a form can use.
   * `fieldNames` are the paths the calling form shows next to its inputs.
   */
  handleError(err: unknown, fieldNames: readonly string[] = []): ShownError {
    const shown = describe(err, fieldNames);
    this.error = shown;
    if (!(err instanceof ApiError)) console.error(err);
    return shown;
  }
}

function describe(err: unknown, fieldNames: readonly string[]): ShownError {
  if (err instanceof ApiError) {
    const fields: Record<string, string> = {};
    const other: ApiIssue[] = [];
    for (const issue of err.issues) {
      const key = fieldNames.find((f) => f === issue.path || issue.path.startsWith(f + '.'));
      if (key && !fields[key]) fields[key] = issue.message;
      else other.push(issue);
    }
    let message = err.message;
    if (err.sessionEnded) {
      message = 'Your session has ended. Please log in again.';
    } else if (err.status === 429) {
      const s = err.retryAfterSeconds;
      message = s ? `Too many attempts, try again in ${s} ${s === 1 ? 'second' : 'seconds'}.` : 'Too many attempts, try again in a moment.';
    }
    return { message, fields, other, status: err.status, code: err.code, retryAfterSeconds: err.retryAfterSeconds, advice: err.detail.advice ?? null };
  }
  const message = err instanceof Error && err.message ? `Something went wrong in the page: ${err.message}` : 'Something went wrong in the page.';
  return { message, fields: {}, other: [], status: 0, code: 'client', retryAfterSeconds: null, advice: null };
}
