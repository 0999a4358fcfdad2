/**
 * Helpers for tests that run the real restic: a temp repository with its password file, a tree of
 * hostile file names, a byte-for-byte tree comparison, and a restic that holds a lock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResticRepository } from '../../system/restic/restic.js';

export interface ResticSandbox {
  /** The temp folder everything lives in (removed by `cleanup`). */
  root: string;
  /** A repository path (not created) and a 0600 password file with a fresh random password. */
  repo: ResticRepository;
  password: string;
  cleanup(): void;
}

export function resticSandbox(prefix = 'safehold-restic-'): ResticSandbox {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const password = `pw-${randomBytes(18).toString('base64url')}`;
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  return {
    root,
    repo: { path: join(root, 'repo'), passwordFile },
    password,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** `name` as raw bytes joined under `dir` (both may hold bytes that are not UTF-8). */
export const bytesPath = (dir: string | Buffer, name: string | Buffer): Buffer =>
  Buffer.concat([Buffer.isBuffer(dir) ? dir : Buffer.from(dir), Buffer.from('/'), Buffer.isBuffer(name) ? name : Buffer.from(name)]);

/** Names that break naive code: each is created as a file (or folder) in `makeHostileTree`. */
export const HOSTILE = {
  dash: '-rf',
  newline: 'new\nline.txt',
  quotes: `it's a "quoted" name.txt`,
  spaces: '  spaced  out  ',
  glob: 'star*[x]?.txt',
  dollar: '$HOME and `id`',
  empty: 'empty.txt',
  /** Latin-1 "café.txt": the é is byte 0xE9, not UTF-8. */
  latin1: Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]),
  /** A folder `bad\xff` holding `n\xfe.bin`. */
  badDir: Buffer.from([0x62, 0x61, 0x64, 0xff]),
  badFile: Buffer.from([0x6e, 0xfe, 0x2e, 0x62, 0x69, 0x6e]),
} as const;

/**
 * A small tree of hostile names under `dir/src` (created): the names in `HOSTILE`, a symlink, a
 * dangling symlink, nested folders, and a file at the end of a path of about `longPathBytes` bytes.
 * Returns the source folder and the long file's path relative to it.
 */
export function makeHostileTree(dir: string, longPathBytes = 3700): { src: string; longRelative: string } {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'docs', 'nested'), { recursive: true });
  writeFileSync(join(src, 'docs', 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'docs', 'nested', 'b.bin'), randomBytes(70_000));
  writeFileSync(join(src, HOSTILE.dash), '');
  writeFileSync(join(src, HOSTILE.newline), 'two\nlines\n');
  writeFileSync(join(src, HOSTILE.quotes), 'quotes');
  writeFileSync(join(src, HOSTILE.spaces), 'spaces');
  writeFileSync(join(src, HOSTILE.glob), 'glob');
  writeFileSync(join(src, HOSTILE.dollar), 'dollar');
  writeFileSync(join(src, HOSTILE.empty), '');
  writeFileSync(bytesPath(src, HOSTILE.latin1), 'latin-1 name');
  mkdirSync(bytesPath(src, HOSTILE.badDir));
  writeFileSync(bytesPath(bytesPath(src, HOSTILE.badDir), HOSTILE.badFile), randomBytes(3000));
  symlinkSync(HOSTILE.dash, join(src, 'link-to-dash'));
  symlinkSync('/nonexistent/target', join(src, 'dangling'));
  // A deep path near PATH_MAX (4096), counted from the source folder.
  const segment = 'd'.repeat(200);
  let long = '';
  while (Buffer.byteLength(join(src, long, segment, 'f')) < longPathBytes) long = long ? join(long, segment) : segment;
  mkdirSync(join(src, long), { recursive: true });
  const longRelative = join(long, 'deep-file.txt');
  writeFileSync(join(src, longRelative), 'deep\n');
  return { src, longRelative };
}

export interface TreeEntry {
  /** Relative path as bytes, shown as hex-escaped latin1 for readable diffs. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** sha of the bytes (files), the target (symlinks). */
  content: string;
  mode: number;
}

/** Every entry under `dir`, with names read as raw bytes: two trees are equal iff these are. */
export function describeTree(dir: string | Buffer): TreeEntry[] {
  const root = Buffer.isBuffer(dir) ? dir : Buffer.from(dir);
  const out: TreeEntry[] = [];
  const walk = (at: Buffer, relative: Buffer | null) => {
    const names = readdirSync(at, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      const full = bytesPath(at, name);
      const rel = relative === null ? name : bytesPath(relative, name);
      const shown = [...rel].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) out.push({ path: shown, type: 'symlink', content: readlinkSync(full, { encoding: 'buffer' }).toString('hex'), mode: 0 });
      else if (stat.isDirectory()) {
        out.push({ path: shown, type: 'dir', content: '', mode: stat.mode & 0o7777 });
        walk(full, rel);
      } else if (stat.isFile()) out.push({ path: shown, type: 'file', content: readFileSync(full).toString('base64'), mode: stat.mode & 0o7777 });
      else out.push({ path: shown, type: 'other', content: '', mode: stat.mode & 0o7777 });
    }
  };
  walk(root, null);
  return out;
}

/**
 * A real restic holding a non-exclusive lock on `repo` (a `backup --stdin` whose input stays open)
 * until `stop()` (which ends it with SIGKILL, leaving its lock behind, stale) or `finish()`.
 * Resolves once the lock file exists.
 */
export async function holdLock(repo: ResticRepository): Promise<{ pid: number; kill(): Promise<void>; child: ChildProcess }> {
  const locks = join(repo.path, 'locks');
  const before = new Set(readdirSync(locks));
  const child = spawn('restic', ['backup', '--stdin', '--no-cache', `--repo=${repo.path}`, `--password-file=${repo.passwordFile}`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200 && readdirSync(locks).every((f) => before.has(f)); i++) await new Promise((r) => setTimeout(r, 25));
  if (readdirSync(locks).every((f) => before.has(f))) {
    child.kill('SIGKILL');
    throw new Error('restic did not take a lock within 5 s');
  }
  return {
    pid: child.pid!,
    child,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Lock files in a local repository. */
export const lockFiles = (repo: ResticRepository): string[] => readdirSync(join(repo.path, 'locks'));
