/**
 * The job runner against a real SQLite catalog: locks per disk, cancellation, progress with an
 * ETA, and what a restart finds after the service died mid-job.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { EventBus } from '../../server/events.js';
import { JobRunner } from '../../server/jobs/job-runner.js';
import type { JobContext, JobView } from '../../server/jobs/job.model.js';
import { JobRepository } from '../../server/jobs/job.repository.js';
import type { Catalog } from '../../server/catalog/catalog.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';

/** A job kind whose runs wait until the test releases them, recording overlap. */
function gatedKind(kind = 'test.gated') {
  const gates = new Map<number, () => void>();
  const active = new Set<number>();
  let maxOverlap = 0;
  return {
    definition: {
      kind,
      title: (target: string | null) => `Gated ${target}`,
      run: (ctx: JobContext) =>
        new Promise<string>((resolve, reject) => {
          active.add(ctx.jobId);
          maxOverlap = Math.max(maxOverlap, active.size);
          ctx.signal.addEventListener('abort', () => {
            active.delete(ctx.jobId);
            reject(ctx.signal.reason);
          });
          gates.set(ctx.jobId, () => {
            active.delete(ctx.jobId);
            resolve(`done ${ctx.target}`);
          });
        }),
    },
    release: (id: number) => gates.get(id)!(),
    running: () => [...active],
    maxOverlap: () => maxOverlap,
  };
}

function makeRunner(db: Catalog, clock = new ManualClock()) {
  const bus = new EventBus();
  const events: JobView[] = [];
  bus.subscribe('job', (j) => events.push(j));
  const runner = new JobRunner({ repo: new JobRepository(db), clock, bus, log: silentLog() });
  return { runner, events, clock };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('job runner', () => {
  it('never runs two jobs on one disk at once, but runs jobs on different disks together, in order', async () => {
    const cat = tempCatalog();
    try {
      const { runner } = makeRunner(cat.db);
      const gated = gatedKind();
      runner.define(gated.definition);
      runner.start();
      const a1 = runner.submit('test.gated', { target: 'a1', resources: ['disk:A'] });
      const a2 = runner.submit('test.gated', { target: 'a2', resources: ['disk:A'] });
      const b1 = runner.submit('test.gated', { target: 'b1', resources: ['disk:B'] });
      await tick();
      assert.deepEqual(gated.running().sort(), [a1.id, b1.id]);
      assert.equal(runner.get(a2.id).state, 'queued');
      gated.release(a1.id);
      await runner.settled(a1.id);
      await tick();
      assert.equal(runner.get(a2.id).state, 'running');
      gated.release(a2.id);
      gated.release(b1.id);
      assert.equal((await runner.settled(a2.id)).message, 'done a2');
      assert.equal((await runner.settled(b1.id)).state, 'succeeded');
      assert.equal(gated.maxOverlap(), 2);
    } finally {
      cat.dispose();
    }
  });

  it('cancels a queued job at once and a running one at its safe point', async () => {
    const cat = tempCatalog();
    try {
      const { runner } = makeRunner(cat.db);
      const gated = gatedKind();
      runner.define(gated.definition);
      runner.start();
      const running = runner.submit('test.gated', { target: 'r', resources: ['disk:A'] });
      const queued = runner.submit('test.gated', { target: 'q', resources: ['disk:A'] });
      await tick();
      assert.equal(runner.cancel(queued.id).state, 'cancelled');
      runner.cancel(running.id);
      const ended = await runner.settled(running.id);
      assert.equal(ended.state, 'cancelled');
      assert.throws(() => runner.cancel(running.id), /already ended/);
      const row = cat.db.prepare('SELECT state, finished_at FROM jobs WHERE id = ?').get(running.id) as { state: string; finished_at: number };
      assert.equal(row.state, 'cancelled');
      assert.ok(row.finished_at > 0);
    } finally {
      cat.dispose();
    }
  });

  it('records progress with an ETA from the rate so far', async () => {
    const cat = tempCatalog();
    try {
      const { runner, clock, events } = makeRunner(cat.db);
      let ctx!: JobContext;
      let finish!: () => void;
      runner.define({
        kind: 'test.copy',
        title: () => 'Copy',
        run: (c) => {
          ctx = c;
          return new Promise<void>((r) => (finish = r));
        },
      });
      runner.start();
      const job = runner.submit('test.copy');
      await tick();
      clock.advance(10_000);
      ctx.progress({ bytesDone: 250, bytesTotal: 1000, itemsDone: 5, current: 'photos/2019/IMG_0001.jpg' });
      const live = runner.get(job.id).progress;
      assert.equal(live.etaSeconds, 30, '250 bytes in 10 s leaves 750 bytes: 30 s');
      assert.equal(live.current, 'photos/2019/IMG_0001.jpg');
      const stored = cat.db.prepare('SELECT bytes_done, eta_seconds FROM jobs WHERE id = ?').get(job.id);
      assert.deepEqual(stored, { bytes_done: 250, eta_seconds: 30 });
      assert.ok(events.some((e) => e.id === job.id && e.progress.bytesDone === 250), 'progress is published');
      finish();
      const ended = await runner.settled(job.id);
      assert.equal(ended.state, 'succeeded');
      assert.equal(ended.progress.etaSeconds, null);
    } finally {
      cat.dispose();
    }
  });

  it('marks a failed job failed with its message', async () => {
    const cat = tempCatalog();
    try {
      const { runner } = makeRunner(cat.db);
      runner.define({ kind: 'test.fail', title: () => 'Fail', run: async () => Promise.reject(new Error('The disk is full.')) });
      runner.start();
      const ended = await runner.settled(runner.submit('test.fail').id);
      assert.deepEqual([ended.state, ended.message], ['failed', 'The disk is full.']);
    } finally {
      cat.dispose();
    }
  });

  it('after the process dies mid-job, the next start marks the job interrupted and frees its disk', async () => {
    const cat = tempCatalog();
    try {
      const first = makeRunner(cat.db);
      const gated = gatedKind();
      first.runner.define(gated.definition);
      first.runner.start();
      const job = first.runner.submit('test.gated', { target: 'x', resources: ['disk:A'] });
      await tick();
      assert.equal(first.runner.get(job.id).state, 'running');
      // The process "dies": nothing more happens in this runner; a new one opens the same file.
      const db = cat.reopen();
      const second = makeRunner(db);
      const gated2 = gatedKind();
      second.runner.define(gated2.definition);
      const interrupted = second.runner.start();
      assert.deepEqual(interrupted.map((j) => [j.id, j.state]), [[job.id, 'interrupted']]);
      const next = second.runner.submit('test.gated', { target: 'y', resources: ['disk:A'] });
      await tick();
      assert.equal(second.runner.get(next.id).state, 'running', 'the disk lock was released');
      gated2.release(next.id);
      await second.runner.settled(next.id);
    } finally {
      cat.dispose();
    }
  });

  it('at shutdown signals running jobs, records them interrupted, and refuses new work', async () => {
    const cat = tempCatalog();
    try {
      const { runner } = makeRunner(cat.db);
      const gated = gatedKind();
      runner.define(gated.definition);
      runner.start();
      const job = runner.submit('test.gated', { resources: ['disk:A'] });
      await tick();
      await runner.shutdown(1000);
      assert.equal(runner.get(job.id).state, 'interrupted');
      assert.throws(() => runner.submit('test.gated'), /stopping/);
    } finally {
      cat.dispose();
    }
  });

  it('coalesces a refresh already queued', () => {
    const cat = tempCatalog();
    try {
      const { runner } = makeRunner(cat.db);
      const gated = gatedKind();
      runner.define(gated.definition);
      runner.start();
      runner.submit('test.gated', { resources: ['inventory'] });
      const q1 = runner.submit('test.gated', { resources: ['inventory'], coalesce: true });
      const q2 = runner.submit('test.gated', { resources: ['inventory'], coalesce: true });
      assert.equal(q1.id, q2.id);
    } finally {
      cat.dispose();
    }
  });
});
