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
