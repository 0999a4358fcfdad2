/**
 * Backups on the simulated host of `make demo` (real restic, directory-backed drives): erasing a
 * USB drive to make it drive A, its first backup by itself, the ledger while it is plugged in and
 * once it is unplugged, "am I protected?", and the API's refusals in words (a drive that is away,
 * settings out of range, a drive that is not a rotation drive). The same code as on a real box,
 * above the adapter line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BACKUP_SETTINGS } from '../../server/backups/backup-settings.js';
import type { LedgerEntry } from '../../server/backups/backup.view.js';
import { isInstalled } from '../../system/tools.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const exec = promisify(execFile);
const hasRestic = await isInstalled('restic');

describe('backups on the simulated host', { skip: hasRestic ? false : 'restic is not installed (apt-get install restic)' }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let folder: string;
  let driveId = '';

  const ledger = async () => (await admin.get('/backups/ledger')).json.drives as LedgerEntry[];

  before(async () => {
    svc = await startServiceProcess();
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    folder = await mkdtemp(join(tmpdir(), 'safehold-demo-docs-'));
    await writeFile(join(folder, 'letter.txt'), 'Dear grandma,\n');
  });
  after(async () => {
    await svc?.dispose();
    await rm(folder, { recursive: true, force: true });
  });

  it('says what is missing before there is any backup', async () => {
    const protection = (await admin.get('/backups/protection')).json;
    assert.equal(protection.level, 'attention');
    assert.match(protection.headline, /^No backups yet: register a USB drive/);
    assert.deepEqual((await admin.get('/backups/ledger')).json.drives, []);
  });

  it('erases usb-a as drive A and backs up onto it by itself', async () => {
    assert.equal((await admin.post('/sources', { name: 'documents', path: folder })).status, 201);
    const usb = ((await admin.get('/drives')).json.drives as Array<{ id: string; path: string }>).find((d) => d.path === '/dev/usb-a')!;
    const res = await admin.post('/rotation/drives', { driveId: usb.id, name: 'A', mode: 'format', confirm: 'A' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const { value: entry } = await waitFor(async () => (await ledger()).find((d) => d.name === 'A' && d.state === 'safe-to-unplug'), 60_000, 'drive A backed up and safe to unplug');
    driveId = entry.driveId;
    assert.equal(entry.snapshotCount, 1);
    assert.equal(entry.lastCheck?.ok, true);
    assert.equal(entry.lastDrill?.files, 1, 'the one file came back identical');
    const [run] = (await admin.get(`/backups/runs?drive=${encodeURIComponent(driveId)}`)).json.runs;
    assert.equal(run.outcome, 'good');
    assert.match(run.message, /^1 of 1 source backed up onto drive A, verified\. Drive A is safe to unplug\.$/);
  });

  it('shows drive A away once unplugged, refuses to back up onto it, and keeps what it knows of it', async () => {
    await exec(process.execPath, [CLI, 'demo', 'unplug', 'usb-a', '--data', svc.dataDir]);
    const { value: away } = await waitFor(async () => (await ledger()).find((d) => d.name === 'A' && d.state === 'away'), 10_000, 'drive A away');
    assert.ok(away.awaySince);
    assert.equal(away.snapshotCount, 1, 'the snapshots are known while the drive is away');
    assert.equal(away.model, 'Samsung SSD 840 Series', 'and its model');
    const refused = await admin.post(`/backups/drives/${encodeURIComponent(driveId)}/run`);
    assert.equal(refused.status, 409);
    assert.match(refused.json.error.message, /Rotation drive A is not plugged in/);
    const protection = (await admin.get('/backups/protection')).json;
    assert.equal(protection.newestBackup.driveName, 'A');
    assert.equal(protection.recoveryKitNeeded, true);
  });

  it('refuses settings out of range with the field, and keeps the defaults until good ones come', async () => {
    assert.deepEqual((await admin.get('/backups/settings')).json, DEFAULT_BACKUP_SETTINGS);
    const none = await admin.request('PUT', '/backups/settings', { ...DEFAULT_BACKUP_SETTINGS, retention: { daily: 0, weekly: 0, monthly: 0, yearly: 0 } });
    assert.equal(none.status, 400);
    assert.deepEqual(none.json.error.issues.map((i: { path: string }) => i.path), ['retention']);
    const bad = await admin.request('PUT', '/backups/settings', { ...DEFAULT_BACKUP_SETTINGS, checkSlices: 0, swapAfterDays: 400 });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.error.issues.map((i: { path: string }) => i.path).sort(), ['checkSlices', 'swapAfterDays']);
    assert.deepEqual((await admin.get('/backups/settings')).json, DEFAULT_BACKUP_SETTINGS, 'nothing changed');
    const good = { ...DEFAULT_BACKUP_SETTINGS, retention: { daily: 14, weekly: 8, monthly: 24, yearly: 5 } };
    const saved = await admin.request('PUT', '/backups/settings', good);
    assert.equal(saved.status, 200);
    assert.deepEqual((await admin.get('/backups/settings')).json, good);
  });

  it('answers 404 for a drive that is not a rotation drive, and 400 for one that is not an id', async () => {
    assert.equal((await admin.post('/backups/drives/serial-nothing-like-it/resume-pruning')).status, 404);
    assert.equal((await admin.get('/backups/drives/serial-nothing-like-it/snapshots')).status, 404);
    assert.equal((await admin.post('/backups/drives/..%2Fetc/run')).status, 400);
  });
});
