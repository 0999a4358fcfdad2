/**
 * The hashing thread's sessions (system/files/hasher.ts): the bytes of a copy, chunk by chunk.
 * `update()` resolves once the worker has room (at most SESSION_IN_FLIGHT bytes waiting), so a copy
 * that awaits it never holds more than that in the worker's queue; the digest is the same either way.
 */
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { createXXHash128 } from 'hash-wasm';
import { after, describe, it } from 'node:test';
import { Hasher, SESSION_IN_FLIGHT } from '../../system/files/hasher.js';

describe('a hash session', () => {
  const hasher = new Hasher();
  after(() => hasher.close());
  const chunk = Buffer.alloc(1024 * 1024);
  const chunks = Math.ceil((3 * SESSION_IN_FLIGHT) / chunk.length);

  it('with every update awaited, gives the XXH3-128 of all the bytes (more than the worker may hold at once)', async () => {
    const expected = (await createXXHash128()).init();
    const session = hasher.session();
    for (let i = 0; i < chunks; i++) {
      randomFillSync(chunk); // the caller reuses its buffer: update() copied what it needed
      expected.update(chunk);
      await session.update(chunk);
    }
    const hash = await session.digest();
    assert.equal(hash.hex, expected.digest('hex'));
    assert.equal(hash.bytes, chunks * chunk.length);
  });

  it('with updates not awaited, still gives the same digest, and every update resolves', async () => {
    const expected = (await createXXHash128()).init();
    const session = hasher.session();
    const updates: Promise<void>[] = [];
    for (let i = 0; i < chunks; i++) {
      randomFillSync(chunk);
      expected.update(chunk);
      updates.push(session.update(chunk));
    }
    const hash = await session.digest();
    await Promise.all(updates);
    assert.equal(hash.hex, expected.digest('hex'));
  });
});
