// The folders on the box that backups protect (GET/POST /sources, PUT/DELETE /sources/:name),
// held by name. A source's name tags its backups; removing a source keeps them.
import type { ApiClient } from '../api/client.ts';
import type { Source, SourceInput } from '../api/types.ts';

export class SourcesState {
  /** Sorted by name, as the server lists them. */
  sources = $state.raw<Source[]>([]);
  loaded = $state(false);

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    const { sources } = await this.#api.sources();
    this.sources = byName(sources);
    this.loaded = true;
  }

  /** Adds a folder; a 400 is thrown with issues `name`, `path`, `excludes.N`, a 409 when taken. */
  async add(input: SourceInput): Promise<Source> {
    const source = await this.#api.addSource(input);
    this.#put(source);
    return source;
  }

  async setExcludes(name: string, excludes: string[]): Promise<Source> {
    const source = await this.#api.setSourceExcludes(name, excludes);
    this.#put(source);
    return source;
  }

  async remove(name: string): Promise<void> {
    await this.#api.removeSource(name);
    this.sources = this.sources.filter((s) => s.name !== name);
  }

  clear(): void {
    this.sources = [];
    this.loaded = false;
  }

  #put(source: Source): void {
    this.sources = byName([...this.sources.filter((s) => s.name !== source.name), source]);
  }
}

const byName = (sources: Source[]): Source[] => [...sources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
