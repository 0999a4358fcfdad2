/**
 * The FileEvents contract (system/fswatch/file-events.ts), run against both implementations: the
 * real one (inotifywait) on a folder of the machine's own disk, and the in-memory twin, whose
 * helpers report what the real one reports for the same action. What the real one alone can show
 * (slow writers, the races, the watch limit, a killed inotifywait) is in
 * test/system/inotify-file-events.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { absolutePath, type FileEvents, type Watcher } from '../../system/fswatch/file-events.js';
import { SimulatedFileEvents } from '../../system/fswatch/file-events.sim.js';
import { InotifyFileEvents } from '../../system/fswatch/inotify.adapter.js';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { testName } from '../testing/loop-disk.js';
import { EventLog, has, kindsOn, ownInotifywaits, text } from '../testing/file-events.js';

type Path = string | Buffer;
const bytes = (path: Path) => (typeof path === 'string' ? Buffer.from(path) : path);

/** One implementation, and how to make things happen under a root it watches. */
interface Subject {
  events: FileEvents;
  root(): Promise<string>;
  write(root: string, path: Path, content?: string): Promise<void>;
  remove(root: string, path: Path): Promise<void>;
  rename(root: string, from: Path, to: Path): Promise<void>;
  /** Make a folder (and its parents) and at once the files in it (paths under the root). */
  folderWithFiles(root: string, folder: Path, files: Path[]): Promise<void>;
  /** Put a file in place the way Safehold's FilePlacer does: a temporary name, then a rename. */
  place(root: string, path: Path): Promise<void>;
  /** Make the kernel drop events for this watcher. */
  overflow(root: string): Promise<void>;
  /** What of the watchers of `root` still runs (processes, or open twins). */
  running(root: string): Promise<number>;
}

const TEMP = '.safehold-tmp-0123456789abcdef';

function realSubject(): Subject {
  const made: string[] = [];
  after(async () => {
    for (const folder of made) await rm(folder, { recursive: true, force: true });
  });
  const at = (root: string, path: Path) => absolutePath(root, bytes(path));
  return {
    events: new InotifyFileEvents({ runner: new ProcessCommandRunner() }),
    async root() {
      const folder = await mkdtemp(join(tmpdir(), testName('-events-')));
      made.push(folder);
      return folder;
    },
    write: (root, path, content = 'x') => writeFile(at(root, path), content),
    remove: (root, path) => rm(at(root, path), { recursive: true }),
    rename: (root, from, to) => rename(at(root, from), at(root, to)),
    async folderWithFiles(root, folder, files) {
      await mkdir(at(root, folder), { recursive: true });
      for (const file of files) await writeFile(at(root, file), 'x');
    },
    async place(root, path) {
      const folder = bytes(path).lastIndexOf(0x2f);
      const temp = folder < 0 ? TEMP : Buffer.concat([bytes(path).subarray(0, folder + 1), Buffer.from(TEMP)]);
      await writeFile(at(root, temp), 'placed');
      await rename(at(root, temp), at(root, path));
    },
    async overflow(root) {
      // Stop inotifywait (SIGSTOP) while more changes are made than the kernel queues for it (16,384),
      // in a folder it watches already (one made now would not be watched before it runs again).
      const [pid] = await ownInotifywaits(root);
      assert.ok(pid, 'the watcher runs inotifywait');
      process.kill(pid, 'SIGSTOP');
      try {
        for (let i = 0; i < 9000; i++) await writeFile(join(root, `flood-${i}`), '');
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    },
    running: async (root) => (await ownInotifywaits(root)).length,
  };
}

function simulatedSubject(): Subject {
  const sim = new SimulatedFileEvents();
  let roots = 0;
  return {
    events: sim,
    root: async () => `/simulated/root-${++roots}`,
    write: async (root, path) => sim.wrote(root, path),
    remove: async (root, path) => sim.removed(root, path),
    rename: async (root, from, to) => sim.renamed(root, from, to),
    folderWithFiles: async (root, folder, files) => {
      const parts = text(bytes(folder)).split('/');
      for (let i = 1; i < parts.length; i++) sim.madeFolder(root, Buffer.from(parts.slice(0, i).join('/'), 'latin1'));
      sim.madeFolder(root, folder, files);
    },
    place: async (root, path) => {
      sim.wrote(root, TEMP);
      sim.renamed(root, TEMP, path);
    },
    overflow: async (root) => sim.overflowed(root),
    running: async (root) => sim.watching(root),
  };
}

function contract(name: string, make: () => Subject): void {
  describe(`FileEvents contract: ${name}`, () => {
    const subject = make();
    const open: Watcher[] = [];
    after(async () => {
      for (const watcher of open) await watcher.close();
    });
    async function watching(options = {}) {
      const root = await subject.root();
      const watcher = subject.events.watch(root, options);
      open.push(watcher);
      assert.deepEqual(await watcher.ready, { kind: 'watching' });
      return { root, watcher, log: new EventLog(watcher) };
    }

    it('reports a file written and closed, a rename inside the tree, and a removal, in that order', async () => {
      const { root, watcher, log } = await watching();
      await subject.write(root, 'photo.jpg');
      await subject.rename(root, 'photo.jpg', 'holiday.jpg');
      await subject.remove(root, 'holiday.jpg');
      const events = await log.until((seen) => has(seen, 'removed', 'holiday.jpg'));
      assert.deepEqual(kindsOn(events, 'photo.jpg'), ['written', 'renamed']);
      assert.ok(has(events, 'renamed', 'holiday.jpg', 'photo.jpg'));
      assert.equal(events.at(-1)!.kind, 'removed');
      await watcher.close();
    });

    it('keeps hostile names whole: a newline, quotes, a leading dash, spaces, bytes that are not UTF-8, a 4,000-byte path', async () => {
      const { root, watcher, log } = await watching();
      const names = [Buffer.from('new\nline "quoted"'), Buffer.from('-rf --leading dash'), Buffer.from('  spaces  '), Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74])];
      for (const name of names) await subject.write(root, name);
      const segment = 'd'.repeat(199);
      const deepFolder = Array.from({ length: 19 }, () => segment).join('/'); // 3,799 bytes
      const deepFile = `${deepFolder}/${'f'.repeat(200)}`; // 4,000 bytes
      assert.equal(Buffer.byteLength(deepFile), 4000);
      await subject.folderWithFiles(root, deepFolder, [deepFile]);
      const events = await log.until((seen) => names.every((name) => has(seen, 'written', name)) && has(seen, 'written', deepFile), 'every name');
      assert.ok(!events.some((event) => event.kind === 'rescan'), 'nothing was missed');
      await watcher.close();
    });

    it("ignores Safehold's own temporary files: a placed file is reported once, as written under its name", async () => {
      const { root, watcher, log } = await watching();
      await subject.place(root, 'report.pdf');
      await subject.write(root, 'after.txt');
      const events = await log.until((seen) => has(seen, 'written', 'after.txt'));
      assert.deepEqual(kindsOn(events, 'report.pdf'), ['written']);
      assert.ok(!events.some((event) => text(event.path).includes('.safehold-tmp-')), 'no event names a temporary file');
      await watcher.close();
    });

    it('reports a new folder and the files already in it', async () => {
      const { root, watcher, log } = await watching();
      const files = ['a/b/c/1.txt', 'a/b/c/2.txt', 'a/b/3.txt'];
      await subject.folderWithFiles(root, 'a/b/c', ['a/b/c/1.txt', 'a/b/c/2.txt']);
      await subject.write(root, 'a/b/3.txt');
      const events = await log.until((seen) => files.every((file) => has(seen, 'written', file)));
      assert.ok(has(events, 'folder-created', 'a'));
      await watcher.close();
    });

    it('hands a burst over complete, in batches no bigger than asked', async () => {
      const { root, watcher, log } = await watching({ maxBatch: 100 });
      await subject.folderWithFiles(root, 'burst', []);
      const names = Array.from({ length: 2000 }, (_, i) => `burst/${i}.dat`);
      for (const name of names) await subject.write(root, name);
      await subject.write(root, 'last');
      const events = await log.until((seen) => has(seen, 'written', 'last'));
      assert.ok(names.every((name) => has(events, 'written', name)), 'every file of the burst');
      assert.ok(log.batches.every((batch) => batch.length > 0 && batch.length <= 100), `batch sizes ${log.batches.map((batch) => batch.length).join(',')}`);
      await watcher.close();
    });

    it('says the whole root must be checked after a queue overflow, and goes on reporting', async () => {
      const { root, watcher, log } = await watching();
      await subject.overflow(root);
      await log.until((seen) => seen.some((event) => event.kind === 'rescan' && event.reason === 'overflow' && event.path.length === 0), 'the rescan');
      await subject.write(root, 'after-overflow.txt');
      await log.until((seen) => has(seen, 'written', 'after-overflow.txt'));
      assert.equal(watcher.state.kind, 'watching');
      await watcher.close();
    });

    it('close() ends the iteration and leaves nothing running', async () => {
      const { root, watcher, log } = await watching();
      const reading = log.untilEnd();
      await watcher.close();
      await reading;
      assert.equal(watcher.state.kind, 'closed');
      assert.equal(await subject.running(root), 0);
      await watcher.close(); // idempotent
    });
  });
}

contract('inotifywait on the local disk', realSubject);
contract('the in-memory twin', simulatedSubject);
