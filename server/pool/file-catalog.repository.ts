/**
 * The pool's file catalog: per file of a share, its size, modification time and content hash (of
 * the copy that is the truth), and every copy Safehold has looked at, with what it looked like
 * (size, mtime, ctime) and held (its hash) then. A copy whose hash is the file's is a verified copy;
 * one with another hash is stale (an older version, replaced next). Also the journal of deletions that disks which were
 * away have not seen yet. Names are bytes, as on the disk (they need not be UTF-8).
 *
 * Every write that changes what is known of one file is one transaction.
 */
import type { Catalog } from '../catalog/catalog.js';

export interface CopyRecord {
  driveId: string;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** The content the copy held when it was looked at: the file's `hash` for a good copy, another for a stale one. */
  hash: string;
  verifiedAt: number;
}

export interface FileRecord {
  id: number;
  share: string;
  dir: Buffer;
  name: Buffer;
  size: number;
  mtimeNs: bigint;
  hash: string;
  hashAlgorithm: string;
  copies: CopyRecord[];
}

export interface JournalEntry {
  id: number;
  driveId: string;
  share: string;
  dir: Buffer;
  name: Buffer;
  size: number | null;
  mtimeNs: bigint | null;
}

interface FileRow {
  id: number;
  share: string;
  dir: Buffer;
  name: Buffer;
  size: number;
  mtime_ns: bigint;
  hash: string;
  hash_algorithm: string;
}
interface CopyRow {
  file_id: number;
  drive_id: string;
  size: number;
  mtime_ns: bigint;
  ctime_ns: bigint;
  hash: string;
  verified_at: number;
}

/** Counts of a share's files by how many verified copies they have. */
export type CopyCounts = Record<number, number>;

export class FileCatalogRepository {
  readonly #inDir;
  readonly #folders;
  readonly #copiesInDir;
  readonly #one;
  readonly #copiesOf;
  readonly #insert;
  readonly #update;
  readonly #delete;
  readonly #deleteCopies;
  readonly #upsertCopy;
  readonly #deleteCopy;
  readonly #journalAdd;
  readonly #journalOf;
  readonly #journalDone;
  readonly #counts;
  readonly #onlyOn;
  readonly #reach;
  readonly #filesOn;

  constructor(readonly db: Catalog) {
    const big = <T extends { safeIntegers(on?: boolean): T }>(s: T) => s.safeIntegers(true);
    this.#inDir = big(db.prepare('SELECT * FROM pool_files WHERE share = ? AND dir = ?'));
    this.#folders = db.prepare('SELECT DISTINCT dir FROM pool_files WHERE share = ?');
    this.#copiesInDir = big(db.prepare('SELECT c.* FROM pool_copies c JOIN pool_files f ON f.id = c.file_id WHERE f.share = ? AND f.dir = ?'));
    this.#one = big(db.prepare('SELECT * FROM pool_files WHERE share = ? AND dir = ? AND name = ?'));
    this.#copiesOf = big(db.prepare('SELECT * FROM pool_copies WHERE file_id = ?'));
    this.#insert = db.prepare('INSERT INTO pool_files (share, dir, name, size, mtime_ns, hash, hash_algorithm, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id');
    this.#update = db.prepare('UPDATE pool_files SET size = ?, mtime_ns = ?, hash = ?, hash_algorithm = ?, updated_at = ? WHERE id = ?');
    this.#delete = db.prepare('DELETE FROM pool_files WHERE id = ?');
    this.#deleteCopies = db.prepare('DELETE FROM pool_copies WHERE file_id = ?');
    this.#upsertCopy = db.prepare(
      `INSERT INTO pool_copies (file_id, drive_id, size, mtime_ns, ctime_ns, hash, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (file_id, drive_id) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, hash = excluded.hash, verified_at = excluded.verified_at`,
    );
    this.#deleteCopy = db.prepare('DELETE FROM pool_copies WHERE file_id = ? AND drive_id = ?');
    this.#journalAdd = db.prepare('INSERT INTO pool_journal (drive_id, share, dir, name, action, at, size, mtime_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#journalOf = big(db.prepare('SELECT * FROM pool_journal WHERE drive_id = ? ORDER BY id'));
    this.#journalDone = db.prepare('DELETE FROM pool_journal WHERE id = ?');
    this.#onlyOn = db.prepare(
      `SELECT f.share, count(*) AS files, sum(f.size) AS bytes FROM pool_files f JOIN pool_copies c ON c.file_id = f.id AND c.hash = f.hash
       WHERE c.drive_id = ? AND NOT EXISTS (SELECT 1 FROM pool_copies o WHERE o.file_id = f.id AND o.drive_id <> ? AND o.hash = f.hash) GROUP BY f.share ORDER BY f.share`,
    );
    this.#reach = db.prepare(
      `SELECT others, count(*) AS files, sum(size) AS bytes FROM (
         SELECT f.id, f.size, (SELECT count(*) FROM pool_copies o WHERE o.file_id = f.id AND o.drive_id <> ? AND o.hash = f.hash) AS others
         FROM pool_files f JOIN pool_copies c ON c.file_id = f.id AND c.hash = f.hash WHERE c.drive_id = ?) GROUP BY others`,
    );
    this.#filesOn = db.prepare(
      `SELECT f.id, f.share, f.dir, f.name, f.size, (SELECT group_concat(o.drive_id, char(10)) FROM pool_copies o WHERE o.file_id = f.id AND o.drive_id <> ? AND o.hash = f.hash) AS others
       FROM pool_files f JOIN pool_copies c ON c.file_id = f.id AND c.hash = f.hash WHERE c.drive_id = ?`,
    );
    this.#counts = db.prepare(
      'SELECT n, count(*) AS files FROM (SELECT f.id, count(c.drive_id) AS n FROM pool_files f LEFT JOIN pool_copies c ON c.file_id = f.id AND c.hash = f.hash WHERE f.share = ? GROUP BY f.id) GROUP BY n',
    );
  }

  /** Every file the catalog knows in one folder of a share, by name (as a latin1 key of the bytes). */
  /** Every folder of `share` that holds a file of the catalog (relative paths; the share's own folder is empty). */
  folders(share: string): Buffer[] {
    return (this.#folders.all(share) as { dir: Buffer }[]).map((row) => row.dir);
  }

  inFolder(share: string, dir: Buffer): Map<string, FileRecord> {
    const copies = new Map<number, CopyRecord[]>();
    for (const c of this.#copiesInDir.all(share, dir) as CopyRow[]) {
      const id = Number(c.file_id);
      const list = copies.get(id) ?? [];
      list.push(toCopy(c));
      copies.set(id, list);
    }
    const files = new Map<string, FileRecord>();
    for (const row of this.#inDir.all(share, dir) as FileRow[]) files.set(row.name.toString('latin1'), toFile(row, copies.get(Number(row.id)) ?? []));
    return files;
  }

  get(share: string, dir: Buffer, name: Buffer): FileRecord | undefined {
    const row = this.#one.get(share, dir, name) as FileRow | undefined;
    return row && toFile(row, (this.#copiesOf.all(row.id) as CopyRow[]).map(toCopy));
  }

  /**
   * What is known of a file now: its truth (size, mtime, hash) and exactly these verified copies
   * (others are dropped). Creates the record when there is none. Returns its id.
   */
  record(file: { share: string; dir: Buffer; name: Buffer; size: number; mtimeNs: bigint; hash: string; hashAlgorithm: string }, copies: CopyRecord[], now: number): number {
    return this.db.transaction(() => {
      const existing = this.#one.get(file.share, file.dir, file.name) as FileRow | undefined;
      let id: number;
      if (existing) {
        id = Number(existing.id);
        this.#update.run(file.size, file.mtimeNs, file.hash, file.hashAlgorithm, now, id);
        this.#deleteCopies.run(id);
      } else {
        id = Number((this.#insert.get(file.share, file.dir, file.name, file.size, file.mtimeNs, file.hash, file.hashAlgorithm, now) as { id: number | bigint }).id);
      }
      for (const c of copies) this.#upsertCopy.run(id, c.driveId, c.size, c.mtimeNs, c.ctimeNs, c.hash, c.verifiedAt);
      return id;
    })();
  }

  /** One more verified copy of a known file. */
  addCopy(fileId: number, copy: CopyRecord): void {
    this.#upsertCopy.run(fileId, copy.driveId, copy.size, copy.mtimeNs, copy.ctimeNs, copy.hash, copy.verifiedAt);
  }

  removeCopy(fileId: number, driveId: string): void {
    this.#deleteCopy.run(fileId, driveId);
  }

  /**
   * The file was deleted through the share: its record goes, and each disk that was away and still
   * holds a copy gets a journal entry, so that copy is deleted when the disk is back (no resurrection).
   */
  deleted(file: FileRecord, away: CopyRecord[], now: number): void {
    this.db.transaction(() => {
      for (const c of away) this.#journalAdd.run(c.driveId, file.share, file.dir, file.name, 'delete', now, c.size, c.mtimeNs);
      this.#delete.run(file.id);
    })();
  }

  /** Deletions a disk has not seen, oldest first. */
  journalOf(driveId: string): JournalEntry[] {
    return (this.#journalOf.all(driveId) as { id: bigint; drive_id: string; share: string; dir: Buffer; name: Buffer; size: bigint | null; mtime_ns: bigint | null }[]).map((r) => ({
      id: Number(r.id),
      driveId: r.drive_id,
      share: r.share,
      dir: r.dir,
      name: r.name,
      size: r.size === null ? null : Number(r.size),
      mtimeNs: r.mtime_ns,
    }));
  }

  journalDone(id: number): void {
    this.#journalDone.run(id);
  }

  /** Per share, the files (and their bytes) whose only verified copy is on `driveId`: what a dead disk would lose. */
  onlyOn(driveId: string): { share: string; files: number; bytes: number }[] {
    return (this.#onlyOn.all(driveId, driveId) as { share: string; files: number; bytes: number }[]).map((r) => ({ share: r.share, files: Number(r.files), bytes: Number(r.bytes) }));
  }

  /** While `driveId` is away: files left with one copy elsewhere, and files whose every copy is on it. */
  reachWithout(driveId: string): { single: number; unreachable: number; unreachableBytes: number } {
    const rows = this.#reach.all(driveId, driveId) as { others: number; files: number; bytes: number }[];
    const of = (n: number) => rows.find((r) => Number(r.others) === n);
    return { single: Number(of(1)?.files ?? 0), unreachable: Number(of(0)?.files ?? 0), unreachableBytes: Number(of(0)?.bytes ?? 0) };
  }

  /** Every file with a copy on `driveId`: its share, size and the other disks holding a verified copy. */
  filesOn(driveId: string): { id: number; share: string; path: string; size: number; others: string[] }[] {
    return (this.#filesOn.all(driveId, driveId) as { id: number; share: string; dir: Buffer; name: Buffer; size: number; others: string | null }[]).map((r) => ({
      id: Number(r.id),
      share: r.share,
      path: r.dir.length ? `${r.dir.toString('utf8')}/${r.name.toString('utf8')}` : r.name.toString('utf8'),
      size: Number(r.size),
      others: r.others ? r.others.split('\n') : [],
    }));
  }

  /** A disk that is gone: every copy it held is forgotten (the files then get new copies), and its journal. */
  forgetDisk(driveId: string): number {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM pool_journal WHERE drive_id = ?').run(driveId);
      return this.db.prepare('DELETE FROM pool_copies WHERE drive_id = ?').run(driveId).changes;
    })();
  }

  /** How many of a share's files have 0, 1, 2… verified copies. */
  copyCounts(share: string): CopyCounts {
    const counts: CopyCounts = {};
    for (const row of this.#counts.all(share) as { n: number; files: number }[]) counts[Number(row.n)] = Number(row.files);
    return counts;
  }
}

const toCopy = (c: CopyRow): CopyRecord => ({ driveId: c.drive_id, size: Number(c.size), mtimeNs: BigInt(c.mtime_ns), ctimeNs: BigInt(c.ctime_ns), hash: c.hash, verifiedAt: Number(c.verified_at) });

const toFile = (row: FileRow, copies: CopyRecord[]): FileRecord => ({
  id: Number(row.id),
  share: row.share,
  dir: Buffer.from(row.dir),
  name: Buffer.from(row.name),
  size: Number(row.size),
  mtimeNs: BigInt(row.mtime_ns),
  hash: row.hash,
  hashAlgorithm: row.hash_algorithm,
  copies,
});
