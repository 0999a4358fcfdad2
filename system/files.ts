/**
 * Writing files so that a crash or a power cut at any moment leaves either the old content or the
 * new one, never a mix: write a temporary file beside the target, fsync it, rename it over the
 * target, fsync the folder.
 */
import { randomBytes } from 'node:crypto';
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
 * Up to `count` regular files under `root`, chosen at random (reservoir sampling over one walk, so
 * memory stays at `count` entries whatever the tree's size), each last modified before
 * `modifiedBefore` (ms) and at most `maxBytes` long. Symbolic links are not followed; folders that
 * cannot be read are skipped. Never throws for a missing root (no files).
 */
export async function sampleFiles(root: string, options: { count: number; maxBytes: number; modifiedBefore: number; random?: () => number }): Promise<SampledFile[]> {
  const { lstat, opendir } = await import('node:fs/promises');
  const random = options.random ?? Math.random;
  const chosen: SampledFile[] = [];
  let seen = 0;
  const folders = [root];
  while (folders.length) {
    const folder = folders.pop()!;
    let dir;
    try {
      dir = await opendir(folder);
    } catch {
      continue;
    }
    for await (const entry of dir) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) folders.push(path);
      else if (entry.isFile() && options.count > 0) {
        const info = await lstat(path).catch(() => null);
        if (!info || info.size > options.maxBytes || info.mtimeMs >= options.modifiedBefore) continue;
        seen++;
        const file = { path, size: info.size, mtimeMs: info.mtimeMs };
        if (chosen.length < options.count) chosen.push(file);
        else {
          const slot = Math.floor(random() * seen);
          if (slot < options.count) chosen[slot] = file;
        }
      }
    }
  }
  return chosen;
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

/** The bytes of every regular file under `root` (symbolic links not followed; unreadable folders skipped). 0 for a missing root. */
export async function folderSize(root: string): Promise<number> {
  const { lstat, opendir } = await import('node:fs/promises');
  let total = 0;
  const folders = [root];
  while (folders.length) {
    const folder = folders.pop()!;
    const dir = await opendir(folder).catch(() => null);
    if (!dir) continue;
    for await (const entry of dir) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) folders.push(path);
      else if (entry.isFile()) total += (await lstat(path).catch(() => null))?.size ?? 0;
    }
  }
  return total;
}
