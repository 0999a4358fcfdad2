/** Judging a lock's process from /proc: gone, another program, or running. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { isProgramRunning } from '../../system/process/processes.js';

describe('is a program still running?', { skip: process.platform !== 'linux' ? 'reads /proc (Linux)' : false }, () => {
  it('knows this process by its command name, and not by another', async () => {
    const comm = (await readFile(`/proc/${process.pid}/comm`, 'utf8')).trim();
    assert.equal(await isProgramRunning(process.pid, comm), true);
    assert.equal(await isProgramRunning(process.pid, 'restic'), false, 'a pid reused by another program holds nothing');
  });

  it('says no for a process that has ended, and for nonsense pids', async () => {
    const child = spawn('sleep', ['30']);
    const pid = child.pid!;
    assert.equal(await isProgramRunning(pid, 'sleep'), true);
    child.kill('SIGKILL');
    await new Promise((done) => child.once('exit', done));
    assert.equal(await isProgramRunning(pid, 'sleep'), false);
    assert.equal(await isProgramRunning(0, 'sleep'), false);
    assert.equal(await isProgramRunning(-5, 'sleep'), false);
  });
});
