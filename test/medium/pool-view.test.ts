/**
 * The PoolView contract, run against both implementations: what the pool service relies on when
 * it presents a share as one folder over its members. MergerfsPoolView runs real mergerfs over
 * three loop-device ext4 disks of different sizes (root and /dev/fuse only); SimulatedPoolView over
 * plain folders whose free space is a capacity minus what is in them. Every placement is checked
 * twice: `placementOf` says where a new file would go, then the file is written through the view
 * and the test looks which branch holds it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MergerfsPoolView } from '../../system/mergerfs/mergerfs.adapter.js';
import { SimulatedPoolView } from '../../system/mergerfs/mergerfs.sim.js';
import { PoolViewError, type Branch, type PoolView } from '../../system/mergerfs/pool-view.js';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { cleanupLeftovers, forceUnmount } from '../testing/loop-disk.js';
import { createDataFolder, createMembers, fillWith, holdersOf, HOSTILE_SHARE, mergerfsSkipReason, removeDataFolder, removeMembers, treeBytes, type MemberDisk } from '../testing/pool-view.js';

const MiB = 1024 * 1024;
const RESERVE = 8 * MiB;

interface Subject {
  view: PoolView;
  /** Where the view is mounted (a fresh folder with a hostile name). */
  mountpoint: string;
  /** Three branch folders on members of different sizes. */
  branches: string[];
  /** A fourth, on the largest member, for adding at run time. */
  extra: string;
  /** Bytes the placement rule sees free on a branch. */
  available(branch: string): Promise<number>;
  /** Writes a file through the view (folders created through it too). */
  write(relativePath: string, data: string | Buffer): Promise<void>;
  close(): Promise<void>;
}

function refusal(kind: PoolViewError['kind'], pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof PoolViewError, `a PoolViewError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

function poolViewContract(name: string, reason: string | undefined, open: () => Promise<Subject>) {
  describe(`PoolView contract: ${name}`, { skip: reason }, () => {
    let s: Subject;
    before(async () => {
      if (!reason) s = await open();
    });
    after(async () => {
      await s?.close();
    });

    /** The branch a new top-level file must go to, by the test's own reading of the rule: most free space among read-write branches at or above the reserve (a tie to the later one). */
    async function mostFree(branches: readonly string[], modes: Record<string, Branch['mode']> = {}): Promise<string | null> {
      let best: { branch: string; free: number } | null = null;
      for (const branch of branches) {
        const free = await s.available(branch);
        if ((modes[branch] ?? 'read-write') !== 'read-write' || free < RESERVE) continue;
        if (!best || free >= best.free) best = { branch, free };
      }
      return best?.branch ?? null;
    }

    async function writeAndLocate(relativePath: string, data: string | Buffer = 'hello'): Promise<{ predicted: string | null; landed: string[] }> {
      const placement = await s.view.placementOf(s.mountpoint, relativePath);
      await s.write(relativePath, data);
      return { predicted: placement.branch, landed: await holdersOf([...s.branches, s.extra], relativePath) };
    }

    it('mounts over three branches; the mount table shows it as a view of Safehold\'s, with its branches in order', async () => {
      const result = await s.view.mount(s.mountpoint, s.branches.map((path) => ({ path })), { name: 'family-photos', reserveBytes: RESERVE });
      assert.deepEqual(result, { mountpoint: s.mountpoint, name: 'family-photos', alreadyMounted: false });
      assert.deepEqual(await s.view.status(s.mountpoint), { state: 'mounted', name: 'family-photos' });
      assert.ok((await s.view.list()).some((v) => v.mountpoint === s.mountpoint && v.status.state === 'mounted'));
      assert.deepEqual(
        await s.view.branches(s.mountpoint),
        s.branches.map((path) => ({ path, mode: 'read-write', reserveBytes: RESERVE })),
      );
    });

    it('puts a new file on the branch with the most free space, as placementOf said', async () => {
      const expected = await mostFree(s.branches);
      const { predicted, landed } = await writeAndLocate('-first file.txt');
      assert.equal(predicted, expected);
      assert.deepEqual(landed, [expected]);
    });

    it('keeps a folder together: a second file lands beside the first, even when another branch now has more room', async () => {
      const first = await writeAndLocate('Été 2026/-IMG 0001.jpg');
      assert.equal(first.landed.length, 1);
      const home = first.landed[0]!;
      assert.equal(first.predicted, home);
      // Make another branch the roomiest, natively, while the album's branch stays above its reserve.
      const others = await Promise.all(s.branches.filter((b) => b !== home).map(async (b) => ({ b, free: await s.available(b) })));
      const roomiest = others.reduce((a, b) => (b.free > a.free ? b : a));
      const homeFree = await s.available(home);
      if (homeFree >= roomiest.free) await fillWith(join(home, '.native-filler'), homeFree - (RESERVE + roomiest.free) / 2);
      assert.ok((await s.available(home)) < roomiest.free && (await s.available(home)) > RESERVE, 'the album\'s branch has less room than another, above its reserve');
      const placement = await s.view.placementOf(s.mountpoint, 'Été 2026/-IMG 0002.jpg');
      assert.deepEqual(placement, { branch: home, folder: 'Été 2026', keptTogether: true });
      const second = await writeAndLocate('Été 2026/-IMG 0002.jpg');
      assert.deepEqual(second.landed, [home]);
      const loose = await writeAndLocate('loose file.txt');
      assert.deepEqual(loose.landed, [await mostFree(s.branches)]);
      assert.notEqual(loose.landed[0], home);
    });

    it('never fills a reserve: a branch below it gets no new file, not even in its own folder', async () => {
      const album = (await holdersOf(s.branches, 'Été 2026'))[0]!;
      await fillWith(join(album, '.native-filler-2'), (await s.available(album)) - RESERVE / 2);
      assert.ok((await s.available(album)) < RESERVE);
      const placement = await s.view.placementOf(s.mountpoint, 'Été 2026/-IMG 0003.jpg');
      assert.equal(placement.branch !== null && placement.keptTogether, false, 'walked up to the share\'s top');
      const expected = await mostFree(s.branches);
      assert.notEqual(expected, album);
      const third = await writeAndLocate('Été 2026/-IMG 0003.jpg');
      assert.equal(third.predicted, expected);
      assert.deepEqual(third.landed, [expected]);
    });

    it('puts no new file on a no-create branch (a disk with a health warning), and says so when none can take it', async () => {
      const before = await mostFree(s.branches);
      assert.ok(before);
      await s.view.setBranches(s.mountpoint, s.branches.map((path) => ({ path, mode: path === before ? 'no-create' : 'read-write' })));
      assert.equal((await s.view.branches(s.mountpoint)).find((b) => b.path === before)?.mode, 'no-create');
      const expected = await mostFree(s.branches, { [before]: 'no-create' });
      const { predicted, landed } = await writeAndLocate('while one disk is unwell.txt');
      assert.equal(predicted, expected);
      assert.deepEqual(landed, [expected]);
      await s.view.setBranches(s.mountpoint, s.branches.map((path) => ({ path, mode: 'no-create' })));
      const none = await s.view.placementOf(s.mountpoint, 'nowhere.txt');
      assert.equal(none.branch, null);
      assert.match(none.branch === null ? none.reason : '', /takes no new files \(no-create\)/);
    });

    it('uses a branch added at run time, without unmounting', async () => {
      await s.view.setBranches(s.mountpoint, [...s.branches, s.extra].map((path) => ({ path })));
      assert.deepEqual((await s.view.branches(s.mountpoint)).map((b) => b.path), [...s.branches, s.extra]);
      assert.equal(await mostFree([...s.branches, s.extra]), s.extra, 'the new member is the roomiest');
      const { predicted, landed } = await writeAndLocate('after the new disk.txt');
      assert.equal(predicted, s.extra);
      assert.deepEqual(landed, [s.extra]);
    });

    it('mounting again is idempotent and applies the branches given', async () => {
      const again = await s.view.mount(s.mountpoint, s.branches.map((path) => ({ path })), { name: 'family-photos', reserveBytes: RESERVE });
      assert.equal(again.alreadyMounted, true);
      assert.deepEqual((await s.view.branches(s.mountpoint)).map((b) => b.path), s.branches);
      await assert.rejects(s.view.mount(s.mountpoint, s.branches.map((path) => ({ path })), { name: 'other', reserveBytes: RESERVE }), refusal('already-mounted', /already shows the view "family-photos"/));
    });

    it('refuses what cannot be right, changing nothing', async () => {
      const before = await s.view.branches(s.mountpoint);
      await assert.rejects(s.view.setBranches(s.mountpoint, [{ path: `${s.branches[0]}:/etc` }]), refusal('invalid-branch', /":", which a mergerfs branch list cannot carry/));
      await assert.rejects(s.view.setBranches(s.mountpoint, [{ path: 'relative/folder' }]), refusal('invalid-branch', /not an absolute path/));
      await assert.rejects(s.view.setBranches(s.mountpoint, []), refusal('invalid-branch', /at least one branch/));
      await assert.rejects(s.view.setBranches(s.mountpoint, [{ path: s.branches[0]!, reserveBytes: -1 }]), refusal('invalid-branch', /reserve must be a whole number/));
      await assert.rejects(s.view.placementOf(s.mountpoint, '../outside.txt'), refusal('invalid-path', /not a path inside the view/));
      assert.deepEqual(await s.view.branches(s.mountpoint), before);
      const full = join(dirname(s.mountpoint), 'not empty');
      await mkdir(full, { recursive: true });
      await writeFile(join(full, 'a file.txt'), 'x');
      await assert.rejects(s.view.mount(full, [{ path: s.branches[0]! }], { name: 'x', reserveBytes: 0 }), refusal('folder-not-empty', /not empty \("a file.txt"\)/));
      await assert.rejects(s.view.mount(join(dirname(s.mountpoint), 'bad name'), [{ path: s.branches[0]! }], { name: 'a b', reserveBytes: 0 }), refusal('invalid-path', /cannot be a view's name/));
    });

    it('unmounts: nothing is mounted there any more; unmount is idempotent; the files stay on the branches', async () => {
      assert.deepEqual(await s.view.unmount(s.mountpoint), { wasMounted: true, lazy: false });
      assert.deepEqual(await s.view.status(s.mountpoint), { state: 'not-mounted' });
      assert.ok(!(await s.view.list()).some((v) => v.mountpoint === s.mountpoint));
      assert.deepEqual(await readdir(s.mountpoint), []);
      assert.deepEqual(await s.view.unmount(s.mountpoint), { wasMounted: false, lazy: false });
      await assert.rejects(s.view.branches(s.mountpoint), refusal('not-mounted', /No view is serving/));
      assert.equal((await holdersOf(s.branches, 'Été 2026/-IMG 0001.jpg')).length, 1);
    });
  });
}

poolViewContract('MergerfsPoolView (real mergerfs on loop disks)', await mergerfsSkipReason(), async () => {
  const runner = new ProcessCommandRunner();
  await cleanupLeftovers(runner);
  const members: MemberDisk[] = await createMembers([48, 64, 96, 128]);
  const data = await createDataFolder();
  const mountpoint = join(data, '-view de famille é');
  return {
    view: new MergerfsPoolView({ runner }),
    mountpoint,
    branches: members.slice(0, 3).map((m) => m.branch),
    extra: members[3]!.branch,
    async available(branch) {
      const f = await statfs(branch);
      return f.bavail * f.bsize;
    },
    async write(relativePath, data) {
      await mkdir(dirname(join(mountpoint, relativePath)), { recursive: true });
      await writeFile(join(mountpoint, relativePath), data);
    },
    async close() {
      await forceUnmount(mountpoint, runner);
      await removeDataFolder(data, runner);
      await removeMembers(members);
    },
  };
});

poolViewContract('SimulatedPoolView', undefined, async () => {
  const root = await mkdtemp(join(tmpdir(), 'safehold-pool-sim-'));
  const capacities = new Map<string, number>();
  const branches: string[] = [];
  for (const [i, mib] of [40, 56, 88, 120].entries()) {
    const branch = join(root, `member ${i}`, 'Safehold', 'shares', HOSTILE_SHARE);
    await mkdir(branch, { recursive: true });
    capacities.set(branch, mib * MiB);
    branches.push(branch);
  }
  const spaceOf = async (branch: string) => (capacities.get(branch) ?? 0) - (await treeBytes(branch));
  const view = new SimulatedPoolView({ root, spaceOf });
  const mountpoint = join(root, '-view de famille é');
  return {
    view,
    mountpoint,
    branches: branches.slice(0, 3),
    extra: branches[3]!,
    available: async (branch) => (await spaceOf(branch)) ?? 0,
    write: async (relativePath, data) => {
      await view.writeFile(mountpoint, relativePath, data);
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});
