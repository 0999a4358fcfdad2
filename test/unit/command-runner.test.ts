import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checked,
  CommandAbortedError,
  CommandFailedError,
  ProcessCommandRunner,
  ToolMissingError,
  type UrgentStop,
} from '../../system/process/command-runner.js';
import { SYSTEM_TOOLS_PATH, toolsPath } from '../../system/tools.js';

const runner = new ProcessCommandRunner();

describe('the command runner', () => {
  it('returns a non-zero exit status as data, with both outputs', async () => {
    const result = await runner.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(result, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes arguments literally: nothing reaches a shell', async () => {
    const hostile = '$(touch /tmp/safehold-pwned); rm -rf / ; `id`';
    const result = await runner.run('printf', ['%s', hostile]);
    assert.equal(result.stdout, hostile);
  });

  it('says a program is not installed', async () => {
    await assert.rejects(runner.run('safehold-no-such-tool', []), ToolMissingError);
  });

  it('stops a program at its timeout and when the caller aborts', async () => {
    await assert.rejects(runner.run('sleep', ['5'], { timeoutMs: 100 }), (e: unknown) => e instanceof CommandAbortedError && e.reason === 'timeout');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(runner.run('sleep', ['5'], { signal: controller.signal }), (e: unknown) => e instanceof CommandAbortedError && e.reason === 'aborted');
  });

  it('runs without a time limit when told Infinity (a daemon), until its signal stops it', async () => {
    assert.equal((await runner.run('sh', ['-c', 'sleep 0.3; echo done'], { timeoutMs: Infinity })).stdout, 'done\n');
    const controller = new AbortController();
    const running = runner.run('sleep', ['30'], { timeoutMs: Infinity, signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(running, (e: unknown) => e instanceof CommandAbortedError && e.reason === 'aborted');
  });

  it('feeds standard input', async () => {
    assert.equal((await runner.run('cat', [], { input: 'hello' })).stdout, 'hello');
  });

  it('redacts secrets and keeps at most ~1000 bytes of output in errors', async () => {
    const secret = 'hunter2-very-secret';
    const error = await checked(runner, 'sh', ['-c', `printf '%0.sx' $(seq 3000); echo ${secret} >&2; exit 1`, secret], { secrets: [secret] }).catch((e) => e);
    assert.ok(error instanceof CommandFailedError);
    assert.equal(error.exitCode, 1);
    assert.ok(!error.message.includes(secret) && !error.command.includes(secret));
    assert.ok(error.message.includes('***'));
    assert.ok(error.output.length <= 1001);
  });
  it('streams standard output line by line, and can leave it uncollected', async () => {
    const lines: string[] = [];
    const script = 'printf "one\\n"; sleep 0.05; printf "t"; sleep 0.05; printf "w\\303"; sleep 0.05; printf "\\251o\\nthree"';
    const collected = await runner.run('sh', ['-c', script], { onStdoutLine: (line) => lines.push(line) });
    assert.deepEqual(lines, ['one', 'twéo', 'three']);
    assert.equal(collected.stdout, 'one\ntwéo\nthree');

    const streamed: string[] = [];
    const big = await runner.run('sh', ['-c', 'seq 1 20000'], {
      onStdoutLine: (line) => streamed.push(line),
      collectStdout: false,
      maxOutputBytes: 1000, // stdout is not held, so it does not count
    });
    assert.equal(big.stdout, '');
    assert.equal(big.exitCode, 0);
    assert.equal(streamed.length, 20000);
    assert.equal(streamed.at(-1), '20000');
  });

  it('streams both outputs as raw chunks (bytes that are not UTF-8 kept), and can leave stderr uncollected', async () => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const script = 'printf "a\\0\\377\\n"; sleep 0.05; printf "b\\0"; printf "warn\\376\\n" >&2; seq 1 20000 >&2';
    const result = await runner.run('sh', ['-c', script], {
      onStdoutChunk: (chunk) => out.push(chunk),
      onStderrChunk: (chunk) => err.push(chunk),
      collectStdout: false,
      collectStderr: false,
      maxOutputBytes: 1000, // neither output is held, so neither counts
    });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, '');
    assert.deepEqual(Buffer.concat(out), Buffer.from([0x61, 0, 0xff, 0x0a, 0x62, 0]));
    const stderr = Buffer.concat(err);
    assert.deepEqual(stderr.subarray(0, 6), Buffer.from([0x77, 0x61, 0x72, 0x6e, 0xfe, 0x0a]));
    assert.ok(stderr.toString('latin1').endsWith('\n20000\n'));
  });

  it('stops the program when a chunk callback throws, and rejects with its error', async () => {
    const boom = new Error('bad chunk');
    await assert.rejects(
      runner.run('sh', ['-c', 'echo first >&2; exec sleep 5'], { timeoutMs: Infinity, onStderrChunk: () => { throw boom; } }),
      (e: unknown) => e === boom,
    );
  });

  it('stops the program when the line callback throws, and rejects with its error', async () => {
    const boom = new Error('bad line');
    let lines = 0;
    await assert.rejects(
      runner.run('sh', ['-c', 'echo first; echo second; exec sleep 5'], { onStdoutLine: () => { lines += 1; throw boom; } }),
      (e: unknown) => e === boom,
    );
    assert.equal(lines, 1, 'no line is passed after the callback threw');
  });

  it('sends the chosen signal first when stopping', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const script = 'trap "echo got-INT; exit 7" INT; echo ready; while :; do sleep 0.02; done';
    const running = runner.run('sh', ['-c', script], {
      signal: controller.signal,
      killSignal: 'SIGINT',
      onStdoutLine: (line) => {
        lines.push(line);
        if (line === 'ready') controller.abort();
      },
    });
    const error = await running.catch((e: unknown) => e);
    assert.ok(error instanceof CommandAbortedError && error.reason === 'aborted');
    assert.deepEqual(lines, ['ready', 'got-INT']);
  });

  it('kills a program that ignores the first signal after an urgent stop\'s own grace, not the run\'s', async () => {
    // The run's grace is longer than the test may last: only the urgent stop's grace can end it.
    const controller = new AbortController();
    const running = runner.run('sh', ['-c', 'trap "" INT; echo ready; while :; do sleep 0.02; done'], {
      signal: controller.signal,
      killSignal: 'SIGINT',
      killGraceMs: 3_600_000,
      onStdoutLine: (line) => {
        if (line === 'ready') controller.abort(Object.assign(new Error('the drive is gone'), { urgentStopGraceMs: 50 } satisfies UrgentStop));
      },
    });
    const error = await running.catch((e: unknown) => e);
    assert.ok(error instanceof CommandAbortedError && error.reason === 'aborted', String(error));
  });
});

describe('where the runner finds programs', () => {
  it('uses the fixed tools path, not the PATH it inherited, and hands that PATH on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'safehold-test-tools-'));
    const saved = process.env.PATH;
    try {
      await writeFile(join(dir, 'safehold-only-here'), '#!/bin/sh\necho found\n', { mode: 0o755 });
      process.env.PATH = `${dir}:${saved ?? ''}`;
      const plain = new ProcessCommandRunner();
      await assert.rejects(plain.run('safehold-only-here', []), ToolMissingError);
      await assert.rejects(plain.run('safehold-only-here', [], { env: { PATH: dir } }), ToolMissingError, 'a PATH in env does not count either');
      assert.equal((await plain.run('printenv', ['PATH'], { env: { PATH: dir } })).stdout.trim(), SYSTEM_TOOLS_PATH);

      const withStandIns = new ProcessCommandRunner({ toolsPath: toolsPath({ SAFEHOLD_TOOLS_PATH: `${dir}:relative/dir` }) });
      assert.equal((await withStandIns.run('safehold-only-here', [])).stdout, 'found\n');
      assert.equal((await withStandIns.run('printenv', ['PATH'])).stdout.trim(), `${dir}:${SYSTEM_TOOLS_PATH}`, 'relative folders are dropped');
    } finally {
      process.env.PATH = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
