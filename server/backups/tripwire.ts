/**
 * The mass-change tripwire (issue 4): a snapshot that changed or added an unusual share of the
 * previous snapshot's files is suspicious — a big reorganisation, or ransomware encrypting the
 * files. Pure: the caller passes restic's counts and what the catalog knew of the previous snapshot.
 */

export interface MassChangeInput {
  /** The previous snapshot of the same source on the same drive, or undefined for the first one. */
  previous: { files: number | null; paths: string[]; time: number } | undefined;
  /** The folder backed up now. */
  sourcePath: string;
  /** restic's counts for the new snapshot, against its parent. */
  summary: { filesNew: number; filesChanged: number; filesUnmodified: number };
  /** Over `percent`% of the previous snapshot's files, and at least `minFiles`. */
  limits: { percent: number; minFiles: number };
}

/**
 * Why the new snapshot is suspicious, in words, or null. Only a snapshot of the same folder as the
 * previous one is judged: restic compares with it, while a source moved to another folder has no
 * parent there and every file counts as new. When the catalog does not know how many files the
 * previous snapshot had, the files restic found in both (changed + unmodified) stand for it.
 */
export function massChange(input: MassChangeInput): string | null {
  const { previous, summary, limits } = input;
  if (!previous || !previous.paths.includes(input.sourcePath)) return null;
  const before = previous.files ?? summary.filesChanged + summary.filesUnmodified;
  const touched = summary.filesNew + summary.filesChanged;
  if (before <= 0 || touched < limits.minFiles || touched <= (before * limits.percent) / 100) return null;
  const day = new Date(previous.time).toISOString().slice(0, 10);
  return `${touched} files changed or added (${Math.round((touched / before) * 100)}% of the ${before} files of the backup of ${day})`;
}
