/**
 * Time as the service sees it. Everything that schedules or measures time takes a `Clock`, so tests
 * move time forward with `ManualClock.advance()` instead of sleeping.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Call `fn` once, `ms` milliseconds from now (clamped to at least 0). */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** Never keep the process alive for more than this long in one native timer (Node's limit is 2^31-1 ms). */
const MAX_NATIVE_DELAY_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const due = Date.now() + Math.max(0, ms);
    let handle: NodeJS.Timeout;
    const arm = () => {
      const left = due - Date.now();
      handle = setTimeout(left > MAX_NATIVE_DELAY_MS ? arm : fn, Math.min(Math.max(0, left), MAX_NATIVE_DELAY_MS));
      handle.unref();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  }
}

/** A clock that only moves when told to; timers fire in due order during `advance()`. */
export class ManualClock implements Clock {
  #now: number;
  #timers: { due: number; seq: number; fn: () => void }[] = [];
  #seq = 0;

  constructor(start: number | Date = Date.UTC(2026, 0, 5, 12, 0, 0)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return { cancel: () => (this.#timers = this.#timers.filter((t) => t !== timer)) };
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order (including timers they set). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.due > end) break;
      this.#timers.shift();
      this.#now = next.due;
      next.fn();
    }
    this.#now = end;
  }

  /** Number of timers waiting (for tests that check nothing is left armed). */
  get pending(): number {
    return this.#timers.length;
  }
}

/** Wait `ms` on `clock`; rejects with the signal's reason when it is aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
