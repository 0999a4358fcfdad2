/** Every SQL query about backup sources. */
import type { Catalog } from '../catalog/catalog.js';

export interface Source {
  name: string;
  path: string;
  excludes: string[];
  createdAt: string;
}

interface Row {
  name: string;
  path: string;
  excludes: string;
  created_at: number;
}

const toSource = (r: Row): Source => ({ name: r.name, path: r.path, excludes: JSON.parse(r.excludes) as string[], createdAt: new Date(r.created_at).toISOString() });

export class SourceRepository {
  constructor(readonly db: Catalog) {}

  list(): Source[] {
    return (this.db.prepare('SELECT * FROM sources ORDER BY name').all() as Row[]).map(toSource);
  }

  get(name: string): Source | undefined {
    const row = this.db.prepare('SELECT * FROM sources WHERE name = ?').get(name) as Row | undefined;
    return row && toSource(row);
  }

  byPath(path: string): Source | undefined {
    const row = this.db.prepare('SELECT * FROM sources WHERE path = ?').get(path) as Row | undefined;
    return row && toSource(row);
  }

  add(source: { name: string; path: string; excludes: string[] }, now: number): Source {
    this.db.prepare('INSERT INTO sources (name, path, excludes, created_at) VALUES (?, ?, ?, ?)').run(source.name, source.path, JSON.stringify(source.excludes), now);
    return this.get(source.name)!;
  }

  setExcludes(name: string, excludes: string[]): void {
    this.db.prepare('UPDATE sources SET excludes = ? WHERE name = ?').run(JSON.stringify(excludes), name);
  }

  remove(name: string): boolean {
    return this.db.prepare('DELETE FROM sources WHERE name = ?').run(name).changes === 1;
  }
}
