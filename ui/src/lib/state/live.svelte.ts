// The live connection to GET /events (Server-Sent Events). Each named event is handed to the
// handler for it. The browser retries a dropped connection by itself; when it gives up (the
// server answered an error, e.g. 401 after the session ended) this class asks `onLost` whether to
// go on and reconnects with a growing delay. After any reconnect `onResync` re-reads the
// snapshots, because events sent while disconnected are not replayed.
import type { ServerEvents } from '../api/types.ts';

export type LiveHandlers = { [K in keyof ServerEvents]: (data: ServerEvents[K]) => void };
export type LiveState = 'off' | 'connecting' | 'live' | 'reconnecting';

const MAX_DELAY_MS = 30_000;

export class LiveEvents {
  state = $state<LiveState>('off');

  readonly #url: string;
  readonly #handlers: LiveHandlers;
  readonly #onResync: () => void;
  readonly #onLost: () => Promise<boolean>;
  #source: EventSource | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #failures = 0;
  #interrupted = false;

  constructor(options: {
    url: string;
    handlers: LiveHandlers;
    /** Re-read what may have been missed; called after a reconnect. */
    onResync: () => void;
    /** The stream was closed for good; resolve true to reconnect, false to stay off. */
    onLost: () => Promise<boolean>;
  }) {
    this.#url = options.url;
    this.#handlers = options.handlers;
    this.#onResync = options.onResync;
    this.#onLost = options.onLost;
  }

  start(): void {
    if (this.#source || this.#timer) return;
    this.#interrupted = false;
    this.#failures = 0;
    this.#open();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#source?.close();
    this.#source = null;
    this.state = 'off';
  }

  #open(): void {
    this.state = this.#interrupted ? 'reconnecting' : 'connecting';
    const source = new EventSource(this.#url);
    this.#source = source;

    source.onopen = () => {
      this.state = 'live';
      this.#failures = 0;
      if (this.#interrupted) this.#onResync();
      this.#interrupted = false;
    };

    source.onerror = () => {
      if (this.#source !== source) return;
      this.#interrupted = true;
      if (source.readyState !== EventSource.CLOSED) {
        this.state = 'reconnecting'; // the browser retries by itself
        return;
      }
      source.close();
      this.#source = null;
      this.state = 'reconnecting';
      const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** this.#failures++);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#onLost().then(
          (again) => (again ? this.#open() : this.stop()),
          () => this.#open(),
        );
      }, delay);
    };

    for (const name of Object.keys(this.#handlers) as (keyof ServerEvents)[]) {
      source.addEventListener(name, (event) => {
        let data: unknown;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          console.warn(`Ignored a malformed "${name}" event`);
          return;
        }
        (this.#handlers[name] as (d: unknown) => void)(data);
      });
    }
  }
}
