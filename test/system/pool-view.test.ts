/**
 * What only real mergerfs can show about the pooled view (root and /dev/fuse only): the options of
 * MergerfsPoolView (docs/pool-view.md) at work over three loop-device ext4 members, with copies the
 * duplicator would place natively made here with plain file calls on the members.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MergerfsPoolView } from '../../system/mergerfs/mergerfs.adapter.js';
import { parseMountinfo } from '../../system/mounts/mountinfo.parse.js';
import { PoolViewError } from '../../system/mergerfs/pool-view.js';
import { checked, ProcessCommandRunner } from '../../system/process/command-runner.js';
import { cleanupLeftovers, forceUnmount, pullOut } from '../testing/loop-disk.js';
import { createDataFolder, createMembers, holdersOf, mergerfsSkipReason, removeDataFolder, removeMembers, type MemberDisk } from '../testing/pool-view.js';

const MiB = 1024 * 1024;

/** The pid of the mergerfs process serving the view at `mountpoint` (its last argument). */
async function mergerfsServing(mountpoint: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (argv[0]?.endsWith('mergerfs') && argv.at(-1) === mountpoint) return Number(entry);
  }
  throw new Error(`no mergerfs process serves ${mountpoint}`);
}

/** Asks `probe` until `done` holds (the kernel lets go of a killed process's FUSE connection soon after the kill returns); gives up after 10 s. */
async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const skip = await mergerfsSkipReason();

describe('the pooled view on real mergerfs', { skip }, () => {
  const runner = new ProcessCommandRunner();
  const view = new MergerfsPoolView({ runner });
  let members: MemberDisk[] = [];
  let branches: string[] = [];
  let data = '';
  let mnt = '';

  before(async () => {
    await cleanupLeftovers(runner);
    members = await createMembers([48, 64, 96]);
    branches = members.map((m) => m.branch);
    data = await createDataFolder();
    mnt = join(data, 'shares', '-Fotos de famille é');
    await view.mount(mnt, branches.map((path) => ({ path })), { name: 'photos', reserveBytes: 4 * MiB });
  });
  after(async () => {
    await forceUnmount(mnt, runner);
    await removeDataFolder(data, runner);
    await removeMembers(members);
  });

  /** Places a copy of `relativePath` natively on `branch`, as the duplicator does (same bytes, same mtime). */
  async function copyNatively(relativePath: string, from: string, to: string): Promise<void> {
    await mkdir(join(to, relativePath, '..'), { recursive: true });
    await copyFile(join(from, relativePath), join(to, relativePath));
    const { atime, mtime } = await stat(join(from, relativePath));
    await utimes(join(to, relativePath), atime, mtime);
  }

  it('is recognisably Safehold\'s in the mount table, and nothing can be written in its folder while it is down', async () => {
    const entry = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')).reverse().find((e) => e.mountpoint === mnt);
    assert.equal(entry?.fsType, 'fuse.mergerfs');
    assert.equal(entry?.source, 'safehold:photos');
    assert.ok(entry?.superOptions.includes('allow_other'), entry?.superOptions.join(','));
    const spare = join(data, 'spare view');
    await view.mount(spare, [{ path: branches[0]! }], { name: 'spare', reserveBytes: 0 });
    await view.unmount(spare);
    await assert.rejects(writeFile(join(spare, 'written while down.txt'), 'x'), { code: 'EPERM' }, 'the bare folder is sealed');
  });

  it('serves other users than its own (Samba reads and writes as each household user)', async () => {
    await writeFile(join(mnt, 'for everyone.txt'), 'shared', { mode: 0o644 });
    const asNobody = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
    const read = await runner.run('setpriv', [...asNobody, 'cat', join(mnt, 'for everyone.txt')]);
    assert.deepEqual({ exitCode: read.exitCode, stdout: read.stdout }, { exitCode: 0, stdout: 'shared' }, read.stderr);
    const write = await runner.run('setpriv', [...asNobody, 'touch', join(mnt, 'not allowed.txt')]);
    assert.notEqual(write.exitCode, 0, 'the branches\' own permissions still apply: nobody may not write in root\'s folder');
    assert.match(write.stderr, /Permission denied/);
  });

  it('renames and deletes every copy, also one placed natively on another disk, also into a folder only one disk has', async () => {
    await writeFile(join(mnt, '-letter to grandma.txt'), 'Dear grandma');
    const [home] = await holdersOf(branches, '-letter to grandma.txt');
    const second = branches.find((b) => b !== home)!;
    await copyNatively('-letter to grandma.txt', home!, second);
    await mkdir(join(home!, 'Only on one disk'));
    await rename(join(mnt, '-letter to grandma.txt'), join(mnt, 'Only on one disk', 'letter.txt'));
    assert.deepEqual((await holdersOf(branches, 'Only on one disk/letter.txt')).sort(), [home!, second].sort(), 'both copies renamed, none deleted');
    assert.deepEqual(await holdersOf(branches, '-letter to grandma.txt'), []);
    assert.equal(await readFile(join(second, 'Only on one disk', 'letter.txt'), 'utf8'), 'Dear grandma');
    await rm(join(mnt, 'Only on one disk', 'letter.txt'));
    assert.deepEqual(await holdersOf(branches, 'Only on one disk/letter.txt'), [], 'deleted on every disk');
  });

  it('serves what was written natively at once (no page cache), under the same inode number', async () => {
    await writeFile(join(mnt, 'recipe.txt'), 'version 1: rotten!');
    const before = await stat(join(mnt, 'recipe.txt'));
    assert.equal(await readFile(join(mnt, 'recipe.txt'), 'utf8'), 'version 1: rotten!');
    const [home] = await holdersOf(branches, 'recipe.txt');
    const other = branches.find((b) => b !== home)!;
    await copyNatively('recipe.txt', home!, other); // a copy on a second disk: the view may find either first
    // The scrub repairs a rotten copy (same size, same mtime, other bytes), the duplicator replaces an
    // older one: temporary name, then rename over it (a new inode underneath).
    for (const branch of [home!, other]) {
      await writeFile(join(branch, '.recipe.txt.tmp'), 'version 2: mended!');
      await utimes(join(branch, '.recipe.txt.tmp'), before.atime, before.mtime);
      await rename(join(branch, '.recipe.txt.tmp'), join(branch, 'recipe.txt'));
    }
    assert.equal(await readFile(join(mnt, 'recipe.txt'), 'utf8'), 'version 2: mended!');
    assert.equal((await stat(join(mnt, 'recipe.txt'))).ino, before.ino, 'same file for Samba and find');
  });

  it('reads and writes the newest copy: a disk back with an older copy is not served', async () => {
    const old = new Date(Date.now() - 3600_000);
    await writeFile(join(branches[0]!, 'list.txt'), 'old, from the disk that was away');
    await utimes(join(branches[0]!, 'list.txt'), old, old);
    await writeFile(join(branches[2]!, 'list.txt'), 'new, written while it was away');
    assert.equal(await readFile(join(mnt, 'list.txt'), 'utf8'), 'new, written while it was away');
    await writeFile(join(mnt, 'list.txt'), 'changed again', { flag: 'r+' });
    assert.match(await readFile(join(branches[2]!, 'list.txt'), 'utf8'), /^changed again/);
    assert.equal(await readFile(join(branches[0]!, 'list.txt'), 'utf8'), 'old, from the disk that was away', 'the older copy is left for the duplicator');
  });

  it('keeps names as they are: leading dashes, spaces, non-ASCII', async () => {
    const names = ['-rf', '--', ' leading space.txt', 'ünïcødé 日本語.txt', '-a folder'];
    for (const name of names) await writeFile(join(mnt, name), name);
    const listed = await readdir(mnt);
    for (const name of names) {
      assert.ok(listed.includes(name), `${name} listed`);
      const [home] = await holdersOf(branches, name);
      assert.equal(await readFile(join(home!, name), 'utf8'), name, `${name} is a plain file on a member`);
    }
  });

  it('keeps serving the other disks when one disappears, and uses the disk again when it is back', async () => {
    const gone = members[2]!;
    await writeFile(join(gone.branch, 'only on the third disk.txt'), 'third');
    const onOthers = join('Été 2026', 'on the first disk.jpg');
    await mkdir(join(members[0]!.branch, 'Été 2026'), { recursive: true });
    await writeFile(join(members[0]!.branch, onOthers), 'first');
    await checked(runner, 'umount', ['--lazy', gone.mount]); // pulled: its branch folder is gone with it
    const listed = await readdir(mnt);
    assert.ok(listed.includes('Été 2026') && !listed.includes('only on the third disk.txt'), listed.join(', '));
    assert.equal(await readFile(join(mnt, onOthers), 'utf8'), 'first');
    const placement = await view.placementOf(mnt, 'while it is away.txt');
    assert.ok(placement.branch !== null && placement.branch !== gone.branch, JSON.stringify(placement));
    await writeFile(join(mnt, 'while it is away.txt'), 'still writable');
    assert.deepEqual(await holdersOf(branches, 'while it is away.txt'), [placement.branch]);
    // Back at the same place (Safehold mounts a member at a path of its own, by UUID).
    await checked(runner, 'mount', [gone.disk.device, gone.mount]); // where the loop-disk helper unmounts it at cleanup
    assert.equal(await readFile(join(mnt, 'only on the third disk.txt'), 'utf8'), 'third');
  });

  it('moves a file that outgrows its disk mid-write to the disk with the most room, whole', async () => {
    const small = members[0]!;
    const roomy = members[2]!;
    await mkdir(join(small.branch, 'Videos'), { recursive: true }); // the folder lives on the small disk only
    const smallFree = await statfs(small.branch);
    const size = smallFree.bfree * smallFree.bsize + 8 * MiB; // more than the small disk has, even root's share
    const roomyFree = await statfs(roomy.branch);
    assert.ok(roomyFree.bavail * roomyFree.bsize > size + 8 * MiB, 'the roomy disk can take it');
    assert.equal((await view.placementOf(mnt, 'Videos/film.bin')).branch, small.branch, 'kept with its folder at first');
    const film = Buffer.alloc(size, 7);
    await writeFile(join(mnt, 'Videos', 'film.bin'), film);
    assert.deepEqual(await holdersOf(branches, 'Videos/film.bin'), [roomy.branch], 'moved, no partial copy left behind');
    assert.ok((await readFile(join(mnt, 'Videos', 'film.bin'))).equals(film), 'every byte there');
    await rm(join(mnt, 'Videos'), { recursive: true });
  });

  it('reports the free space of the disks that take new files', async () => {
    const free = async (path: string) => {
      const f = await statfs(path);
      return f.bavail * f.bsize;
    };
    const sum = async (paths: string[]) => (await Promise.all(paths.map(free))).reduce((a, b) => a + b, 0);
    assert.equal(await free(mnt), await sum(branches));
    await view.setBranches(mnt, branches.map((path, i) => ({ path, mode: i === 0 ? 'no-create' : 'read-write' })));
    assert.equal(await free(mnt), await sum(branches.slice(1)), 'a no-create disk\'s room is not offered');
    await view.setBranches(mnt, branches.map((path) => ({ path })));
  });

  it('refuses a busy unmount and names who holds it; a lazy unmount detaches it', async () => {
    const holder = spawn('sleep', ['60'], { cwd: mnt, stdio: 'ignore' });
    try {
      await assert.rejects(view.unmount(mnt), (error: unknown) => {
        assert.ok(error instanceof PoolViewError && error.kind === 'busy', String(error));
        assert.match(error.message, /in use by .*sleep \(pid \d+\)/);
        assert.ok(error.holders.some((h) => h.pid === holder.pid));
        return true;
      });
      assert.equal((await view.status(mnt)).state, 'mounted', 'still serving');
      assert.deepEqual(await view.unmount(mnt, { lazy: true }), { wasMounted: true, lazy: true });
      assert.deepEqual(await view.status(mnt), { state: 'not-mounted' });
    } finally {
      holder.kill('SIGKILL');
    }
    await view.mount(mnt, branches.map((path) => ({ path })), { name: 'photos', reserveBytes: 4 * MiB });
    assert.equal(await readFile(join(mnt, 'recipe.txt'), 'utf8'), 'version 2: mended!');
  });

  it('says when the view\'s process died, and mounting again brings it back', async () => {
    const pid = await mergerfsServing(mnt); // (user.mergerfs.pid names the process from before mergerfs went to the background)
    process.kill(pid, 'SIGKILL');
    const status = await waitFor(() => view.status(mnt), (s) => s.state !== 'mounted');
    assert.equal(status.state, 'disconnected');
    assert.match(status.state === 'disconnected' ? status.reason : '', /process is gone/);
    const again = await view.mount(mnt, branches.map((path) => ({ path })), { name: 'photos', reserveBytes: 4 * MiB });
    assert.equal(again.alreadyMounted, false);
    assert.equal(await readFile(join(mnt, 'recipe.txt'), 'utf8'), 'version 2: mended!');
  });
  it('serves the others once a pulled disk (still mounted, every read failing) is taken out at run time', async () => {
    const pulled = members[1]!;
    await writeFile(join(members[0]!.branch, 'kept.txt'), 'on a healthy disk');
    await pullOut(pulled.disk, runner);
    await view.setBranches(mnt, branches.filter((b) => b !== pulled.branch).map((path) => ({ path })));
    assert.equal(await readFile(join(mnt, 'kept.txt'), 'utf8'), 'on a healthy disk');
    await writeFile(join(mnt, 'after the pull.txt'), 'safe');
    const placed = await holdersOf([members[0]!.branch, members[2]!.branch], 'after the pull.txt');
    assert.equal(placed.length, 1);
  });
});
