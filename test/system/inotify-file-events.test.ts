/**
 * The inotifywait adapter (system/fswatch/inotify.adapter.ts) on the machine's own disk, in what
 * only the real one can show: a slow writer, an editor's save, a folder of 1,000 files renamed,
 * deletes, folders made and filled at once (the race with the watch), the watch limit (lowered
 * only inside a user namespace of the test's own, never for the machine), an inotifywait killed,
 * the watched folder removed, a path that kills inotifywait 3.22, and a burst of 100,000 events.
 * The contract both implementations keep is test/medium/file-events.contract.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, describe, it } from 'node:test';
import type { FileEvent, WatchOptions } from '../../system/fswatch/file-events.js';
import { InotifyFileEvents } from '../../system/fswatch/inotify.adapter.js';
import { checked, ProcessCommandRunner, type CommandRunner } from '../../system/process/command-runner.js';
import { testName } from '../testing/loop-disk.js';
import { EventLog, has, kindsOn, ownInotifywaits, text } from '../testing/file-events.js';

const runner = new ProcessCommandRunner();
const made: string[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
  for (const folder of made) await rm(folder, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), testName('-events-')));
  made.push(folder);
  return folder;
}

async function watch(root: string, options: WatchOptions = {}, system: { runner?: CommandRunner; restartDelayMs?: number } = {}) {
  const lines: string[] = [];
  const watcher = new InotifyFileEvents({ runner: system.runner ?? runner, restartDelayMs: system.restartDelayMs, log: (line) => lines.push(line) }).watch(root, options);
  closers.push(() => watcher.close());
  return { watcher, log: new EventLog(watcher), lines };
}

/** A runner that starts inotifywait in a user namespace of its own whose watch limit is `limit` (the machine's stays as it is). */
function limitedRunner(limit: number): CommandRunner {
  const script = 'echo "$0" >/proc/sys/user/max_inotify_watches && exec "$@"';
  return { run: (command, args, options) => runner.run('unshare', ['--user', '--map-root-user', 'sh', '-c', script, String(limit), command, ...args], options) };
}

/** A test that runs this long is hung (a wait for events fails sooner, at HANG_MS): it fails alone, the file goes on. */
const HUNG = { timeout: 600_000 };

describe('the inotifywait adapter on a real filesystem', () => {
  it('reports a slow writer once, when it closes the file, not while it writes', HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log } = await watch(root);
    await watcher.ready;
    const file = await open(join(root, 'slow.bin'), 'w');
    await file.write(Buffer.alloc(4096, 1));
    await writeFile(join(root, 'marker-1'), '');
    await log.until((seen) => has(seen, 'written', 'marker-1'));
    await file.write(Buffer.alloc(4096, 2));
    await file.sync();
    await writeFile(join(root, 'marker-2'), '');
    await log.until((seen) => has(seen, 'written', 'marker-2'));
    assert.deepEqual(kindsOn(log.events, 'slow.bin'), [], 'nothing while it is open for writing');
    await file.close();
    await log.until((seen) => has(seen, 'written', 'slow.bin'));
    assert.deepEqual(kindsOn(log.events, 'slow.bin'), ['written']);
    await watcher.close();
  });

  it("reports an editor's save (a temporary file renamed over the original) as the original's new content", HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log } = await watch(root);
    await watcher.ready;
    await writeFile(join(root, 'letter.txt'), 'draft');
    await writeFile(join(root, '.goutputstream-ABC123'), 'final');
    await rename(join(root, '.goutputstream-ABC123'), join(root, 'letter.txt'));
    const events = await log.until((seen) => has(seen, 'renamed', 'letter.txt'));
    assert.ok(has(events, 'renamed', 'letter.txt', '.goutputstream-ABC123'));
    assert.equal(kindsOn(events, 'letter.txt').at(-1), 'renamed', 'the last word on letter.txt: it was replaced');
    await watcher.close();
  });

  it('reports a folder of 1,000 files renamed as one folder rename, and files in it under the new name afterwards', HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log } = await watch(root);
    await watcher.ready;
    await mkdir(join(root, 'album'));
    for (let i = 0; i < 1000; i++) await writeFile(join(root, 'album', `${i}.jpg`), String(i));
    await log.until((seen) => has(seen, 'written', 'album/999.jpg'));
    const before = log.events.length;
    await rename(join(root, 'album'), join(root, 'album 2024'));
    await writeFile(join(root, 'album 2024', 'new.jpg'), 'new');
    const events = (await log.until((seen) => has(seen, 'written', 'album 2024/new.jpg'))).slice(before);
    assert.deepEqual(
      events.map((event) => (event.kind === 'renamed' ? `renamed ${text(event.from)} -> ${text(event.path)} ${event.folder}` : `${event.kind} ${text(event.path)}`)),
      ['renamed album -> album 2024 true', 'written album 2024/new.jpg'],
    );
    await watcher.close();
  });

  it('reports deletes: each file, then its folder', HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log } = await watch(root);
    await watcher.ready;
    await mkdir(join(root, 'old'));
    for (const name of ['a', 'b', 'c']) await writeFile(join(root, 'old', name), name);
    await log.until((seen) => has(seen, 'written', 'old/c'));
    await rm(join(root, 'old'), { recursive: true });
    const events = await log.until((seen) => has(seen, 'removed', 'old'));
    for (const name of ['a', 'b', 'c']) assert.ok(has(events, 'removed', `old/${name}`));
    const folder = events.find((event) => event.kind === 'removed' && text(event.path) === 'old');
    assert.equal(folder?.kind === 'removed' && folder.folder, true);
    await watcher.close();
  });

  it('misses no file written at once into folders just made (mkdir -p a/b/c, then files inside), 30 times over', HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log, lines } = await watch(root);
    await watcher.ready;
    const expected: string[] = [];
    for (let round = 0; round < 30; round++) {
      await mkdir(join(root, `r${round}`, 'b', 'c'), { recursive: true });
      for (const file of [`r${round}/b/c/1`, `r${round}/b/c/2`, `r${round}/b/3`, `r${round}/4`]) {
        await writeFile(join(root, file), 'x');
        expected.push(file);
      }
    }
    const missing = (seen: FileEvent[]) => expected.filter((file) => !has(seen, 'written', file));
    const events = await log.until((seen) => missing(seen).length === 0, (seen) => `every file (${missing(seen).join(', ')} missing; the watcher's log: ${lines.join(' | ')})`);
    assert.ok(!events.some((event) => event.kind === 'rescan'), 'nothing had to be walked again');
    // And every one of those folders is watched from now on (inotifywait alone leaves some unwatched).
    const later: string[] = [];
    for (let round = 0; round < 30; round++) {
      for (const file of [`r${round}/b/c/later`, `r${round}/b/later`]) {
        await writeFile(join(root, file), 'y');
        later.push(file);
      }
    }
    const missingLater = (seen: FileEvent[]) => later.filter((file) => !has(seen, 'written', file));
    await log.until((seen) => missingLater(seen).length === 0, (seen) => `every later file (${missingLater(seen).join(', ')} missing; the watcher's log: ${lines.join(' | ')})`);
    await watcher.close();
  });

  it('says in words when the watch limit keeps it from starting, does not crash, and leaves nothing running', HUNG, async () => {
    const root = await freshRoot();
    for (const folder of ['a', 'b', 'c/d']) await mkdir(join(root, folder), { recursive: true });
    const { watcher, log, lines } = await watch(root, { checkEveryMinutes: 30 }, { runner: limitedRunner(2) });
    const state = await watcher.ready;
    assert.equal(state.kind, 'down');
    assert.equal(state.kind === 'down' && state.reason, 'watch-limit');
    const [rescan] = await log.until((seen) => seen.some((event) => event.kind === 'rescan'));
    assert.ok(rescan?.kind === 'rescan' && rescan.reason === 'watch-limit' && rescan.path.length === 0);
    assert.match(rescan.message, /more folders than the system lets Safehold watch: changes are found by the periodic check \(every 30 minutes\) instead/);
    assert.ok(lines.some((line) => line.includes('more folders than the system lets Safehold watch')), 'a log line says so');
    await watcher.close();
    assert.deepEqual(await ownInotifywaits(root), []);
  });

  it('goes on watching what it can when the limit is reached later, and says the whole disk must be checked', HUNG, async () => {
    const root = await freshRoot();
    await mkdir(join(root, 'a'));
    const { watcher, log } = await watch(root, {}, { runner: limitedRunner(2) }); // the root and a
    assert.deepEqual(await watcher.ready, { kind: 'watching' });
    await mkdir(join(root, 'one too many'));
    await log.until((seen) => seen.some((event) => event.kind === 'rescan' && event.reason === 'watch-limit'));
    assert.equal(watcher.state.kind, 'partial');
    await writeFile(join(root, 'a', 'still.txt'), 'x');
    await log.until((seen) => has(seen, 'written', 'a/still.txt'));
    await watcher.close();
  });

  it('starts inotifywait again when it is killed, then asks for the whole disk to be checked', HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log } = await watch(root, {}, { restartDelayMs: 10 });
    await watcher.ready;
    const [pid] = await ownInotifywaits(root);
    process.kill(pid!, 'SIGKILL');
    await log.until((seen) => seen.some((event) => event.kind === 'rescan' && event.reason === 'restarted' && event.path.length === 0 && watcher.state.kind === 'watching'));
    await writeFile(join(root, 'after.txt'), 'x');
    await log.until((seen) => has(seen, 'written', 'after.txt'));
    const [again] = await ownInotifywaits(root);
    assert.ok(again && again !== pid, 'a new inotifywait runs');
    await watcher.close();
  });

  it('says so and ends when the watched folder itself is removed', HUNG, async () => {
    const root = await freshRoot();
    const { watcher, log } = await watch(root);
    await watcher.ready;
    await rm(root, { recursive: true });
    const events = await log.untilEnd();
    const last = events.at(-1);
    assert.ok(last?.kind === 'rescan' && last.reason === 'root-gone', `last: ${JSON.stringify(last)}`);
    await watcher.close();
    assert.deepEqual(await ownInotifywaits(root), []);
  });

  it('says in words when a path past PATH_MAX keeps inotifywait 3.22 from running, and leaves nothing running', HUNG, async () => {
    const root = await freshRoot();
    const deep = Array.from({ length: 19 }, () => 'd'.repeat(204)).join('/'); // 3,894 bytes
    await mkdir(join(root, deep), { recursive: true });
    const { watcher, log } = await watch(root, {}, { restartDelayMs: 10 });
    await watcher.ready;
    // 3,894 + 1 + 200 bytes below the root, and the path inotifywait is given in front: past the
    // 4,096 bytes of PATH_MAX, so inotifywait aborts ("buffer overflow detected"), again at each
    // start. Made from inside its folder: no system call takes it whole (nor do Samba or mergerfs).
    await checked(runner, 'sh', ['-c', 'cd "$1" && printf x >"$2"', 'sh', join(root, deep), 'f'.repeat(200)]);
    const events = await log.until((seen) => seen.some((event) => event.kind === 'rescan' && event.path.length === 0));
    assert.ok(!events.some((event) => event.kind === 'written'), 'the long path is left to the periodic check');
    assert.ok(watcher.state.kind === 'down' || watcher.state.kind === 'starting' || watcher.state.kind === 'watching');
    await watcher.close();
    assert.deepEqual(await ownInotifywaits(root), []);
    await checked(runner, 'sh', ['-c', 'cd "$1" && rm "$2"', 'sh', join(root, deep), 'f'.repeat(200)]); // rm -r cannot reach it
  });

  it('hands a burst of 100,000 events over in bounded batches, the event loop free meanwhile', HUNG, async (t) => {
    const root = await freshRoot();
    await mkdir(join(root, 'burst'));
    const { watcher, log } = await watch(root);
    await watcher.ready;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    // 50,000 files made and closed, then removed: 100,000 events reported (150,000 printed: the CREATEs too).
    const script = 'cd "$1" && i=0; while [ $i -lt 50000 ]; do : >f$i; i=$((i+1)); done; find . -name "f*" -delete; : >../done';
    await checked(runner, 'sh', ['-c', script, 'sh', join(root, 'burst')], { timeoutMs: 300_000 });
    const events = await log.until((seen) => has(seen, 'written', 'done') || seen.some((event) => event.kind === 'rescan'));
    delay.disable();
    t.diagnostic(`${log.batches.length} batches, largest ${Math.max(...log.batches.map((batch) => batch.length))}; event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`);
    assert.ok(log.batches.every((batch) => batch.length <= 1000), 'no batch above the default 1,000');
    if (events.some((event) => event.kind === 'rescan')) {
      t.diagnostic('the kernel queue overflowed: the rescan of the root stands for the events it lost');
      const rescan = events.find((event) => event.kind === 'rescan');
      assert.ok(rescan?.kind === 'rescan' && rescan.path.length === 0);
    } else {
      const last = new Map<string, string>();
      for (const event of events) last.set(text(event.path), event.kind);
      for (let i = 0; i < 50000; i++) assert.equal(last.get(`burst/f${i}`), 'removed', `burst/f${i}`);
    }
    await watcher.close();
  });
});
