// A share's duplication level and the state of its files, in words (the Storage page's share cards
// and the overview's line about the shares).
import type { Share, ShareCopies } from './api/types.ts';
import { formatCount, plural } from './format.ts';

/** "2 copies of each file, on 2 different disks"; level 1 says it is not duplicated. */
export function copiesWords(copies: ShareCopies): string {
  if (copies === 'all') return 'A copy of each file on every disk of the pool';
  if (copies === 1) return 'One copy of each file: not duplicated (a dead disk loses what was on it)';
  return `${copies} copies of each file, on ${copies} different disks`;
}

/** The short label of a level ("2 copies", "Not duplicated", "Every disk"). */
export function copiesLabel(copies: ShareCopies): string {
  if (copies === 'all') return 'Every disk';
  return copies === 1 ? 'Not duplicated' : `${copies} copies`;
}

const ORDINALS = ['', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth'];

/** The copies a file of the share should have with `disks` pool disks in use (the server's `wantedCopies`). */
export function wantedCopies(copies: ShareCopies, disks: number): number {
  return copies === 'all' ? Math.max(1, disks) : Math.min(copies, Math.max(1, disks));
}

export interface FilesInWords {
  /** Files that have every copy they should: "all 12,408 files on 2 disks". */
  done: string | null;
  /** "31 files waiting for their second copy". */
  waiting: string | null;
  /** "4 files on one disk only: no other disk has room". */
  short: string | null;
  shortCount: number;
  /** The pool has fewer disks in use than the level asks for. */
  fewDisks: string | null;
  total: number;
}

/** What a share's files look like now, from `files` and the number of pool disks in use. */
export function filesInWords(share: Share, disksInUse: number): FilesInWords | null {
  const files = share.files;
  if (!files) return null;
  const wanted = wantedCopies(share.copies, disksInUse);
  let total = 0;
  let full = 0;
  for (const [copies, n] of Object.entries(files.byCopies)) {
    total += n;
    if (Number(copies) >= wanted) full += n;
  }
  const onDisks = wanted === 1 ? 'on one disk' : `on ${wanted} disks`;
  const done = full === 0 ? null : full === total ? `${total === 1 ? 'The only file' : `All ${formatCount(total)} files`} ${onDisks}` : `${plural(full, 'file')} ${onDisks}`;
  const waiting = files.waiting ? `${plural(files.waiting, 'file')} waiting for ${files.waiting === 1 ? 'its' : 'their'} ${ORDINALS[wanted] ?? 'next'} copy (still being written)` : null;
  const shortCount = Math.max(files.short.length, total - full - files.waiting);
  let short: string | null = null;
  if (shortCount > 0) {
    const first = files.short[0];
    const least = files.short.length ? Math.min(...files.short.map((s) => s.copies)) : 1;
    const where = least <= 1 ? 'on one disk only' : `on only ${least} disks`;
    short = `${plural(shortCount, 'file')} ${where}${first ? `: ${first.why}` : ''}`;
  }
  const level = share.copies === 'all' ? null : share.copies;
  const fewDisks = level !== null && disksInUse < level
    ? `The pool has ${disksInUse === 0 ? 'no disk' : `only ${plural(disksInUse, 'disk')}`} in use: each file can have ${disksInUse <= 1 ? 'one copy' : `${disksInUse} copies`} until another disk joins.`
    : null;
  return { done, waiting, short, shortCount, fewDisks, total };
}

/**
 * The overview's line about the shares: "2 shares on 3 disks", and the shares whose files are short
 * of copies (attention). Null without a share.
 */
export function sharesSummary(shares: Share[], disks: number): { text: string; attention: string | null } | null {
  const active = shares.filter((s) => s.state === 'active');
  if (active.length === 0) return null;
  const short = active.filter((s) => (filesInWords(s, disks)?.shortCount ?? 0) > 0);
  const text = `${plural(active.length, 'share')} on ${plural(disks, 'disk')} of the storage pool`;
  const attention = short.length
    ? `${short.map((s) => s.name).join(', ')} ${short.length === 1 ? 'has' : 'have'} files with fewer copies than asked`
    : null;
  return { text, attention };
}
