/**
 * The duplicator: gives every file of a share the copies its duplication level asks for, writing
 * natively to the pool's disks (never through the pooled view), and keeps the file catalog true to
 * the disks (docs/pool.md, "Duplication").
 *
 * It works by reconciling: a walk over a share's folders on every mounted disk at once (one folder
 * at a time, so memory stays small), comparing each file's copies with the catalog. Events from the
 * disks only make a reconcile come sooner; a missed event costs at most one reconcile period.
 *
 * Contract, for one file of a share:
 * - A copy whose size, mtime and ctime are those recorded when it was verified is unchanged. A copy
 *   that differs (or is not recorded) was written: the most recently changed one is the truth (a
 *   file changed through the share is changed on one disk only), and the older copies are replaced
 *   from it, never the other way round. Changed copies with the same content are all good.
 * - A file still being written is not copied: it must have settled (its ctime older than
 *   `settleMs`), no process may hold it open for writing, and its size, mtime and ctime must be the
 *   same before and after it is read. Otherwise it waits for the next pass.
 * - Every copy: temporary name → fsync → hash compared with the source's → rename → fsync of the
 *   folder (system/files, `FilePlacer.place`) → catalog. A copy that does not match is removed and
 *   tried again next pass, never kept or recorded.
 * - A file gone from every mounted disk that had it was deleted through the share: its record goes,
 *   and each disk that was away gets a journal entry, so its copy is deleted when it is back (no
 *   resurrection). A file gone from only some disks lost those copies: it is copied again. A missing
 *   copy is never a deletion.
 * - Extra copies (a level lowered) and stale copies (an older version) are removed only once the
 *   file has all the good copies it needs.
 * - When no disk can take a needed copy, the file stays with fewer copies and the pass says which
 *   files and why (`short`).
 * - A record whose hash is of another algorithm than the hasher's (a catalog from an earlier build:
 *   `sha256`) is re-hashed, never reported as a mismatch: its recorded hashes still say which copies
 *   were alike (they are compared only with one another); the copies recorded alike with the truth
 *   are hashed again and must still agree (else the file is skipped, said why, and left as
 *   recorded); they and the away copies recorded alike take the new hash, a copy recorded as an
 *   older version stays stale, and the record is rewritten with the hasher's algorithm. When a copy
 *   was written since, the usual rules apply, and every copy of the truth's size is hashed.
 */
import { chmod, chown, lstat, mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../../system/clock.js';
import { randomBytes } from 'node:crypto';
import { ContentMismatchError, TEMPORARY_NAME, TEMPORARY_PREFIX, type FilePlacer } from '../../system/files/file-placer.js';
import { HASH_ALGORITHM } from '../../system/files/hasher.js';
import { MARKER_DIR } from '../../system/marker/drive-marker.js';
import type { CopyRecord, FileCatalogRepository, FileRecord } from './file-catalog.repository.js';
import { SHARES_DIR } from './member.service.js';
import { placeCopies, wantedCopies, type DiskRoom } from './placement.js';
import type { Copies } from './share.repository.js';

/** A disk stopped answering (pulled out, failing) while a copy was read from it or written to it: the pass stops; nothing of that copy was recorded. */
export class DiskGoneError extends Error {
  constructor(readonly code: string, options?: ErrorOptions) {
    super(`A pool disk stopped answering during a copy (${code})`, options);
    this.name = 'DiskGoneError';
  }
}

/** A mounted pool disk as one pass sees it. */
export interface PassDisk extends DiskRoom {
  mountpoint: string;
}

export interface PassOptions {
  share: string;
  copies: Copies;
  disks: PassDisk[];
  /** Disks of the pool that are not mounted now (their recorded copies are out of reach). */
  away: ReadonlySet<string>;
  signal: AbortSignal;
  /** Called after each file (for the job's progress). */
  onFile?: (path: string) => void;
}

export interface PassResult {
  files: number;
  copied: number;
  bytesCopied: number;
  removed: number;
  deleted: number;
  /** Files that are still being written (or changed while being copied): next pass. */
  waiting: number;
  /** Files with fewer copies than asked because no disk could take one, with why. */
  short: { path: string; copies: number; wanted: number; why: string }[];
  /** Copies that did not match their source and were removed (tried again next pass). */
  mismatches: number;
  /** Names that could not be handled (not UTF-8, a file on one disk and a folder on another…), with why. */
  skipped: { path: string; why: string }[];
}

export interface DuplicatorOptions {
  catalog: FileCatalogRepository;
  files: FilePlacer;
  clock: Clock;
  log: Logger;
  /** The files some process holds open for writing (`<dev>:<ino>`). */
  openForWriting: () => Promise<Set<string>>;
  /** How long a file must have been left alone before it is copied. Default 2 s. */
  settleMs?: number;
}

const EMPTY: Buffer = Buffer.alloc(0);
const SLASH = Buffer.from('/');
const keyOf = (name: Buffer) => name.toString('latin1');
const joinRel = (dir: Buffer, name: Buffer): Buffer => (dir.length ? Buffer.concat([dir, SLASH, name]) : name);
const shown = (path: Buffer) => path.toString('utf8');
const isUtf8 = (name: Buffer) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(name);
    return true;
  } catch {
    return false;
  }
};

/** The share's folder on a disk, as bytes. */
function shareRoot(mountpoint: string, share: string): Buffer {
  return Buffer.from(`${mountpoint}/${MARKER_DIR}/${SHARES_DIR}/${share}`);
}
const under = (root: Buffer, rel: Buffer) => (rel.length ? Buffer.concat([root, SLASH, rel]) : root);

interface Seen {
  disk: PassDisk;
  stat: BigIntStats;
}

const sameAsRecorded = (s: BigIntStats, c: CopyRecord) => Number(s.size) === c.size && s.mtimeNs === c.mtimeNs && s.ctimeNs === c.ctimeNs;

export class Duplicator {
  constructor(private readonly o: DuplicatorOptions) {}

  /** One reconcile pass over a whole share. */
  async pass(options: PassOptions): Promise<PassResult> {
    const result: PassResult = { files: 0, copied: 0, bytesCopied: 0, removed: 0, deleted: 0, waiting: 0, short: [], mismatches: 0, skipped: [] };
    const writing = { at: 0, set: new Set<string>() };
    const walked = new Set<string>();
    await this.#folder(options, EMPTY, result, writing, walked);
    // Folders the catalog knows that no mounted disk has (renamed or deleted through the share on
    // every disk): their files are looked at too, or their records would stay for ever.
    for (const dir of this.o.catalog.folders(options.share)) {
      if (!walked.has(dir.toString('latin1'))) await this.#folder(options, dir, result, writing, walked);
    }
    return result;
  }

  /** Deletions a disk did not see while it was away, done now that it is back (only the copy it had then). */
  async catchUp(disk: PassDisk): Promise<number> {
    let done = 0;
    for (const entry of this.o.catalog.journalOf(disk.driveId)) {
      const path = under(shareRoot(disk.mountpoint, entry.share), joinRel(entry.dir, entry.name));
      const now = await lstat(path, { bigint: true }).catch(() => null);
      if (now?.isFile() && (entry.size === null || Number(now.size) === entry.size) && (entry.mtimeNs === null || now.mtimeNs === entry.mtimeNs)) {
        await rm(path, { force: true });
        done++;
      }
      this.o.catalog.journalDone(entry.id);
    }
    return done;
  }

  async #folder(o: PassOptions, dir: Buffer, result: PassResult, writing: { at: number; set: Set<string> }, walked: Set<string>): Promise<void> {
    o.signal.throwIfAborted();
    walked.add(dir.toString('latin1'));
    // What each disk holds in this folder.
    const files = new Map<string, { name: Buffer; seen: Seen[] }>();
    const folders = new Map<string, Buffer>();
    for (const disk of o.disks) {
      const here = under(shareRoot(disk.mountpoint, o.share), dir);
      const entries = await readdir(here, { withFileTypes: true, encoding: 'buffer' }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
        throw error;
      });
      for (const entry of entries) {
        const name = entry.name;
        if (TEMPORARY_NAME.test(name.toString('latin1'))) continue;
        const key = keyOf(name);
        if (entry.isDirectory()) {
          folders.set(key, name);
        } else if (entry.isFile()) {
          const s = await lstat(under(here, name), { bigint: true }).catch(() => null);
          if (!s?.isFile()) continue;
          const slot = files.get(key) ?? { name, seen: [] };
          slot.seen.push({ disk, stat: s });
          files.set(key, slot);
        } else {
          result.skipped.push({ path: shown(joinRel(dir, name)), why: 'not a plain file or folder (a link or a device): it is not duplicated' });
        }
      }
      await this.o.files.removeTemporaries(here).catch(() => []);
    }
    const known = this.o.catalog.inFolder(o.share, dir);
    for (const key of new Set([...files.keys(), ...known.keys()])) {
      o.signal.throwIfAborted();
      const slot = files.get(key);
      const name = slot?.name ?? known.get(key)!.name;
      const rel = joinRel(dir, name);
      if (folders.has(key)) {
        result.skipped.push({ path: shown(rel), why: 'it is a file on one disk and a folder on another' });
        continue;
      }
      if (!isUtf8(name)) {
        result.skipped.push({ path: shown(rel), why: 'its name is not valid UTF-8' });
        continue;
      }
      result.files++;
      await this.#file(o, dir, name, slot?.seen ?? [], known.get(key), result, writing);
      o.onFile?.(shown(rel));
    }
    for (const name of folders.values()) await this.#folder(o, joinRel(dir, name), result, writing, walked);
  }

  async #file(o: PassOptions, dir: Buffer, name: Buffer, seen: Seen[], record: FileRecord | undefined, result: PassResult, writing: { at: number; set: Set<string> }): Promise<void> {
    const rel = joinRel(dir, name);
    const now = this.o.clock.now();
    const pathOn = (disk: PassDisk) => under(shareRoot(disk.mountpoint, o.share), rel);
    if (seen.length === 0) {
      if (!record) return;
      // Only on disks that are away: out of reach, not deleted (a missing copy is never a deletion).
      if (record.copies.length > 0 && record.copies.every((c) => o.away.has(c.driveId))) return;
      // Gone from every mounted disk that held it: deleted through the share (or with the share's folder).
      const awayCopies = record.copies.filter((c) => o.away.has(c.driveId));
      this.o.catalog.deleted(record, awayCopies, now);
      result.deleted++;
      return;
    }
    // What each copy holds: known for a copy that still shows the stats it had when it was looked at.
    const recorded = new Map(record?.copies.map((c) => [c.driveId, c]) ?? []);
    // A record hashed with another algorithm (an earlier build's): its hashes compare only with one another.
    const legacy = record !== undefined && record.hashAlgorithm !== HASH_ALGORITHM;
    const content = new Map<Seen, string>();
    for (const s of seen) {
      const c = recorded.get(s.disk.driveId);
      if (c && sameAsRecorded(s.stat, c)) content.set(s, c.hash);
    }
    const changed = seen.filter((s) => !content.has(s));
    const newestFirst = (a: Seen, b: Seen) => (b.stat.ctimeNs > a.stat.ctimeNs ? 1 : b.stat.ctimeNs < a.stat.ctimeNs ? -1 : 0);

    // The truth: the most recently written copy (a change through the share reaches one disk only);
    // when nothing was written since the last look, the copy holding what the catalog says.
    let truth: Seen;
    if (changed.length) {
      truth = [...changed].sort(newestFirst)[0]!;
      if (!(await this.#settled(truth, writing))) {
        result.waiting++;
        return;
      }
      const hashed = await this.o.files.hash(pathOn(truth.disk), o.signal);
      if (!(await this.#still(pathOn(truth.disk), truth.stat))) {
        result.waiting++;
        return;
      }
      content.set(truth, hashed.hex);
      // Other written copies of the same size may hold the same bytes (a copy made by a pass that was cut off).
      for (const other of legacy ? seen : changed) {
        if (other === truth || other.stat.size !== truth.stat.size) continue;
        const theirs = await this.o.files.hash(pathOn(other.disk), o.signal).catch(() => null);
        if (theirs && (await this.#still(pathOn(other.disk), other.stat))) content.set(other, theirs.hex);
      }
    } else {
      const current = seen.find((s) => content.get(s) === record?.hash);
      if (!current && record?.copies.some((c) => o.away.has(c.driveId) && c.hash === record.hash)) {
        // Only older versions are here; the current one is on a disk that is away: wait for it.
        result.waiting++;
        return;
      }
      truth = current ?? [...seen].sort(newestFirst)[0]!;
    }
    // A record of another algorithm, nothing written since: the copies recorded alike with the truth
    // are hashed again, and must still agree (the new hashes are what later passes trust).
    const before = content.get(truth)!;
    let renamed = (recordedHash: string) => recordedHash;
    if (legacy && !changed.includes(truth)) {
      const fresh = new Map<Seen, string>();
      for (const s of seen.filter((x) => content.get(x) === before)) {
        const hashed = await this.o.files.hash(pathOn(s.disk), o.signal).catch((error: unknown) => {
          if (s === truth) throw error;
          return null; // that copy is then stale, and replaced
        });
        if (!(await this.#still(pathOn(s.disk), s.stat))) {
          result.waiting++;
          return;
        }
        if (hashed) fresh.set(s, hashed.hex);
      }
      const agreed = new Set(fresh.values());
      if (agreed.size > 1) {
        result.skipped.push({ path: shown(rel), why: `its copies, recorded alike (${record!.hashAlgorithm}) and not written since, now differ: left as recorded` });
        return;
      }
      const rehashed = fresh.get(truth)!;
      renamed = (recordedHash) => (recordedHash === before ? rehashed : recordedHash);
      for (const s of seen) {
        if (fresh.has(s)) content.set(s, fresh.get(s)!);
        else if (content.get(s) === before) content.delete(s); // unreadable: unknown, like a written copy that could not be hashed
      }
    }
    const hash = content.get(truth)!;
    const size = Number(truth.stat.size);
    const good = seen.filter((s) => content.get(s) === hash);
    const stale = seen.filter((s) => content.get(s) !== hash);

    // The catalog first: the truth, and every copy as it is now (good, or stale with what it holds),
    // so that a crash before the next step still knows which copy holds what.
    const fileChanged = !record || record.hash !== hash || record.size !== size || record.mtimeNs !== truth.stat.mtimeNs || changed.length > 0;
    if (fileChanged || seen.length !== record!.copies.filter((c) => !o.away.has(c.driveId)).length) {
      const keepAway = (record?.copies ?? []).filter((c) => o.away.has(c.driveId)).map((c) => ({ ...c, hash: renamed(c.hash) }));
      const looked = seen.filter((s) => content.has(s)).map((s) => copyOf(s, content.get(s)!, now));
      this.o.catalog.record({ share: o.share, dir, name, size, mtimeNs: truth.stat.mtimeNs, hash, hashAlgorithm: HASH_ALGORITHM }, [...looked, ...keepAway], now);
    }
    const fileId = this.o.catalog.get(o.share, dir, name)!.id;

    // A disk being removed is read from, but its copies do not count and it takes none.
    const staying = o.disks.filter((d) => !d.leaving);
    const wanted = wantedCopies(o.copies, staying.length);
    const holders = new Set(good.filter((g) => !g.disk.leaving).map((g) => g.disk.driveId));
    // Good copies on disks that are away still count (they are out of reach, not lost).
    const awayGood = o.copies === 'all' ? 0 : (record?.copies ?? []).filter((c) => o.away.has(c.driveId) && renamed(c.hash) === hash).length;
    let have = holders.size + awayGood;

    if (have < wanted) {
      // A copy that shows what was recorded of it was not written since: only the open-file rule applies.
      if (!(await this.#settled(truth, writing, changed.includes(truth)))) {
        result.waiting++;
        return;
      }
      // Stale copies are replaced first (in place), then new disks by placement.
      const staleDisks = stale.map((s) => s.disk).filter((d) => !d.leaving);
      const { targets, short } = placeCopies(o.disks.filter((d) => !staleDisks.includes(d)), holders, size, wanted - have - staleDisks.length);
      for (const target of [...staleDisks.slice(0, wanted - have), ...targets]) {
        o.signal.throwIfAborted();
        const copied = await this.#copy(o, pathOn(truth.disk), truth, target, dir, name, hash, result);
        if (!copied) continue;
        this.o.catalog.addCopy(fileId, copied);
        target.freeBytes -= size; // what the next placement in this pass sees
        holders.add(target.driveId);
        have++;
        result.copied++;
        result.bytesCopied += size;
      }
      if (have < wanted) result.short.push({ path: shown(rel), copies: have, wanted, why: short[0] ?? 'no other disk can take it' });
    }
    if (have < wanted) return;
    // Every good copy it needs is there: stale copies go, and extra ones (a level lowered).
    for (const s of seen.filter((x) => !holders.has(x.disk.driveId) && !x.disk.leaving)) {
      await rm(pathOn(s.disk), { force: true });
      this.o.catalog.removeCopy(fileId, s.disk.driveId);
      result.removed++;
    }
    const extra = have - wanted;
    if (extra > 0 && o.copies !== 'all') {
      // Copies go from the troubled, then the fullest disks; never the truth's.
      const troubled = (d: PassDisk) => Number(d.verdict === 'warning' || d.verdict === 'failing');
      const removable = o.disks.filter((d) => holders.has(d.driveId) && d.driveId !== truth.disk.driveId).sort((a, b) => troubled(b) - troubled(a) || a.freeBytes - b.freeBytes);
      for (const disk of removable.slice(0, extra)) {
        await rm(pathOn(disk), { force: true });
        this.o.catalog.removeCopy(fileId, disk.driveId);
        holders.delete(disk.driveId);
        result.removed++;
      }
    }
  }

  /**
   * A verified copy of `source` on `target`, or null (changed while copying, a mismatch, no room:
   * next pass). The copy is placed under a temporary name first and given the file's name only
   * once the source is seen unchanged after it was read: an older version never takes the name.
   */
  async #copy(o: PassOptions, source: Buffer, truth: Seen, target: PassDisk, dir: Buffer, name: Buffer, hash: string, result: PassResult): Promise<CopyRecord | null> {
    const folder = under(shareRoot(target.mountpoint, o.share), dir);
    const destination = under(folder, name);
    const staging = under(folder, Buffer.from(`${TEMPORARY_PREFIX}${randomBytes(8).toString('hex')}`));
    // The folders made for this copy: taken away again when it does not get its name (a folder
    // renamed or deleted meanwhile through the share must not come back on this disk, empty).
    const made: Buffer[] = [];
    try {
      await this.#folders(o, truth.disk, target, dir, made);
      await this.o.files.place(source, staging, { expected: { algorithm: HASH_ALGORITHM, hex: hash, bytes: Number(truth.stat.size) }, syncFolder: false, signal: o.signal });
    } catch (error) {
      await rm(staging, { force: true }).catch(() => undefined);
      await unmake(made);
      const code = (error as NodeJS.ErrnoException).code;
      if (error instanceof ContentMismatchError) {
        result.mismatches++;
        return null;
      }
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        result.short.push({ path: shown(joinRel(dir, name)), copies: 0, wanted: 0, why: `${target.driveId} is full` });
        return null;
      }
      if (code === 'ENOENT' && !(await lstat(source).then(() => true, () => false))) return null; // the source went away: the next pass sees the deletion
      // EPERM: the disk was unmounted under the pass and its empty mount folder is sealed (system/mounts).
      if (code === 'EIO' || code === 'ENXIO' || code === 'ENODEV' || code === 'EROFS' || code === 'ESHUTDOWN' || code === 'EPERM') throw new DiskGoneError(code, { cause: error });
      throw error;
    }
    if (!(await this.#still(source, truth.stat))) {
      // Changed while it was copied: the copy holds an older version and never gets the name.
      await rm(staging, { force: true });
      await unmake(made);
      result.waiting++;
      return null;
    }
    await this.o.files.move(staging, destination, { replace: true, signal: o.signal });
    const placed = await stat(destination, { bigint: true });
    return { driveId: target.driveId, size: Number(placed.size), mtimeNs: placed.mtimeNs, ctimeNs: placed.ctimeNs, hash, verifiedAt: this.o.clock.now() };
  }

  /**
   * The folders above a file, made on the target disk with the owner and mode they have on the disk
   * the file comes from; each one made is added to `made`, top first.
   */
  async #folders(o: PassOptions, from: PassDisk, to: PassDisk, dir: Buffer, made: Buffer[]): Promise<void> {
    // The share's own folder is made by the share service on every mounted disk; one made since is made here alike.
    const top = shareRoot(to.mountpoint, o.share);
    if (!(await lstat(top).then(() => true, () => false))) {
      const model = await stat(shareRoot(from.mountpoint, o.share));
      await mkdir(top, { recursive: true, mode: model.mode & 0o7777 });
      await chown(top, model.uid, model.gid).catch(() => undefined);
      await chmod(top, model.mode & 0o7777).catch(() => undefined);
    }
    if (dir.length === 0) return;
    const parts = dir.toString('latin1').split('/');
    let rel: Buffer = EMPTY;
    for (const part of parts) {
      rel = joinRel(rel, Buffer.from(part, 'latin1'));
      const there = under(shareRoot(to.mountpoint, o.share), rel);
      if (await lstat(there).then(() => true, () => false)) continue;
      const model = await stat(under(shareRoot(from.mountpoint, o.share), rel)).catch(() => null);
      await mkdir(there, { mode: model ? model.mode & 0o7777 : 0o775 });
      made.push(there);
      if (model) {
        await chown(there, model.uid, model.gid).catch(() => undefined);
        await chmod(there, model.mode & 0o7777).catch(() => undefined);
      }
    }
  }

  /** Left alone long enough (when `written`: a write Safehold has not looked at yet), and no process has it open for writing. */
  async #settled(s: Seen, writing: { at: number; set: Set<string> }, written = true): Promise<boolean> {
    const settleNs = BigInt(this.o.settleMs ?? 2000) * 1_000_000n;
    const nowNs = BigInt(this.o.clock.now()) * 1_000_000n;
    if (written && nowNs - s.stat.ctimeNs < settleNs) return false;
    if (this.o.clock.now() - writing.at > 1000) {
      writing.set = await this.o.openForWriting();
      writing.at = this.o.clock.now();
    }
    return !writing.set.has(`${s.stat.dev}:${s.stat.ino}`);
  }

  /** The file still shows the size, mtime and ctime it had. */
  async #still(path: Buffer, before: BigIntStats): Promise<boolean> {
    const after = await lstat(path, { bigint: true }).catch(() => null);
    return after !== null && after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs;
  }
}

/** Remove the folders a copy made, deepest first, each only while it is empty (someone may have put a file in it since). */
async function unmake(made: readonly Buffer[]): Promise<void> {
  for (const folder of [...made].reverse()) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty, or gone: the folders above it stay too
    }
  }
}

const copyOf = (s: Seen, hash: string, now: number): CopyRecord => ({ driveId: s.disk.driveId, size: Number(s.stat.size), mtimeNs: s.stat.mtimeNs, ctimeNs: s.stat.ctimeNs, hash, verifiedAt: now });
