/** Backup sources through the API and the command line, against the running service. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Browserish, CLI, startServiceProcess, type ServiceProcess } from '../testing/service.js';

const exec = promisify(execFile);

describe('backup sources', () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let work: string;

  before(async () => {
    svc = await startServiceProcess();
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    work = await mkdtemp(join(tmpdir(), 'safehold-test-sources-'));
    await mkdir(join(work, 'photos'));
    await mkdir(join(work, 'documents'));
    await writeFile(join(work, 'a-file'), 'x');
  });
  after(async () => {
    await svc.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('adds a folder by name, lists it, and refuses what cannot be a source, with the field', async () => {
    const added = await admin.post('/sources', { name: 'photos', path: `${work}/photos/`, excludes: ['*.tmp', '.cache'] });
    assert.equal(added.status, 201);
    assert.equal(added.json.path, join(work, 'photos'), 'the path is normalized');
    assert.deepEqual((await admin.get('/sources')).json.sources.map((s: { name: string }) => s.name), ['photos']);

    const cases: [unknown, number, string][] = [
      [{ name: 'Photos Two', path: join(work, 'documents') }, 400, 'name'],
      [{ name: 'docs', path: 'relative/path' }, 400, 'path'],
      [{ name: 'docs', path: join(work, 'nope') }, 400, 'path'],
      [{ name: 'docs', path: join(work, 'a-file') }, 400, 'path'],
      [{ name: 'docs', path: svc.dataDir }, 400, 'path'],
      [{ name: 'docs', path: join(work, 'documents'), excludes: ['bad\npattern'] }, 400, 'excludes.0'],
      [{ name: 'photos', path: join(work, 'documents') }, 409, ''],
      [{ name: 'again', path: join(work, 'photos') }, 409, ''],
    ];
    for (const [body, status, field] of cases) {
      const res = await admin.post('/sources', body);
      assert.equal(res.status, status, JSON.stringify(body));
      if (field) assert.equal(res.json.error.issues[0].path, field, JSON.stringify(res.json));
    }
    assert.equal((await admin.get('/sources')).json.sources.length, 1, 'nothing was added by the refusals');
  });

  it('works from the command line: add with excludes, list, remove (backups kept)', async () => {
    const add = await exec(process.execPath, [CLI, 'sources', 'add', 'documents', join(work, 'documents'), '--exclude', '*.iso', '--exclude', 'Downloads', '--data', svc.dataDir]);
    assert.match(add.stdout, /Source "documents" added/);
    const list = await exec(process.execPath, [CLI, 'sources', '--json', '--data', svc.dataDir]);
    const documents = (JSON.parse(list.stdout) as { sources: { name: string; excludes: string[] }[] }).sources.find((s) => s.name === 'documents');
    assert.deepEqual(documents?.excludes, ['*.iso', 'Downloads']);
    const refused = await exec(process.execPath, [CLI, 'sources', 'add', 'bad', join(work, 'nope'), '--data', svc.dataDir]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /does not exist\. Is its disk mounted\?/);
    const removed = await exec(process.execPath, [CLI, 'sources', 'remove', 'documents', '--data', svc.dataDir]);
    assert.match(removed.stdout, /backups are kept/);
    const entries = (await admin.get('/activity?limit=20')).json.entries as { kind: string }[];
    assert.ok(entries.some((e) => e.kind === 'source.removed'));
  });

  it("refuses Safehold's data folder, a folder inside it and a symbolic link to either, with words and the field; accepts a parent, by its real path", async () => {
    const before = (await admin.get('/sources')).json.sources.length;
    const inside = join(svc.dataDir, 'simulated-host');
    await symlink(svc.dataDir, join(work, 'to-data'));
    await symlink(inside, join(work, 'to-inside'));
    const refusals: [string, RegExp][] = [
      [svc.dataDir, new RegExp(`^${svc.dataDir} is inside Safehold's own data folder`)],
      [inside, new RegExp(`^${inside} is inside Safehold's own data folder`)],
      [join(work, 'to-data'), new RegExp(`^${join(work, 'to-data')} \\(which is ${svc.dataDir}\\) is inside Safehold's own data folder ${svc.dataDir}, which holds the secrets, the catalog and the mounted backup drives`)],
      [join(work, 'to-inside'), new RegExp(`\\(which is ${inside}\\) is inside Safehold's own data folder`)],
    ];
    for (const [path, words] of refusals) {
      const res = await admin.post('/sources', { name: 'sneaky', path });
      assert.equal(res.status, 400, path);
      assert.equal(res.json.error.issues[0].path, 'path');
      assert.match(res.json.error.message, words);
    }
    const cli = await exec(process.execPath, [CLI, 'sources', 'add', 'sneaky', join(work, 'to-data'), '--data', svc.dataDir]).catch((e: { code: number; stderr: string }) => e);
    assert.notEqual((cli as { code: number }).code ?? 0, 0);
    assert.match((cli as { stderr: string }).stderr, /\(which is .*\) is inside Safehold's own data folder/);
    assert.equal((await admin.get('/sources')).json.sources.length, before, 'nothing was added');

    // A parent of the data folder is a source (its backups leave the data folder out), kept by its real path.
    const parent = await realpath(dirname(svc.dataDir));
    await symlink(parent, join(work, 'to-parent'));
    const added = await admin.post('/sources', { name: 'everything', path: join(work, 'to-parent') });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    assert.equal(added.json.path, parent);
  });
});
