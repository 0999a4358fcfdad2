/**
 * A rotation drive under faults, done for real (root only; real service, real restic, loop disks):
 * the first backup onto a new repository, a damaged marker, three power cuts in the middle of a
 * backup on a small drive followed by a run that must fit, a cable pulled after one source was
 * written, and what a run says of files the folder's owner cannot read or that changed while they
 * were read. What is asserted is what the owner sees: the run's result over the API, the page's
 * words and the command line.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { cleanupLeftovers, createLoopDisk, pullOut, type LoopDisk } from '../testing/loop-disk.js';
import { BackupBox, backupSkipReason, type JobJson } from '../testing/backups.js';
import { waitFor } from '../testing/service.js';

const run = promisify(execFile);
const skip = await backupSkipReason();
const MiB = 1024 * 1024;
/** A uid no one on the machine has: the owner of the "docs" folder. */
const OWNER_UID = 4242;

describe('a rotation drive under faults', { skip }, () => {
  let box: BackupBox;
  let disk: LoopDisk;
  let driveId = '';
  let docs = '';
  let films = '';

  const runNow = async () => {
    const res = await box.admin.post(`/backups/drives/${encodeURIComponent(driveId)}/run`);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    return res.json.job.id as number;
  };
  const ended = (jobId: number) => box.jobEnded('backup.rotation', driveId, jobId - 1, 300_000);
  /** Fresh random content for every film: what a backup of them must write anew. */
  const newFilms = async () => {
    for (let i = 0; i < 8; i++) await writeFile(join(films, `film-${i}.mkv`), randomBytes(20 * MiB));
  };
  /** The newest backup job on the drive once it is reading films and has read more than `bytes`; fails at once when it ended instead. */
  const readingFilms = async (afterId: number, bytes: number): Promise<JobJson> =>
    (
      await waitFor(async () => {
        const job = (await box.jobs()).find((j) => j.kind === 'backup.rotation' && j.target === driveId && j.id > afterId);
        if (job && !['queued', 'running'].includes(job.state)) throw new Error(`the backup ended before it could be cut short: ${job.state}: ${job.message}`);
        return job && /Backing up films/.test(job.progress.current ?? '') && job.progress.bytesDone > bytes ? job : null;
      }, 120_000, 'the backup of films under way')
    ).value;
  const cli = async (...args: string[]) => (await run(process.execPath, [join(process.cwd(), 'bin', 'safehold'), ...args, '--data', box.svc.dataDir])).stdout;

  before(async () => {
    await cleanupLeftovers();
    box = await BackupBox.start();
    disk = await createLoopDisk({ sizeMiB: 440, label: 'SPACE-E' });
    // Registered before any source exists: its first backup meets a repository with no snapshot.
    const { driveId: id, backup } = await box.register(disk, 'E', 'keep');
    driveId = id;
    assert.equal(backup.state, 'succeeded', backup.message ?? '');
    docs = join(box.scratch, 'docs');
    films = join(box.scratch, 'films');
    await mkdir(docs);
    await mkdir(films);
  });

  after(async () => {
    await disk?.cleanup().catch(() => undefined);
    await box?.dispose();
  });

  it('takes a new, empty repository for what it is: no "retention failed" on the first backup', async () => {
    const entries = await box.activity();
    assert.deepEqual(entries.filter((e) => e.kind === 'backup.retention-failed').map((e) => e.message), []);
  });

  it('says why a damaged marker was refused in one sentence, without a doubled period', async () => {
    const mountpoint = await disk.mount();
    const marker = join(mountpoint, 'Safehold', 'drive.json');
    const good = await readFile(marker);
    await writeFile(marker, '{"format": "safehold-drive-marker",');
    await disk.unmount();
    try {
      const job = await ended(await runNow());
      assert.equal(job.state, 'failed');
      assert.match(job.message ?? '', /drive\.json is not valid JSON \(damaged, or not written by Safehold\)\. Nothing was written to it\.$/);
      assert.doesNotMatch(job.message ?? '', /\.\./);
    } finally {
      await writeFile(join(await disk.mount(), 'Safehold', 'drive.json'), good);
      await disk.unmount();
    }
  });

  it('frees the space that three power cuts in the middle of a backup left behind, and the next run fits on the same small drive', async () => {
    await newFilms();
    await box.addSource('films', films);
    const first = await ended(await runNow());
    assert.equal(first.state, 'succeeded', first.message ?? '');
    await newFilms(); // 160 MB to write anew; the drive holds the earlier 160 MB and little more
    let since = await runNow();
    since -= 1;
    for (let cut = 1; cut <= 3; cut++) {
      const job = await readingFilms(since, 80 * MiB);
      await box.powerCut(); // the service comes back and resumes the backup by itself
      since = job.id;
    }
    const job = await box.jobEnded('backup.rotation', driveId, since, 300_000);
    assert.equal(job.state, 'succeeded', job.message ?? '');
    assert.match(job.message ?? '', /^1 of 1 source backed up onto drive E, verified\. Drive E is safe to unplug\.$/);
    const runs = await box.runs(driveId);
    assert.deepEqual(runs.slice(0, 5).map((r) => r.outcome), ['good', 'interrupted', 'interrupted', 'interrupted', 'good']);
    for (const cut of runs.slice(1, 4)) {
      assert.equal(cut.message, 'The service stopped while this backup ran. No backup of this run was kept. Not backed up: "films". The earlier backups on the drive are untouched.');
      assert.deepEqual(cut.sources.map((s) => [s.name, s.outcome, s.snapshotId]), [['films', 'interrupted', null]], 'the page says what the message says');
    }
    const activity = await box.activity();
    assert.ok(activity.some((e) => e.kind === 'backup.pruned' && /drive E/.test(e.message)), 'the freed space is in the activity log');
    // What is left on the drive is what its snapshots use, give or take: the interrupted runs' data is gone.
    const entry = await box.entry('E');
    assert.ok(entry.freeBytes !== null && entry.freeBytes > 150 * MiB, `free after the run: ${entry.freeBytes}`);
  });

  it('names, per file, what the folder\'s owner cannot read and what changed while it was read, on the API and the command line', async () => {
    await writeFile(join(docs, 'letter.txt'), 'Dear Anna,\n');
    await writeFile(join(docs, 'locked.txt'), 'nobody may read this\n');
    await chmod(join(docs, 'locked.txt'), 0o000);
    await writeFile(join(docs, 'roots-own.txt'), 'root only\n', { mode: 0o600 }); // owned by root, inside the owner's folder
    await writeFile(join(docs, 'growing.log'), 'start\n');
    for (const f of ['', 'letter.txt', 'locked.txt', 'growing.log']) await chown(join(docs, f), OWNER_UID, OWNER_UID);
    await box.addSource('docs', docs);

    // A program keeps writing its log while the backup runs.
    const writer = spawn('sh', ['-c', `while :; do echo line >> '${join(docs, 'growing.log')}'; sleep 0.05; done`], { stdio: 'ignore' });
    let job: JobJson;
    try {
      job = await ended(await runNow());
    } finally {
      writer.kill();
    }
    assert.equal(job.state, 'succeeded', job.message ?? '');
    const [last] = await box.runs(driveId);
    const source = last!.sources.find((s) => s.name === 'docs')!;
    assert.equal(source.outcome, 'backed-up');
    const notes = (kind: string) => source.fileNotes.filter((n) => n.kind === kind).map((n) => n.path).sort();
    assert.deepEqual(notes('owner-cannot-read'), [join(docs, 'locked.txt'), join(docs, 'roots-own.txt')]);
    assert.deepEqual(notes('changed'), [join(docs, 'growing.log')]);
    assert.deepEqual(notes('unreadable'), []);
    assert.deepEqual(source.fileNoteCounts, { unreadable: 0, changed: 1, 'owner-cannot-read': 2 });
    assert.match(source.message ?? '', /^1 file changed while it was read \(the backup may hold a torn copy\); 2 files the folder's owner cannot read\.$/);
    assert.equal(last!.sources.find((s) => s.name === 'films')!.fileNotes.length, 0);

    const printed = await cli('backups');
    assert.match(printed, new RegExp(`docs: changed while it was read, the backup may hold a torn copy: ${join(docs, 'growing.log')}`));
    assert.match(printed, new RegExp(`docs: the folder's owner cannot read it \\(it was backed up all the same\\): ${join(docs, 'locked.txt')} \\(mode 0000, owner uid ${OWNER_UID}\\)`));
    await appendFile(join(docs, 'growing.log'), 'done\n');
  });

  it('prunes on its own when the drive holds far more than its snapshots use, though the last prune is recent', async () => {
    // The films shrink to 4 new ones: retention forgets the snapshot of the 8 old ones (the same
    // day), and their 160 MB are used by no snapshot any more.
    for (let i = 4; i < 8; i++) await rm(join(films, `film-${i}.mkv`));
    for (let i = 0; i < 4; i++) await writeFile(join(films, `film-${i}.mkv`), randomBytes(20 * MiB));
    const job = await ended(await runNow());
    assert.equal(job.state, 'succeeded', job.message ?? '');
    const pruned = (await box.activity()).filter((e) => e.kind === 'backup.pruned').map((e) => e.message);
    assert.match(pruned[0] ?? '', /^Freed \d+ MB on drive E \(the drive holds far more than its backups use\)\.$/, `the newest prune: ${JSON.stringify(pruned.slice(0, 3))}`);
    const entry = await box.entry('E');
    assert.ok(entry.freeBytes !== null && entry.freeBytes > 200 * MiB, `free after the run (about 100 MB before the prune; 5% of the filesystem is reserved for root): ${entry.freeBytes}`);
  });

  it('says what an interrupted run wrote: the source written before the cable was pulled, and the one cut short', async () => {
    await newFilms();
    const since = await box.lastJobId();
    await runNow();
    await readingFilms(since, 30 * MiB);
    await pullOut(disk);
    const job = await box.jobEnded('backup.rotation', driveId, since, 120_000);
    assert.equal(job.state, 'interrupted', job.message ?? '');
    const [last] = await box.runs(driveId);
    assert.equal(last!.outcome, 'interrupted');
    const [docsResult, filmsResult] = [last!.sources.find((s) => s.name === 'docs'), last!.sources.find((s) => s.name === 'films')];
    assert.equal(docsResult?.outcome, 'backed-up');
    assert.ok(docsResult?.snapshotId, 'the snapshot written before the pull');
    assert.match(docsResult?.message ?? '', /not verified/);
    assert.equal(filmsResult?.outcome, 'interrupted');
    assert.equal(filmsResult?.snapshotId, null);
    assert.match(job.message ?? '', /Drive E was unplugged or stopped answering during the backup\./);
    assert.match(job.message ?? '', /"docs" was backed up before that \(snapshot [0-9a-f]{8}\), but not verified/);
    assert.match(job.message ?? '', /"films" was cut short: nothing of it was kept/);
    assert.doesNotMatch(job.message ?? '', /Nothing of this run counts/);
  });
});
