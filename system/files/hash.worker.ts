/**
 * The hashing thread (started by hasher.ts, never imported). It answers messages one by one, each
 * with its `id`:
 * - `{ op: 'file', path }` → the SHA-256 of the file's bytes, read in 1 MiB chunks, or the read's
 *   error (`code` kept: ENOENT, EIO…); `{ op: 'cancel', id }` stops a file being hashed;
 * - `{ op: 'begin' }`, `{ op: 'update', chunk }` (transferred), `{ op: 'end' }` → the SHA-256 of the
 *   chunks sent in between (a session: bytes the caller reads or receives itself); each chunk is
 *   acknowledged once hashed (`{ id, hashed: bytes }`), so the caller can bound what waits here.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';

export type HashRequest =
  | { id: number; op: 'file'; path: string | Uint8Array }
  | { id: number; op: 'cancel' }
  | { id: number; op: 'begin' }
  | { id: number; op: 'update'; chunk: Uint8Array }
  | { id: number; op: 'end' };

export type HashReply = { id: number; hex: string; bytes: number } | { id: number; error: { message: string; code?: string } } | { id: number; hashed: number };

const CHUNK = 1 << 20;
const port = parentPort!;
const sessions = new Map<number, { hash: Hash; bytes: number }>();
const cancelled = new Set<number>();

async function hashFile(id: number, path: string | Uint8Array): Promise<HashReply> {
  const handle = await open(typeof path === 'string' ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength), 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
    let bytes = 0;
    for (;;) {
      if (cancelled.delete(id)) throw Object.assign(new Error('The hash was cancelled'), { code: 'ABORT_ERR' });
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { id, hex: hash.digest('hex'), bytes };
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
      sessions.set(request.id, { hash: createHash('sha256'), bytes: 0 });
      break;
    case 'update': {
      const session = sessions.get(request.id);
      if (session) {
        session.hash.update(request.chunk);
        session.bytes += request.chunk.byteLength;
      }
      port.postMessage({ id: request.id, hashed: request.chunk.byteLength } satisfies HashReply);
      break;
    }
    case 'end': {
      const session = sessions.get(request.id);
      sessions.delete(request.id);
      port.postMessage((session ? { id: request.id, hex: session.hash.digest('hex'), bytes: session.bytes } : { id: request.id, error: { message: 'No such hash session' } }) satisfies HashReply);
      break;
    }
  }
});
