/**
 * The command line's way to the running service: HTTP over the Unix socket `<data>/safehold.sock`.
 * There is one writer to the catalog, the service; the command line never opens the catalog itself.
 * Every way this can go wrong is an error in words: `NoServiceError` when nothing answers,
 * `CommandFailure` when the service hangs up, is silent, answers garbage or refuses (its message).
 */
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { FINISHED_STATES, type JobView } from '../jobs/job.model.js';
import { SOCKET_FILE } from '../service.js';
import { CommandFailure, NoServiceError } from './failures.js';
import { printable } from './printable.js';

export interface LocalResponse {
  status: number;
  body: unknown;
}

/** One request with a JSON body (or none); resolves with any status and the parsed JSON answer. */
export function localRequest(dataDir: string, method: string, path: string, body?: unknown): Promise<LocalResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {};
  return open(dataDir, method, path, headers, payload, 30_000).then(
    (res) =>
      new Promise<LocalResponse>((resolve, reject) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error: NodeJS.ErrnoException) => reject(hungUp(dataDir, error)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
          } catch {
            reject(new CommandFailure(`The service answered ${res.statusCode} with something that is not JSON: ${printable(text.slice(0, 200))}`));
          }
        });
      }),
  );
}

/** `localRequest` that expects status `expected` and resolves with the answer's body; otherwise a `CommandFailure` in the service's words. */
export async function callService(dataDir: string, method: string, path: string, body: unknown, expected: number): Promise<unknown> {
  const res = await localRequest(dataDir, method, path, body);
  if (res.status !== expected) throw new CommandFailure(refusal(res.status, res.body));
  return res.body;
}

/** A GET whose answer is read as a stream (a file's bytes), with any status; waits up to `timeoutMs` for it to begin. */
export function localStream(dataDir: string, path: string, timeoutMs: number): Promise<IncomingMessage> {
  return open(dataDir, 'GET', path, {}, undefined, timeoutMs);
}

/**
 * The service's words for a refusal: its `error.message` (and `advice`), from a parsed body or the
 * text of one; otherwise what status it answered.
 */
export function refusal(status: number, body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = null;
    }
  }
  const error = (parsed as { error?: { message?: unknown; advice?: unknown } } | null)?.error;
  if (typeof error?.message !== 'string' || !error.message) return `The service answered ${status} without saying why.`;
  return printable(typeof error.advice === 'string' && error.advice ? `${error.message} ${error.advice}` : error.message);
}

function open(dataDir: string, method: string, path: string, headers: Record<string, string | number>, payload: string | undefined, timeoutMs: number): Promise<IncomingMessage> {
  const socketPath = join(dataDir, SOCKET_FILE);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path: `/api/v1${path}`, headers, timeout: timeoutMs }, resolve);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
        reject(
          new NoServiceError(
            `No Safehold service is running with the data folder ${dataDir} (nothing answers on ${socketPath}).\n` +
              `Start it with "make run", or "safehold serve --data ${dataDir}"; or point this command at the right folder with --data or SAFEHOLD_DATA` +
              ` (the demo of "make demo" keeps its data in ./var/demo).`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(new NoServiceError(`Not allowed to open ${socketPath}: run this command as the user the service runs as.`));
      } else if (error.code === 'ETIMEDOUT') {
        reject(new CommandFailure(`The service on ${socketPath} did not answer within ${Math.round(timeoutMs / 1000)} seconds. It may be busy: try again, or see its log (journalctl -u safehold).`));
      } else {
        reject(hungUp(dataDir, error));
      }
    });
    if (payload) req.write(payload);
    req.end();
  });
}

function hungUp(dataDir: string, error: NodeJS.ErrnoException): CommandFailure {
  return new CommandFailure(
    `The service on ${join(dataDir, SOCKET_FILE)} closed the connection without answering (${error.code ?? error.message}). ` +
      'It may have stopped or be restarting: "safehold status" tells, and its log says why (journalctl -u safehold).',
  );
}

/**
 * Asks the service for a job every `intervalMs` until it has ended, and returns its last state;
 * `onChange` sees each state read while it is queued or running (for progress lines).
 */
export async function waitForJob(dataDir: string, id: number, onChange?: (job: JobView) => void, intervalMs = 300): Promise<JobView> {
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const job = (await callService(dataDir, 'GET', `/jobs/${id}`, undefined, 200)) as JobView;
    if (FINISHED_STATES.includes(job.state)) return job;
    onChange?.(job);
  }
}
