/**
 * A start that fails leaves the data folder as it found it: `safehold serve` on a port another
 * program holds exits with one line in words and status 1, and writes nothing: a data folder it
 * would have made does not exist afterwards, one the owner made stays empty, and an existing
 * catalog is not touched.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browserish, safehold, startServiceProcess } from '../testing/service.js';

describe('a start that fails on a port in use', () => {
  let taken: Server;
  let port = 0;
  let parent = '';

  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'safehold-test-failed-start-'));
    taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    port = (taken.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((done) => taken.close(done));
    await rm(parent, { recursive: true, force: true });
  });

  const serve = (dataDir: string) => safehold(['serve', '--simulate', '--listen', '127.0.0.1', '--port', String(port), '--data', dataDir]);

  const refusedInWords = (result: { code: number; stderr: string }) => {
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr, `safehold: Port ${port} is already in use by another program. Choose another with --port or SAFEHOLD_PORT. Safehold did not start.\n`);
  };

  it('leaves no data folder behind when it would have made it (and its parent)', async () => {
    const dataDir = join(parent, 'new-parent', 'data');
    refusedInWords(await serve(dataDir));
    await assert.rejects(stat(dataDir), { code: 'ENOENT' }, 'no data folder');
    await assert.rejects(stat(join(parent, 'new-parent')), { code: 'ENOENT' }, 'nor the parent it would have made');
  });

  it('leaves an empty folder the owner made empty', async () => {
    const dataDir = join(parent, 'made-by-the-owner');
    await mkdir(dataDir);
    refusedInWords(await serve(dataDir));
    assert.deepEqual(await readdir(dataDir), [], 'no catalog.db, no setup-code');
  });

  it('does not touch an existing data folder with its catalog', async () => {
    const first = await startServiceProcess({ dataDir: join(parent, 'in-use') });
    await new Browserish(first.base).setup(first.dataDir);
    assert.equal(await first.stop(), 0);
    const snapshot = async () => {
      const files = (await readdir(first.dataDir)).sort();
      const catalog = createHash('sha256').update(await readFile(join(first.dataDir, 'catalog.db'))).digest('hex');
      return { files, catalog };
    };
    const beforeStart = await snapshot();
    assert.ok(beforeStart.files.includes('catalog.db'));
    refusedInWords(await serve(first.dataDir));
    assert.deepEqual(await snapshot(), beforeStart, 'the same files, the catalog byte for byte');
  });
});
