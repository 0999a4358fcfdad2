/**
 * Helpers for the pooled-view tests: pool members as loop-device disks (ext4 of different sizes:
 * real filesystems with real free space, the way members are; mkfs.xfs and mkfs.btrfs are not on
 * the test machines), each with a share's folder `Safehold/shares/<share>` as the view's branch.
 * Everything is named `safehold-test-<pid>-…` (loop-disk.ts), so a crashed run's leftovers are
 * found and removed by `cleanupLeftovers()`.
 */
import { constants } from 'node:fs';
import { access, lstat, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInstalled } from '../../system/tools.js';
import { createLoopDisk, loopDiskSkipReason, removeDataFolder, testName, type LoopDisk } from './loop-disk.js';

/** A share name with what file systems and tools trip over: a leading dash, spaces, non-ASCII. */
export const HOSTILE_SHARE = '-Fotos de famille é';

/** Why a real mergerfs view cannot be mounted here, or undefined when it can. */
export async function mergerfsSkipReason(): Promise<string | undefined> {
  const loop = loopDiskSkipReason();
  if (loop) return loop;
  try {
    await access('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return 'needs /dev/fuse (FUSE) to mount mergerfs';
  }
  for (const [tool, pkg] of [['mergerfs', 'mergerfs'], ['setfattr', 'attr'], ['getfattr', 'attr'], ['chattr', 'e2fsprogs']] as const) {
    if (!(await isInstalled(tool))) return `needs ${tool} (Debian package ${pkg})`;
  }
  return undefined;
}

export interface MemberDisk {
  disk: LoopDisk;
  /** Where the member is mounted. */
  mount: string;
  /** The share's folder on it: the view's branch. */
  branch: string;
}

/** Loop disks of `sizesMiB`, each mounted, each with `Safehold/shares/<share>`. Clean up with `removeMembers`. */
export async function createMembers(sizesMiB: number[], share = HOSTILE_SHARE): Promise<MemberDisk[]> {
  const members: MemberDisk[] = [];
  try {
    for (const sizeMiB of sizesMiB) {
      const disk = await createLoopDisk({ sizeMiB, label: 'SAFEHOLD-POOL' });
      members.push({ disk, mount: '', branch: '' });
      const mount = await disk.mount();
      const branch = join(mount, 'Safehold', 'shares', share);
      await mkdir(branch, { recursive: true });
      members[members.length - 1] = { disk, mount, branch };
    }
  } catch (error) {
    await removeMembers(members);
    throw error;
  }
  return members;
}

export async function removeMembers(members: MemberDisk[]): Promise<void> {
  for (const { disk } of members) await disk.cleanup().catch(() => undefined);
}

/** A fresh data folder of the test's own (views are mounted under it); `removeDataFolder` clears seals and mounts. */
export async function createDataFolder(): Promise<string> {
  const dir = join(tmpdir(), testName('-pool data'));
  await mkdir(dir);
  return dir;
}

export { removeDataFolder };

/** The branches (of `branches`) that hold a file at `relativePath`. */
export async function holdersOf(branches: readonly string[], relativePath: string): Promise<string[]> {
  const found: string[] = [];
  for (const branch of branches) {
    if (await lstat(join(branch, relativePath)).then(() => true, () => false)) found.push(branch);
  }
  return found;
}

/** Writes `bytes` zero bytes natively to `file` (folders created), taking that much space on its disk. */
export async function fillWith(file: string, bytes: number): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, Buffer.alloc(Math.max(0, Math.floor(bytes))));
}

/** Total size of the files under `dir`. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else total += (await stat(path)).size;
  }
  return total;
}
