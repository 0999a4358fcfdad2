/**
 * Files on the box: writing a file so that a crash or a power cut at any moment leaves either the
 * old content or the new one, never a mix (temporary file beside the target, fsync, rename, fsync of
 * the folder); what is at a folder; a random sample of files, a byte-for-byte comparison and a
 * folder's size and a walk of a tree for the backups. Every read is asynchronous: nothing here blocks the event loop.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(file: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode); // the umask may have narrowed or widened `open`'s mode
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

export interface FolderFacts {
  exists: boolean;
  isDirectory: boolean;
  /** The folder can be listed by the service. */
  readable: boolean;
  /** Whether it holds at least one entry (files or folders); null when it cannot be listed. */
  hasEntries: boolean | null;
  /** The path after resolving symbolic links, or null when it does not exist. */
  realPath: string | null;
}

/** What is at `path`, without reading more than the first entry of a folder. Never throws. */
export async function inspectFolder(path: string): Promise<FolderFacts> {
  const { opendir, realpath, stat } = await import('node:fs/promises');
  const facts: FolderFacts = { exists: false, isDirectory: false, readable: false, hasEntries: null, realPath: null };
  try {
    const info = await stat(path);
    facts.exists = true;
    facts.isDirectory = info.isDirectory();
    facts.realPath = await realpath(path);
  } catch {
    return facts;
  }
  if (!facts.isDirectory) return facts;
  try {
    const dir = await opendir(path);
    try {
      facts.hasEntries = (await dir.read()) !== null;
    } finally {
      await dir.close().catch(() => undefined);
    }
    facts.readable = true;
  } catch {
    facts.readable = false;
  }
  return facts;
}

export interface SampledFile {
  /** Absolute path on the box. */
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Up to `count` different regular files under `root`, chosen at random, each last modified before
 * `modifiedBefore` (ms) and at most `maxBytes` long. Each pick walks down from `root`, taking a
 * random entry of each folder until it reaches a file, so the cost grows with the depth of the tree
 * and `count`, not with the number of files (a walk of every file costs seconds on a Pi for a large
 * photo library). Files in small folders are likelier picks than files in large ones: a sample for
 * a restore drill, not a statistic. Gives up after `count × 20` walks; symbolic links are not
 * followed; folders that cannot be read are skipped; a missing root gives no files.
 */
export async function sampleFiles(root: string, options: { count: number; maxBytes: number; modifiedBefore: number; random?: () => number }): Promise<SampledFile[]> {
  const { lstat, readdir } = await import('node:fs/promises');
  const random = options.random ?? Math.random;
  type Entry = { name: string; folder: boolean };
  const listings = new Map<string, Entry[]>();
  const list = async (folder: string): Promise<Entry[]> => {
    let entries = listings.get(folder);
    if (!entries) {
      entries = (await readdir(folder, { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isDirectory() || e.isFile())
        .map((e) => ({ name: e.name, folder: e.isDirectory() }));
      listings.set(folder, entries);
    }
    return entries;
  };
  const chosen = new Map<string, SampledFile>();
  const drop = (folder: string, name: string) => listings.set(folder, (listings.get(folder) ?? []).filter((e) => e.name !== name));
  for (let walk = 0; walk < options.count * 20 && chosen.size < options.count; walk++) {
    let folder = root;
    const trail: Array<{ folder: string; name: string }> = [];
    for (let depth = 0; depth < 64; depth++) {
      const entries = await list(folder);
      if (!entries.length) {
        // A dead end (empty, or every file already looked at): no later walk goes down here.
        const up = trail.pop();
        if (up) drop(up.folder, up.name);
        break;
      }
      const entry = entries[Math.floor(random() * entries.length)]!;
      const path = join(folder, entry.name);
      if (entry.folder) {
        trail.push({ folder, name: entry.name });
        folder = path;
        continue;
      }
      drop(folder, entry.name); // each file is looked at once
      const info = await lstat(path).catch(() => null);
      if (info?.isFile() && info.size <= options.maxBytes && info.mtimeMs < options.modifiedBefore) chosen.set(path, { path, size: info.size, mtimeMs: info.mtimeMs });
      break;
    }
  }
  return [...chosen.values()];
}

/** Whether two files hold the same bytes, read in 1 MiB chunks (asynchronously, so the event loop stays free). */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const { open: openFile } = await import('node:fs/promises');
  const [fa, fb] = await Promise.all([openFile(a, 'r'), openFile(b, 'r')]);
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (sa.size !== sb.size) return false;
    const size = 1 << 20;
    const ba = Buffer.allocUnsafe(size);
    const bb = Buffer.allocUnsafe(size);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, size, null), fb.read(bb, 0, size, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/**
 * Every entry under `root` (not `root` itself), depth first, with its `lstat`: symbolic links are
 * not followed, folders that cannot be read are skipped, entries gone meanwhile are left out, a
 * missing root gives nothing. A folder is visited before what it holds.
 */
export async function walkTree(root: string, visit: (path: string, stats: Stats) => void | Promise<void>): Promise<void> {
  const { lstat, opendir } = await import('node:fs/promises');
  const folders = [root];
  while (folders.length) {
    const folder = folders.pop()!;
    const dir = await opendir(folder).catch(() => null);
    if (!dir) continue;
    for await (const entry of dir) {
      const path = join(folder, entry.name);
      const stats = await lstat(path).catch(() => null);
      if (!stats) continue;
      await visit(path, stats);
      if (stats.isDirectory()) folders.push(path);
    }
  }
}

/** The bytes of every regular file under `root` (symbolic links not followed; unreadable folders skipped). 0 for a missing root. */
export async function folderSize(root: string): Promise<number> {
  let total = 0;
  await walkTree(root, (_path, stats) => {
    if (stats.isFile()) total += stats.size;
  });
  return total;
}

/**
 * The groups a user is in, by `/etc/passwd` (the primary group) and `/etc/group` (the others), by
 * number; a uid with no entry (or unreadable files) has only `fallbackGid`.
 */
export async function groupsOfUser(uid: number, fallbackGid: number): Promise<Set<number>> {
  const { readFile } = await import('node:fs/promises');
  const groups = new Set([fallbackGid]);
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const user = passwd.split('\n').map((l) => l.split(':')).find((f) => f.length >= 4 && Number(f[2]) === uid);
  if (!user) return groups;
  groups.add(Number(user[3]));
  const group = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const f of group.split('\n').map((l) => l.split(':'))) {
    if (f.length >= 4 && f[3]!.split(',').includes(user[0]!)) groups.add(Number(f[2]));
  }
  return groups;
}
