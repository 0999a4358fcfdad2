/**
 * The recovery kit against the running service (simulated host, real restic): the routes need a
 * session, the JSON and the printable attachment are never cached, the owner's confirmation needs
 * the CSRF token, `safehold recovery-kit [--json]` prints what the API gives, and no password ever
 * reaches the service's log. First with no rotation drive (the kit says so in words), then with
 * drive A registered on the simulated host (a real restic repository with a real password).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isInstalled } from '../../system/tools.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const exec = promisify(execFile);
const hasRestic = await isInstalled('restic');

/** The kit without the moment it was made (two requests never share it). */
const timeless = (kit: Record<string, unknown>) => ({ ...kit, generatedAt: '(now)' });
const cli = (svc: ServiceProcess, ...args: string[]) => exec(process.execPath, [CLI, 'recovery-kit', ...args, '--data', svc.dataDir]);

describe('the recovery kit over HTTP and the command line', { skip: hasRestic ? false : 'restic is not installed (apt-get install restic): no drive can be registered' }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;

  before(async () => {
    svc = await startServiceProcess();
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });
  after(async () => {
    await svc?.dispose();
  });

  it('needs a session for every route', async () => {
    const stranger = new Browserish(svc.base);
    await stranger.get('/session'); // a CSRF token, but no login
    for (const [method, path] of [['GET', '/recovery-kit'], ['GET', '/recovery-kit/text'], ['POST', '/recovery-kit/saved']] as const) {
      const res = await stranger.request(method, path);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.json.error.code, 'not_authenticated');
    }
  });

  it('with no rotation drive: no repositories, and the text says so in words', async () => {
    const res = await admin.get('/recovery-kit');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.json.format, 'safehold-recovery-kit');
    assert.equal(res.json.version, 1);
    assert.deepEqual(res.json.repositories, []);
    assert.match(res.json.resticVersion, /^0\.\d+\.\d+/);
    assert.match(res.json.box.boxId, /^[0-9a-f-]{36}$/);

    const text = await admin.get('/recovery-kit/text');
    assert.equal(text.status, 200);
    assert.match(text.json, /This box has no rotation backup drives yet, so there are no backups to restore from/);
    assert.doesNotMatch(text.json, /^ {4}restic /m);

    const printed = await cli(svc);
    assert.match(printed.stdout, /no rotation backup drives yet/);
    const json = JSON.parse((await cli(svc, '--json')).stdout);
    assert.deepEqual(timeless(json), timeless(res.json));
  });

  it('lists a registered drive with its password, as JSON, as a text attachment and on the command line', async () => {
    const drives = (await admin.get('/drives')).json.drives as Array<{ id: string; name: string }>;
    const usb = drives.find((d) => d.name === 'usb-a');
    assert.ok(usb, `the demo's usb-a is plugged in: ${drives.map((d) => d.name).join(', ')}`);
    const submitted = await admin.post('/rotation/drives', { driveId: usb.id, name: 'A', mode: 'keep' });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.json));
    const { value: job } = await waitFor(async () => {
      const j = (await admin.get(`/jobs/${submitted.json.job.id}`)).json;
      return ['succeeded', 'failed', 'interrupted', 'cancelled'].includes(j.state) ? j : null;
    }, 60_000, 'the registration job');
    assert.equal(job.state, 'succeeded', job.message);

    const secretFiles = (await readdir(join(svc.dataDir, 'secrets'))).filter((f) => f.startsWith('restic-'));
    assert.equal(secretFiles.length, 1);
    const password = (await readFile(join(svc.dataDir, 'secrets', secretFiles[0]!), 'utf8')).trim();

    const res = await admin.get('/recovery-kit');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.json.repositories.length, 1);
    const [repo] = res.json.repositories;
    assert.equal(repo.driveName, 'A');
    assert.equal(repo.pathOnDrive, 'Safehold/repository');
    assert.equal(repo.password, password, 'the password restic was given at registration');
    assert.ok(password.length >= 40);
    assert.deepEqual(repo.sources, []);
    assert.ok(repo.serial, 'the drive is recognisable by its serial');
    assert.equal(res.json.savedAt, null);

    const text = await admin.get('/recovery-kit/text');
    assert.equal(text.status, 200);
    assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(text.headers.get('cache-control'), 'no-store');
    assert.equal(text.headers.get('content-disposition'), `attachment; filename="safehold-recovery-kit-${res.json.box.hostname.replace(/[^A-Za-z0-9._-]+/g, '-')}.txt"`);
    assert.match(text.json, /BACKUP DRIVE "A"/);
    assert.ok(text.json.includes(`\n    ${password}\n`), 'the password stands on its own line');
    assert.ok(text.json.includes(`Serial number:     ${repo.serial}`));
    assert.ok(text.json.includes('    restic -r /path/to/drive/Safehold/repository snapshots'));

    // The command line: the same JSON, and the same text.
    const json = JSON.parse((await cli(svc, '--json')).stdout);
    assert.deepEqual(timeless(json), timeless(res.json));
    const printed = (await cli(svc)).stdout;
    const undated = (t: string) => t.replace(/^Made: .*$/m, 'Made: (now)');
    assert.equal(undated(printed), undated(text.json));

    assert.ok(!svc.output().includes(password), 'the password is in no log line');
  });

  it('records the owner\'s confirmation only with the CSRF token', async () => {
    const forged = await admin.post('/recovery-kit/saved', undefined, { 'x-csrf-token': 'not-the-token' });
    assert.equal(forged.status, 403);
    assert.equal((await admin.get('/recovery-kit')).json.savedAt, null, 'nothing recorded');

    const saved = await admin.post('/recovery-kit/saved');
    assert.equal(saved.status, 200);
    assert.match(saved.json.savedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((await admin.get('/recovery-kit')).json.savedAt, saved.json.savedAt);
    const entries = (await admin.get('/activity?limit=10')).json.entries as Array<{ kind: string; message: string }>;
    assert.ok(entries.some((e) => e.kind === 'recovery-kit.saved' && e.message === 'Recovery kit saved (drives A).'));
  });

  it('refuses wrong usage on the command line with exit status 2', async () => {
    const refused = await cli(svc, 'extra').catch((e: { code: number; stderr: string }) => e);
    assert.equal((refused as { code: number }).code, 2);
    assert.match((refused as { stderr: string }).stderr, /Use "safehold recovery-kit \[--json\]"/);
    assert.ok(existsSync(join(svc.dataDir, 'catalog.db')));
  });
});
