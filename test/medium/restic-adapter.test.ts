/**
 * The restic adapter against the real restic (Debian's 0.14) in temp folders: hostile file names
 * round-trip byte for byte, progress, retention, check, the error classes, locks and cancelling.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { classifyFailure, includePatternFor, ResticAdapter } from '../../system/restic/restic.adapter.js';
import { ResticError, type BackupProgress, type ResticErrorKind, type Snapshot } from '../../system/restic/restic.js';
import { isInstalled } from '../../system/tools.js';
import { bytesPath, describeTree, HOSTILE, holdLock, lockFiles, makeHostileTree, resticSandbox, type ResticSandbox } from '../testing/restic.js';

const runner = new ProcessCommandRunner();
const restic = new ResticAdapter({ runner, progressPerSecond: 20, graceMs: 10_000 });

/** Asserts a `ResticError` of `kind`; returns it for more checks. */
async function rejectsAs(promise: Promise<unknown>, kind: ResticErrorKind): Promise<ResticError> {
  const error = await promise.then(
    () => assert.fail(`expected a ResticError '${kind}', but it resolved`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ResticError, `expected a ResticError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  return error;
}

describe('the restic adapter, against the real restic', () => {
  let box: ResticSandbox;
  let src: string;
  let longRelative: string;
  let hostile: Snapshot;

  before(async () => {
    box = resticSandbox();
    ({ src, longRelative } = makeHostileTree(box.root));
    await restic.init(box.repo);
  });
  after(() => box?.cleanup());

  it('reports its version, and never puts the password on the command line', async () => {
    assert.match((await restic.version()).version, /^0\.\d+\.\d+/);
    const line = await restic.commandFor(box.repo, ['snapshots', '--json']);
    assert.ok(line.includes(`--password-file=${box.repo.passwordFile}`));
    assert.ok(!line.some((arg) => arg.includes(box.password)));
    assert.deepEqual(line.slice(0, 6), ['ionice', '-c', '3', 'nice', '-n', '19']);
  });

  it('refuses to create a repository twice', async () => {
    await rejectsAs(restic.init(box.repo), 'repository-exists');
  });

  it('applies retention to a new repository without a snapshot: nothing kept, nothing removed, no error', async () => {
    const result = await restic.forget(box.repo, { keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 3 }, { prune: true, groupBy: 'host,tags' });
    assert.deepEqual(result, { kept: [], removed: [], pruned: false });
  });

  it('backs up a tree of hostile names into a tagged snapshot', async () => {
    const summary = await restic.backup(box.repo, { paths: [src], tags: ['source:photos', 'hostile'] });
    assert.equal(summary.complete, true);
    assert.deepEqual(summary.warnings, []);
    assert.equal(summary.filesNew, 12); // a.txt, b.bin, 8 hostile names, n\xfe.bin, deep-file.txt (symlinks are not files)
    assert.equal(summary.totalFilesProcessed, 12);
    assert.ok(summary.dataAdded > 70_000);
    const tagged = await restic.snapshots(box.repo, { tags: ['hostile'] });
    assert.equal(tagged.length, 1);
    hostile = tagged[0]!;
    assert.ok(hostile.id.startsWith(summary.snapshotId));
    assert.deepEqual(hostile.paths, [src]);
    assert.deepEqual(hostile.tags.sort(), ['hostile', 'source:photos']);
    assert.deepEqual(await restic.snapshots(box.repo, { tags: ['no-such-tag'] }), []);
  });

  it('lists the direct children of one folder, names intact', async () => {
    const top = await restic.ls(box.repo, hostile.id, src);
    const names = top.map((e) => e.name).sort();
    assert.deepEqual(
      names,
      [HOSTILE.dash, HOSTILE.newline, HOSTILE.quotes, HOSTILE.spaces, HOSTILE.glob, HOSTILE.dollar, HOSTILE.empty, 'caf\uFFFD.txt', 'bad\uFFFD', 'link-to-dash', 'dangling', 'docs', longRelative.split('/')[0]!].sort(),
    );
    const byName = new Map(top.map((e) => [e.name, e]));
    assert.deepEqual(byName.get(HOSTILE.newline), { ...byName.get(HOSTILE.newline)!, type: 'file', size: 10, path: `${src}/${HOSTILE.newline}`, nameIsExact: true });
    assert.equal(byName.get('docs')!.type, 'dir');
    assert.equal(byName.get('docs')!.size, null);
    assert.equal(byName.get('link-to-dash')!.type, 'symlink');
    assert.equal(byName.get('caf\uFFFD.txt')!.nameIsExact, false);

    assert.deepEqual((await restic.ls(box.repo, hostile.shortId, `${src}/docs`)).map((e) => e.name), ['a.txt', 'nested']);
    // A folder whose own name is not UTF-8, addressed by the path ls gave.
    const bad = await restic.ls(box.repo, hostile.id, `${src}/bad\uFFFD`);
    assert.deepEqual(bad.map((e) => [e.name, e.size]), [['n\uFFFD.bin', 3000]]);
    // The top of the snapshot: the first folder of the backed-up path.
    assert.deepEqual((await restic.ls(box.repo, hostile.id, '/')).map((e) => e.name), [src.split('/')[1]]);
  });

  it('refuses paths that could leave the folder, and says when a folder is not there', async () => {
    for (const path of [`${src}/../x`, '../etc', 'relative/path', `${src}/./docs`, `${src}//docs`, `${src}/docs/`, `${src}/a\0b`, '']) {
      await rejectsAs(restic.ls(box.repo, hostile.id, path), 'invalid-input');
    }
    await rejectsAs(restic.ls(box.repo, '--help', src), 'invalid-input');
    await rejectsAs(restic.ls(box.repo, hostile.id, `${src}/no-such-folder`), 'not-found');
    await rejectsAs(restic.ls(box.repo, hostile.id, `${src}/docs/a.txt`), 'not-found'); // a file, not a folder
    await rejectsAs(restic.ls(box.repo, 'deadbeef', src), 'not-found');
  });

  it('restores everything into an empty folder, byte for byte, names included', async () => {
    const target = join(box.root, 'restore-all');
    await restic.restore(box.repo, hostile.id, { target });
    const restored = describeTree(join(target, src));
    assert.deepEqual(restored, describeTree(src));
    assert.ok(restored.some((e) => e.path === 'caf\\xe9.txt'));
    assert.ok(restored.some((e) => e.path === longRelative && e.content === Buffer.from('deep\n').toString('base64')));
    assert.ok(Buffer.byteLength(join(target, src, longRelative)) > 3700);
    // Never over existing files unless asked.
    await rejectsAs(restic.restore(box.repo, hostile.id, { target }), 'invalid-input');
  });

  it('restores only the included files, glob characters and non-UTF-8 bytes matched literally', async () => {
    const target = join(box.root, 'restore-some');
    const latin1 = (await restic.ls(box.repo, hostile.id, src)).find((e) => e.name === 'caf\uFFFD.txt')!;
    assert.equal(includePatternFor(`${src}/${HOSTILE.glob}`), `${src}/star\\*\\[x]\\?.txt`);
    await restic.restore(box.repo, hostile.id, { target, include: [latin1.path, `${src}/${HOSTILE.glob}`] });
    const files = describeTree(join(target, src)).filter((e) => e.type === 'file').map((e) => e.path);
    assert.deepEqual(files.sort(), ['caf\\xe9.txt', HOSTILE.glob].sort());
    assert.equal(readFileSync(bytesPath(join(target, src), HOSTILE.latin1), 'utf8'), 'latin-1 name');
    await rejectsAs(restic.restore(box.repo, hostile.id, { target: join(box.root, 'restore-none'), include: [`${src}/not-there`] }), 'not-found');
  });

  it('writes one file of a snapshot to a download path', async () => {
    const target = join(box.root, 'download.bin');
    const { size } = await restic.dump(box.repo, hostile.id, `${src}/bad\uFFFD/n\uFFFD.bin`, { target });
    assert.equal(size, 3000);
    assert.deepEqual(readFileSync(target), readFileSync(bytesPath(bytesPath(src, HOSTILE.badDir), HOSTILE.badFile)));
    await rejectsAs(restic.dump(box.repo, hostile.id, `${src}/docs/a.txt`, { target }), 'invalid-input'); // exists already
    await rejectsAs(restic.dump(box.repo, hostile.id, `${src}/docs`, { target: join(box.root, 'folder.bin') }), 'invalid-input');
    const dash = join(box.root, 'dash');
    assert.deepEqual(await restic.dump(box.repo, hostile.id, `${src}/${HOSTILE.dash}`, { target: dash }), { size: 0 });
    assert.deepEqual(readdirSync(box.root).filter((n) => n.startsWith('.safehold-dump-')), []);
  });

  it('reports progress with growing counts while a larger file is read', async () => {
    const big = join(box.root, 'big');
    mkdirSync(big);
    writeFileSync(join(big, 'video.bin'), randomBytes(40 << 20));
    const seen: BackupProgress[] = [];
    const summary = await restic.backup(box.repo, { paths: [big], tags: ['big'], onProgress: (p) => seen.push({ ...p }) });
    assert.equal(summary.totalBytesProcessed, 40 << 20);
    const moving = seen.filter((p) => p.bytesDone > 0);
    assert.ok(moving.length >= 2, `expected several status messages with bytes, got ${seen.length}`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.bytesDone >= seen[i - 1]!.bytesDone, 'bytes done never go back');
      assert.ok(seen[i]!.percent >= seen[i - 1]!.percent, 'percent never goes back');
    }
    assert.ok(moving.every((p) => p.percent > 0 && p.percent <= 100 && p.totalBytes === 40 << 20 && p.totalFiles === 1));
    assert.ok(moving.some((p) => p.currentFiles.includes(join(big, 'video.bin'))));
  });

  it('cancels a backup mid-way: interrupted, no lock left, the repository stays usable', async () => {
    const big = join(box.root, 'big2');
    mkdirSync(big);
    writeFileSync(join(big, 'video.bin'), randomBytes(48 << 20));
    const controller = new AbortController();
    let bytesWhenCancelled = 0;
    const error = await rejectsAs(
      restic.backup(box.repo, {
        paths: [big],
        tags: ['cancelled'],
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytesDone > 0 && !controller.signal.aborted) {
            bytesWhenCancelled = p.bytesDone;
            controller.abort();
          }
        },
      }),
      'interrupted',
    );
    assert.ok(bytesWhenCancelled > 0 && bytesWhenCancelled < 48 << 20);
    assert.match(error.message, /stopped|cancel/);
    assert.deepEqual(lockFiles(box.repo), [], 'SIGINT let restic remove its lock');
    assert.deepEqual(await restic.snapshots(box.repo, { tags: ['cancelled'] }), []);
    const again = await restic.backup(box.repo, { paths: [join(src, 'docs')], tags: ['after-cancel'] });
    assert.equal(again.complete, true);
    assert.equal((await restic.check(box.repo)).ok, true);
  });

  it('checks the repository reading a subset of the data', async () => {
    const result = await restic.check(box.repo, { readDataSubset: '2/3' });
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    await rejectsAs(restic.check(box.repo, { readDataSubset: '4/3' }), 'invalid-input');
    await rejectsAs(restic.check(box.repo, { readDataSubset: '1/3; rm -rf /' }), 'invalid-input');
  });

  it('forgets (and prunes) exactly what the retention policy does not keep', async () => {
    const folder = join(src, 'docs', 'nested');
    const days = ['2023-06-01', '2024-01-01', '2024-01-02', '2024-01-03', '2024-02-10', '2024-03-15'];
    for (const day of days) {
      await restic.backup(box.repo, { paths: [folder], tags: ['retention'], time: new Date(`${day}T12:00:00`) });
    }
    const localDay = (s: Snapshot) => {
      const d = new Date(s.time);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    };
    assert.deepEqual((await restic.snapshots(box.repo, { tags: ['retention'] })).map(localDay), days);
    const result = await restic.forget(box.repo, { keepDaily: 1, keepWeekly: 0, keepMonthly: 3, keepYearly: 2 }, { prune: true, tags: ['retention'] });
    assert.deepEqual(result.kept.map((k) => localDay(k.snapshot)).sort(), ['2023-06-01', '2024-01-03', '2024-02-10', '2024-03-15']);
    assert.deepEqual(result.removed.map(localDay).sort(), ['2024-01-01', '2024-01-02']);
    assert.ok(result.kept.find((k) => localDay(k.snapshot) === '2024-03-15')!.reasons.includes('daily snapshot'));
    assert.ok(result.kept.find((k) => localDay(k.snapshot) === '2023-06-01')!.reasons.includes('yearly snapshot'));
    assert.equal(result.pruned, true);
    assert.deepEqual((await restic.snapshots(box.repo, { tags: ['retention'] })).map(localDay), ['2023-06-01', '2024-01-03', '2024-02-10', '2024-03-15']);
    assert.equal((await restic.snapshots(box.repo, { tags: ['hostile'] })).length, 1, 'other sources untouched');
    await rejectsAs(restic.forget(box.repo, { keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 }, { prune: false }), 'invalid-input');
    const stats = await restic.stats(box.repo);
    assert.ok(stats.snapshotsCount >= 7 && stats.totalFileCount > 0 && stats.totalSize > 0);
  });

  it('reports a snapshot with warnings when some files cannot be read', async (t) => {
    if (process.getuid?.() !== 0 || !(await isInstalled('setpriv'))) {
      t.skip('needs root and setpriv: an unreadable file is made by dropping restic’s capability to read anything');
      return;
    }
    const dir = join(box.root, 'partly');
    mkdirSync(dir);
    writeFileSync(join(dir, 'fine.txt'), 'fine');
    writeFileSync(join(dir, 'locked.txt'), 'secret');
    chmodSync(join(dir, 'locked.txt'), 0o000);
    // restic as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: a mode-000 file is unreadable.
    const wrapper = join(box.root, 'restic-without-read-caps');
    writeFileSync(wrapper, '#!/bin/sh\nexec setpriv --bounding-set=-dac_override,-dac_read_search -- restic "$@"\n', { mode: 0o755 });
    const limited = new ResticAdapter({ runner, binary: wrapper });
    const summary = await limited.backup(box.repo, { paths: [dir], tags: ['partly'] });
    assert.equal(summary.complete, false);
    assert.equal(summary.warnings.length, 1);
    assert.equal(summary.warnings[0]!.item, join(dir, 'locked.txt'));
    assert.match(summary.warnings[0]!.message, /permission denied \(EACCES\)/);
    const [snapshot] = await restic.snapshots(box.repo, { tags: ['partly'] });
    assert.ok(snapshot && snapshot.id.startsWith(summary.snapshotId), 'the snapshot was written');
    assert.deepEqual((await restic.ls(box.repo, snapshot.id, dir)).map((e) => e.name), ['fine.txt']);
  });

  it('classifies a wrong password without ever showing it', async () => {
    const wrongFile = join(box.root, 'wrong-password');
    const wrong = `wrong-${randomBytes(9).toString('hex')}`;
    writeFileSync(wrongFile, wrong, { mode: 0o600 });
    const error = await rejectsAs(restic.snapshots({ path: box.repo.path, passwordFile: wrongFile }), 'wrong-password');
    for (const text of [error.message, error.command, error.details.output ?? '', String(error.stack)]) {
      assert.ok(!text.includes(wrong) && !text.includes(box.password), 'no password in the error');
    }
    assert.match(error.message, /password/);
  });

  it('classifies a repository that does not exist', async () => {
    const error = await rejectsAs(restic.snapshots({ path: join(box.root, 'no-repo-here'), passwordFile: box.repo.passwordFile }), 'repository-missing');
    assert.match(error.message, /no restic repository/i);
  });

  it('says who holds a lock, and unlock removes it only once it is stale', async () => {
    const holder = await holdLock(box.repo);
    try {
      const error = await rejectsAs(restic.check(box.repo), 'locked');
      assert.equal(error.lock?.pid, holder.pid);
      assert.equal(error.lock?.exclusive, false);
      assert.match(error.lock?.createdAt ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.match(error.message, new RegExp(`PID ${holder.pid}`));
      await restic.unlock(box.repo);
      assert.equal(lockFiles(box.repo).length, 1, 'a live restic keeps its lock');
    } finally {
      await holder.kill(); // SIGKILL: restic cannot clean up, its lock stays behind
    }
    assert.equal(lockFiles(box.repo).length, 1);
    await rejectsAs(restic.check(box.repo), 'locked');
    await restic.unlock(box.repo);
    assert.deepEqual(lockFiles(box.repo), []);
    assert.equal((await restic.check(box.repo)).ok, true);
  });

  it('removes every lock, a live one too, only when asked to', async () => {
    const holder = await holdLock(box.repo);
    try {
      await restic.unlock(box.repo);
      assert.equal(lockFiles(box.repo).length, 1, 'the plain unlock keeps a live lock');
      await restic.unlock(box.repo, { removeAll: true });
      assert.deepEqual(lockFiles(box.repo), [], '--remove-all removes it');
      assert.equal((await restic.check(box.repo)).ok, true);
    } finally {
      await holder.kill();
    }
  });

  it('validates what it passes to restic', async () => {
    await rejectsAs(restic.backup(box.repo, { paths: ['relative'], tags: [] }), 'invalid-input');
    await rejectsAs(restic.backup(box.repo, { paths: [src], tags: ['a,b'] }), 'invalid-input');
    await rejectsAs(restic.backup(box.repo, { paths: [], tags: [] }), 'invalid-input');
    assert.ok(existsSync(box.repo.path));
  });
});

// Captured from restic 0.14 runs on this machine (paths and ids shortened), except the two marked
// "written": restic's wording for EIO (a drive pulled mid-write) and a made-up failure.
describe('classifying restic 0.14 failures', () => {
  const cases: Array<[string, ResticErrorKind]> = [
    ['Fatal: wrong password or no key found\n', 'wrong-password'],
    ['Fatal: unable to open config file: stat /mnt/a/repo/config: no such file or directory\nIs there a repository at the following location?\n/mnt/a/repo\n', 'repository-missing'],
    ['Fatal: create repository at /mnt/a/repo failed: config file already exists\n', 'repository-exists'],
    [
      'unable to create lock in backend: repository is already locked exclusively by PID 23935 on vm by root (UID 0, GID 0)\nlock was created at 2026-11-22 06:55:08 (3.547102877s ago)\nstorage ID 416f6c85\nthe `unlock` command can be used to remove stale locks\n',
      'locked',
    ],
    ['Fatal: unable to save snapshot: write small/repo/data/66/66a7c8eb-tmp-3687657113: no space left on device\n', 'no-space'],
    ['open small/repo/locks/268683cd-tmp-3790332449: read-only file system\ngithub.com/restic/restic/internal/backend/local.(*Local).Save\n\tgithub.com/restic/restic/internal/backend/local/local.go:153\nunable to create lock in backend\n', 'io-error'],
    ['Fatal: unable to save snapshot: read /mnt/a/repo/index/ab: input/output error\n', 'io-error'], // written
    ['Resolving password failed: Fatal: /srv/safehold/keys/a does not exist\n', 'failed'],
    ['Ignoring "0123abcd": no matching ID found for prefix "0123abcd"\n', 'not-found'],
    ['\x1b[2Ksignal interrupt received, cleaning up\n', 'interrupted'],
    ['Fatal: something else entirely\n', 'failed'], // written
  ];
  for (const [output, kind] of cases) {
    it(`${kind}: ${output.split('\n')[0]!.slice(0, 60)}`, () => assert.equal(classifyFailure(output, 1).kind, kind));
  }

  it('reads who holds the lock and since when', () => {
    const lock = classifyFailure(cases[3]![0], 1).lock;
    assert.deepEqual(lock, { exclusive: true, pid: 23935, host: 'vm', user: 'root', uid: 0, gid: 0, createdAt: '2026-11-22 06:55:08', age: '3.547102877s', storageId: '416f6c85', stale: false });
  });
});
