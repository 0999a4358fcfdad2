/** Assertions shared by the mount tests. */
import assert from 'node:assert/strict';
import { MountError } from '../../system/mounts/mounts.js';

/** `promise` rejects with a MountError of `kind` whose message matches `pattern`. */
export async function refusal(promise: Promise<unknown>, kind: MountError['kind'], pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MountError, `a MountError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}
