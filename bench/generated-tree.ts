/**
 * The data of the backup benchmark: a generated folder tree, the same bytes every run (seeded).
 *
 * - Many small files: text-like content (words from a seeded vocabulary, so it compresses about as
 *   source code does), 1 to 16 KiB each, in nested folders `src/mod-XX/pkg-YY/file-NNNNN.txt`.
 * - Some large files: random bytes (an AES-CTR keystream keyed by the seed and the file's name:
 *   incompressible, like photos and videos), in `media/`.
 * - A change set of about 1% of the files for the incremental backup: some small files rewritten
 *   with other content, and 1 MiB overwritten in the middle of one large file (restic re-reads it
 *   and stores only the changed chunks). `applyChange(tree, 1)` makes it, `applyChange(tree, 0)`
 *   puts the original bytes back.
 * - A restore sample (`sampleFiles`): files picked like Safehold's restore drill picks them (a
 *   number of files, at most so many bytes), for the by-hand reference of the drill.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom } from './random.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface TreeSpec {
  /** Number of small files. */
  smallFiles: number;
  /** Size range of a small file, in bytes (inclusive). */
  smallMinBytes: number;
  smallMaxBytes: number;
  /** Number of large files. */
  largeFiles: number;
  /** Size range of a large file, in bytes (inclusive; rounded down to whole MiB). */
  largeMinBytes: number;
  largeMaxBytes: number;
  /** Share of the files changed for the incremental backup (0.01 = 1%). */
  changeShare: number;
  seed: number;
}

export const DEFAULT_TREE: TreeSpec = {
  smallFiles: 20_000,
  smallMinBytes: 1 * KiB,
  smallMaxBytes: 16 * KiB,
  largeFiles: 8,
  largeMinBytes: 32 * MiB,
  largeMaxBytes: 64 * MiB,
  changeShare: 0.01,
  seed: 4,
};

export interface TreeFile {
  /** Path relative to the tree's root, `/`-separated. */
  rel: string;
  size: number;
  large: boolean;
}

export interface GeneratedTree {
  root: string;
  spec: TreeSpec;
  files: TreeFile[];
  bytes: number;
  folders: number;
  /** Indices (in `files`) of the small files rewritten by the change. */
  changedSmall: number[];
  /** Index of the large file partly overwritten by the change. */
  changedLarge: number;
  /** Bytes written by the change (what the incremental backup has to read anew, at least). */
  changeBytes: number;
}


const between = (next: () => number, min: number, max: number) => min + Math.floor(next() * (max - min + 1));

/** 4 MiB of seeded text: lines of words from a 4,000-word vocabulary. Every small file is a slice of it under its own header. */
function textPool(seed: number): Buffer {
  const next = seededRandom(seed ^ 0x5eed);
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const vocabulary = Array.from({ length: 4000 }, () => {
    const length = between(next, 2, 11);
    let word = '';
    for (let i = 0; i < length; i++) word += letters[Math.floor(next() ** 1.6 * letters.length)];
    return word;
  });
  const parts: string[] = [];
  let size = 0;
  while (size < 4 * MiB + 64 * KiB) {
    const words = between(next, 3, 14);
    let line = ' '.repeat(between(next, 0, 3) * 2);
    for (let i = 0; i < words; i++) line += (i ? ' ' : '') + vocabulary[Math.floor(next() ** 2 * vocabulary.length)];
    line += next() < 0.3 ? ';\n' : '\n';
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/** The bytes of small file `index` in `version` (0 original, 1 changed). */
function smallContent(pool: Buffer, file: TreeFile, index: number, version: number, seed: number): Buffer {
  const header = Buffer.from(`// ${file.rel} (version ${version})\n`, 'latin1');
  const next = seededRandom(seed * 31 + index * 7 + version * 1_000_003);
  const bodyLength = Math.max(0, file.size - header.length);
  const offset = Math.floor(next() * (pool.length - bodyLength));
  return Buffer.concat([header, pool.subarray(offset, offset + bodyLength)]).subarray(0, file.size);
}

/** A seeded keystream: the same random-looking bytes for the same seed and label. */
function keystream(seed: number, label: string): (length: number) => Buffer {
  const key = createHash('sha256').update(`safehold-bench:${seed}:${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (length) => cipher.update(Buffer.alloc(length));
}

/** Where the change overwrites the large file, and its length. */
function largeChangeRange(file: TreeFile): { at: number; length: number } {
  const length = Math.min(MiB, file.size);
  return { at: Math.floor((file.size - length) / 2 / 4096) * 4096, length };
}

/** The list of files (no bytes written): the same for the same spec. */
export function planTree(spec: TreeSpec): Omit<GeneratedTree, 'root'> {
  const next = seededRandom(spec.seed);
  const files: TreeFile[] = [];
  const folders = new Set<string>();
  for (let i = 0; i < spec.smallFiles; i++) {
    // Uneven folders, as real trees are: 20 modules, up to 12 packages each, files spread by a skewed draw.
    const mod = Math.floor(next() ** 1.3 * 20);
    const pkg = Math.floor(next() ** 1.5 * 12);
    const dir = `src/mod-${String(mod).padStart(2, '0')}/pkg-${String(pkg).padStart(2, '0')}`;
    folders.add(dir);
    files.push({ rel: `${dir}/file-${String(i).padStart(5, '0')}.txt`, size: between(next, spec.smallMinBytes, spec.smallMaxBytes), large: false });
  }
  for (let i = 0; i < spec.largeFiles; i++) {
    const size = Math.floor(between(next, spec.largeMinBytes, spec.largeMaxBytes) / MiB) * MiB;
    folders.add('media');
    files.push({ rel: `media/large-${i}.bin`, size, large: true });
  }
  const total = files.length;
  const changedCount = Math.max(2, Math.round(total * spec.changeShare));
  const chosen = new Set<number>();
  const pick = seededRandom(spec.seed ^ 0xc4a9);
  while (chosen.size < Math.min(changedCount - 1, spec.smallFiles)) chosen.add(Math.floor(pick() * spec.smallFiles));
  const changedSmall = [...chosen].sort((a, b) => a - b);
  const changedLarge = spec.largeFiles > 0 ? spec.smallFiles + Math.floor(pick() * spec.largeFiles) : -1;
  const changeBytes =
    changedSmall.reduce((sum, i) => sum + files[i]!.size, 0) + (changedLarge >= 0 ? largeChangeRange(files[changedLarge]!).length : 0);
  return {
    spec,
    files,
    bytes: files.reduce((sum, f) => sum + f.size, 0),
    folders: folders.size,
    changedSmall,
    changedLarge,
    changeBytes,
  };
}

/** Writes the tree under `root` (which must not exist yet or be empty). */
export async function generateTree(root: string, spec: TreeSpec = DEFAULT_TREE): Promise<GeneratedTree> {
  const plan = planTree(spec);
  const tree: GeneratedTree = { root, ...plan };
  const dirs = new Set(plan.files.map((f) => f.rel.slice(0, f.rel.lastIndexOf('/'))));
  for (const dir of dirs) await mkdir(join(root, dir), { recursive: true });
  const pool = textPool(spec.seed);
  const small = plan.files.map((f, i) => ({ f, i })).filter(({ f }) => !f.large);
  await inBatches(small, 32, ({ f, i }) => writeFile(join(root, f.rel), smallContent(pool, f, i, 0, spec.seed)));
  for (const file of plan.files.filter((f) => f.large)) {
    const bytes = keystream(spec.seed, file.rel);
    const handle = await open(join(root, file.rel), 'w');
    try {
      for (let done = 0; done < file.size; done += 4 * MiB) await handle.write(bytes(Math.min(4 * MiB, file.size - done)));
    } finally {
      await handle.close();
    }
  }
  return tree;
}

/**
 * Makes the change set (`version` 1) or puts the original bytes back (`version` 0). Either way
 * every file of the change set is written, so restic sees new modification times on all of them.
 */
export async function applyChange(tree: GeneratedTree, version: 0 | 1): Promise<void> {
  const pool = textPool(tree.spec.seed);
  await inBatches(tree.changedSmall, 32, (i) => writeFile(join(tree.root, tree.files[i]!.rel), smallContent(pool, tree.files[i]!, i, version, tree.spec.seed)));
  if (tree.changedLarge < 0) return;
  const file = tree.files[tree.changedLarge]!;
  const { at, length } = largeChangeRange(file);
  let bytes: Buffer;
  if (version === 1) {
    bytes = keystream(tree.spec.seed, `${file.rel}#change`)(length);
  } else {
    const original = keystream(tree.spec.seed, file.rel);
    for (let skipped = 0; skipped < at; skipped += 4 * MiB) original(Math.min(4 * MiB, at - skipped));
    bytes = original(length);
  }
  const handle = await open(join(tree.root, file.rel), 'r+');
  try {
    await handle.write(bytes, 0, length, at);
  } finally {
    await handle.close();
  }
}

/** `count` files picked at random (seeded) whose sizes add up to at most `maxBytes`: like the restore drill's sample. */
export function sampleFiles(tree: GeneratedTree, count: number, maxBytes: number, seed: number): TreeFile[] {
  const next = seededRandom(seed);
  const picked: TreeFile[] = [];
  const seen = new Set<number>();
  let bytes = 0;
  for (let tries = 0; picked.length < count && tries < count * 50; tries++) {
    const i = Math.floor(next() * tree.files.length);
    if (seen.has(i)) continue;
    seen.add(i);
    const file = tree.files[i]!;
    if (bytes + file.size > maxBytes) continue;
    picked.push(file);
    bytes += file.size;
  }
  return picked;
}

async function inBatches<T>(items: readonly T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let at = 0;
  const lane = async () => {
    while (at < items.length) await work(items[at++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
