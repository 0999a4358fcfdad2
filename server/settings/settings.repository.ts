/**
 * Settings the owner changes in the page, stored as JSON under a key in the catalog's `settings`
 * table. Secrets are never stored here (see secrets.ts).
 */
import type { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';

export class SettingsRepository {
  constructor(readonly db: Catalog) {}

  /** The stored value checked against `schema`; `fallback` when none is stored or it no longer fits the schema. */
  get<S extends z.ZodType>(key: string, schema: S, fallback: z.infer<S>): z.infer<S> {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    if (!row) return fallback;
    try {
      const parsed = schema.safeParse(JSON.parse(row.value));
      return parsed.success ? parsed.data : fallback;
    } catch {
      return fallback;
    }
  }

  put(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }
}
