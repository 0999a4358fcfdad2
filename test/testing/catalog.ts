/** A temporary catalog file for medium tests; removed by `dispose()`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openCatalog, type Catalog } from '../../server/catalog/catalog.js';

export function tempCatalog(): { db: Catalog; dir: string; file: string; reopen(): Catalog; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'safehold-test-catalog-'));
  const file = join(dir, 'catalog.db');
  let db = openCatalog(file);
  return {
    get db() {
      return db;
    },
    dir,
    file,
    reopen() {
      if (db.open) db.close();
      db = openCatalog(file);
      return db;
    },
    dispose() {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const silentLog = () => pino({ level: 'silent' });
