/**
 * The hashing thread (started by hasher.ts, never imported). It answers messages one by one, each
 * with its `id`:
 * - `{ op: 'file', path }` → the XXH3-128 of the file's bytes, read in 1 MiB chunks, or the read's
 *   error (`code` kept: ENOENT, EIO…); `{ op: 'cancel', id }` stops a file being hashed;
 * - `{ op: 'begin' }`, `{ op: 'update', chunk }` (transferred), `{ op: 'end' }` → the XXH3-128 of
 *   the chunks sent in between (a session: bytes the caller reads or receives itself).
 *
 * XXH3-128 is hash-wasm's (WebAssembly: the same code on x86 and on a Raspberry Pi's arm64, no
 * native build); only its XXH3-128 build is loaded (its all-algorithms bundle costs ~2 MiB more).
 * Digits as `xxhsum -H2` prints them. A hasher instance is reused after each hash (making one is
 * ~50 times the cost of hashing a small file), at most a few kept. Each chunk of a session is
 * acknowledged once hashed (`{ id, hashed: bytes }`), so the caller can bound what waits here.
 */
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type { IHasher } from 'hash-wasm';

export type HashRequest =
  | { id: number; op: 'file'; path: string | Uint8Array }
  | { id: number; op: 'cancel' }
  | { id: number; op: 'begin' }
  | { id: number; op: 'update'; chunk: Uint8Array }
  | { id: number; op: 'end' };

export type HashReply = { id: number; hex: string; bytes: number } | { id: number; error: { message: string; code?: string } } | { id: number; hashed: number };

const { createXXHash128 } = createRequire(import.meta.url)('hash-wasm/dist/xxhash128.umd.min.js') as typeof import('hash-wasm');

const CHUNK = 1 << 20;
const KEPT = 4;
const port = parentPort!;
const idle: IHasher[] = [];
/** A session's hash: each step chained on the one before, so updates keep their order while the hasher is made. */
const sessions = new Map<number, { work: Promise<IHasher>; bytes: number }>();
const cancelled = new Set<number>();

async function take(): Promise<IHasher> {
  return idle.pop()?.init() ?? createXXHash128();
}

function finish(hash: IHasher): string {
  const hex = hash.digest('hex');
  if (idle.length < KEPT) idle.push(hash);
  return hex;
}

async function hashFile(id: number, path: string | Uint8Array): Promise<HashReply> {
  const handle = await open(typeof path === 'string' ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength), 'r');
  try {
    const hash = await take();
    const buffer = Buffer.allocUnsafe(CHUNK);
    let bytes = 0;
    try {
      for (;;) {
        if (cancelled.delete(id)) throw Object.assign(new Error('The hash was cancelled'), { code: 'ABORT_ERR' });
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        bytes += bytesRead;
      }
    } catch (error) {
      hash.init(); // a clean state for its next use
      if (idle.length < KEPT) idle.push(hash);
      throw error;
    }
    return { id, hex: finish(hash), bytes };
  } finally {
    await handle.close();
  }
}

port.on('message', (request: HashRequest) => {
  switch (request.op) {
    case 'file':
      hashFile(request.id, request.path).then(
        (reply) => port.postMessage(reply),
        (error: NodeJS.ErrnoException) => port.postMessage({ id: request.id, error: { message: error.message, code: error.code } } satisfies HashReply),
      );
      break;
    case 'cancel':
      cancelled.add(request.id);
      break;
    case 'begin':
      sessions.set(request.id, { work: take(), bytes: 0 });
      break;
    case 'update': {
      const session = sessions.get(request.id);
      if (session) {
        const chunk = request.chunk;
        session.work = session.work.then((hash) => {
          hash.update(chunk);
          port.postMessage({ id: request.id, hashed: chunk.byteLength } satisfies HashReply);
          return hash;
        });
        session.bytes += chunk.byteLength;
      } else {
        port.postMessage({ id: request.id, hashed: request.chunk.byteLength } satisfies HashReply);
      }
      break;
    }
    case 'end': {
      const id = request.id;
      const session = sessions.get(id);
      sessions.delete(id);
      if (!session) {
        port.postMessage({ id, error: { message: 'No such hash session' } } satisfies HashReply);
        break;
      }
      session.work.then(
        (hash) => port.postMessage({ id, hex: finish(hash), bytes: session.bytes } satisfies HashReply),
        (error: Error) => port.postMessage({ id, error: { message: error.message } } satisfies HashReply),
      );
      break;
    }
  }
});
