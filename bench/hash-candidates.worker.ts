/**
 * The hashing benchmark's thread (started by hash.bench.ts, never imported): hashes a file with one
 * of the candidate algorithms the way system/files/hash.worker.ts does (1 MiB reads into one buffer,
 * each chunk handed to the hash), so every candidate pays the same reads and differs only in its
 * hash. Answers `{ id, algorithm, path }` with `{ id, hex, bytes }` or `{ id, error }`.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { createBLAKE3, createXXHash128 } from 'hash-wasm';
import { Blake3Hasher } from '@napi-rs/blake-hash';

export const CANDIDATES = ['sha256', 'blake2b512', 'blake3-wasm', 'xxh3-128-wasm', 'blake3-native'] as const;
export type Candidate = (typeof CANDIDATES)[number];
export type CandidateRequest = { id: number; algorithm: Candidate; path: string };
export type CandidateReply = { id: number; hex: string; bytes: number } | { id: number; error: string };

interface Streaming {
  update(chunk: Uint8Array): void;
  hex(): string;
}

async function start(algorithm: Candidate): Promise<Streaming> {
  switch (algorithm) {
    case 'sha256':
    case 'blake2b512': {
      const hash = createHash(algorithm);
      return { update: (chunk) => hash.update(chunk), hex: () => hash.digest('hex') };
    }
    case 'blake3-wasm':
    case 'xxh3-128-wasm': {
      const hash = algorithm === 'blake3-wasm' ? await createBLAKE3() : await createXXHash128();
      return { update: (chunk) => hash.update(chunk), hex: () => hash.digest('hex') };
    }
    case 'blake3-native': {
      const hash = new Blake3Hasher();
      return { update: (chunk) => hash.update(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)), hex: () => hash.digest('hex') };
    }
  }
}

const CHUNK = 1 << 20;
const buffer = Buffer.allocUnsafe(CHUNK);

async function hashFile(algorithm: Candidate, path: string): Promise<{ hex: string; bytes: number }> {
  const hash = await start(algorithm);
  const handle = await open(path, 'r');
  try {
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { hex: hash.hex(), bytes };
  } finally {
    await handle.close();
  }
}

parentPort?.on('message', (request: CandidateRequest) => {
  hashFile(request.algorithm, request.path).then(
    (done) => parentPort!.postMessage({ id: request.id, ...done } satisfies CandidateReply),
    (error: Error) => parentPort!.postMessage({ id: request.id, error: error.message } satisfies CandidateReply),
  );
});
