/**
 * When an alert e-mail goes out: the "no flood" policy, as pure functions.
 *
 * A *condition* is something that can be wrong with one thing, under a stable key (e.g.
 * `health:<drive id>`, `temperature:<drive id>`, `missing:<drive id>`), with a state (`failing`,
 * `warning`, `ok`, …). The policy remembers, per key, the state last told to the owner and when.
 *
 * Contract of `decide(now, observed, memory)`:
 * - a state that differs from the one last told is sent at once (a change either way: "back to
 *   healthy" is news too); the first observation of a key in its normal state sends nothing;
 * - a problem that persists is sent again after 1, 2, 4, 8 … days (each gap twice the last, like
 *   smartd's "diminishing" mode), never on every poll;
 * - a normal state is told once, then forgotten: nothing is ever re-sent for it.
 * Times are milliseconds since the epoch.
 */

export interface Observation {
  key: string;
  state: string;
  /** True when `state` is the normal one (nothing to tell, except a return to it). */
  normal: boolean;
}

export interface AlertMemory {
  key: string;
  /** The state last told to the owner. */
  state: string;
  normal: boolean;
  /** When that state was first told. */
  since: number;
  lastSentAt: number;
  /** How many times this state has been told (1 = only the first message). */
  sendCount: number;
}

export type SendReason = 'new' | 'changed' | 'resolved' | 'reminder';

export interface Decision {
  send: SendReason | null;
  /** What to remember (null: forget the key). */
  memory: AlertMemory | null;
}

export const DAY_MS = 24 * 3600 * 1000;

/** The gap before reminder number `n` (n = 1 after the first message): 1, 2, 4, 8 … days. */
export function reminderGapMs(sendCount: number): number {
  return DAY_MS * 2 ** Math.max(0, sendCount - 1);
}

export function decide(now: number, observed: Observation, memory: AlertMemory | null): Decision {
  if (!memory) {
    if (observed.normal) return { send: null, memory: null };
    return { send: 'new', memory: { key: observed.key, state: observed.state, normal: false, since: now, lastSentAt: now, sendCount: 1 } };
  }
  if (memory.state !== observed.state) {
    const fresh: AlertMemory = { key: observed.key, state: observed.state, normal: observed.normal, since: now, lastSentAt: now, sendCount: 1 };
    return { send: observed.normal ? 'resolved' : 'changed', memory: observed.normal ? null : fresh };
  }
  if (!memory.normal && now - memory.lastSentAt >= reminderGapMs(memory.sendCount)) {
    return { send: 'reminder', memory: { ...memory, lastSentAt: now, sendCount: memory.sendCount + 1 } };
  }
  return { send: null, memory };
}
