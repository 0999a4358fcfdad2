// The box's overall state as GET /status and the `status` event report it.
import type { ApiClient } from '../api/client.ts';
import type { Feature, Status } from '../api/types.ts';

export class StatusState {
  status = $state.raw<Status | null>(null);
  /** Features the box cannot offer right now, each with its reason and fix. */
  unavailable = $derived<Feature[]>(this.status?.features.filter((f) => !f.available) ?? []);

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    this.status = await this.#api.status();
  }

  apply(status: Status): void {
    this.status = status;
  }

  clear(): void {
    this.status = null;
  }
}
