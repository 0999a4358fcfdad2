import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAY_MS, decide, type AlertMemory, type Observation } from '../../server/alerts/alert-policy.js';

const failing: Observation = { key: 'health:wwn-1', state: 'failing', normal: false };
const warning: Observation = { key: 'health:wwn-1', state: 'warning', normal: false };
const healthy: Observation = { key: 'health:wwn-1', state: 'healthy', normal: true };

/** Poll every 30 minutes for `days`, returning the reasons of the messages sent and when (in days). */
function pollFor(days: number, observation: Observation, start: AlertMemory | null, t0 = 0) {
  const sent: [string, number][] = [];
  let memory = start;
  for (let t = t0; t <= t0 + days * DAY_MS; t += 30 * 60 * 1000) {
    const d = decide(t, observation, memory);
    if (d.send) sent.push([d.send, (t - t0) / DAY_MS]);
    memory = d.memory;
  }
  return { sent, memory };
}

describe('alert policy: no flood', () => {
  it('sends a new problem once, then reminds after 1, 2, 4 and 8 days, not on every poll', () => {
    const { sent } = pollFor(16, failing, null);
    assert.deepEqual(sent, [
      ['new', 0],
      ['reminder', 1],
      ['reminder', 3],
      ['reminder', 7],
      ['reminder', 15],
    ]);
  });

  it('sends a change of state at once, either way, and "back to healthy" only once', () => {
    let d = decide(0, warning, null);
    assert.equal(d.send, 'new');
    d = decide(1000, failing, d.memory);
    assert.equal(d.send, 'changed');
    assert.equal(d.memory!.sendCount, 1, 'the reminder schedule starts again for the new state');
    d = decide(2000, healthy, d.memory);
    assert.equal(d.send, 'resolved');
    assert.equal(d.memory, null);
    assert.equal(decide(3000, healthy, d.memory).send, null, 'healthy again and again: nothing more');
  });

  it('says nothing about a disk that is healthy from the start', () => {
    const { sent, memory } = pollFor(30, healthy, null);
    assert.deepEqual(sent, []);
    assert.equal(memory, null);
  });
});
