/**
 * The command line's way to the running service: HTTP over the Unix socket `<data>/safehold.sock`.
 * There is one writer to the catalog, the service; the command line never opens the catalog itself.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { FINISHED_STATES, type JobView } from '../jobs/job.model.js';
import { SOCKET_FILE } from '../service.js';

export class NoServiceError extends Error {}

export interface LocalResponse {
  status: number;
  body: unknown;
}

export function localRequest(dataDir: string, method: string, path: string, body?: unknown): Promise<LocalResponse> {
  const socketPath = join(dataDir, SOCKET_FILE);
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path: `/api/v1${path}`,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
          } catch {
            reject(new Error(`The service answered something that is not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('The service did not answer within 30 seconds.')));
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
      } else {
        reject(error);
      }
    });
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * Asks the service for a job every `intervalMs` until it has ended, and returns its last state;
 * `onChange` sees each state read while it is queued or running (for progress lines).
 */
export async function waitForJob(dataDir: string, id: number, onChange?: (job: JobView) => void, intervalMs = 300): Promise<JobView> {
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const res = await localRequest(dataDir, 'GET', `/jobs/${id}`);
    if (res.status !== 200) throw new Error(`The service did not say how job ${id} is doing (${res.status}).`);
    const job = res.body as JobView;
    if (FINISHED_STATES.includes(job.state)) return job;
    onChange?.(job);
  }
}
