/**
 * The hashing benchmark (`make bench`; results go in bench/README.md by hand).
 *
 * Question (issue 11): how fast does Safehold hash a file in its worker thread (system/files/
 * hasher.ts: SHA-256, 1 MiB reads), against `sha256sum` on the same file, and does the event loop
 * stay free meanwhile?
 *
 * - Data: one file of random bytes (`--size` MiB, default 512) in the temp folder, read once
 *   before timing, so every run hashes from the page cache: this measures the hashing, not the disk.
 * - Reference: `sha256sum FILE`, spawned and timed from spawn to exit.
 * - Safehold: `hasher.hashFile(FILE)`, timed from the call to the answer, in the same process as a
 *   timer that measures the event loop's delay (`monitorEventLoopDelay`, 1 ms resolution).
 * - For contrast: the same SHA-256 on the main thread (a read stream piped into `createHash`), the
 *   way that blocks the event loop for each chunk.
 * - Runs alternate (reference, worker, main thread…), `--runs` times (default 5); medians reported.
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
import { promisify } from 'node:util';
import { hasher } from '../system/files/hasher.js';
import { testName } from '../test/testing/loop-disk.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const sizeMiB = option('size', 512);
const runs = option('runs', 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function makeFile(path: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    for (let i = 0; i < sizeMiB; i++) await handle.write(randomBytes(MiB));
  } finally {
    await handle.close();
  }
}

/** Runs `work`, timing it and the event loop's delay meanwhile (ms). */
async function timed(work: () => Promise<string>): Promise<{ ms: number; p99: number; max: number; hex: string }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const hex = await work();
  const ms = performance.now() - start;
  delay.disable();
  return { ms, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, hex };
}

async function main(): Promise<void> {
  const file = join(tmpdir(), testName('-hash.bin'));
  try {
    process.stdout.write(`Hashing benchmark: ${sizeMiB} MiB of random bytes, ${runs} runs, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}\n`);
    await makeFile(file);
    await run('sha256sum', [file]); // into the page cache
    const rows = { reference: [] as Array<Awaited<ReturnType<typeof timed>>>, worker: [] as Array<Awaited<ReturnType<typeof timed>>>, main: [] as Array<Awaited<ReturnType<typeof timed>>> };
    for (let i = 0; i < runs; i++) {
      rows.reference.push(await timed(async () => (await run('sha256sum', [file])).stdout.split(' ')[0]!));
      rows.worker.push(await timed(async () => (await hasher.hashFile(file)).hex));
      rows.main.push(
        await timed(async () => {
          const hash = createHash('sha256');
          await pipeline(createReadStream(file, { highWaterMark: MiB }), hash);
          return hash.digest('hex');
        }),
      );
    }
    const hexes = new Set([...rows.reference, ...rows.worker, ...rows.main].map((r) => r.hex));
    if (hexes.size !== 1) throw new Error(`The hashes differ: ${[...hexes].join(', ')}`);
    const ref = median(rows.reference.map((r) => r.ms));
    const line = (name: string, list: typeof rows.worker) => {
      const ms = median(list.map((r) => r.ms));
      const mbs = (sizeMiB * MiB) / 1e6 / (ms / 1000);
      return `| ${name} | ${ms.toFixed(0)} | ${mbs.toFixed(0)} | ${(ms / ref).toFixed(2)}× | ${median(list.map((r) => r.p99)).toFixed(1)} | ${median(list.map((r) => r.max)).toFixed(1)} |`;
    };
    process.stdout.write(
      [
        '',
        '| hashing the file (SHA-256, from the page cache) | median ms | MB/s | time vs sha256sum | event loop delay p99 (ms) | max (ms) |',
        '|:--|--:|--:|--:|--:|--:|',
        line('`sha256sum` (reference)', rows.reference),
        line('Safehold: `hasher.hashFile` (worker thread)', rows.worker),
        line('for contrast: `createHash` on the main thread', rows.main),
        '',
      ].join('\n'),
    );
  } finally {
    await rm(file, { force: true });
    await hasher.close();
  }
}

await main();
