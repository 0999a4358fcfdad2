/**
 * Hot-plug: notices that a disk was attached or detached, or a filesystem mounted or unmounted,
 * and asks for an inventory refresh. Two sources: the adapter's change hints (udev events where the
 * system has them) and a cheap fingerprint polled every `intervalMs` (no process spawned, no disk
 * woken). A refresh is asked for at most once per change; the job runner coalesces the rest.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../system/clock.js';
import type { BlockDevices } from '../../system/drives/block-devices.js';

export interface DriveWatcherOptions {
  devices: BlockDevices;
  clock: Clock;
  log: Logger;
  /** Called when the devices may have changed. */
  onChange: () => void;
  /** Poll period in ms. Default 1000: a change is seen in about a second, well within 5. */
  intervalMs?: number;
}

export class DriveWatcher {
  #timer: TimerHandle | null = null;
  #stopWatch: (() => void) | null = null;
  #last: string | null = null;
  #running = false;

  constructor(private readonly o: DriveWatcherOptions) {}

  async start(): Promise<void> {
    this.#running = true;
    this.#last = await this.#fingerprint();
    this.#stopWatch = this.o.devices.watch(() => this.o.onChange());
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#stopWatch?.();
  }

  /** Compare the fingerprint now (also what each poll does); true when it changed. */
  async check(): Promise<boolean> {
    const now = await this.#fingerprint();
    if (now === null || now === this.#last) return false;
    this.#last = now;
    this.o.onChange();
    return true;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.o.clock.setTimer(this.o.intervalMs ?? 1000, () => {
      void this.check().finally(() => this.#schedule());
    });
  }

  async #fingerprint(): Promise<string | null> {
    try {
      return await this.o.devices.fingerprint();
    } catch (err) {
      this.o.log.warn({ err }, 'could not read the block-device fingerprint');
      return null;
    }
  }
}
