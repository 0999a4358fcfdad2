// A shared "now" that advances once a second, so relative times ("3 minutes ago") and
// countdowns re-render without each component starting its own timer.
export class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | null = null;

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => (this.now = Date.now()), 1000);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
