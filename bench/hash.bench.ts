/**
 * The hashing benchmark (`make bench`; results go in bench/README.md by hand).
 *
 * Question (issue 11): the pool's catalog keeps a content hash per file, with the name of its
 * algorithm. Which hash is not the bottleneck on a Raspberry Pi 4 (Cortex-A72: no SHA
 * instructions), hashed off the event loop? And how fast does Safehold's own hasher
 * (system/files/hasher.ts, 1 MiB reads in a worker thread) go, against `sha256sum` on the same file?
 *
 * - Data: one file of random bytes (`--size` MiB, default 512) in the temp folder, read once
 *   before timing, so every run hashes from the page cache: this measures the hashing, not the disk.
 * - Reference: `sha256sum FILE`, spawned and timed from spawn to exit (and `xxhsum -H2 FILE` when
 *   installed: Debian's `xxhash`; it also checks the XXH3-128 digits of the WebAssembly candidate).
 * - Safehold: `hasher.hashFile(FILE)`, timed from the call to the answer, in the same process as a
 *   timer that measures the event loop's delay (`monitorEventLoopDelay`, 1 ms resolution).
 * - Candidates, each in its own worker thread reading 1 MiB chunks like the hasher's
 *   (hash-candidates.worker.ts): SHA-256 and BLAKE2b-512 from node:crypto (OpenSSL); BLAKE3 and
 *   XXH3-128 from hash-wasm (WebAssembly, the same code on every CPU); BLAKE3 from
 *   @napi-rs/blake-hash (native Rust, SIMD).
 * - SHA-256 without the CPU's SHA instructions, the closest stand-in here for a Pi's CPU: the same
 *   worker in a child Node (same options) started with `OPENSSL_ia32cap=:~0x20000000`, which clears
 *   OpenSSL's SHA-extension bit (x86 only; OpenSSL reads it once at start, so it needs a new
 *   process). The child times the hash and the event loop the same way and prints them.
 * - For contrast: SHA-256 on the main thread (a read stream piped into `createHash`).
 * - Every worker hashes an empty file once before timing (start-up and WebAssembly compilation are
 *   not in the numbers). Runs alternate (reference, hasher, each candidate…), `--runs` times
 *   (default 5); medians reported. All digests of one algorithm must agree, or the run fails.
 * Everything is made under a `safehold-test-<pid>-…` name and removed on exit.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { HASH_ALGORITHM, hasher } from '../system/files/hasher.js';
import { testName } from '../test/testing/loop-disk.js';
import type { Candidate, CandidateReply, CandidateRequest } from './hash-candidates.worker.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const NO_SHA_EXTENSIONS = ':~0x20000000'; // OPENSSL_ia32cap: clear bit 29 of the second word (SHA)

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const sizeMiB = option('size', 512);
const runs = option('runs', 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Timing = { ms: number; p99: number; max: number; hex: string };

async function makeFile(path: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    for (let i = 0; i < sizeMiB; i++) await handle.write(randomBytes(MiB));
  } finally {
    await handle.close();
  }
}

/** Runs `work`, timing it and the event loop's delay meanwhile (ms). */
async function timed(work: () => Promise<string>): Promise<Timing> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const hex = await work();
  const ms = performance.now() - start;
  delay.disable();
  return { ms, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, hex };
}

/** One candidate's worker thread, answering one request at a time. */
class CandidateThread {
  readonly #worker = new Worker(new URL('./hash-candidates.worker.js', import.meta.url));
  #next = 1;
  constructor(readonly algorithm: Candidate) {}

  hash(path: string): Promise<string> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const onMessage = (reply: CandidateReply) => {
        if (reply.id !== id) return;
        this.#worker.off('message', onMessage);
        if ('hex' in reply) resolve(reply.hex);
        else reject(new Error(`${this.algorithm}: ${reply.error}`));
      };
      this.#worker.on('message', onMessage);
      this.#worker.postMessage({ id, algorithm: this.algorithm, path } satisfies CandidateRequest);
    });
  }

  close(): Promise<number> {
    return this.#worker.terminate();
  }
}

/** `--child FILE`: SHA-256 in a worker of this process (started with OPENSSL_ia32cap), printed as JSON. */
async function child(file: string): Promise<void> {
  const thread = new CandidateThread('sha256');
  try {
    await thread.hash('/dev/null');
    process.stdout.write(`${JSON.stringify(await timed(() => thread.hash(file)))}\n`);
  } finally {
    await thread.close();
  }
}

async function withoutShaExtensions(file: string): Promise<Timing> {
  const script = fileURLToPath(import.meta.url);
  const { stdout } = await run(process.execPath, [...process.execArgv, script, '--child', file], {
    env: { ...process.env, OPENSSL_ia32cap: NO_SHA_EXTENSIONS },
  });
  return JSON.parse(stdout) as Timing;
}

async function haveXxhsum(): Promise<boolean> {
  return run('xxhsum', ['--version']).then(
    () => true,
    () => false,
  );
}

interface Row {
  name: string;
  /** Which digests must agree. */
  algorithm: string;
  measure(file: string): Promise<Timing>;
  timings: Timing[];
}

async function main(): Promise<void> {
  const file = join(tmpdir(), testName('-hash.bin'));
  const threads = (['sha256', 'blake2b512', 'blake3-wasm', 'xxh3-128-wasm', 'blake3-native'] as const).map((a) => new CandidateThread(a));
  const thread = (a: Candidate) => threads.find((t) => t.algorithm === a)!;
  try {
    process.stdout.write(
      `Hashing benchmark: ${sizeMiB} MiB of random bytes, ${runs} runs, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, OpenSSL ${process.versions.openssl}, options: ${process.execArgv.join(' ') || "Node's defaults"}\n`,
    );
    await makeFile(file);
    await run('sha256sum', [file]); // into the page cache
    for (const t of threads) await t.hash('/dev/null');
    await hasher.hashFile('/dev/null');
    const row = (name: string, algorithm: string, measure: (file: string) => Promise<Timing>): Row => ({ name, algorithm, measure, timings: [] });
    const inWorker = (a: Candidate) => (f: string) => timed(() => thread(a).hash(f));
    const rows: Row[] = [
      row('`sha256sum` (reference)', 'sha256', (f) => timed(async () => (await run('sha256sum', [f])).stdout.split(' ')[0]!)),
      ...((await haveXxhsum()) ? [row('`xxhsum -H2` (XXH3-128, Debian\'s xxhash 0.8)', 'xxh3-128', (f) => timed(async () => (await run('xxhsum', ['-H2', f])).stdout.split(' ')[0]!))] : []),
      row(`Safehold: \`hasher.hashFile\` (${HASH_ALGORITHM}, worker thread)`, HASH_ALGORITHM, async (f) => timed(async () => (await hasher.hashFile(f)).hex)),
      row('SHA-256, node:crypto (worker)', 'sha256', inWorker('sha256')),
      row('SHA-256, node:crypto, **SHA instructions off** (worker, child process)', 'sha256', withoutShaExtensions),
      row('BLAKE2b-512, node:crypto (worker)', 'blake2b512', inWorker('blake2b512')),
      row('BLAKE3, hash-wasm (WebAssembly, worker)', 'blake3', inWorker('blake3-wasm')),
      row('XXH3-128, hash-wasm (WebAssembly, worker)', 'xxh3-128', inWorker('xxh3-128-wasm')),
      row('BLAKE3, @napi-rs/blake-hash (native, worker)', 'blake3', inWorker('blake3-native')),
      row('for contrast: SHA-256 `createHash` on the main thread', 'sha256', (f) =>
        timed(async () => {
          const hash = createHash('sha256');
          await pipeline(createReadStream(f, { highWaterMark: MiB }), hash);
          return hash.digest('hex');
        }),
      ),
    ];
    for (let i = 0; i < runs; i++) for (const r of rows) r.timings.push(await r.measure(file));
    const byAlgorithm = new Map<string, Set<string>>();
    for (const r of rows) for (const t of r.timings) byAlgorithm.set(r.algorithm, (byAlgorithm.get(r.algorithm) ?? new Set()).add(t.hex));
    for (const [algorithm, hexes] of byAlgorithm) if (hexes.size !== 1) throw new Error(`The ${algorithm} digests differ: ${[...hexes].join(', ')}`);
    const ref = median(rows[0]!.timings.map((t) => t.ms));
    const msOf = (name: string) => median(rows.find((r) => r.name.startsWith(name))!.timings.map((t) => t.ms));
    const line = (r: Row) => {
      const ms = median(r.timings.map((t) => t.ms));
      const mbs = (sizeMiB * MiB) / 1e6 / (ms / 1000);
      return `| ${r.name} | ${ms.toFixed(0)} | ${mbs.toFixed(0)} | ${(ms / ref).toFixed(2)}× | ${median(r.timings.map((t) => t.p99)).toFixed(1)} | ${median(r.timings.map((t) => t.max)).toFixed(1)} |`;
    };
    const slower = msOf('SHA-256, node:crypto, **SHA') / msOf('SHA-256, node:crypto (worker)');
    process.stdout.write(
      [
        '',
        `| hashing the file (${sizeMiB} MiB, from the page cache) | median ms | MB/s | time vs sha256sum | event loop delay p99 (ms) | max (ms) |`,
        '|:--|--:|--:|--:|--:|--:|',
        ...rows.map(line),
        '',
        `OPENSSL_ia32cap=${NO_SHA_EXTENSIONS}: SHA-256 took ${slower.toFixed(2)}× as long as with the SHA instructions${slower < 1.5 ? ' (NOT clearly slower: does this CPU have SHA instructions at all? the row is not a stand-in then)' : ''}.`,
        '',
      ].join('\n'),
    );
  } finally {
    await rm(file, { force: true });
    await Promise.all(threads.map((t) => t.close()));
    await hasher.close();
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1]!);
else await main();
