/**
 * The storage pool's benchmark (`make bench`; results go in bench/README.md by hand). Root only:
 * it attaches loop devices, mounts filesystems and runs smbd; not root, it says why and exits 0.
 *
 * Question (the pool's benchmark issue): how fast does the duplicator make the extra copies of a
 * share's files, against the plain tools doing the same copy between the same two disks in the same
 * run, what does a pass that finds nothing to do cost, what does the event loop feel while copying,
 * and what do Samba + mergerfs cost on a write?
 *
 * - The pool: two fresh ext4 loop disks (sparse images, `--disk-gib` each), joined to the real
 *   service (`bin/safehold serve` with its own pool root and its own smbd, as test/testing/pool.ts
 *   starts it). The disk the data starts on is A, the other one B.
 * - The data sits on A outside `Safehold/` (a joined disk's own files, which Safehold never
 *   touches): large files of random bytes (`--large-files` × `--large-mib`); a real tree, Debian's
 *   `linux-source` unpacked (`apt-get install linux-source` gives /usr/src/linux-source-*.tar.xz;
 *   missing, bench/generated-tree.ts makes a tree of as many files, and the report says so); and
 *   `--files` small generated files for the walk.
 * - Reference: `cp -r` (large files) or `rsync -a` (the tree) from A to a folder on B, then
 *   `sync -f` of B; timed from the first spawn to the end of the sync; the copy is removed after.
 * - Safehold: the data folder is renamed (same filesystem: instant, the files' bytes and times
 *   untouched) into `Safehold/shares/<share>/` on A, as files written through the share would lie
 *   there, the share is made with `safehold shares add NAME --copies 2`, and `POST /pool/duplicate`
 *   starts the job; it is timed from its `startedAt` to its `finishedAt` (GET /jobs/:id). The job
 *   hashes each file (new to the catalog), copies it to B, fsyncs, reads it back and compares,
 *   renames and fsyncs the folder. Then the share is removed (`shares remove`), its copies on B
 *   deleted and the data renamed back for the next run. Each run uses a new share name.
 * - The walk: a pass that finds nothing changed, over the tree's share (copies 2: every file on both
 *   disks) and over a share of `--files` small files (copies 1: on A only; making 2 copies of a
 *   million small files would take hours here), against `find … -printf '%p %s %T@ %C@'` over the
 *   same folders of both disks (the same lstat of every copy). The service's memory during it:
 *   VmHWM reset before the job and read after it, VmRSS sampled every 50 ms.
 * - The event loop: the service has no measure of its own event loop's delay, so it is measured
 *   from outside: `GET /api/v1/health` every 50 ms during each large-file job (and for 5 s idle
 *   before the first), the answer's time from the request to the last byte.
 * - Samba: `smbclient put` of one large file into a copies-2 share through the service's smbd (SMB3,
 *   a household user), which writes through the share's mergerfs view, against the same put through
 *   a second smbd on another port with the same configuration (derived from the service's own
 *   smb.conf: same global settings, users and passwords, same share section) whose share is a plain
 *   folder on the disk the view put the file on. Timed from spawn to the end of `sync -f` of that
 *   disk. The duplicator's copy of the file, made after the put, is waited for and not timed.
 * - Page cache dropped (`sync`, `echo 3 > /proc/sys/vm/drop_caches`) before each timed run; runs
 *   alternate (reference, Safehold, reference, Safehold…); medians.
 *
 * Options: `--runs N` (pairs of runs, default 3), `--tree-runs N` (Safehold runs on the tree, default 1;
 * the reference runs once more), `--files N` (default 200,000), `--large-files N`,
 * `--large-mib N`, `--disk-gib N`, `--smb-mib N`, `--walk-only` (only the small files' first pass and
 * walk: for a full-size `--files 1000000` on its own), `--smb-only` (only the Samba writes), `--large-only` (only the large files), `--quick` (small sizes, one run: to try the bench).
 * Everything is made under `safehold-test-<pid>-…` names and removed on every exit path (loop
 * devices detached only while their backing file is still ours; leftovers of a crashed run are
 * removed by the next one).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync, randomUUID } from 'node:crypto';
import { chown, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { isInstalled } from '../system/tools.js';
import { attachImage, cleanupLeftovers, loopDiskSkipReason, removeDataFolder, testName, type LoopDisk } from '../test/testing/loop-disk.js';
import { PoolBox, poolSkipReason } from '../test/testing/pool.js';
import { freePort, removeAccounts } from '../test/testing/samba.js';
import { SAFEHOLD, waitFor } from '../test/testing/service.js';
import { DEFAULT_TREE, generateTree } from './generated-tree.js';
import { cpuSecondsOf, memoryOf, ProcessWatch, othersDuring, resetPeak } from './process-watch.js';
import { seededRandom } from './random.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const SETTINGS = {
  runs: 3,
  /** Safehold runs on the tree (each takes 11 to 15 minutes here; the reference runs once more, around them). */
  treeRuns: 1,
  files: 200_000,
  largeFiles: 4,
  largeMiB: 512,
  diskGiB: 10,
  smbMiB: 1024,
  probeMs: 50,
  rssMs: 50,
  jobTimeoutMs: 4 * 60 * 60_000,
};

const say = (line: string) => process.stderr.write(`pool bench: ${new Date().toISOString().slice(11, 19)} ${line}\n`);
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const mib = (kib: number) => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : '–');

// ---------------------------------------------------------------------------------------------
// Loop disks of our own: formatted before they are attached (so the service never sees them
// half-made), detached only while their backing file is still ours.

interface BenchDisk {
  disk: LoopDisk;
  image: string;
}
const disks: BenchDisk[] = [];

async function makeDisk(label: string, inodes: number): Promise<BenchDisk> {
  const image = join(tmpdir(), testName('.img'));
  const file = await open(image, 'w');
  await file.truncate(SETTINGS.diskGiB * GiB);
  await file.close();
  try {
    await run('mkfs.ext4', ['-q', '-F', '-L', label, '-U', randomUUID(), '-N', String(inodes), image], { maxBuffer: 16 * MiB });
    const disk = await attachImage(image, { label });
    const made = { disk, image };
    disks.push(made);
    return made;
  } catch (error) {
    await rm(image, { force: true });
    throw error;
  }
}

async function stillOurs(made: BenchDisk): Promise<boolean> {
  const backing = await readFile(`/sys/block/${made.disk.name}/loop/backing_file`, 'utf8').catch(() => '');
  return backing.trim() === made.image;
}

async function removeDisks(): Promise<void> {
  for (const made of disks.splice(0)) {
    if (await stillOurs(made)) await run('losetup', ['--detach', made.disk.device]).catch((e: Error) => say(`detaching ${made.disk.device}: ${e.message}`));
    await rm(made.image, { force: true });
  }
}

async function dropCaches(): Promise<boolean> {
  await run('sync', []);
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/** Spawns `argv` (no shell), its output discarded; resolves with the ms from spawn to exit, or throws on a non-zero exit. */
async function timedCommand(argv: string[], options: { stdout?: 'ignore' | 'pipe' } = {}): Promise<number> {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', (c) => done(c));
  });
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}: ${stderr}`);
  return performance.now() - started;
}

// ---------------------------------------------------------------------------------------------
// The data

/** `count` files of `sizeMiB` random bytes each. */
async function writeLargeFiles(dir: string, count: number, sizeMiB: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const chunk = Buffer.alloc(4 * MiB);
  for (let i = 0; i < count; i++) {
    const handle = await open(join(dir, `large-${i}.bin`), 'w');
    try {
      for (let done = 0; done < sizeMiB * MiB; done += chunk.length) await handle.write(randomFillSync(chunk));
    } finally {
      await handle.close();
    }
  }
}

/** `count` small files (200 B to 8 KiB of random bytes), 100 to a folder, 100 folders to a folder above. */
async function writeSmallFiles(dir: string, count: number): Promise<number> {
  const next = seededRandom(7);
  const pool = randomFillSync(Buffer.alloc(MiB));
  let bytes = 0;
  const perFolder = 100;
  for (let start = 0; start < count; start += perFolder) {
    const folder = join(dir, `d-${String(Math.floor(start / (perFolder * 100))).padStart(3, '0')}`, `d-${String(Math.floor(start / perFolder) % 100).padStart(2, '0')}`);
    await mkdir(folder, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + perFolder); i++) {
      const size = 200 + Math.floor(next() * 8000);
      const at = Math.floor(next() * (pool.length - size));
      bytes += size;
      writes.push(writeFile(join(folder, `f-${String(i).padStart(7, '0')}.dat`), pool.subarray(at, at + size)));
    }
    await Promise.all(writes);
  }
  return bytes;
}

/** Files, folders and bytes under `dir` (by `find`, no shell). */
async function census(dir: string): Promise<{ files: number; folders: number; bytes: number }> {
  const { stdout } = await run('find', [dir, '-printf', '%y %s\n'], { maxBuffer: 512 * MiB });
  let files = 0;
  let folders = 0;
  let bytes = 0;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('f ')) {
      files++;
      bytes += Number(line.slice(2));
    } else if (line.startsWith('d ')) folders++;
  }
  return { files, folders, bytes };
}

// ---------------------------------------------------------------------------------------------
// Safehold

interface JobJson {
  id: number;
  kind: string;
  state: string;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'interrupted'];

class Side {
  nodePid = 0;
  constructor(readonly box: PoolBox) {}

  refreshPid(): void {
    this.nodePid = this.box.svc.child.pid!;
  }

  async cli(args: string[], input?: string): Promise<string> {
    const child = spawn(SAFEHOLD, [...args, '--data', this.box.dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stdin.end(input ?? '');
    const code = await new Promise<number | null>((done) => child.once('close', done));
    if (code !== 0) throw new Error(`safehold ${args.join(' ')} exited with ${code}: ${out}`);
    return out;
  }

  async job(id: number): Promise<JobJson> {
    const res = await this.box.admin.get(`/jobs/${id}`);
    if (res.status !== 200) throw new Error(`GET /jobs/${id}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json as JobJson;
  }

  async finish(id: number): Promise<JobJson> {
    const deadline = Date.now() + SETTINGS.jobTimeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (TERMINAL.includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} did not end in time`);
      if (this.box.svc.child.exitCode !== null) throw new Error(`the service exited (${this.box.svc.child.exitCode})`);
      await sleep(100);
    }
  }

  /** Until no job is queued or running (the passes that events, a new share or a removal started). */
  async idle(): Promise<void> {
    for (;;) {
      await sleep(1500); // a pass asked for by an event starts a second after it
      const jobs = (await this.box.admin.get('/jobs?limit=50')).json.jobs as JobJson[];
      if (!jobs.some((j) => j.state === 'queued' || j.state === 'running')) return;
    }
  }

  async duplicate(): Promise<JobJson> {
    const res = await this.box.admin.post('/pool/duplicate', {});
    if (res.status !== 202) throw new Error(`POST /pool/duplicate: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json.job as JobJson;
  }
}

interface Measured {
  jobMs: number;
  message: string;
  servicePeakKiB: number;
  /** The service's VmRSS when the job was started (what it held already). */
  startRssKiB: number;
  sampledPeakKiB: number;
  serviceCpuSeconds: number;
  othersCpuSeconds: number;
  /** Latencies of GET /health during the job, ms. */
  probes: number[];
}

/** GET /api/v1/health every `probeMs` (one at a time) until `stop` is set; each answer's ms. */
async function probe(base: string, stop: { done: boolean }): Promise<number[]> {
  const times: number[] = [];
  while (!stop.done) {
    const started = performance.now();
    const res = await fetch(`${base}/api/v1/health`);
    await res.arrayBuffer();
    const ms = performance.now() - started;
    times.push(ms);
    await sleep(Math.max(0, SETTINGS.probeMs - ms));
  }
  return times;
}

/** Starts a job with `start`, watches the service until it ends, and times it by its own startedAt/finishedAt. */
async function measured(side: Side, start: () => Promise<JobJson>, options: { probe?: boolean } = {}): Promise<Measured> {
  const startRssKiB = memoryOf(side.nodePid)?.rssKiB ?? NaN;
  const reset = resetPeak(side.nodePid);
  const cpuBefore = cpuSecondsOf(side.nodePid);
  const watch = new ProcessWatch(process.pid, 250).start();
  let sampledPeakKiB = 0;
  const sampler = setInterval(() => {
    const m = memoryOf(side.nodePid);
    if (m) sampledPeakKiB = Math.max(sampledPeakKiB, m.rssKiB);
  }, SETTINGS.rssMs);
  const stop = { done: false };
  const probes = options.probe ? probe(side.box.svc.base, stop) : Promise.resolve([]);
  let job: JobJson;
  let watched;
  try {
    job = await side.finish((await start()).id);
  } finally {
    stop.done = true;
    clearInterval(sampler);
    watched = watch.stop();
  }
  const hwm = memoryOf(side.nodePid);
  if (job.state !== 'succeeded') throw new Error(`job ${job.id} ended ${job.state}: ${job.message ?? ''}`);
  const from = Date.parse(job.startedAt!);
  const to = Date.parse(job.finishedAt!);
  return {
    jobMs: to - from,
    message: job.message ?? '',
    servicePeakKiB: reset && hwm ? hwm.hwmKiB : NaN,
    startRssKiB,
    sampledPeakKiB,
    serviceCpuSeconds: cpuSecondsOf(side.nodePid) - cpuBefore,
    othersCpuSeconds: othersDuring(watched, from, to).othersCpuSeconds,
    probes: await probes,
  };
}

let shareCount = 0;

/**
 * One Safehold duplication of the folder `src` on disk A: renamed into a new share's folder on A,
 * the share made at copies 2, the job started and timed; then the share is removed, B's copies
 * deleted and the folder renamed back.
 */
async function safeholdCopy(side: Side, prefix: string, src: string, a: string, b: string, options: { probe?: boolean; keep?: boolean } = {}): Promise<Measured & { share: string }> {
  const share = `${prefix}${++shareCount}`;
  const inShare = join(a, 'Safehold', 'shares', share, basename(src));
  await mkdir(join(a, 'Safehold', 'shares', share), { mode: 0o775 });
  await rename(src, inShare);
  await side.idle();
  await dropCaches();
  await side.cli(['shares', 'add', share, '--copies', '2']);
  const m = await measured(side, () => side.duplicate(), options);
  await side.idle();
  const copies = await census(join(b, 'Safehold', 'shares', share));
  say(`  ${share}: job ${seconds(m.jobMs)} s ("${m.message}"); on B: ${copies.files} files, ${(copies.bytes / MiB).toFixed(0)} MiB`);
  if (!options.keep) await undoShare(side, share, src, a, b);
  return { ...m, share };
}

async function undoShare(side: Side, share: string, src: string, a: string, b: string): Promise<void> {
  await side.cli(['shares', 'remove', share]);
  await rename(join(a, 'Safehold', 'shares', share, basename(src)), src);
  await rm(join(b, 'Safehold', 'shares', share), { recursive: true, force: true });
  await run('sync', ['-f', b]);
  await side.idle();
}

/** The reference copy: `argv` (cp or rsync) then `sync -f` of B, timed together; the copy is removed after. */
async function referenceCopy(argv: string[], copy: string, b: string): Promise<number> {
  await dropCaches();
  const ms = (await timedCommand(argv)) + (await timedCommand(['sync', '-f', b]));
  await rm(copy, { recursive: true, force: true });
  await run('sync', ['-f', b]);
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Samba

/**
 * A second smbd on `port`, configured like the service's own (its smb.conf, read now: the same
 * global settings, users, passwords and share section), but with its own state folders and one
 * share, `Ref`, on the plain folder `path`. Returns the child.
 */
async function referenceSmbd(serviceConf: string, shareName: string, path: string, port: number, folder: string): Promise<ChildProcess> {
  const text = await readFile(serviceConf, 'utf8');
  const sections = text.split(/\n(?=\[)/);
  const global = sections.find((s) => s.startsWith('[global]'));
  const section = sections.find((s) => s.startsWith(`[${shareName}]`));
  if (!global || !section) throw new Error(`the service's smb.conf (${serviceConf}) has no [global] or [${shareName}]`);
  const own: Record<string, string> = {
    'lock directory': join(folder, 'lock'),
    'state directory': join(folder, 'state'),
    'cache directory': join(folder, 'cache'),
    'pid directory': join(folder, 'run'),
    'ncalrpc dir': join(folder, 'run', 'ncalrpc'),
    'log file': join(folder, 'log', 'smbd.log'),
    'smb ports': String(port),
  };
  for (const dir of ['lock', 'state', 'cache', 'run', 'run/ncalrpc', 'log']) await mkdir(join(folder, dir), { recursive: true, mode: 0o755 });
  const setLine = (line: string) => {
    const key = /^\s*([^=]+?)\s*=/.exec(line)?.[1];
    return key && key in own ? `\t${key} = ${own[key]}` : line;
  };
  const conf = [global.split('\n').map(setLine).join('\n'), section.replace(`[${shareName}]`, '[Ref]').split('\n').map((l) => (/^\s*path\s*=/.test(l) ? `\tpath = ${path}` : l)).join('\n')].join('\n');
  const confFile = join(folder, 'smb.conf');
  await writeFile(confFile, `${conf}\n`);
  const child = spawn('smbd', ['--foreground', '-s', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the reference smbd exited (${child.exitCode}): ${stderr}`);
    const up = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), done(true)));
      socket.once('error', () => done(false));
    });
    if (up) return child;
    if (Date.now() > deadline) throw new Error(`the reference smbd did not take connections within 20 s: ${stderr}`);
    await sleep(100);
  }
}

/** The put (smbclient from spawn to exit) and the `sync -f` of the disk after it, ms. */
async function smbPut(port: number, share: string, authFile: string, source: string, name: string, syncDir: string): Promise<{ put: number; sync: number }> {
  const put = await timedCommand(['smbclient', `//127.0.0.1/${share}`, '-p', String(port), '-A', authFile, '-m', 'SMB3', '-c', `put ${source} ${name}`], { stdout: 'pipe' });
  return { put, sync: await timedCommand(['sync', '-f', syncDir]) };
}

// ---------------------------------------------------------------------------------------------
// Report

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function numberOption(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const walkOnly = argv.includes('--walk-only');
  const smbOnly = argv.includes('--smb-only');
  const largeOnly = argv.includes('--large-only');
  const copiesOff = walkOnly || smbOnly;
  if (quick) Object.assign(SETTINGS, { runs: 1, files: 5_000, largeFiles: 2, largeMiB: 64, diskGiB: 4, smbMiB: 64 });
  SETTINGS.runs = numberOption(argv, '--runs', SETTINGS.runs);
  SETTINGS.treeRuns = numberOption(argv, '--tree-runs', SETTINGS.treeRuns);
  SETTINGS.files = numberOption(argv, '--files', SETTINGS.files);
  SETTINGS.largeFiles = numberOption(argv, '--large-files', SETTINGS.largeFiles);
  SETTINGS.largeMiB = numberOption(argv, '--large-mib', SETTINGS.largeMiB);
  SETTINGS.diskGiB = numberOption(argv, '--disk-gib', SETTINGS.diskGiB);
  SETTINGS.smbMiB = numberOption(argv, '--smb-mib', SETTINGS.smbMiB);

  const missing: string[] = [];
  for (const tool of ['rsync', 'smbclient', 'smbd', 'mkfs.ext4', 'losetup', 'tar', 'xz', 'find']) if (!(await isInstalled(tool))) missing.push(tool);
  const skip = loopDiskSkipReason() ?? (await poolSkipReason()) ?? (missing.length ? `needs ${missing.join(', ')} (make test installs them)` : undefined);
  if (skip) {
    process.stdout.write(`pool benchmark skipped: ${skip}.\n`);
    return;
  }
  const removed = await cleanupLeftovers();
  if (removed.length > 0) say(`removed leftovers of an earlier run: ${removed.join(', ')}`);

  const work = join(tmpdir(), testName('-pool-bench'));
  await mkdir(work);
  const box = new PoolBox();
  let refSmbd: ChildProcess | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    refSmbd?.kill('SIGTERM');
    await box.svc?.stop().catch(() => undefined);
    await removeAccounts(box.accountPrefix).catch(() => undefined);
    if (box.poolRoot) await removeDataFolder(box.poolRoot).catch(() => undefined);
    if (box.dataDir) await removeDataFolder(box.dataDir).catch(() => undefined);
    await removeDataFolder(work).catch(() => undefined);
    await removeDisks();
  };
  const onSignal = () => {
    say('stopped: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out: string[] = [];
  const loadAtStart = loadavg();
  try {
    const tarball = (await readdir('/usr/src').catch(() => [] as string[])).filter((f) => /^linux-source-.*\.tar\.xz$/.test(f)).sort().at(-1);
    const inodes = Math.max(655_360, Math.ceil(SETTINGS.files * 1.1) + 400_000);
    say(`making two ${SETTINGS.diskGiB} GiB loop disks…`);
    const diskA = await makeDisk('BENCH-A', inodes);
    const diskB = await makeDisk('BENCH-B', inodes);
    box.poolRoot = await mkdtemp(join(tmpdir(), testName('-poolroot-')));
    box.dataDir = await mkdtemp(join(tmpdir(), testName('-data-')));
    box.smbPort = await freePort();
    say('starting the service and joining the disks…');
    await box.start();
    await box.admin.setup(box.dataDir);
    const side = new Side(box);
    side.refreshPid();
    const comm = (await readFile(`/proc/${side.nodePid}/comm`, 'utf8')).trim();
    if (comm !== 'node') throw new Error(`pid ${side.nodePid} of bin/safehold is "${comm}", not node`);
    for (const made of [diskA, diskB]) {
      const { value } = await waitFor(async () => ((await box.admin.get('/drives')).json.drives as { id: string; path: string }[]).find((d) => d.path === made.disk.device), 30_000, 'the disk in the inventory');
      await side.cli(['pool', 'add', value.path]);
    }
    await side.idle();
    const members = await box.members();
    const mountOf = (made: BenchDisk) => {
      const m = members.find((x) => x.device === made.disk.device);
      if (!m || m.state !== 'mounted') throw new Error(`${made.disk.device} is not a mounted pool disk: ${JSON.stringify(members)}`);
      return m.mountpoint;
    };
    const a = mountOf(diskA);
    const b = mountOf(diskB);

    // The data, on A outside Safehold/.
    const largeDir = join(a, 'bench-large');
    const treeDir = join(a, 'bench-tree');
    const walkDir = join(a, 'bench-walk');
    say(`writing ${SETTINGS.largeFiles} × ${SETTINGS.largeMiB} MiB of random bytes…`);
    await mkdir(largeDir);
    if (!copiesOff) await writeLargeFiles(largeDir, SETTINGS.largeFiles, SETTINGS.largeMiB);
    let treeWhat: string;
    await mkdir(treeDir);
    if (copiesOff || largeOnly) {
      treeWhat = `not made (${walkOnly ? '--walk-only' : smbOnly ? '--smb-only' : '--large-only'})`;
    } else if (tarball && !quick) {
      say(`unpacking /usr/src/${tarball}…`);
      await run('tar', ['-xJf', join('/usr/src', tarball), '-C', treeDir], { maxBuffer: 64 * MiB });
      treeWhat = `Debian's linux-source (/usr/src/${tarball}, unpacked)`;
    } else {
      const spec = quick ? { ...DEFAULT_TREE, smallFiles: 3_000, largeFiles: 1 } : { ...DEFAULT_TREE, smallFiles: 78_000, largeFiles: 0 };
      await generateTree(join(treeDir, 'generated'), spec);
      treeWhat = quick
        ? 'a small generated tree (--quick)'
        : 'a generated tree (bench/generated-tree.ts, 78,000 text-like files of 1–16 KiB) because /usr/src/linux-source-*.tar.xz is missing (as root: apt-get install -y linux-source)';
    }
    say(`writing ${SETTINGS.files.toLocaleString('en')} small files…`);
    await mkdir(walkDir);
    if (!smbOnly && !largeOnly) await writeSmallFiles(walkDir, SETTINGS.files);
    await run('sync', []);
    const large = await census(largeDir);
    const tree = await census(treeDir);
    const walk = await census(walkDir);
    say(`large: ${large.files} files, ${(large.bytes / MiB).toFixed(0)} MiB; tree: ${tree.files} files in ${tree.folders} folders, ${(tree.bytes / MiB).toFixed(0)} MiB; walk: ${walk.files} files in ${walk.folders} folders, ${(walk.bytes / MiB).toFixed(0)} MiB`);

    // 3: the walk over the tree's share (copies 2), then over the small files (copies 1).
    const walkOf = async (share: string, label: string) => {
      const folders = [join(a, 'Safehold', 'shares', share), join(b, 'Safehold', 'shares', share)];
      const ref: number[] = [];
      const sh: Measured[] = [];
      for (let i = 1; i <= SETTINGS.runs; i++) {
        await dropCaches();
        ref.push(await timedCommand(['find', ...folders, '-printf', '%p %s %T@ %C@\n']));
        await side.idle();
        await dropCaches();
        sh.push(await measured(side, () => side.duplicate()));
        say(`  ${label} walk ${i}: find ${seconds(ref.at(-1)!)} s, Safehold ${seconds(sh.at(-1)!.jobMs)} s ("${sh.at(-1)!.message}"), RSS peak ${mib(sh.at(-1)!.servicePeakKiB)} MiB`);
      }
      return { ref, sh };
    };
    let idleLatencies: number[] = [];
    const largeRef: number[] = [];
    const largeSh: Measured[] = [];
    const treeRef: number[] = [];
    const treeSh: Measured[] = [];
    let treeWalk: { ref: number[]; sh: Measured[] } = { ref: [], sh: [] };
    if (!copiesOff) {
    // 1 and 4: large files, with the event loop probed.
    say('idle probe of GET /health (5 s)…');
    const idleStop = { done: false };
    const idleProbes = probe(box.svc.base, idleStop);
    await sleep(5000);
    idleStop.done = true;
    idleLatencies = await idleProbes;
    for (let i = 1; i <= SETTINGS.runs; i++) {
      say(`large files, run ${i} of ${SETTINGS.runs}: cp -r + sync…`);
      largeRef.push(await referenceCopy(['cp', '-r', largeDir, join(b, 'ref-large')], join(b, 'ref-large'), b));
      say(`  ${seconds(largeRef.at(-1)!)} s`);
      say(`large files, run ${i} of ${SETTINGS.runs}: Safehold…`);
      largeSh.push(await safeholdCopy(side, 'L', largeDir, a, b, { probe: true }));
    }

    // 2: the tree. The last Safehold run keeps its share for the walk.
    let treeShare = '';
    if (!largeOnly) {
    for (let i = 1; i <= SETTINGS.treeRuns; i++) {
      say(`tree, run ${i} of ${SETTINGS.treeRuns}: rsync -a + sync…`);
      treeRef.push(await referenceCopy(['rsync', '-a', `${treeDir}/`, join(b, 'ref-tree')], join(b, 'ref-tree'), b));
      say(`  ${seconds(treeRef.at(-1)!)} s`);
      say(`tree, run ${i} of ${SETTINGS.treeRuns}: Safehold…`);
      const last = i === SETTINGS.treeRuns;
      const m = await safeholdCopy(side, 'T', treeDir, a, b, { keep: last });
      treeSh.push(m);
      if (last) treeShare = m.share;
    }


    say('walk over the tree share…');
    treeWalk = await walkOf(treeShare, 'tree');
    await undoShare(side, treeShare, treeDir, a, b);
    // One more reference run after the last Safehold one (its data is back in place): the reference brackets it.
    say('tree: rsync -a + sync once more…');
    treeRef.push(await referenceCopy(['rsync', '-a', `${treeDir}/`, join(b, 'ref-tree')], join(b, 'ref-tree'), b));
    say(`  ${seconds(treeRef.at(-1)!)} s`);
    }
    }

    let firstPass: Measured | undefined;
    let smallWalk: { ref: number[]; sh: Measured[] } = { ref: [], sh: [] };
    if (!smbOnly && !largeOnly) {
    say(`the small files' share: the first pass (hashing ${walk.files.toLocaleString('en')} new files, copies 1)…`);
    const walkShare = 'W';
    await mkdir(join(a, 'Safehold', 'shares', walkShare), { mode: 0o775 });
    await rename(walkDir, join(a, 'Safehold', 'shares', walkShare, 'files'));
    await side.idle();
    await side.cli(['shares', 'add', walkShare, '--copies', '1']);
    firstPass = await measured(side, () => side.duplicate());
    say(`  first pass ${seconds(firstPass.jobMs)} s ("${firstPass.message}"), RSS peak ${mib(firstPass.servicePeakKiB)} MiB`);
    await side.idle();
    say('walk over the small files…');
    smallWalk = await walkOf(walkShare, 'small files');
    await side.cli(['shares', 'remove', walkShare]);
    await side.idle();
    }

    // 5: Samba.
    const smbRef: number[] = [];
    const smbSh: number[] = [];
    const smbParts: { ref: { put: number; sync: number }[]; sh: { put: number; sync: number }[] } = { ref: [], sh: [] };
    let landedOn = '';
    let target = b;
    if (!walkOnly && !largeOnly) {
    say('Samba: a household user, a copies-2 share, a reference smbd…');
    const password = randomUUID();
    const user = 'benchuser';
    await side.cli(['users', 'add', user, '--password-file', '-'], `${password}\n`);
    const smbShare = 'M';
    await side.cli(['shares', 'add', smbShare, '--copies', '2']);
    await side.cli(['shares', 'grant', smbShare, user, 'rw']);
    await side.idle();
    const authFile = join(work, 'smb-auth');
    await writeFile(authFile, `username = ${user}\npassword = ${password}\n`, { mode: 0o600 });
    const source = join(work, 'smb-source.bin');
    await writeLargeFiles(work, 1, SETTINGS.smbMiB);
    await rename(join(work, 'large-0.bin'), source);
    // Where the view puts a new file: the disk with the most free space (B: A holds the data).
    const [freeA, freeB] = await Promise.all([a, b].map(async (m) => (await run('df', ['--output=avail', '-B1', m])).stdout.split('\n')[1]!.trim()));
    target = Number(freeB) >= Number(freeA) ? b : a;
    const refFolder = join(target, 'bench-smb-ref');
    await mkdir(refFolder, { mode: 0o775 });
    const owner = await stat(join(target, 'Safehold', 'shares', smbShare));
    await chown(refFolder, owner.uid, owner.gid);
    const refPort = await freePort();
    refSmbd = await referenceSmbd(join(box.dataDir, 'samba', 'smb.conf'), smbShare, refFolder, refPort, join(work, 'ref-samba'));
    const warm = async () => {
      await dropCaches();
      await run('cat', [source], { maxBuffer: 2 * SETTINGS.smbMiB * MiB, encoding: 'buffer' });
    };
    for (let i = 1; i <= SETTINGS.runs; i++) {
      await warm();
      const ref = await smbPut(refPort, 'Ref', authFile, source, `put-${i}.bin`, target);
      smbParts.ref.push(ref);
      smbRef.push(ref.put + ref.sync);
      await rm(join(refFolder, `put-${i}.bin`), { force: true });
      await side.idle();
      await warm();
      const sh = await smbPut(box.smbPort, smbShare, authFile, source, `put-${i}.bin`, target);
      smbParts.sh.push(sh);
      smbSh.push(sh.put + sh.sync);
      for (const [label, m] of [['A', a], ['B', b]] as const) {
        if (await stat(join(m, 'Safehold', 'shares', smbShare, `put-${i}.bin`)).then(() => true, () => false)) landedOn ||= label;
      }
      say(`  Samba put ${i}: reference ${seconds(smbRef.at(-1)!)} s, Safehold ${seconds(smbSh.at(-1)!)} s`);
      await side.idle(); // the duplicator's copy of it, not timed
      await rm(box.view(smbShare, `put-${i}.bin`), { force: true });
      await side.idle();
    }
    }

    // Report.
    const eachMs = (list: number[]) => list.map(seconds).join(', ');
    const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
    const largeBytes = large.bytes;
    const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(0);
    const lr = median(largeRef);
    const ls = median(largeSh.map((m) => m.jobMs));
    const tr = median(treeRef);
    const ts = median(treeSh.map((m) => m.jobMs));
    const twr = median(treeWalk.ref);
    const tws = median(treeWalk.sh.map((m) => m.jobMs));
    const swr = median(smallWalk.ref);
    const sws = median(smallWalk.sh.map((m) => m.jobMs));
    const allProbes = largeSh.flatMap((m) => m.probes);
    const smr = median(smbRef);
    const sms = median(smbSh);
    out.push('', `Safehold pool benchmark, ${new Date().toISOString()}`);
    out.push(
      `${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; two ext4 loop disks of ${SETTINGS.diskGiB} GiB (sparse images in ${tmpdir()}); ` +
        `${SETTINGS.runs} runs of each side (the tree: ${SETTINGS.treeRuns} Safehold, ${SETTINGS.treeRuns + 1} rsync), alternating, page cache dropped before each; medians. ` +
        `Load average at the start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}, at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
    );
    out.push(`large files: ${large.files} × ${SETTINGS.largeMiB} MiB of random bytes (${(largeBytes / MiB).toFixed(0)} MiB); tree: ${treeWhat}: ${tree.files.toLocaleString('en')} files in ${tree.folders.toLocaleString('en')} folders, ${(tree.bytes / MiB).toFixed(0)} MiB; walk: ${walk.files.toLocaleString('en')} small files in ${walk.folders.toLocaleString('en')} folders, ${(walk.bytes / MiB).toFixed(0)} MiB.`);
    out.push('');
    const rows = [['measure', 'Safehold', 'reference', 'Safehold / reference', 'target']];
    if (!copiesOff) rows.push([`1. duplicating the large files onto B (s; MB/s)`, `${seconds(ls)} (${mbps(largeBytes, ls)})`, `${seconds(lr)} (${mbps(largeBytes, lr)})`, `${ratio(ls, lr)} the time = ${(lr / ls).toFixed(2)} of cp's speed`, "≥ 0.90 of cp + sync's speed"]);
    if (!copiesOff && !largeOnly) rows.push([`2. duplicating the tree onto B (s)`, seconds(ts), seconds(tr), ratio(ts, tr), '≤ 1.3× rsync -a + sync']);
    if (!smbOnly && !largeOnly) rows.push([`3a. a pass that finds nothing changed: ${walk.files.toLocaleString('en')} small files, copies 1 (s)`, seconds(sws), seconds(swr), ratio(sws, swr), '≤ 1.5× find -printf']);
    if (!copiesOff && !largeOnly) rows.push([`3b. a pass that finds nothing changed: the tree, copies 2 (${(tree.files * 2).toLocaleString('en')} copies) (s)`, seconds(tws), seconds(twr), ratio(tws, twr), '≤ 1.5× find -printf']);
    if (!smbOnly && !largeOnly) rows.push([`3a. the service's peak RSS during that pass (MiB)`, mib(median(smallWalk.sh.map((m) => m.servicePeakKiB))), '–', '–', '≤ 250 MB']);
    if (!copiesOff && !largeOnly) rows.push([`3b. the service's peak RSS during that pass (MiB)`, mib(median(treeWalk.sh.map((m) => m.servicePeakKiB))), '–', '–', '≤ 250 MB']);
    if (!copiesOff) rows.push([`4. GET /health while duplicating the large files: p50 / p99 / max (ms)`, `${percentile(allProbes, 50).toFixed(1)} / ${percentile(allProbes, 99).toFixed(1)} / ${Math.max(...allProbes).toFixed(1)}`, `idle: ${percentile(idleLatencies, 50).toFixed(1)} / ${percentile(idleLatencies, 99).toFixed(1)} / ${Math.max(...idleLatencies).toFixed(1)}`, '–', 'p99 < 50 ms']);
    if (!walkOnly && !largeOnly) rows.push([`5. smbclient put of ${SETTINGS.smbMiB} MiB + sync: through Samba + mergerfs vs Samba on the disk's folder (s; MB/s)`, `${seconds(sms)} (${mbps(SETTINGS.smbMiB * MiB, sms)})`, `${seconds(smr)} (${mbps(SETTINGS.smbMiB * MiB, smr)})`, ratio(sms, smr), '–']);
    out.push(table(rows));
    out.push('');
    out.push('Each run (s):');
    if (!copiesOff) out.push(`  large files: cp -r + sync ${eachMs(largeRef)}; Safehold ${eachMs(largeSh.map((m) => m.jobMs))}`);
    if (!copiesOff && !largeOnly) out.push(`  tree: rsync -a + sync ${eachMs(treeRef)}; Safehold ${eachMs(treeSh.map((m) => m.jobMs))}`);
    if (!smbOnly && !largeOnly) out.push(`  walk, small files: find ${eachMs(smallWalk.ref)}; Safehold ${eachMs(smallWalk.sh.map((m) => m.jobMs))}`);
    if (!copiesOff && !largeOnly) out.push(`  walk, tree: find ${eachMs(treeWalk.ref)}; Safehold ${eachMs(treeWalk.sh.map((m) => m.jobMs))}`);
    const parts = (list: { put: number; sync: number }[]) => list.map((x) => `${seconds(x.put)} + ${seconds(x.sync)}`).join(', ');
    if (!walkOnly && !largeOnly) out.push(`  Samba put + sync: reference ${eachMs(smbRef)} (${parts(smbParts.ref)}); Safehold ${eachMs(smbSh)} (${parts(smbParts.sh)}) (the view put the file on disk ${landedOn || '?'}; the reference share is on disk ${target === a ? 'A' : 'B'})`);
    if (firstPass) out.push(`  the small files' first pass (hashing and recording ${walk.files.toLocaleString('en')} new files, copies 1): ${seconds(firstPass.jobMs)} s, service peak RSS ${mib(firstPass.servicePeakKiB)} MiB, ${firstPass.serviceCpuSeconds.toFixed(1)} CPU s`);
    const svc = (label: string, list: Measured[]) =>
      list.length === 0 ? `  ${label}: not run` : `  ${label}: service CPU s ${list.map((m) => m.serviceCpuSeconds.toFixed(1)).join(', ')}; peak RSS (VmHWM) MiB ${list.map((m) => mib(m.servicePeakKiB)).join(', ')} (VmRSS at the job's start ${list.map((m) => mib(m.startRssKiB)).join(', ')}); other programs' CPU s ${list.map((m) => m.othersCpuSeconds.toFixed(1)).join(', ')}; "${list.at(-1)!.message}"`;
    out.push(svc('large files', largeSh));
    out.push(svc('tree', treeSh));
    out.push(svc('walk, small files', smallWalk.sh));
    out.push(svc('walk, tree', treeWalk.sh));
    if (!copiesOff) out.push(`  GET /health probes: ${allProbes.length} during the large-file jobs, ${idleLatencies.length} idle; each run's p99: ${largeSh.map((m) => percentile(m.probes, 99).toFixed(1)).join(', ')} ms`);
    out.push(`(1 MiB = 1,048,576 bytes, 1 MB = 10^6 bytes; the whole bench took ${((performance.now() - started) / 60_000).toFixed(1)} min.)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } catch (error) {
    process.stderr.write(`\npool bench failed: ${(error as Error).stack ?? String(error)}\n`);
    if (box.svc) process.stderr.write(`\n--- last lines of the service's output ---\n${box.svc.output().split('\n').slice(-40).join('\n')}\n`);
    process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

await main();
