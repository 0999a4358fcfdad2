// The activity log, newest first: the first page from GET /activity, older pages on demand
// (`before=`), and entries the `activity` event delivers as they are written.
import type { ApiClient } from '../api/client.ts';
import type { ActivityEntry } from '../api/types.ts';

const PAGE = 50;
/** How long a live entry is highlighted, in milliseconds. */
const FRESH_MS = 8_000;

export class ActivityState {
  entries = $state.raw<ActivityEntry[]>([]);
  loaded = $state(false);
  loadingMore = $state(false);
  /** False once a page came back shorter than asked: the oldest entry is shown. */
  hasMore = $state(true);
  /** Ids of entries that arrived live a moment ago. */
  fresh = $state.raw<ReadonlySet<number>>(new Set());

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  /** Reads the newest page; entries already held are kept (this also re-syncs after a reconnect). */
  async load(): Promise<void> {
    const { entries } = await this.#api.activity({ limit: PAGE });
    if (!this.loaded) this.hasMore = entries.length >= PAGE;
    this.entries = merge(this.entries, entries);
    this.loaded = true;
  }

  async loadMore(): Promise<void> {
    if (this.loadingMore || !this.hasMore) return;
    const oldest = this.entries.at(-1);
    this.loadingMore = true;
    try {
      const { entries } = await this.#api.activity({ limit: PAGE, before: oldest?.id });
      this.hasMore = entries.length >= PAGE;
      this.entries = merge(this.entries, entries);
    } finally {
      this.loadingMore = false;
    }
  }

  /** One entry from the live stream. */
  add(entry: ActivityEntry): void {
    if (this.entries.some((e) => e.id === entry.id)) return;
    this.entries = merge(this.entries, [entry]);
    this.fresh = new Set([...this.fresh, entry.id]);
    setTimeout(() => {
      const next = new Set(this.fresh);
      next.delete(entry.id);
      this.fresh = next;
    }, FRESH_MS);
  }

  clear(): void {
    this.entries = [];
    this.loaded = false;
    this.hasMore = true;
    this.fresh = new Set();
  }
}

function merge(held: ActivityEntry[], incoming: ActivityEntry[]): ActivityEntry[] {
  const byId = new Map<number, ActivityEntry>();
  for (const e of held) byId.set(e.id, e);
  for (const e of incoming) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}
