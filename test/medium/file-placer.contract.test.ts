/**
 * The FilePlacer contract (system/files/file-placer.ts), run against both implementations: the
 * real one on the temp folder and on small loop-device ext4 disks (a second filesystem, a full one,
 * one pulled out so that reads fail), with a real crash (a child process killed mid-write); and the
 * in-memory twin with the same faults simulated. Plus the twin's own faults.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { xxhash128 } from 'hash-wasm';
import { ContentMismatchError, TEMPORARY_NAME, type FilePlacer } from '../../system/files/file-placer.js';
import { HASH_ALGORITHM } from '../../system/files/hasher.js';
import { SimulatedCrash, SimulatedFilePlacer, SimulatedFiles } from '../../system/files/file-placer.sim.js';
import { LinuxFilePlacer } from '../../system/files/linux-file-placer.adapter.js';
import { cleanupLeftovers, createLoopDisk, forceUnmount, loopDiskSkipReason, pullOut, testName, type LoopDisk } from '../testing/loop-disk.js';

const MiB = 1 << 20;

interface Facts {
  mode: number;
  mtimeMs: number;
  link: boolean;
}

/** What the suite needs from a subject besides its placer: arranging files and looking at them. */
interface Subject {
  placer: FilePlacer;
  /** A fresh empty folder. */
  folder(): Promise<string>;
  write(path: string, content: Buffer | string, mode?: number, mtimeMs?: number): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  read(path: string): Promise<Buffer | null>;
  facts(path: string): Promise<Facts | null>;
  list(folder: string): Promise<string[]>;
  /** A fresh empty folder on a second filesystem. */
  otherFilesystem(): Promise<string>;
  /** A fresh empty folder on a filesystem with less than 16 MiB free. */
  smallFilesystem(): Promise<string>;
  /** A file whose bytes cannot be read (EIO). */
  unreadableFile(): Promise<string>;
  /** A placement into `destination` from a stream that dies mid-write as the process does (a crash). */
  crashMidWrite(destination: string): Promise<void>;
  close(): Promise<void>;
}

/** The reference XXH3-128: hash-wasm's one-shot function, itself checked against `xxhsum -H2` below. */
const xxh3 = (bytes: Buffer) => xxhash128(bytes);
const temporaries = (names: string[]) => names.filter((n) => TEMPORARY_NAME.test(n));
const codeOf = (code: string) => (error: unknown) => (error as NodeJS.ErrnoException).code === code;

function filePlacerContract(name: string, skip: string | undefined, open: () => Promise<Subject>) {
  describe(`FilePlacer contract: ${name}`, { skip }, () => {
    let s: Subject;
    before(async () => {
      s = await open();
    });
    after(async () => {
      await s?.close();
    });

    it('places a copy of a file: the same bytes, their XXH3-128, the source\'s mode and times, no temporary left', async () => {
      const dir = await s.folder();
      const bytes = randomBytes(3 * MiB + 17);
      const mtimeMs = Date.UTC(2020, 4, 17, 12, 0, 0);
      await s.write(join(dir, 'photo.jpg'), bytes, 0o640, mtimeMs);
      const { hash } = await s.placer.place(join(dir, 'photo.jpg'), join(dir, 'copy.jpg'));
      assert.deepEqual(hash, { algorithm: HASH_ALGORITHM, hex: await xxh3(bytes), bytes: bytes.length });
      assert.ok((await s.read(join(dir, 'copy.jpg')))?.equals(bytes), 'the copy holds the same bytes');
      const facts = await s.facts(join(dir, 'copy.jpg'));
      assert.equal(facts?.mode, 0o640);
      assert.equal(Math.round(facts!.mtimeMs), mtimeMs);
      assert.deepEqual(await s.list(dir), ['copy.jpg', 'photo.jpg']);
    });

    it('places the bytes of a stream, mode 0644 unless told; names that are not UTF-8 work', async () => {
      const dir = await s.folder();
      const stream = new PassThrough();
      const placing = s.placer.place(stream, join(dir, 'letter.txt'));
      stream.end('Dear grandma,\n');
      assert.equal((await placing).hash.hex, await xxh3(Buffer.from('Dear grandma,\n')));
      assert.equal((await s.read(join(dir, 'letter.txt')))?.toString(), 'Dear grandma,\n');
      assert.equal((await s.facts(join(dir, 'letter.txt')))?.mode, 0o644);
      const odd = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]);
      const other = new PassThrough();
      const placingOdd = s.placer.place(other, odd, { metadata: { mode: 0o600 } });
      other.end('latin-1 name');
      await placingOdd;
      assert.equal((await s.placer.hash(odd)).hex, await xxh3(Buffer.from('latin-1 name')));
      assert.equal(temporaries(await s.list(dir)).length, 0);
    });

    it('never writes over an existing file unless asked (EEXIST, the old bytes kept); with replace, the new bytes replace them', async () => {
      const dir = await s.folder();
      await s.write(join(dir, 'new'), 'new bytes');
      await s.write(join(dir, 'old'), 'old bytes');
      await assert.rejects(s.placer.place(join(dir, 'new'), join(dir, 'old')), codeOf('EEXIST'));
      assert.equal((await s.read(join(dir, 'old')))?.toString(), 'old bytes');
      assert.deepEqual(await s.list(dir), ['new', 'old'], 'no temporary left');
      await s.placer.place(join(dir, 'new'), join(dir, 'old'), { replace: true });
      assert.equal((await s.read(join(dir, 'old')))?.toString(), 'new bytes');
      assert.deepEqual(await s.list(dir), ['new', 'old']);
    });

    it('refuses and removes a copy that does not have the expected hash; the destination is untouched', async () => {
      const dir = await s.folder();
      await s.write(join(dir, 'source'), 'what the disk holds now');
      await s.write(join(dir, 'dest'), 'previous');
      const expected = { algorithm: HASH_ALGORITHM as typeof HASH_ALGORITHM, hex: await xxh3(Buffer.from('what the catalog knew')), bytes: 21 };
      await assert.rejects(s.placer.place(join(dir, 'source'), join(dir, 'dest'), { expected, replace: true }), ContentMismatchError);
      assert.equal((await s.read(join(dir, 'dest')))?.toString(), 'previous');
      assert.deepEqual(await s.list(dir), ['dest', 'source']);
    });

    it('moves a file by renaming on one filesystem, and by a verified copy across two (owner, mode, times kept); the source is gone', async () => {
      const dir = await s.folder();
      const other = await s.otherFilesystem();
      const bytes = randomBytes(2 * MiB);
      await s.write(join(dir, 'a'), bytes, 0o600, Date.UTC(2019, 0, 1));
      assert.deepEqual(await s.placer.move(join(dir, 'a'), join(dir, 'b')), { how: 'renamed' });
      assert.equal(await s.read(join(dir, 'a')), null);
      const moved = await s.placer.move(join(dir, 'b'), join(other, 'c'));
      assert.equal(moved.how, 'copied');
      assert.equal(moved.hash?.hex, await xxh3(bytes));
      assert.equal(await s.read(join(dir, 'b')), null, 'the source is gone');
      assert.ok((await s.read(join(other, 'c')))?.equals(bytes));
      const facts = await s.facts(join(other, 'c'));
      assert.deepEqual([facts?.mode, Math.round(facts!.mtimeMs)], [0o600, Date.UTC(2019, 0, 1)]);
      await s.write(join(dir, 'd'), 'not over c');
      await assert.rejects(s.placer.move(join(dir, 'd'), join(other, 'c')), codeOf('EEXIST'));
      assert.ok((await s.read(join(other, 'c')))?.equals(bytes), 'the file there is kept');
      assert.deepEqual([await s.list(dir), await s.list(other)], [['d'], ['c']], 'no temporaries on either side');
    });

    it('moves a link as a link, also across filesystems; a folder only by renaming (EXDEV across filesystems, never over another folder)', async () => {
      const dir = await s.folder();
      const other = await s.otherFilesystem();
      await s.symlink('../somewhere/else', join(dir, 'link'));
      await s.placer.move(join(dir, 'link'), join(other, 'link'));
      assert.equal((await s.facts(join(other, 'link')))?.link, true);
      assert.equal(await s.facts(join(dir, 'link')), null);
      await s.write(join(dir, 'album', 'one.jpg'), 'one');
      await s.write(join(dir, 'taken', 'x'), 'x');
      await assert.rejects(s.placer.move(join(dir, 'album'), join(dir, 'taken')), codeOf('EEXIST'));
      await assert.rejects(s.placer.move(join(dir, 'album'), join(other, 'album')), codeOf('EXDEV'));
      await s.placer.move(join(dir, 'album'), join(dir, 'album-2'));
      assert.equal((await s.read(join(dir, 'album-2', 'one.jpg')))?.toString(), 'one');
      assert.deepEqual(await s.list(dir), ['album-2', 'taken']);
    });

    it('a full disk: ENOSPC, nothing at the destination, no temporary left, and room again afterwards', async () => {
      const dir = await s.folder();
      const small = await s.smallFilesystem();
      await s.write(join(dir, 'big'), randomBytes(32 * MiB));
      await assert.rejects(s.placer.place(join(dir, 'big'), join(small, 'big')), codeOf('ENOSPC'));
      assert.deepEqual(await s.list(small), [], 'neither the file nor a temporary is there');
      await s.write(join(dir, 'small'), randomBytes(MiB));
      await s.placer.place(join(dir, 'small'), join(small, 'small'));
      assert.deepEqual(await s.list(small), ['small']);
    });

    it('a source that cannot be read: the read error (EIO), nothing at the destination, no temporary left', async () => {
      const dir = await s.folder();
      const bad = await s.unreadableFile();
      await assert.rejects(s.placer.place(bad, join(dir, 'copy')), codeOf('EIO'));
      await assert.rejects(s.placer.hash(bad), codeOf('EIO'));
      assert.deepEqual(await s.list(dir), []);
    });

    it('after a crash mid-write the destination is as it was; removeTemporaries() removes the leftover and nothing else; placing again works', async () => {
      const dir = await s.folder();
      await s.write(join(dir, 'doc'), 'the old version');
      await s.write(join(dir, '.safehold-tmp-notours'), 'a file of the owner that looks like one');
      await s.crashMidWrite(join(dir, 'doc'));
      assert.equal((await s.read(join(dir, 'doc')))?.toString(), 'the old version');
      const left = temporaries(await s.list(dir));
      assert.equal(left.length, 1, 'the crash left its temporary file');
      assert.deepEqual(await s.placer.removeTemporaries(dir), left);
      assert.deepEqual(await s.list(dir), ['.safehold-tmp-notours', 'doc']);
      await s.write(join(dir, 'new'), 'the new version');
      await s.placer.place(join(dir, 'new'), join(dir, 'doc'), { replace: true });
      assert.equal((await s.read(join(dir, 'doc')))?.toString(), 'the new version');
    });

    it('removeTemporaries() leaves the temporary file of a placement in progress', async () => {
      const dir = await s.folder();
      const stream = new PassThrough();
      const placing = s.placer.place(stream, join(dir, 'slow'));
      stream.write(randomBytes(64 * 1024));
      for (let i = 0; i < 1000 && temporaries(await s.list(dir)).length === 0; i++) await new Promise((r) => setImmediate(r));
      assert.equal(temporaries(await s.list(dir)).length, 1, 'the placement has begun');
      assert.deepEqual(await s.placer.removeTemporaries(dir), []);
      stream.end('the end');
      await placing;
      assert.deepEqual(await s.list(dir), ['slow']);
      assert.equal((await s.read(join(dir, 'slow')))?.subarray(-7).toString(), 'the end');
    });

    it('hashes a file larger than a chunk as the one-shot XXH3-128 does, and a known text as `xxhsum -H2` does; a missing file is ENOENT, an aborted hash rejects', async () => {
      const dir = await s.folder();
      await s.write(join(dir, 'hello'), 'hello');
      // `printf hello | xxhsum -H2` (xxHash 0.8.1): the digits are the reference tool's, not just the library's.
      assert.deepEqual(await s.placer.hash(join(dir, 'hello')), { algorithm: 'xxh3-128', hex: 'b5e9c1ad071b3e7fc779cfaa5e523818', bytes: 5 });
      const bytes = randomBytes(5 * MiB + 3);
      await s.write(join(dir, 'film'), bytes);
      assert.deepEqual(await s.placer.hash(join(dir, 'film')), { algorithm: HASH_ALGORITHM, hex: await xxh3(bytes), bytes: bytes.length });
      await assert.rejects(s.placer.hash(join(dir, 'nothing')), codeOf('ENOENT'));
      await assert.rejects(s.placer.hash(join(dir, 'film'), AbortSignal.abort()));
    });

    it('syncTree() counts the files under a folder and their bytes', async () => {
      const dir = await s.folder();
      await s.write(join(dir, 'a'), '12345');
      await s.write(join(dir, 'sub', 'b'), '123');
      await s.symlink('a', join(dir, 'sub', 'link'));
      assert.deepEqual(await s.placer.syncTree(dir), { files: 3, bytes: 8 });
    });
  });
}

// --- the real one ------------------------------------------------------------------------------

const PLACER_MODULE = fileURLToPath(new URL('../../system/files/linux-file-placer.adapter.js', import.meta.url));

async function realSubject(): Promise<Subject> {
  await cleanupLeftovers();
  const root = join(tmpdir(), testName('-placer'));
  await mkdir(root);
  const disks: LoopDisk[] = [];
  const disk = async () => {
    const made = await createLoopDisk({ sizeMiB: 16, label: 'PLACER' });
    disks.push(made);
    await made.mount();
    return made;
  };
  let other: LoopDisk | null = null;
  let n = 0;
  const placer = new LinuxFilePlacer();
  return {
    placer,
    folder: () => mkdtemp(join(root, 'f-')),
    async write(path, content, mode = 0o644, mtimeMs) {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, content, { mode });
      if (mtimeMs !== undefined) await utimes(path, mtimeMs / 1000, mtimeMs / 1000);
    },
    symlink: (target, path) => symlink(target, path),
    read: (path) => readFile(path).catch(() => null),
    async facts(path) {
      const info = await lstat(path).catch(() => null);
      return info && { mode: info.mode & 0o7777, mtimeMs: info.mtimeMs, link: info.isSymbolicLink() };
    },
    list: async (folder) => (await readdir(folder)).filter((n) => n !== 'lost+found').sort(),
    async otherFilesystem() {
      other ??= await disk();
      const dir = join(other.mountpoint!, `other-${n++}`);
      await mkdir(dir);
      return dir;
    },
    async smallFilesystem() {
      return (await disk()).mountpoint!;
    },
    async unreadableFile() {
      const pulled = await disk();
      await writeFile(join(pulled.mountpoint!, 'unreadable'), randomBytes(4 * MiB));
      await pulled.unmount(); // forgets the cached pages: the next read goes to the (pulled) disk
      const path = join(await pulled.mount(), 'unreadable');
      await lstat(path); // its name and inode are known: opening it works, reading its bytes cannot
      await pullOut(pulled);
      return path;
    },
    async crashMidWrite(destination) {
      const script = `import { LinuxFilePlacer } from ${JSON.stringify(PLACER_MODULE)}; await new LinuxFilePlacer().place(process.stdin, process.argv[1], { replace: true });`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, destination], { stdio: ['pipe', 'ignore', 'inherit'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.write(randomBytes(256 * 1024));
      // Wait until the child's temporary file holds bytes, then kill it as a power cut would.
      const folder = join(destination, '..');
      const written = async () => {
        for (const name of temporaries(await readdir(folder))) if ((await lstat(join(folder, name)).catch(() => null))?.size) return true;
        return false;
      };
      while (!(await written())) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGKILL');
      await exited;
    },
    async close() {
      for (const d of disks) {
        if (d.mountpoint) await forceUnmount(d.mountpoint);
        await d.cleanup().catch(() => undefined);
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

// --- the twin ----------------------------------------------------------------------------------

function simulatedSubject(): { subject: Subject; files: SimulatedFiles } {
  const files = new SimulatedFiles();
  files.addVolume('/srv');
  files.addVolume('/mnt/other');
  const placer = new SimulatedFilePlacer(files);
  let n = 0;
  const subject: Subject = {
    placer,
    async folder() {
      const dir = `/srv/f-${n++}`;
      files.mkdir(dir);
      return dir;
    },
    async write(path, content, mode = 0o644, mtimeMs) {
      files.writeFile(path, content, { mode, mtimeMs });
    },
    async symlink(target, path) {
      files.symlink(target, path);
    },
    read: async (path) => files.readFile(path),
    async facts(path) {
      const node = files.stat(path);
      if (!node) return null;
      return { mode: node.kind === 'link' ? 0o777 : node.mode, mtimeMs: node.kind === 'file' ? node.mtimeMs : 0, link: node.kind === 'link' };
    },
    list: async (folder) => files.list(folder),
    async otherFilesystem() {
      const dir = `/mnt/other/o-${n++}`;
      files.mkdir(dir);
      return dir;
    },
    async smallFilesystem() {
      const dir = `/mnt/small-${n++}`;
      files.addVolume(dir, 14 * MiB);
      return dir;
    },
    async unreadableFile() {
      const path = `/mnt/other/unreadable-${n++}`;
      files.writeFile(path, randomBytes(4 * MiB));
      files.failReads(path, 'EIO');
      return path;
    },
    async crashMidWrite(destination) {
      files.crashNext('mid-write');
      const stream = new PassThrough();
      stream.end(randomBytes(256 * 1024));
      await assert.rejects(placer.place(stream, destination, { replace: true }), SimulatedCrash);
    },
    async close() {},
  };
  return { subject, files };
}

filePlacerContract('LinuxFilePlacer (temp folder, loop-device ext4)', loopDiskSkipReason(), realSubject);
filePlacerContract('SimulatedFilePlacer', undefined, async () => simulatedSubject().subject);

describe('SimulatedFilePlacer: the faults only the twin makes on demand', () => {
  it('a copy corrupted on its way to the disk is caught by the verification and removed', async () => {
    const { subject: s, files } = simulatedSubject();
    const dir = await s.folder();
    await s.write(join(dir, 'a'), randomBytes(1000));
    files.corruptNextWrite();
    await assert.rejects(s.placer.place(join(dir, 'a'), join(dir, 'b')), ContentMismatchError);
    assert.deepEqual(await s.list(dir), ['a']);
    await s.placer.place(join(dir, 'a'), join(dir, 'b'));
    assert.ok((await s.read(join(dir, 'b')))?.equals((await s.read(join(dir, 'a')))!));
  });

  it('a crash after the copy is verified, before it is named, leaves the old file and a whole temporary', async () => {
    const { subject: s, files } = simulatedSubject();
    const dir = await s.folder();
    await s.write(join(dir, 'new'), 'new');
    await s.write(join(dir, 'doc'), 'old');
    files.crashNext('before-rename');
    await assert.rejects(s.placer.place(join(dir, 'new'), join(dir, 'doc'), { replace: true }), SimulatedCrash);
    assert.equal((await s.read(join(dir, 'doc')))?.toString(), 'old');
    const [left] = temporaries(await s.list(dir));
    assert.equal((await s.read(join(dir, left!)))?.toString(), 'new');
    assert.deepEqual(await s.placer.removeTemporaries(dir), [left]);
  });
});
