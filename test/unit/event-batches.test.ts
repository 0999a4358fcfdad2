/**
 * The batching both watchers share (system/fswatch/event-batches.ts): merging by path (never
 * across a rename), Safehold's temporaries, bounded batches, bounded memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBatches } from '../../system/fswatch/event-batches.js';
import type { FileEvent } from '../../system/fswatch/file-events.js';

const file = (kind: 'written' | 'removed' | 'attributes', path: string): FileEvent => ({ kind, path: Buffer.from(path), folder: false });
const shown = (events: FileEvent[]) => events.map((event) => (event.kind === 'renamed' ? `renamed ${event.from} ${event.path}` : `${event.kind} ${event.path}`));

async function first(batches: EventBatches): Promise<FileEvent[]> {
  const next = await batches.next();
  assert.ok(!next.done);
  return next.value;
}

describe('event batches', () => {
  it('merges events on one path into the last thing that happened to it', async () => {
    const batches = new EventBatches({ batchMs: 1 });
    batches.push(file('written', 'a'));
    batches.push(file('removed', 'a'));
    batches.push(file('removed', 'b'));
    batches.push(file('written', 'b'));
    batches.push(file('written', 'c'));
    batches.push(file('attributes', 'c'));
    assert.deepEqual(shown(await first(batches)), ['removed a', 'written b', 'written c']);
  });

  it('never merges across a rename', async () => {
    const batches = new EventBatches({ batchMs: 1 });
    batches.push(file('written', 'a'));
    batches.push({ kind: 'renamed', from: Buffer.from('a'), path: Buffer.from('b'), folder: false });
    batches.push(file('written', 'a'));
    assert.deepEqual(shown(await first(batches)), ['written a', 'renamed a b', 'written a']);
  });

  it("drops Safehold's temporaries, and reports one renamed into place as written", async () => {
    const batches = new EventBatches({ batchMs: 1 });
    const temp = 'album/.safehold-tmp-0123456789abcdef';
    batches.push(file('written', temp));
    batches.push({ kind: 'renamed', from: Buffer.from(temp), path: Buffer.from('album/1.jpg'), folder: false });
    assert.deepEqual(shown(await first(batches)), ['written album/1.jpg']);
    const kept = new EventBatches({ batchMs: 1, ignoreTemporaries: false });
    kept.push(file('written', temp));
    assert.deepEqual(shown(await first(kept)), [`written ${temp}`]);
  });

  it('hands over at most maxBatch events at a time, all of them in order', async () => {
    const batches = new EventBatches({ batchMs: 1, maxBatch: 3 });
    for (let i = 0; i < 8; i++) batches.push(file('written', `f${i}`));
    const sizes: number[] = [];
    const all: string[] = [];
    while (all.length < 8) {
      const batch = await first(batches);
      sizes.push(batch.length);
      all.push(...shown(batch));
    }
    assert.deepEqual(sizes, [3, 3, 2]);
    assert.deepEqual(all, Array.from({ length: 8 }, (_, i) => `written f${i}`));
  });

  it('replaces more than maxPending unread paths by one rescan of the root', async () => {
    const batches = new EventBatches({ batchMs: 1, maxPending: 100, maxBatch: 1000 });
    for (let i = 0; i < 101; i++) batches.push(file('written', `f${i}`));
    assert.equal(batches.pendingCount, 1);
    const [rescan] = await first(batches);
    assert.ok(rescan?.kind === 'rescan' && rescan.reason === 'too-many-changes' && rescan.path.length === 0);
  });

  it('ends the iteration at close(), releasing a waiting reader', async () => {
    const batches = new EventBatches({ batchMs: 1 });
    const waiting = batches.next();
    batches.close();
    assert.equal((await waiting).done, true);
  });
});
