/**
 * Content hashes off the event loop: XXH3-128 computed in one worker thread (hash.worker.ts), so
 * hashing a 4 GB film keeps the page, the API and the drive watch answering. XXH3-128 rather than
 * SHA-256 because a Raspberry Pi 4 has no SHA instructions: there SHA-256 is estimated slower than
 * its USB 3 disks, and every copied byte is hashed three times (bench/README.md, "The hashing
 * benchmark").
 *
 * Contract:
 * - `hashFile(path)` reads the file in 1 MiB chunks in the worker and gives its hash and length;
 *   a read error is rejected with the OS error's `code` (ENOENT, EIO, EISDIR…); an aborted `signal`
 *   stops the reading between chunks and rejects with the signal's reason.
 * - `session()` hashes bytes the caller has in hand (a file being copied): `update(chunk)` hands the
 *   chunk's bytes to the worker (copied first: the caller may reuse its buffer) and resolves once at
 *   most `SESSION_IN_FLIGHT` bytes of the session wait in the worker to be hashed (await it: a copy
 *   that writes faster than the worker hashes would otherwise queue the whole file in memory),
 *   `digest()` ends it.
 * - One worker for the whole process, started at the first call, keeping the process alive only
 *   while an answer is awaited; a worker that dies fails what it was doing and the next call starts a new one. `close()` ends it.
 */
import { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest } from './hash.worker.js';

/** The name the pool's catalog records with each hash; a recorded hash of another name is re-hashed. */
export const HASH_ALGORITHM = 'xxh3-128';

/** Bytes of one session handed to the worker and not hashed yet, at most, before `update()` waits. */
export const SESSION_IN_FLIGHT = 8 * 1024 * 1024;

/** A file's content hash, with the name of its algorithm (the pool's catalog keeps both). */
export interface ContentHash {
  algorithm: typeof HASH_ALGORITHM;
  /** Lower-case hexadecimal, as `xxhsum -H2` prints it (32 digits). */
  hex: string;
  /** How many bytes were hashed. */
  bytes: number;
}

export interface HashSession {
  /** Resolves when the worker has room for more (at most `SESSION_IN_FLIGHT` bytes waiting). */
  update(chunk: Uint8Array): Promise<void>;
  digest(): Promise<ContentHash>;
}

type Pending = { resolve(hash: ContentHash): void; reject(error: Error): void };

export class Hasher {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /** Open sessions: bytes sent and not yet hashed, and the `update()` waiting for room. */
  readonly #flows = new Map<number, { inFlight: number; waiting: (() => void)[] }>();

  /** The hash of the file at `path` (a Buffer for names that are not UTF-8 or `/proc/self/fd/…` paths). */
  hashFile(path: string | Buffer, signal?: AbortSignal): Promise<ContentHash> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const id = this.#nextId++;
    const done = this.#expect(id);
    const worker = this.#start();
    const onAbort = () => {
      worker.postMessage({ id, op: 'cancel' } satisfies HashRequest);
      this.#settle(id, { id, error: { message: 'aborted', code: 'ABORT_ERR' } }, signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage({ id, op: 'file', path } satisfies HashRequest);
    return done.finally(() => signal?.removeEventListener('abort', onAbort));
  }

  session(): HashSession {
    const id = this.#nextId++;
    const worker = this.#start();
    worker.postMessage({ id, op: 'begin' } satisfies HashRequest);
    let ended = false;
    const flow = { inFlight: 0, waiting: [] as (() => void)[] };
    this.#flows.set(id, flow);
    return {
      update: (chunk) => {
        if (ended) throw new Error('update() after digest()');
        const copy = new Uint8Array(chunk); // ours to transfer
        flow.inFlight += copy.byteLength;
        worker.postMessage({ id, op: 'update', chunk: copy } satisfies HashRequest, [copy.buffer]);
        if (flow.inFlight <= SESSION_IN_FLIGHT || !this.#flows.has(id)) return Promise.resolve();
        // Awaited: keeps the process alive until the worker catches up, like an awaited answer.
        this.#start().ref();
        return new Promise<void>((resolve) => flow.waiting.push(resolve));
      },
      digest: () => {
        ended = true;
        this.#flows.delete(id);
        for (const wake of flow.waiting.splice(0)) wake(); // updates not awaited before the digest
        const done = this.#expect(id);
        worker.postMessage({ id, op: 'end' } satisfies HashRequest);
        return done;
      },
    };
  }

  /** Ends the worker; what it was doing fails. Idempotent; a later call starts a new worker. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
  }

  #expect(id: number): Promise<ContentHash> {
    this.#start().ref(); // an answer awaited keeps the process alive; an idle worker does not
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** A session's chunk was hashed: an update() waiting for room goes on once there is room. */
  #hashed(id: number, bytes: number): void {
    const flow = this.#flows.get(id);
    if (!flow) return;
    flow.inFlight -= bytes;
    if (flow.waiting.length && flow.inFlight <= SESSION_IN_FLIGHT) {
      if (this.#pending.size === 0) this.#worker?.unref();
      for (const wake of flow.waiting.splice(0)) wake();
    }
  }

  #settle(id: number, reply: HashReply, error?: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if ('hashed' in reply) return;
    if ('hex' in reply) pending.resolve({ algorithm: HASH_ALGORITHM, hex: reply.hex, bytes: reply.bytes });
    else pending.reject(error ?? Object.assign(new Error(reply.error.message), { code: reply.error.code }));
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./hash.worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: HashReply) => {
      if ('hashed' in reply) this.#hashed(reply.id, reply.hashed);
      else this.#settle(reply.id, reply);
    });
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = null;
      // An update() waiting for room goes on: the session's digest() then fails or never comes.
      for (const flow of this.#flows.values()) for (const wake of flow.waiting.splice(0)) wake();
      this.#flows.clear();
      for (const [id, pending] of [...this.#pending]) {
        this.#pending.delete(id);
        pending.reject(new Error(`The hashing thread stopped: ${error.message}`, { cause: error }));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.#worker = worker;
    return worker;
  }
}

/** The process's one hasher. */
export const hasher = new Hasher();
