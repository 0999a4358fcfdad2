/**
 * The backup benchmark (`make bench`; results go in bench/README.md by hand). Root only: it
 * attaches loop devices and mounts filesystems; not root, it says why and exits 0.
 *
 * Question (issue 4): how long does Safehold's backup of a tree of many small files and some large
 * ones take, against restic run by hand on the same tree in the same run (target: within 5%), and
 * how much memory does the service take during the job?
 *
 * - Data: a generated tree (bench/generated-tree.ts, seeded: the same bytes every run), ~20,000
 *   text-like files of 1–16 KiB in nested folders and 8 files of 32–64 MiB of random bytes.
 * - Both sides write to a fresh loop-device ext4 filesystem made with Safehold's own mkfs options
 *   and mounted with its own mount options, on the same machine, one after the other, never at once.
 * - Reference ("restic by hand"): the exact command line Safehold's restic adapter builds
 *   (`ResticAdapter.commandFor`: `ionice -c 3 nice -n 19 restic backup --repo=… --password-file=…
 *   --no-cache …`, GOMAXPROCS = cores − 1, RESTIC_PROGRESS_FPS = 2), spawned directly and timed
 *   from spawn to exit. Around it, by hand, the other steps of Safehold's job: mount, `restic check
 *   --read-data-subset=n/8`, a restore of a 20-file sample compared byte for byte, sync + unmount
 *   + flush. Also once with restic's own defaults (no ionice/nice, all cores, a cache), to show what
 *   Safehold's priority choices cost.
 * - Safehold: the real service (`bin/safehold serve`, real Linux adapters), a source on the tree,
 *   a fresh loop disk registered as a rotation drive (keep mode), whose backup job
 *   (`backup.rotation`) starts by itself after registration (or by `POST
 *   /backups/drives/:id/run`), then a second job after ~1% of the files changed. Its restic
 *   children are watched through /proc (bench/process-watch.ts), so the job's `restic backup` step
 *   is timed on its own, and the rest of the job is broken down by program.
 * - Memory: the service's node process, VmHWM reset (`/proc/PID/clear_refs`) before each job and
 *   read after it, and VmRSS sampled every 50 ms; restic's own VmHWM sampled the same way.
 * - Page cache dropped (`sync`, `echo 3 > /proc/sys/vm/drop_caches`) before each timed backup;
 *   runs alternate (reference, Safehold, reference, Safehold…); medians are reported.
 * - A shared machine: restic runs at idle priority, so other people's work takes the CPU from it.
 *   Before each timed backup the bench waits (at most `quietWaitMs`) for other programs to leave the
 *   CPU nearly idle; it records the CPU they took during each backup step, reports the medians of
 *   the quiet runs apart, and compares restic's own CPU time too. A run that fails (another test
 *   may detach a loop device) is tried once more.
 *
 * Options: `--runs N` (pairs of runs, default 5), `--quick` (a small tree and one run, to try the
 * bench itself). Everything is made under `safehold-test-<pid>-…` names (removed on every exit
 * path, loop devices detached; a crashed run's leftovers are removed by the next one).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { MKFS_EXT4_OPTIONS, mountOptionsFor } from '../system/mounts/linux-mounts.adapter.js';
import { checked, ProcessCommandRunner } from '../system/process/command-runner.js';
import { includePatternFor, ResticAdapter } from '../system/restic/restic.adapter.js';
import type { ResticRepository } from '../system/restic/restic.js';
import { isInstalled } from '../system/tools.js';
import { cleanupLeftovers, forceUnmount, loopDiskSkipReason, removeDataFolder, testName } from '../test/testing/loop-disk.js';
import { Browserish, startServiceProcess, type ServiceProcess } from '../test/testing/service.js';
import { applyChange, DEFAULT_TREE, generateTree, sampleFiles, type GeneratedTree, type TreeSpec } from './generated-tree.js';
import { commandName, cpuSecondsOf, memoryOf, othersDuring, ProcessWatch, resetPeak, type SeenProcess, type Watched } from './process-watch.js';

const MiB = 1024 * 1024;

/** Settings of one run; times in milliseconds, sizes in bytes unless named otherwise. */
const SETTINGS = {
  /** Pairs of runs (reference, then Safehold), each a first and an incremental backup. */
  runs: 5,
  /** Size of each loop disk (a sparse image). */
  diskMiB: 2048,
  /** `t` of `--read-data-subset n/t`: Safehold's default (docs/backup-drives.md). */
  checkSlices: 8,
  /** The restore drill's sample: Safehold's defaults (20 files, at most 200 MB). */
  drillFiles: 20,
  drillMaxBytes: 200_000_000,
  /** How often /proc is read for the service's children and memory. */
  watchMs: 50,
  /** Before each timed backup, wait up to this long for a moment when other programs leave the machine nearly idle. */
  quietWaitMs: 30_000,
  /** How long to wait for the backup job to start by itself after registration, before starting it by the API. */
  autoStartWaitMs: 15_000,
  jobTimeoutMs: 60 * 60_000,
  sourceName: 'bench',
};

/** Other programs used under this share of one core during a backup step: a quiet run. */
const QUIET_SHARE = 0.1;

const QUICK_TREE: TreeSpec = { ...DEFAULT_TREE, smallFiles: 2_000, largeFiles: 2, largeMinBytes: 8 * MiB, largeMaxBytes: 16 * MiB };

const runner = new ProcessCommandRunner();
const adapter = new ResticAdapter({ runner });
/** restic's environment as Safehold's adapter sets it. */
const SAFEHOLD_RESTIC_ENV = adapter.environment();

const say = (line: string) => process.stderr.write(`backup bench: ${line}\n`);
const epochNow = () => performance.timeOrigin + performance.now();
const seconds = (ms: number) => (ms / 1000).toFixed(2);

// ---------------------------------------------------------------------------------------------
// Loop disks, made like Safehold formats a drive, tracked so that every exit path detaches them.

interface BenchDisk {
  device: string;
  image: string;
  uuid: string;
  label: string;
}

const disks = new Set<BenchDisk>();
const mountDirs = new Set<string>();

/** A sparse image formatted with Safehold's ext4 options (before it is attached, so the service never sees it half-made), then attached. */
async function makeDisk(label: string): Promise<BenchDisk> {
  const image = join(tmpdir(), testName('.img'));
  const file = await open(image, 'w');
  await file.truncate(SETTINGS.diskMiB * MiB);
  await file.close();
  const uuid = randomUUID();
  try {
    await checked(runner, 'mkfs.ext4', ['-q', ...MKFS_EXT4_OPTIONS, '-L', label, '-U', uuid, image], { timeoutMs: 5 * 60_000 });
    const device = (await checked(runner, 'losetup', ['--find', '--show', image])).stdout.trim();
    const disk = { device, image, uuid, label };
    disks.add(disk);
    return disk;
  } catch (error) {
    await rm(image, { force: true });
    throw error;
  }
}

/**
 * Whether the loop device still has this disk's image behind it. Other people's tests attach and
 * detach loop devices on the same machine; a device detached by name after a deferred detach can be
 * someone else's by then, so nothing here detaches or mounts a device without asking first.
 */
async function stillOurs(disk: BenchDisk): Promise<boolean> {
  const backing = await readFile(`/sys/block/${disk.device.replace('/dev/', '')}/loop/backing_file`, 'utf8').catch(() => '');
  return backing.trim() === disk.image;
}

async function removeDisk(disk: BenchDisk): Promise<void> {
  try {
    if (await stillOurs(disk)) await runner.run('losetup', ['--detach', disk.device]);
  } finally {
    await rm(disk.image, { force: true });
    disks.delete(disk);
  }
}

/** The loop device was detached from under the bench (by someone else's test on a shared machine). */
class LostDiskError extends Error {
  constructor(disk: BenchDisk) {
    super(`${disk.device} no longer has ${disk.image} behind it: something else on this machine detached it`);
  }
}

/** Mounts with the options Safehold's mount adapter passes for ext4. Returns the elapsed ms. */
async function mountDisk(disk: BenchDisk, dir: string): Promise<number> {
  const chosen = mountOptionsFor('ext4', false)!;
  const started = performance.now();
  await mkdir(dir, { recursive: true });
  if (!(await stillOurs(disk))) throw new LostDiskError(disk);
  await checked(runner, 'mount', ['-t', chosen.kernelType, '-o', chosen.options.join(','), disk.device, dir]);
  mountDirs.add(dir);
  return performance.now() - started;
}

/** What Safehold's unmount does: syncfs, umount, flush the device's buffers. Returns the elapsed ms. */
async function unmountDisk(disk: BenchDisk, dir: string): Promise<number> {
  const started = performance.now();
  await checked(runner, 'sync', ['-f', dir]);
  await checked(runner, 'umount', [dir]);
  await runner.run('blockdev', ['--flushbufs', disk.device]);
  mountDirs.delete(dir);
  return performance.now() - started;
}

let quietWaitedMs = 0;

/**
 * Waits (at most `SETTINGS.quietWaitMs`) until other programs on the machine use under
 * `QUIET_SHARE` of one core over 1.5 s: on a shared machine, someone else's tests or browser would
 * otherwise take the CPU from restic, which runs at idle priority. Instant on a machine of its own.
 */
async function waitForQuiet(): Promise<void> {
  const started = performance.now();
  for (;;) {
    const watch = new ProcessWatch(process.pid, 250).start();
    await sleep(1_500);
    const watched = watch.stop();
    const { seconds, othersCpuSeconds } = othersDuring(watched, watched.ticks[0]!.atMs, watched.ticks.at(-1)!.atMs);
    if (othersCpuSeconds < QUIET_SHARE * seconds || performance.now() - started > SETTINGS.quietWaitMs) break;
  }
  quietWaitedMs += performance.now() - started;
}

/** Writes dirty pages out and drops the page cache, so every backup reads the tree from the disk alike. */
async function dropCaches(): Promise<boolean> {
  await checked(runner, 'sync', []);
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// restic by hand

interface Timed {
  ms: number;
  exitCode: number | null;
  /** restic's `summary` JSON line, for backups. */
  summary: Record<string, number | string> | null;
  /** restic's peak VmHWM (sampled), KiB. */
  peakKiB: number;
  /** restic's own CPU seconds (user + system; sampled, so up to one interval short). */
  cpuSeconds: number;
  /** CPU seconds that programs outside this bench's process tree used meanwhile (other work on the machine). */
  othersCpuSeconds: number;
  stderr: string;
}

/** Spawns `argv` (no shell), drains its output, and times it from spawn to exit. */
async function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const watch = new ProcessWatch(process.pid, SETTINGS.watchMs);
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  watch.start();
  let summary: Timed['summary'] = null;
  let rest = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.includes('"message_type":"summary"')) summary = JSON.parse(line) as Timed['summary'];
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exitCode = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => done(code));
  });
  const ms = performance.now() - started;
  const watched = watch.stop();
  const seen = watched.processes.filter((p) => p.pid === child.pid);
  return {
    ms,
    exitCode,
    summary,
    peakKiB: Math.max(0, ...seen.map((p) => p.peakKiB)),
    cpuSeconds: Math.max(0, ...seen.map((p) => p.cpuSeconds)),
    othersCpuSeconds: othersDuring(watched, watched.ticks[0]!.atMs, watched.ticks.at(-1)!.atMs).othersCpuSeconds,
    stderr,
  };
}

async function resticByHand(repo: ResticRepository, args: string[], defaults?: { cacheDir: string }): Promise<Timed> {
  let argv: string[];
  let env: NodeJS.ProcessEnv;
  if (defaults) {
    argv = ['restic', args[0]!, `--repo=${repo.path}`, `--password-file=${repo.passwordFile}`, `--cache-dir=${defaults.cacheDir}`, ...args.slice(1)];
    env = { ...process.env, RESTIC_PASSWORD: '', RESTIC_REPOSITORY: '' };
    delete env.GOMAXPROCS;
  } else {
    argv = await adapter.commandFor(repo, args);
    env = { ...process.env, ...SAFEHOLD_RESTIC_ENV };
  }
  const result = await timed(argv, env);
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} exited with ${result.exitCode}: ${result.stderr.slice(-1000)}`);
  return result;
}

/** The backup arguments Safehold's job passes (tag = the source's name). */
const backupArgs = (tree: GeneratedTree) => ['backup', '--json', `--tag=${SETTINGS.sourceName}`, '--', tree.root];

/** One reference backup and, around it, the other steps of Safehold's job, each timed. */
interface ReferenceBackup {
  backupMs: number;
  summary: Timed['summary'];
  resticPeakKiB: number;
  resticCpuSeconds: number;
  othersCpuSeconds: number;
  steps: { mount: number; backup: number; check: number; drill: number; unmount: number };
  totalMs: number;
}

async function referenceBackup(
  disk: BenchDisk,
  mnt: string,
  repo: ResticRepository,
  tree: GeneratedTree,
  slice: number,
  work: string,
  seed: number,
): Promise<ReferenceBackup> {
  await waitForQuiet();
  await dropCaches();
  const mount = await mountDisk(disk, mnt);
  const backup = await resticByHand(repo, backupArgs(tree));
  const check = (await resticByHand(repo, ['check', `--read-data-subset=${slice}/${SETTINGS.checkSlices}`])).ms;
  // The drill: restore a sample into a scratch folder on the box and compare it with the tree.
  const drillStarted = performance.now();
  const sample = sampleFiles(tree, SETTINGS.drillFiles, SETTINGS.drillMaxBytes, seed);
  const scratch = join(work, testName('-drill'));
  await mkdir(scratch);
  const snapshotId = String(backup.summary?.snapshot_id ?? 'latest');
  await resticByHand(repo, ['restore', `--target=${scratch}`, ...sample.map((f) => `--include=${includePatternFor(join(tree.root, f.rel))}`), '--', snapshotId]);
  for (const file of sample) {
    const [restored, original] = await Promise.all([readFile(join(scratch, tree.root, file.rel)), readFile(join(tree.root, file.rel))]);
    if (!restored.equals(original)) throw new Error(`reference drill: ${file.rel} differs after restore`);
  }
  await rm(scratch, { recursive: true, force: true });
  const drill = performance.now() - drillStarted;
  const unmount = await unmountDisk(disk, mnt);
  const steps = { mount, backup: backup.ms, check, drill, unmount };
  return {
    backupMs: backup.ms,
    summary: backup.summary,
    resticPeakKiB: backup.peakKiB,
    resticCpuSeconds: backup.cpuSeconds,
    othersCpuSeconds: backup.othersCpuSeconds,
    steps,
    totalMs: Object.values(steps).reduce((a, b) => a + b, 0),
  };
}

interface ReferenceRun {
  first: ReferenceBackup;
  incremental: ReferenceBackup;
}

async function referenceRun(tree: GeneratedTree, work: string, run: number): Promise<ReferenceRun> {
  const disk = await makeDisk(`BENCH-R${run}`);
  const mnt = join(work, testName('-mnt'));
  try {
    // Like registration: the repository exists (empty) and the drive is unmounted before the job.
    await mountDisk(disk, mnt);
    const repo = { path: join(mnt, 'Safehold', 'repository'), passwordFile: join(work, 'password') };
    await mkdir(join(mnt, 'Safehold'));
    await resticByHand(repo, ['init']);
    await unmountDisk(disk, mnt);
    const first = await referenceBackup(disk, mnt, repo, tree, 1, work, run * 2);
    await applyChange(tree, 1);
    try {
      const incremental = await referenceBackup(disk, mnt, repo, tree, 2, work, run * 2 + 1);
      return { first, incremental };
    } finally {
      await applyChange(tree, 0);
    }
  } finally {
    await forceUnmount(mnt, runner);
    mountDirs.delete(mnt);
    await removeDisk(disk);
    await rm(mnt, { recursive: true, force: true });
  }
}

/** restic with its own defaults (no ionice/nice, every core, a cache): the backup alone, first and incremental. */
async function defaultsRun(tree: GeneratedTree, work: string): Promise<{ first: Timed; incremental: Timed }> {
  const disk = await makeDisk('BENCH-D');
  const mnt = join(work, testName('-mnt'));
  const cacheDir = join(work, testName('-cache'));
  try {
    await mountDisk(disk, mnt);
    const repo = { path: join(mnt, 'repository'), passwordFile: join(work, 'password') };
    await resticByHand(repo, ['init'], { cacheDir });
    await waitForQuiet();
    await dropCaches();
    const first = await resticByHand(repo, backupArgs(tree), { cacheDir });
    await applyChange(tree, 1);
    try {
      await waitForQuiet();
      await dropCaches();
      const incremental = await resticByHand(repo, backupArgs(tree), { cacheDir });
      return { first, incremental };
    } finally {
      await applyChange(tree, 0);
    }
  } finally {
    await forceUnmount(mnt, runner);
    mountDirs.delete(mnt);
    await removeDisk(disk);
    await rm(mnt, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Safehold

interface JobJson {
  id: number;
  kind: string;
  target: string | null;
  state: string;
  message: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface RunJson {
  id: number;
  jobId: number | null;
  outcome: string;
  message: string | null;
  startedAt: string;
  finishedAt: string | null;
  sources: Array<{ name: string; outcome: string; files: number | null; bytes: number | null; filesNew: number | null; filesChanged: number | null; message: string | null }>;
  check: { ok: boolean; slice: string } | null;
  drill: { ok: boolean; files: number; bytes: number; note: string | null } | null;
  safeToUnplug: boolean;
}

interface SafeholdBackup {
  job: JobJson;
  run: RunJson | null;
  /** The job, from its own startedAt to finishedAt. */
  jobMs: number;
  /** The job's `restic backup` process, first to last seen. */
  backupMs: number;
  /** Time in each program the job ran (union of lifetimes per name), and outside any program seen. */
  programs: Array<{ name: string; ms: number; count: number }>;
  outsideMs: number;
  /** Time outside any program seen, summed by the program that came next (`restic restore`: the drill's choice of files before it). */
  gapsBefore: Map<string, number>;
  resticPeakKiB: number;
  resticCpuSeconds: number;
  /** CPU seconds that programs outside the bench's tree (other work on the machine) used during the backup step. */
  othersCpuSeconds: number;
  /** The service's VmHWM after the job (reset before it), and its highest sampled VmRSS during the job. */
  servicePeakKiB: number;
  serviceSampledPeakKiB: number;
  serviceCpuSeconds: number;
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'interrupted'];

class SafeholdSide {
  constructor(
    readonly svc: ServiceProcess,
    readonly admin: Browserish,
    readonly nodePid: number,
  ) {}

  async job(id: number): Promise<JobJson> {
    const res = await this.admin.get(`/jobs/${id}`);
    if (res.status !== 200) throw new Error(`GET /jobs/${id}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json as JobJson;
  }

  async finish(id: number, what: string): Promise<JobJson> {
    const deadline = Date.now() + SETTINGS.jobTimeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (TERMINAL.includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`${what} (job ${id}) did not end within ${SETTINGS.jobTimeoutMs / 60_000} minutes`);
      if (this.svc.child.exitCode !== null) throw new Error(`the service exited (${this.svc.child.exitCode}) during ${what}`);
      await sleep(200);
    }
  }

  async driveFor(disk: BenchDisk): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const drives = (await this.admin.get('/drives')).json.drives as Array<{ id: string; path: string; partitions: Array<{ uuid: string | null; fsType: string | null }> }>;
      const drive = drives.find((d) => d.path === disk.device && d.partitions.some((p) => p.uuid === disk.uuid));
      if (drive) return drive.id;
      if (Date.now() > deadline) throw new Error(`the service did not list ${disk.device} (uuid ${disk.uuid}) within 30 s`);
      await sleep(200);
    }
  }

  /** The backup job for `driveId` created after job `afterId`, if any. */
  async backupJobAfter(driveId: string, afterId: number): Promise<JobJson | undefined> {
    const jobs = (await this.admin.get('/jobs?limit=50')).json.jobs as JobJson[];
    return jobs.find((j) => j.kind === 'backup.rotation' && j.target === driveId && j.id > afterId);
  }

  /** Watches the service while `start` starts a backup job and until that job ends. */
  async measured(start: () => Promise<JobJson>, driveId: string): Promise<SafeholdBackup> {
    const reset = resetPeak(this.nodePid);
    const cpuBefore = cpuSecondsOf(this.nodePid);
    // Watched from the bench's own process: the service is its child, restic the service's.
    const watch = new ProcessWatch(process.pid, SETTINGS.watchMs).start();
    const rssSamples: Array<{ at: number; rssKiB: number }> = [];
    const sampler = setInterval(() => {
      const m = memoryOf(this.nodePid);
      if (m) rssSamples.push({ at: epochNow(), rssKiB: m.rssKiB });
    }, SETTINGS.watchMs);
    let job: JobJson;
    let watched: Watched;
    try {
      const started = await start();
      job = await this.finish(started.id, 'the backup job');
    } finally {
      clearInterval(sampler);
      watched = watch.stop();
    }
    const seen = watched.processes.filter((p) => p.pid !== process.pid && p.pid !== this.nodePid);
    const hwm = memoryOf(this.nodePid);
    const cpuAfter = cpuSecondsOf(this.nodePid);
    if (job.state !== 'succeeded') throw new Error(`the backup job ended ${job.state}: ${job.message ?? ''}`);
    const from = Date.parse(job.startedAt!);
    const to = Date.parse(job.finishedAt!);
    // Processes gone before their command line could be read (zombies, kernel names) have no name: left out.
    const inJob = seen.filter((p) => p.lastSeenMs >= from && p.firstSeenMs <= to && p.argv.length > 0);
    const backups = inJob.filter((p) => commandName(p.argv) === 'restic backup');
    if (backups.length === 0) {
      const programs = seen.map((p) => `${commandName(p.argv)} ${new Date(p.firstSeenMs).toISOString()}–${new Date(p.lastSeenMs).toISOString()}`);
      throw new Error(`no "restic backup" process of the service was seen during the job ${job.id} (${job.startedAt}–${job.finishedAt}: "${job.message}"); seen: ${programs.join('; ')}`);
    }
    const runs = (await this.admin.get(`/backups/runs?drive=${encodeURIComponent(driveId)}&limit=5`)).json?.runs as RunJson[] | undefined;
    const byName = new Map<string, SeenProcess[]>();
    for (const p of inJob) {
      const name = commandName(p.argv);
      byName.set(name, [...(byName.get(name) ?? []), p]);
    }
    const programs = [...byName].map(([name, list]) => ({ name, ms: unionMs(list.map((p) => [p.firstSeenMs, p.lastSeenMs])), count: list.length }));
    programs.sort((a, b) => b.ms - a.ms);
    const inside = unionMs(inJob.map((p) => [Math.max(from, p.firstSeenMs), Math.min(to, p.lastSeenMs)]));
    const gapsBefore = new Map<string, number>();
    let covered = from;
    for (const p of [...inJob].sort((a, b) => a.firstSeenMs - b.firstSeenMs)) {
      const gap = p.firstSeenMs - covered;
      if (gap > 0) gapsBefore.set(commandName(p.argv), (gapsBefore.get(commandName(p.argv)) ?? 0) + gap);
      covered = Math.max(covered, p.lastSeenMs);
    }
    if (to > covered) gapsBefore.set('the end of the job', to - covered);
    const inWindow = rssSamples.filter((s) => s.at >= from && s.at <= to);
    return {
      job,
      run: runs?.find((r) => r.jobId === job.id) ?? null,
      jobMs: to - from,
      backupMs: unionMs(backups.map((p) => [p.firstSeenMs, p.lastSeenMs])),
      programs,
      outsideMs: to - from - inside,
      gapsBefore,
      resticPeakKiB: Math.max(...backups.map((p) => p.peakKiB)),
      resticCpuSeconds: backups.reduce((sum, p) => sum + p.cpuSeconds, 0),
      othersCpuSeconds: othersDuring(watched, Math.min(...backups.map((p) => p.firstSeenMs)), Math.max(...backups.map((p) => p.lastSeenMs))).othersCpuSeconds,
      servicePeakKiB: reset && hwm ? hwm.hwmKiB : NaN,
      serviceSampledPeakKiB: Math.max(0, ...inWindow.map((s) => s.rssKiB)),
      serviceCpuSeconds: cpuAfter - cpuBefore,
    };
  }
}

/** Total length of the union of [from, to] intervals, in ms. */
function unionMs(intervals: Array<[number, number] | number[]>): number {
  const sorted = intervals.filter(([a, b]) => b! >= a!).sort((x, y) => x[0]! - y[0]!);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of sorted) {
    const start = Math.max(a!, end);
    if (b! > start) total += b! - start;
    end = Math.max(end, b!);
  }
  return total;
}

interface SafeholdRun {
  first: SafeholdBackup;
  incremental: SafeholdBackup;
}

/** Why Safehold's backup job cannot be measured in this checkout, or undefined when it can. */
async function jobUnavailable(side: SafeholdSide): Promise<string | undefined> {
  const res = await side.admin.post('/backups/drives/no-such-drive/run', {});
  if (res.status === 404 && JSON.stringify(res.json ?? '').includes('There is no API route')) return 'POST /backups/drives/:driveId/run is not there yet (404, no such route)';
  if (res.status === 404 || res.status === 409 || res.status === 400) return undefined;
  return `POST /backups/drives/:driveId/run answered ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`;
}

async function safeholdRun(side: SafeholdSide, tree: GeneratedTree, run: number): Promise<SafeholdRun> {
  const disk = await makeDisk(`BENCH-S${run}`);
  try {
    const driveId = await side.driveFor(disk);
    await waitForQuiet();
    await dropCaches();
    // Registration creates the repository and unmounts; the backup job then starts by itself.
    const first = await side.measured(async () => {
      const res = await side.admin.post('/rotation/drives', { driveId, name: `S${run}`, mode: 'keep' });
      if (res.status !== 202) throw new Error(`POST /rotation/drives: ${res.status} ${JSON.stringify(res.json)}`);
      const registration = await side.finish(res.json.job.id as number, 'the registration');
      if (registration.state !== 'succeeded') throw new Error(`registration ended ${registration.state}: ${registration.message ?? ''}`);
      const deadline = Date.now() + SETTINGS.autoStartWaitMs;
      for (;;) {
        const job = await side.backupJobAfter(driveId, registration.id);
        if (job) return job;
        if (Date.now() > deadline) break;
        await sleep(100);
      }
      say(`run ${run}: no backup job started by itself within ${SETTINGS.autoStartWaitMs / 1000} s of the registration: starting it by the API`);
      return startBackup(side, driveId);
    }, driveId);
    await applyChange(tree, 1);
    try {
      await waitForQuiet();
      await dropCaches();
      const incremental = await side.measured(() => startBackup(side, driveId), driveId);
      return { first, incremental };
    } finally {
      await applyChange(tree, 0);
    }
  } finally {
    await unmountUnder(side.svc.dataDir);
    await removeDisk(disk);
  }
}

async function startBackup(side: SafeholdSide, driveId: string): Promise<JobJson> {
  const res = await side.admin.post(`/backups/drives/${encodeURIComponent(driveId)}/run`, {});
  if (res.status !== 202) throw new Error(`POST /backups/drives/${driveId}/run: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.job as JobJson;
}

/** Unmounts whatever is still mounted under `dir` (a failed job's drive). */
async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const targets = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((t): t is string => t !== undefined && t.startsWith(`${dir}/`));
  for (const target of targets.reverse()) await forceUnmount(target.replace(/\\040/g, ' '), runner);
}

// ---------------------------------------------------------------------------------------------
// Report

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const mib = (kib: number) => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : '–');
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}×`;
const percentOver = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function describeTree(tree: GeneratedTree): string {
  const small = tree.files.filter((f) => !f.large);
  const large = tree.files.filter((f) => f.large);
  const sum = (list: typeof small) => list.reduce((s, f) => s + f.size, 0);
  return (
    `${tree.files.length.toLocaleString('en')} files in ${tree.folders} folders, ${(tree.bytes / MiB).toFixed(1)} MiB: ` +
    `${small.length.toLocaleString('en')} text-like files of ${tree.spec.smallMinBytes / 1024}–${tree.spec.smallMaxBytes / 1024} KiB (${(sum(small) / MiB).toFixed(1)} MiB), ` +
    `${large.length} files of random bytes, ${large.map((f) => f.size / MiB).join(', ')} MiB (${(sum(large) / MiB).toFixed(1)} MiB); ` +
    `incremental change: ${tree.changedSmall.length} small files rewritten and 1 MiB of one large file overwritten (${tree.changedSmall.length + (tree.changedLarge >= 0 ? 1 : 0)} files, ${(tree.changeBytes / MiB).toFixed(1)} MiB)`
  );
}

const quiet = (b: { othersCpuSeconds: number; backupMs: number }) => b.othersCpuSeconds < (QUIET_SHARE * b.backupMs) / 1000;

function report(
  tree: GeneratedTree,
  reference: ReferenceRun[],
  safehold: SafeholdRun[],
  defaults: { first: Timed; incremental: Timed } | null,
  notes: { commandLine: string; cachesDropped: boolean; safeholdSkipped: string | null; elapsedMs: number },
): void {
  const out: string[] = [''];
  out.push(`Safehold backup benchmark: ${describeTree(tree)}`);
  out.push(
    `${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; ` +
      `loop-device ext4 (Safehold's mkfs and mount options), ${SETTINGS.diskMiB} MiB sparse images in ${tmpdir()}; ` +
      `page cache ${notes.cachesDropped ? 'dropped before each backup' : 'NOT dropped (could not write /proc/sys/vm/drop_caches)'}; ` +
      `${reference.length} reference and ${safehold.length} Safehold runs, alternating; medians.`,
  );
  out.push(`restic by hand, as Safehold's adapter runs it: ${notes.commandLine}`);
  out.push(`  with GOMAXPROCS=${SAFEHOLD_RESTIC_ENV.GOMAXPROCS} RESTIC_PROGRESS_FPS=${SAFEHOLD_RESTIC_ENV.RESTIC_PROGRESS_FPS}; timed from spawn to exit.`);
  out.push('');

  const ref = {
    firstBackup: median(reference.map((r) => r.first.backupMs)),
    incBackup: median(reference.map((r) => r.incremental.backupMs)),
    firstTotal: median(reference.map((r) => r.first.totalMs)),
    incTotal: median(reference.map((r) => r.incremental.totalMs)),
    firstPeak: median(reference.map((r) => r.first.resticPeakKiB)),
    incPeak: median(reference.map((r) => r.incremental.resticPeakKiB)),
    firstCpu: median(reference.map((r) => r.first.resticCpuSeconds)),
    incCpu: median(reference.map((r) => r.incremental.resticCpuSeconds)),
  };
  const rows = [['measure', 'Safehold', 'restic by hand', 'ratio', 'over', "restic's defaults", 'ratio']];
  const dash = ['–', '–', '–', '–'];
  if (safehold.length > 0) {
    const sh = {
      firstBackup: median(safehold.map((r) => r.first.backupMs)),
      incBackup: median(safehold.map((r) => r.incremental.backupMs)),
      firstJob: median(safehold.map((r) => r.first.jobMs)),
      incJob: median(safehold.map((r) => r.incremental.jobMs)),
      firstPeak: median(safehold.map((r) => r.first.resticPeakKiB)),
      incPeak: median(safehold.map((r) => r.incremental.resticPeakKiB)),
      firstCpu: median(safehold.map((r) => r.first.resticCpuSeconds)),
      incCpu: median(safehold.map((r) => r.incremental.resticCpuSeconds)),
    };
    const d = (t: Timed | undefined, vs: number) => (t ? [seconds(t.ms), ratio(vs, t.ms)] : ['–', '–']);
    rows.push(['first backup: the restic backup step (s)', seconds(sh.firstBackup), seconds(ref.firstBackup), ratio(sh.firstBackup, ref.firstBackup), percentOver(sh.firstBackup, ref.firstBackup), ...d(defaults?.first, sh.firstBackup)]);
    rows.push(['incremental backup: the restic backup step (s)', seconds(sh.incBackup), seconds(ref.incBackup), ratio(sh.incBackup, ref.incBackup), percentOver(sh.incBackup, ref.incBackup), ...d(defaults?.incremental, sh.incBackup)]);
    for (const which of ['first', 'incremental'] as const) {
      const r = reference.filter((x) => quiet(x[which])).map((x) => x[which].backupMs);
      const q = safehold.filter((x) => quiet(x[which])).map((x) => x[which].backupMs);
      const label = `${which === 'first' ? 'first' : 'incremental'} backup, quiet runs only (${q.length} and ${r.length}): the restic backup step (s)`;
      if (r.length > 0 && q.length > 0) rows.push([label, seconds(median(q)), seconds(median(r)), ratio(median(q), median(r)), percentOver(median(q), median(r)), '–', '–']);
      else rows.push([label, q.length ? seconds(median(q)) : '–', r.length ? seconds(median(r)) : '–', '–', '–', '–', '–']);
    }
    rows.push(["first backup: restic backup's CPU time (s)", sh.firstCpu.toFixed(2), ref.firstCpu.toFixed(2), ratio(sh.firstCpu, ref.firstCpu), percentOver(sh.firstCpu, ref.firstCpu), defaults ? defaults.first.cpuSeconds.toFixed(2) : '–', '–']);
    rows.push(["incremental backup: restic backup's CPU time (s)", sh.incCpu.toFixed(2), ref.incCpu.toFixed(2), ratio(sh.incCpu, ref.incCpu), percentOver(sh.incCpu, ref.incCpu), defaults ? defaults.incremental.cpuSeconds.toFixed(2) : '–', '–']);
    rows.push(['first backup: the whole job vs the same steps by hand (s)', seconds(sh.firstJob), seconds(ref.firstTotal), ratio(sh.firstJob, ref.firstTotal), percentOver(sh.firstJob, ref.firstTotal), '–', '–']);
    rows.push(['incremental backup: the whole job vs the same steps by hand (s)', seconds(sh.incJob), seconds(ref.incTotal), ratio(sh.incJob, ref.incTotal), percentOver(sh.incJob, ref.incTotal), '–', '–']);
    rows.push(["first backup: restic's peak memory (MiB)", mib(sh.firstPeak), mib(ref.firstPeak), ratio(sh.firstPeak, ref.firstPeak), '–', mib(defaults?.first.peakKiB ?? NaN), '–']);
    rows.push(["incremental backup: restic's peak memory (MiB)", mib(sh.incPeak), mib(ref.incPeak), ratio(sh.incPeak, ref.incPeak), '–', mib(defaults?.incremental.peakKiB ?? NaN), '–']);
    rows.push(["the service's peak memory during the first job (MiB)", mib(median(safehold.map((r) => r.first.servicePeakKiB))), '–', ...dash]);
    rows.push(["the service's peak memory during the incremental job (MiB)", mib(median(safehold.map((r) => r.incremental.servicePeakKiB))), '–', ...dash]);
  } else {
    rows.push(['first backup: restic backup (s)', '–', seconds(ref.firstBackup), '–', '–', defaults ? seconds(defaults.first.ms) : '–', '–']);
    rows.push(['incremental backup: restic backup (s)', '–', seconds(ref.incBackup), '–', '–', defaults ? seconds(defaults.incremental.ms) : '–', '–']);
    rows.push(['first backup: backup + check + drill + mount/unmount (s)', '–', seconds(ref.firstTotal), ...dash]);
    rows.push(['incremental backup: backup + check + drill + mount/unmount (s)', '–', seconds(ref.incTotal), ...dash]);
  }
  out.push(table(rows));
  out.push('');
  if (notes.safeholdSkipped) out.push(`Safehold was NOT measured: ${notes.safeholdSkipped}.`, '');
  out.push('How to read it:');
  out.push('- "the restic backup step": Safehold\'s job\'s own `restic backup` process, first to last seen in /proc (every 50 ms),');
  out.push('  against the same command spawned by hand (spawn to exit). The ratio is what Safehold does to restic itself while it runs.');
  out.push(`- "the whole job": the backup.rotation job from its startedAt to its finishedAt (mount, checks, every restic call, catalog, drill, unmount),`);
  out.push(`  against the same steps by hand: mount + restic backup + restic check --read-data-subset=n/${SETTINGS.checkSlices} + restore of ${SETTINGS.drillFiles} files compared byte for byte + sync/umount/flush.`);
  out.push('- "restic\'s defaults": restic backup with no ionice/nice, every core and a cache: what Safehold\'s priority choices cost on an idle box.');
  out.push('- memory: restic\'s VmHWM and the service\'s (reset before each job, read after it; the first job\'s includes the registration).');
  out.push(`- "quiet runs only": the runs during whose backup step other programs on the machine used under ${QUIET_SHARE * 100}% of one core (counts: Safehold and by hand).`);
  out.push('- "over": how much longer Safehold took than the reference, in percent (the target of issue 4 is within 5% of plain restic).');
  out.push('');

  const each = (label: string, values: number[]) => `${label} ${values.map((v) => seconds(v)).join(', ')}`;
  out.push('Each run (s):');
  out.push(`  ${each('reference, first backup:', reference.map((r) => r.first.backupMs))}; incremental: ${reference.map((r) => seconds(r.incremental.backupMs)).join(', ')}`);
  out.push(`  ${each('reference, first, all steps:', reference.map((r) => r.first.totalMs))}; incremental: ${reference.map((r) => seconds(r.incremental.totalMs)).join(', ')}`);
  for (const [i, r] of reference.entries()) {
    const s = (b: ReferenceBackup) => Object.entries(b.steps).map(([k, v]) => `${k} ${seconds(v)}`).join(', ');
    out.push(`  reference run ${i + 1}: first [${s(r.first)}]; incremental [${s(r.incremental)}]`);
  }
  if (safehold.length > 0) {
    out.push(`  ${each('Safehold, first backup step:', safehold.map((r) => r.first.backupMs))}; incremental: ${safehold.map((r) => seconds(r.incremental.backupMs)).join(', ')}`);
    out.push(`  ${each('Safehold, first whole job:', safehold.map((r) => r.first.jobMs))}; incremental: ${safehold.map((r) => seconds(r.incremental.jobMs)).join(', ')}`);
  }
  const others = (label: string, list: Array<{ first: { othersCpuSeconds: number }; incremental: { othersCpuSeconds: number } }>) =>
    `  ${label}: first ${list.map((r) => r.first.othersCpuSeconds.toFixed(1)).join(', ')}; incremental ${list.map((r) => r.incremental.othersCpuSeconds.toFixed(1)).join(', ')}`;
  out.push('', "CPU seconds that other programs on the machine used during each backup step (not the bench, the service, restic or kernel threads; with the hypervisor's steal time: a shared machine's noise):");
  out.push(others('reference', reference));
  if (safehold.length > 0) out.push(others('Safehold', safehold));
  if (safehold.length > 0) {
    out.push('');
    out.push('Where Safehold\'s job spends its time (median over runs; programs seen in /proc, "outside" = no child program seen: Safehold\'s own code and commands shorter than 50 ms):');
    for (const which of ['first', 'incremental'] as const) {
      const names = new Set(safehold.flatMap((r) => r[which].programs.map((p) => p.name)));
      const parts = [...names]
        .map((name) => ({ name, ms: median(safehold.map((r) => r[which].programs.find((p) => p.name === name)?.ms ?? 0)), count: Math.max(...safehold.map((r) => r[which].programs.find((p) => p.name === name)?.count ?? 0)) }))
        .sort((a, b) => b.ms - a.ms)
        .map((p) => `${p.name}${p.count > 1 ? ` ×${p.count}` : ''} ${seconds(p.ms)}`);
      parts.push(`outside ${seconds(median(safehold.map((r) => r[which].outsideMs)))}`);
      out.push(`  ${which}: job ${seconds(median(safehold.map((r) => r[which].jobMs)))} = ${parts.join(', ')}`);
      const gapNames = new Set(safehold.flatMap((r) => [...r[which].gapsBefore.keys()]));
      const gaps = [...gapNames]
        .map((name) => ({ name, ms: median(safehold.map((r) => r[which].gapsBefore.get(name) ?? 0)) }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 4)
        .map((g) => `${seconds(g.ms)} before ${g.name}`);
      out.push(`    outside, the longest stretches: ${gaps.join(', ')}`);
      out.push(
        `    service: ${median(safehold.map((r) => r[which].serviceCpuSeconds)).toFixed(2)} CPU s in node; peak RSS ${mib(median(safehold.map((r) => r[which].servicePeakKiB)))} MiB (VmHWM), ` +
          `${mib(median(safehold.map((r) => r[which].serviceSampledPeakKiB)))} MiB (sampled VmRSS)`,
      );
    }
    const last = safehold.at(-1)!;
    for (const which of ['first', 'incremental'] as const) {
      const run = last[which].run;
      if (!run) continue;
      const src = run.sources.map((s) => `${s.name} ${s.outcome}: ${s.files ?? '?'} files, ${s.bytes === null ? '?' : (s.bytes / MiB).toFixed(1)} MiB, ${s.filesNew ?? '?'} new, ${s.filesChanged ?? '?'} changed`).join('; ');
      out.push(`  last run, ${which}: outcome ${run.outcome}; ${src}; check ${run.check ? `${run.check.slice} ${run.check.ok ? 'ok' : 'NOT ok'}` : 'none'}; drill ${run.drill ? `${run.drill.files} files ${run.drill.ok ? 'ok' : 'NOT ok'}` : 'none'}; safe to unplug: ${run.safeToUnplug}`);
    }
  }
  const s = reference[0]!.first.summary;
  if (s) out.push('', `restic's summary of the first reference backup: ${s.files_new} files new, ${(Number(s.data_added) / MiB).toFixed(1)} MiB added, restic's own duration ${Number(s.total_duration).toFixed(2)} s.`);
  out.push(`(1 MiB = 1,048,576 bytes; the whole bench took ${(notes.elapsedMs / 60_000).toFixed(1)} min, of which ${(quietWaitedMs / 1000).toFixed(0)} s waiting before backups for other programs to leave the CPU idle, at most ${SETTINGS.quietWaitMs / 1000} s each time.)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------

/**
 * Runs `work` and, if it fails, once more (saying why): on a shared machine another test may pull a
 * loop device from under a run. A second failure ends the bench.
 */
async function twice<T>(what: string, work: (attempt: number) => Promise<T>): Promise<T> {
  try {
    return await work(1);
  } catch (error) {
    say(`${what} failed, trying once more: ${(error as Error).message.split('\n')[0]}`);
    return work(2);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Math.max(1, Number(argv[runsAt + 1])) : quick ? 1 : SETTINGS.runs;

  const skip =
    loopDiskSkipReason() ??
    ((await isInstalled('restic')) ? undefined : 'needs restic (make test installs it)') ??
    ((await isInstalled('mkfs.ext4')) && (await isInstalled('losetup')) ? undefined : 'needs mkfs.ext4 and losetup');
  if (skip) {
    process.stdout.write(`backup benchmark skipped: ${skip}.\n`);
    return;
  }

  const removed = await cleanupLeftovers(runner);
  if (removed.length > 0) say(`removed leftovers of an earlier run: ${removed.join(', ')}`);
  const work = join(tmpdir(), testName('-backup-bench'));
  await mkdir(work);
  let svc: ServiceProcess | undefined;
  const cleanup = async () => {
    await svc?.stop().catch(() => undefined);
    await unmountUnder(work).catch(() => undefined);
    for (const dir of mountDirs) await forceUnmount(dir, runner);
    for (const disk of [...disks]) await removeDisk(disk).catch(() => undefined);
    await removeDataFolder(work, runner); // the service's mount folders are sealed (immutable)
  };
  const onSignal = () => {
    say('stopped: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await writeFile(join(work, 'password'), `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    say('generating the tree…');
    const tree = await generateTree(join(work, 'tree'), quick ? QUICK_TREE : DEFAULT_TREE);
    say(describeTree(tree));

    say('starting the service…');
    svc = await startServiceProcess({ simulate: false, dataDir: join(work, 'data') });
    const nodePid = svc.child.pid!;
    const comm = (await readFile(`/proc/${nodePid}/comm`, 'utf8')).trim();
    if (comm !== 'node') throw new Error(`pid ${nodePid} of bin/safehold is "${comm}", not node`);
    const admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    const source = await admin.post('/sources', { name: SETTINGS.sourceName, path: tree.root });
    if (source.status !== 201) throw new Error(`POST /sources: ${source.status} ${JSON.stringify(source.json)}`);
    const side = new SafeholdSide(svc, admin, nodePid);
    const safeholdSkipped = (await jobUnavailable(side)) ?? null;
    if (safeholdSkipped) say(`Safehold's backup job cannot be measured: ${safeholdSkipped}; the reference runs alone.`);

    const reference: ReferenceRun[] = [];
    const safehold: SafeholdRun[] = [];
    for (let run = 1; run <= runs; run++) {
      say(`run ${run} of ${runs}: restic by hand…`);
      reference.push(await twice(`run ${run}, restic by hand`, (attempt) => referenceRun(tree, work, run * 10 + attempt)));
      say(`  first ${seconds(reference.at(-1)!.first.backupMs)} s, incremental ${seconds(reference.at(-1)!.incremental.backupMs)} s (backup step)`);
      if (safeholdSkipped) continue;
      say(`run ${run} of ${runs}: Safehold…`);
      safehold.push(await twice(`run ${run}, Safehold`, (attempt) => safeholdRun(side, tree, run * 10 + attempt)));
      say(`  first ${seconds(safehold.at(-1)!.first.backupMs)} s, incremental ${seconds(safehold.at(-1)!.incremental.backupMs)} s (backup step)`);
    }
    say("restic with its own defaults…");
    const defaults = await defaultsRun(tree, work);
    const cachesDropped = await dropCaches();
    const commandLine = (await adapter.commandFor({ path: '<drive>/Safehold/repository', passwordFile: '<secret>' }, backupArgs(tree))).join(' ').replace(tree.root, '<tree>');
    report(tree, reference, safehold, defaults, { commandLine, cachesDropped, safeholdSkipped, elapsedMs: performance.now() - started });
  } catch (error) {
    process.stderr.write(`\nbackup bench failed: ${(error as Error).stack ?? String(error)}\n`);
    if (svc) process.stderr.write(`\n--- last lines of the service's output ---\n${svc.output().split('\n').slice(-40).join('\n')}\n`);
    process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

await main();
