/**
 * The service benchmark (`make bench`; results go in bench/README.md by hand).
 *
 * Starts the compiled service as a real process on a simulated host of 50 disks and measures what a
 * person running it on a small box would notice: how long until it answers, how much memory it keeps
 * while idle (before and after 1,000 API requests), and how fast `GET /api/v1/drives` answers
 * (p50/p95/p99 over 5,000 sequential requests after a warm-up). The same measurements are made in the
 * same run on a reference: a bare `node:http` process (bench/reference-server.ts) serving the very
 * bytes Safehold answered with. Every Safehold number is printed with its ratio to the reference.
 * The service runs as shipped: through bin/safehold, whose shebang sets its Node options
 * (--max-semi-space-size=1 --no-opt --no-sparkplug). It is measured a second time with Node's defaults
 * (plain `node dist/server/cli/main.js`), to show what those options are worth.
 *
 * Nothing here is a pass/fail test: the numbers are printed, and the idle-memory budget is only
 * reported as met or not. A second table shows where idle memory goes: the resident size of an idle
 * Node process that only imports each dependency.
 *
 * Child processes and the temporary data folder are removed on every exit path, Ctrl-C included;
 * on failure the last lines of the processes' logs are printed first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedHost } from '../system/drives/simulated-host.js';
import { DISK_COUNT, fiftyDisks } from './fifty-disks.js';

/** Settings of one run; counts are requests, times milliseconds. */
const SETTINGS = {
  mixedRequests: 1_000,
  warmupRequests: 300,
  latencyRequests: 5_000,
  /** How long each process sits idle after its first answer before its memory is read. */
  idleSettleMs: 3_000,
  /** Extra restarts for the start-up time (the median of all starts is reported). */
  extraStarts: 4,
  startTimeoutMs: 15_000,
  idleBudgetMiB: 80,
};

/**
 * V8's young generation (two semi-spaces, 16 MiB each by default on 64-bit) is where most of the
 * growth after the first requests goes; the run with Node's defaults shows what the cap saves.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serviceMain = join(repoRoot, 'dist', 'server', 'cli', 'main.js');
const shippedCommand = join(repoRoot, 'bin', 'safehold');
const referenceMain = join(repoRoot, 'dist', 'bench', 'reference-server.js');
const PASSWORD = 'bench-correct-horse-battery-7';

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked so that any exit path can stop it.

const children = new Set<ChildProcess>();

interface Running {
  child: ChildProcess;
  pid: number;
  spawnedAt: bigint;
  exited: Promise<number | null>;
}

function startProcess(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}, command = process.execPath): Running {
  const log = createWriteStream(logFile, { flags: 'a' });
  const spawnedAt = process.hrtime.bigint();
  const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => {
    children.delete(child);
    done(code);
  }));
  if (child.pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
  return { child, pid: child.pid, spawnedAt, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
async function stopProcess(running: Running, graceMs = 10_000): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), graceMs);
  await running.exited;
  clearTimeout(timer);
}

function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** A TCP port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/** Resident set size and its peak, in KiB, from /proc/PID/status. */
async function memoryOf(pid: number): Promise<{ rssKiB: number; peakKiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

// ---------------------------------------------------------------------------------------------
// HTTP: one keep-alive connection, requests one after another, like a page's client.

interface Answer {
  status: number;
  body: string;
  setCookies: string[];
  ms: number;
}

class Client {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly #cookies = new Map<string, string>();

  constructor(readonly port: number) {}

  send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; agent?: false } = {}): Promise<Answer> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { host: `localhost:${this.port}`, accept: 'application/json', ...options.headers };
    if (this.#cookies.size) headers.cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((done, fail) => {
      const started = process.hrtime.bigint();
      const req = request(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: options.agent ?? this.#agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            const setCookies = res.headers['set-cookie'] ?? [];
            for (const line of setCookies) {
              const [pair] = line.split(';');
              const eq = pair!.indexOf('=');
              if (eq > 0) this.#cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
            }
            done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), setCookies, ms });
          });
        },
      );
      req.on('error', fail);
      req.end(payload);
    });
  }

  async get(path: string): Promise<Answer> {
    const answer = await this.send('GET', path);
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${answer.body.slice(0, 300)}`);
    return answer;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Milliseconds from spawn to the first 200 from /api/v1/health (polled every 2 ms, fresh connection each time). */
async function timeToFirstAnswer(running: Running, port: number): Promise<number> {
  const client = new Client(port);
  const deadline = Date.now() + SETTINGS.startTimeoutMs;
  for (;;) {
    if (running.child.exitCode !== null) throw new Error(`process ${running.pid} exited with ${running.child.exitCode} before answering`);
    const answer = await client.send('GET', '/api/v1/health', { agent: false }).catch(() => null);
    if (answer?.status === 200) return Number(process.hrtime.bigint() - running.spawnedAt) / 1e6;
    if (Date.now() > deadline) throw new Error(`no answer from /api/v1/health on port ${port} within ${SETTINGS.startTimeoutMs} ms`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------------------------------------
// The measurements, identical for Safehold and the reference.

interface Measured {
  firstStartMs: number;
  startMs: number[];
  idle: { rssKiB: number; peakKiB: number };
  afterMixed: { rssKiB: number; peakKiB: number };
  latencyMs: number[];
  drivesBytes: number;
}

const MIXED_PATHS = ['/api/v1/drives', '/api/v1/status', '/api/v1/activity'];

async function mixedRequests(client: Client): Promise<void> {
  for (let i = 0; i < SETTINGS.mixedRequests; i++) await client.get(MIXED_PATHS[i % MIXED_PATHS.length]!);
}

async function drivesLatency(client: Client): Promise<{ latencyMs: number[]; drivesBytes: number }> {
  for (let i = 0; i < SETTINGS.warmupRequests; i++) await client.get('/api/v1/drives');
  const latencyMs: number[] = [];
  let drivesBytes = 0;
  for (let i = 0; i < SETTINGS.latencyRequests; i++) {
    const answer = await client.get('/api/v1/drives');
    latencyMs.push(answer.ms);
    drivesBytes = Buffer.byteLength(answer.body);
  }
  return { latencyMs: latencyMs.sort((a, b) => a - b), drivesBytes };
}

/** Restarts a process `SETTINGS.extraStarts` times and returns each start's time to first answer. */
async function restarts(startOne: () => Promise<{ running: Running; port: number }>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SETTINGS.extraStarts; i++) {
    const { running, port } = await startOne();
    try {
      times.push(await timeToFirstAnswer(running, port));
    } finally {
      await stopProcess(running);
    }
  }
  return times;
}

async function benchSafehold(
  dataDir: string,
  logFile: string,
  options: { nodeDefaults?: boolean; restarts: boolean },
): Promise<{ measured: Measured; bodies: Record<string, string> }> {
  const startOne = async () => {
    const port = await freePort();
    const args = ['serve', '--simulate', '--data', dataDir, '--port', String(port), '--listen', '127.0.0.1'];
    const running = options.nodeDefaults ? startProcess([serviceMain, ...args], logFile) : startProcess(args, logFile, {}, shippedCommand);
    return { running, port };
  };
  const { running, port } = await startOne();
  const client = new Client(port);
  try {
    const firstStartMs = await timeToFirstAnswer(running, port);
    await sleep(SETTINGS.idleSettleMs);
    const idle = await memoryOf(running.pid);

    // Set up the admin account; the setup answer logs us in.
    const session = JSON.parse((await client.get('/api/v1/session')).body) as { csrfToken: string; setupRequired: boolean };
    if (!session.setupRequired) throw new Error('the fresh data folder already has an admin account');
    const setupCode = (await readFile(join(dataDir, 'setup-code'), 'utf8')).trim();
    const setup = await client.send('POST', '/api/v1/setup', {
      body: { setupCode, username: 'admin', password: PASSWORD },
      headers: { origin: `http://localhost:${port}`, 'x-csrf-token': session.csrfToken },
    });
    if (setup.status !== 201) throw new Error(`setup: ${setup.status} ${setup.body.slice(0, 300)}`);

    const drives = JSON.parse((await client.get('/api/v1/drives')).body) as { drives: unknown[] };
    if (drives.drives.length !== DISK_COUNT) throw new Error(`expected ${DISK_COUNT} drives, the service lists ${drives.drives.length}`);
    const bodies: Record<string, string> = {};
    for (const path of MIXED_PATHS) bodies[path] = (await client.get(path)).body;

    await mixedRequests(client);
    await sleep(SETTINGS.idleSettleMs);
    const afterMixed = await memoryOf(running.pid);
    const { latencyMs, drivesBytes } = await drivesLatency(client);
    client.close();
    await stopProcess(running);
    const startMs = [firstStartMs, ...(options.restarts ? await restarts(startOne) : [])];
    return { measured: { firstStartMs, startMs, idle, afterMixed, latencyMs, drivesBytes }, bodies };
  } finally {
    client.close();
    await stopProcess(running);
  }
}

async function benchReference(bodiesFile: string, logFile: string): Promise<Measured> {
  const startOne = async () => {
    const port = await freePort();
    return { running: startProcess([referenceMain, bodiesFile, String(port)], logFile), port };
  };
  const { running, port } = await startOne();
  const client = new Client(port);
  try {
    const firstStartMs = await timeToFirstAnswer(running, port);
    await sleep(SETTINGS.idleSettleMs);
    const idle = await memoryOf(running.pid);
    await mixedRequests(client);
    await sleep(SETTINGS.idleSettleMs);
    const afterMixed = await memoryOf(running.pid);
    const { latencyMs, drivesBytes } = await drivesLatency(client);
    client.close();
    await stopProcess(running);
    const startMs = [firstStartMs, ...(await restarts(startOne))];
    return { firstStartMs, startMs, idle, afterMixed, latencyMs, drivesBytes };
  } finally {
    client.close();
    await stopProcess(running);
  }
}

/** Idle RSS of a Node process that only imports `code`'s modules, one process per entry, in parallel. */
async function importFloors(logFile: string): Promise<Array<{ label: string; rssKiB: number }>> {
  const cases: Array<[string, string]> = [
    ['node, nothing imported', ''],
    ['+ zod', "await import('zod');"],
    ['+ pino (one logger)', "const { pino } = await import('pino'); pino({ level: 'info' });"],
    ['+ express (one app)', "const { default: express } = await import('express'); express();"],
    ['+ helmet', "await import('helmet');"],
    ['+ node-cron', "await import('node-cron');"],
    ['+ better-sqlite3 (one :memory: database)', "const { default: D } = await import('better-sqlite3'); new D(':memory:');"],
    [
      'all of the above together',
      "await import('zod'); const { pino } = await import('pino'); pino(); const { default: express } = await import('express'); express(); await import('helmet'); await import('node-cron'); const { default: D } = await import('better-sqlite3'); new D(':memory:');",
    ],
  ];
  const running = cases.map(([, code]) =>
    startProcess(['--input-type=module', '-e', `${code} process.stdout.write('ready\\n'); setInterval(() => {}, 1 << 30);`], logFile),
  );
  try {
    await Promise.all(
      running.map(
        (r) =>
          new Promise<void>((done, fail) => {
            r.child.stdout!.on('data', () => done());
            void r.exited.then((code) => fail(new Error(`import probe exited with ${code}; see ${logFile}`)));
          }),
      ),
    );
    await sleep(SETTINGS.idleSettleMs);
    return await Promise.all(cases.map(async ([label], i) => ({ label, rssKiB: (await memoryOf(running[i]!.pid)).rssKiB })));
  } finally {
    await Promise.all(running.map((r) => stopProcess(r, 2_000)));
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const mib = (kib: number) => kib / 1024;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function report(safehold: Measured, reference: Measured, tuned: Measured, floors: Array<{ label: string; rssKiB: number }>): void {
  const row = (label: string, pick: (m: Measured) => number, digits: number, tunedToo = true) => {
    const [s, r, t] = [pick(safehold), pick(reference), pick(tuned)];
    const ratio = (x: number) => `${(x / r).toFixed(2)}×`;
    return [label, s.toFixed(digits), r.toFixed(digits), ratio(s), tunedToo ? t.toFixed(digits) : '–', tunedToo ? ratio(t) : '–'];
  };
  const rows = [
    ['measure', 'Safehold', 'reference', 'ratio', "Safehold, Node's defaults", 'ratio'],
    row('start to first answer, new data folder (ms)', (m) => m.firstStartMs, 0),
    row(`start to first answer, median of ${safehold.startMs.length} starts (ms)`, (m) => median(m.startMs), 0, false),
    row('resident memory, idle after start-up (MiB)', (m) => mib(m.idle.rssKiB), 1),
    row(`resident memory, idle after ${SETTINGS.mixedRequests.toLocaleString('en')} API requests (MiB)`, (m) => mib(m.afterMixed.rssKiB), 1),
    row('peak resident memory so far (MiB)', (m) => mib(m.afterMixed.peakKiB), 1),
    row(`GET /api/v1/drives, ${DISK_COUNT} disks: p50 (ms)`, (m) => percentile(m.latencyMs, 50), 2),
    row(`GET /api/v1/drives, ${DISK_COUNT} disks: p95 (ms)`, (m) => percentile(m.latencyMs, 95), 2),
    row(`GET /api/v1/drives, ${DISK_COUNT} disks: p99 (ms)`, (m) => percentile(m.latencyMs, 99), 2),
    row(`GET /api/v1/drives, ${DISK_COUNT} disks: max (ms)`, (m) => m.latencyMs.at(-1)!, 2),
  ];
  const budget = SETTINGS.idleBudgetMiB;
  const idleMiB = mib(safehold.idle.rssKiB);
  const afterMiB = mib(safehold.afterMixed.rssKiB);
  const bare = floors[0]!.rssKiB;
  const floorRows = [
    ['idle Node process that only…', 'RSS (MiB)', 'over bare node (MiB)'],
    ...floors.map((f) => [f.label, mib(f.rssKiB).toFixed(1), mib(f.rssKiB - bare).toFixed(1)]),
    ['Safehold, idle after start-up (for comparison)', idleMiB.toFixed(1), mib(safehold.idle.rssKiB - bare).toFixed(1)],
  ];
  const out = [
    '',
    `Safehold service benchmark: ${DISK_COUNT} simulated disks, /drives answer ${safehold.drivesBytes.toLocaleString('en')} bytes (reference serves the same bytes)`,
    `node ${process.version}, ${process.arch}; ${SETTINGS.latencyRequests} sequential requests on one keep-alive connection after ${SETTINGS.warmupRequests} warm-up; RSS from /proc/PID/status (1 MiB = 1,048,576 bytes)`,
    '',
    table(rows),
    '',
    `"Safehold": as shipped (bin/safehold: --max-semi-space-size=1 --no-opt --no-sparkplug). "Node's defaults": plain node dist/server/cli/main.js (a fresh data folder, one start).`,
    `Each start (ms): Safehold ${safehold.startMs.map((t) => t.toFixed(0)).join(', ')}; reference ${reference.startMs.map((t) => t.toFixed(0)).join(', ')}.`,
    '',
    `Idle memory budget (under ${budget} MiB): ${idleMiB < budget ? 'met' : 'NOT met'} after start-up (${idleMiB.toFixed(1)} MiB), ` +
      `${afterMiB < budget ? 'met' : 'NOT met'} after ${SETTINGS.mixedRequests.toLocaleString('en')} requests (${afterMiB.toFixed(1)} MiB).`,
    '',
    'Where idle memory goes (each line a separate idle process, read after the same settling time):',
    '',
    table(floorRows),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'safehold-bench-'));
  const onSignal = () => {
    killAll();
    void rm(work, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const dataDir = join(work, 'data');
    const host = await SimulatedHost.open(join(dataDir, 'simulated-host'));
    for (const spec of fiftyDisks()) await host.addDisk(spec);

    process.stderr.write(`safehold bench: service with ${DISK_COUNT} simulated disks…\n`);
    const { measured: safehold, bodies } = await benchSafehold(dataDir, join(work, 'safehold.log'), { restarts: true });
    const bodiesFile = join(work, 'bodies.json');
    await writeFile(bodiesFile, JSON.stringify(bodies));
    process.stderr.write('safehold bench: reference node:http server…\n');
    const reference = await benchReference(bodiesFile, join(work, 'reference.log'));
    process.stderr.write("safehold bench: service again with Node's default young generation…\n");
    const tunedDir = join(work, 'data-tuned');
    const tunedHost = await SimulatedHost.open(join(tunedDir, 'simulated-host'));
    for (const spec of fiftyDisks()) await tunedHost.addDisk(spec);
    const { measured: tuned } = await benchSafehold(tunedDir, join(work, 'safehold-tuned.log'), { restarts: false, nodeDefaults: true });
    process.stderr.write('safehold bench: import floors…\n');
    const floors = await importFloors(join(work, 'floors.log'));
    report(safehold, reference, tuned, floors);
  } catch (error) {
    process.stderr.write(`\nsafehold bench failed: ${(error as Error).stack ?? String(error)}\n`);
    for (const log of ['safehold.log', 'reference.log', 'safehold-tuned.log', 'floors.log']) {
      const text = await readFile(join(work, log), 'utf8').catch(() => '');
      if (text) process.stderr.write(`\n--- last lines of ${log} ---\n${text.split('\n').slice(-30).join('\n')}\n`);
    }
    process.exitCode = 1;
  } finally {
    killAll();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
