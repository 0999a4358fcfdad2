/**
 * Putting a whole tree in place (a restore over the originals): the files of a private folder
 * merged into a folder held by descriptor (system/folders.ts), each file through a `FilePlacer`.
 * Names are bytes throughout (a name need not be UTF-8). Linux only.
 *
 * Contract of `mergeTree(from, to)`:
 * - a file or link from `from` replaces the one of that name in `to` in one step (`move` with
 *   `replace`); a folder missing in `to` is moved whole; a folder there is opened without following
 *   a link and merged into, when `folderProblem` (the caller's rule) has nothing against it;
 * - across filesystems (a disk mounted inside `to`) files are copied and verified by the placer, and
 *   a folder is made (0700 while it is filled, then given its owner, mode and times) and merged into;
 * - every folder put into is fsynced once, after its last name was put there;
 * - never writes into an existing file (a name is replaced by rename), so a hard link someone put
 *   there to another file is harmless;
 * - what cannot be put in place is left alone and said in `problems`, the rest goes on: a folder
 *   where a file or link is, a file where a folder is, a folder `folderProblem` refuses, a name
 *   someone changed while it was being put in place. Any other error ends the merge.
 * - files that are in `to` and not in `from` are left alone.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FolderPathError, type Folder } from '../folders.js';
import type { FilePlacer } from './file-placer.js';

export interface MergeOptions {
  placer: FilePlacer;
  /** Where each problem is said (one sentence each). */
  problems: string[];
  signal: AbortSignal;
  /** Why the existing folder `shown` (`existing`) must not receive the copy of `staged`, or null to merge into it. */
  folderProblem?: (shown: string, existing: Stats, staged: Stats) => string | null;
  /** What the tree being merged is called in the problems (default "the copy"). */
  sourceWord?: string;
}

/** rename(2) errors that mean the name was changed since it was looked at. */
const CHANGED_MEANWHILE = new Set(['EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST', 'ELOOP']);

const sub = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, Buffer.from('/'), name]);

/** Everything under `from` put in place in the folder `to` (see the module's contract). */
export async function mergeTree(from: Buffer, to: Folder, options: MergeOptions): Promise<void> {
  const { problems, signal } = options;
  const word = options.sourceWord ?? 'the copy';
  for (const entry of await readdir(from, { encoding: 'buffer', withFileTypes: true })) {
    signal.throwIfAborted();
    const name = entry.name as unknown as Buffer;
    const src = sub(from, name);
    const shownDst = join(to.path, name.toString('utf8'));
    const put = () =>
      moveInto(src, to, name, { ...options, replace: true }).catch((error: NodeJS.ErrnoException) => {
        // Someone changed the name since it was looked at (a folder or a link where a file was…).
        if (!(error instanceof FolderPathError) && !CHANGED_MEANWHILE.has(error.code ?? '')) throw error;
        problems.push(`${JSON.stringify(shownDst)} changed while it was being put in place (${error instanceof FolderPathError ? error.problem : error.code}): left as it is`);
      });
    const there = await lstat(to.at(name)).catch(() => null);
    if (entry.isDirectory()) {
      if (there === null) await put();
      else if (there.isDirectory()) {
        const inner = await to.child(name).catch((error: unknown) => {
          if (!(error instanceof FolderPathError)) throw error;
          problems.push(`${JSON.stringify(shownDst)} is no longer a folder (${error.problem})`);
          return null;
        });
        if (!inner) continue;
        try {
          const refused = options.folderProblem?.(shownDst, inner.info, await lstat(src)) ?? null;
          if (refused) problems.push(refused);
          else await mergeTree(src, inner, options);
        } finally {
          await inner.close();
        }
      } else problems.push(`${JSON.stringify(shownDst)} is ${there.isSymbolicLink() ? 'a link (never followed)' : 'a file'} where ${word} has a folder`);
    } else if (there?.isDirectory()) {
      problems.push(`${JSON.stringify(shownDst)} is a folder where ${word} has a file`);
    } else {
      await put();
    }
  }
  await to.sync(); // once for every name put here
}

/**
 * `src` (a file, link or folder) to `name` in the folder `to`: by the placer's `move` (one rename,
 * or a verified copy across filesystems); a folder across filesystems is made and merged into.
 * Without `replace`, anything already under `name` is an EEXIST and nothing is changed.
 */
export async function moveInto(src: Buffer, to: Folder, name: Buffer, options: MergeOptions & { replace: boolean }): Promise<void> {
  try {
    await options.placer.move(src, to.at(name), { replace: options.replace, syncFolder: false, signal: options.signal });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  const info = await lstat(src); // only a folder gets here: the placer copies files and links itself
  await mkdir(to.at(name), { mode: 0o700 }); // its own mode once it is filled
  const made = await to.child(name);
  try {
    await mergeTree(src, made, options);
    await made.handle.chown(info.uid, info.gid).catch(() => undefined);
    await made.handle.chmod(info.mode & 0o7777);
    await made.handle.utimes(info.atime, info.mtime).catch(() => undefined);
  } finally {
    await made.close();
  }
}
