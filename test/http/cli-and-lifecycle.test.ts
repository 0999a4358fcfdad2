/**
 * The command line against the running service (over its local socket), the demo's plug/unplug,
 * and the service's life: one service per data folder, graceful stop on SIGTERM, and what the
 * next start finds.
 */
import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Browserish, safehold, startServiceProcess, STRONG_PASSWORD, waitFor, type ServiceProcess } from '../testing/service.js';

describe('the command line', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await startServiceProcess();
  });
  after(() => svc.dispose());

  it('status --json and drives --json answer from the running service, found by --data or SAFEHOLD_DATA', async () => {
    const status = await safehold(['status', '--json', '--data', svc.dataDir]);
    assert.equal(status.code, 0, status.stderr);
    const body = JSON.parse(status.stdout);
    assert.equal(body.box.simulated, true);
    assert.ok(['ok', 'attention', 'problem'].includes(body.overall));

    const drives = await safehold(['drives', '--json'], { env: { SAFEHOLD_DATA: svc.dataDir } });
    assert.equal(drives.code, 0, drives.stderr);
    const list = JSON.parse(drives.stdout).drives as { name: string; role: string; partitions: unknown[] }[];
    assert.deepEqual(list.map((d) => d.name), ['mmcblk0', 'sda', 'sdb', 'usb-a', 'usb-old']);
    assert.equal(list[0]!.role, 'system');

    // the same fields as the page's API
    const admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    const api = (await admin.get('/drives')).json.drives;
    assert.deepEqual(Object.keys(list[0]!).sort(), Object.keys(api[0]).sort());

    const human = await safehold(['drives', '--data', svc.dataDir]);
    assert.match(human.stdout, /mmcblk0\s+32 GB\s+SD card\s+System disk/);
    await waitFor(async () => /sdb .*Warning/.test((await safehold(['drives', '--data', svc.dataDir])).stdout), 5000, 'health in the list');
    assert.match((await safehold(['drives', '--data', svc.dataDir])).stdout, /reallocated sector/, 'a disk with a warning says why');
  });

  it('the demo has a failing disk: demo list says so, and its page leads with what to do now', async () => {
    const listed = await safehold(['demo', 'list', '--data', svc.dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^usb-old\s+plugged in\s+320 GB\s+WDC WD3200BEVT-60ZCT0\s+health: Failing: 535 reallocated sectors/m);
    assert.match(listed.stdout, /^sdb\s.*health: Warning: 1 reallocated sector$/m);
    assert.match((await safehold(['status', '--data', svc.dataDir])).stdout, /^PROBLEM: A disk is failing: WDC WD3200BEVT-60ZCT0/m);

    const admin = new Browserish(svc.base);
    await admin.get('/session');
    await admin.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    const drive = ((await admin.get('/drives')).json.drives as Array<{ id: string; name: string }>).find((d) => d.name === 'usb-old')!;
    const { value: view } = await waitFor(async () => {
      const v = (await admin.get(`/drives/${encodeURIComponent(drive.id)}/health`)).json;
      return v.summary?.verdict === 'failing' ? v : null;
    }, 10_000, 'usb-old judged');
    assert.match(view.advice.steps.join(' '), /replace/i, 'what to do now: the mail\'s steps');
    assert.match(view.advice.holds, /not in use by Safehold/);
  });

  it('demo plug / unplug are seen by the service within 5 seconds', async () => {
    const names = async () => JSON.parse((await safehold(['drives', '--json', '--data', svc.dataDir])).stdout).drives.map((d: { name: string }) => d.name);
    const plug = await safehold(['demo', 'plug', 'usb-b', '--data', svc.dataDir]);
    assert.equal(plug.code, 0, plug.stderr);
    await waitFor(async () => (await names()).includes('usb-b'), 5000, 'usb-b plugged');
    await safehold(['demo', 'unplug', 'usb-a', '--data', svc.dataDir]);
    await waitFor(async () => !(await names()).includes('usb-a'), 5000, 'usb-a unplugged');

    const unknown = await safehold(['demo', 'plug', 'usb-z', '--data', svc.dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /usb-z/);
    assert.match(unknown.stderr, /usb-a/, 'it lists the disks there are');
  });

  it('refuses a second service on the same data folder', async () => {
    const second = await safehold(['serve', '--simulate', '--port', '0', '--data', svc.dataDir]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already running with the data folder/);
  });

  it('says clearly when no service is running, and gives usage errors exit status 2', async () => {
    const none = await safehold(['status', '--data', '/tmp/safehold-test-no-such-folder']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /No Safehold service is running with the data folder \/tmp\/safehold-test-no-such-folder/);
    const usage = await safehold(['frobnicate']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Unknown command "frobnicate"/);
  });
});

describe('stopping and starting again', () => {
  it('stops gracefully on SIGTERM: exit 0, socket removed, catalog closed cleanly, then starts on the same data', async () => {
    const first = await startServiceProcess();
    const dataDir = first.dataDir;
    try {
      const admin = new Browserish(first.base);
      await admin.setup(dataDir);
      assert.equal(await first.stop(), 0);
      await assert.rejects(stat(join(dataDir, 'safehold.sock')));
      const db = new Database(join(dataDir, 'catalog.db'), { readonly: true });
      const kinds = (db.prepare('SELECT kind FROM activity ORDER BY id').all() as { kind: string }[]).map((r) => r.kind);
      const running = (db.prepare("SELECT count(*) AS n FROM jobs WHERE state IN ('running','queued')").get() as { n: number }).n;
      db.close();
      assert.equal(kinds.at(-1), 'service.stopped');
      assert.equal(running, 0, 'no job is left running or queued');

      const second = await startServiceProcess({ dataDir });
      try {
        const again = new Browserish(second.base);
        const session = await again.get('/session');
        assert.equal(session.json.setupRequired, false, 'the admin account survived the restart');
        await assert.rejects(stat(join(dataDir, 'setup-code')));
      } finally {
        await second.stop();
      }
    } finally {
      await first.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('after being killed (SIGKILL), the next start removes the stale socket and serves', async () => {
    const first = await startServiceProcess();
    const dataDir = first.dataDir;
    try {
      first.child.kill('SIGKILL');
      await first.stop();
      const second = await startServiceProcess({ dataDir });
      assert.equal((await fetch(`${second.base}/api/v1/health`)).status, 200);
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
