/**
 * The overview's and `safehold status`'s drive counts: each role is counted for itself, so a
 * rotation backup drive is never "not in use" / "unassigned".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriveView } from '../../server/drives/drive.model.js';
import type { DriveService } from '../../server/drives/drive.service.js';
import type { JobRunner } from '../../server/jobs/job-runner.js';
import { StatusService } from '../../server/status/status.service.js';

const drive = (name: string, role: DriveView['role']) => ({ id: `id-${name}`, name, displayName: name, role, health: null }) as unknown as DriveView;

describe('status: drives by role', () => {
  it('counts system, rotation, pool and unassigned drives apart', () => {
    const list = [drive('mmcblk0', 'system'), drive('usb-a', 'rotation'), drive('usb-b', 'rotation'), drive('sda', 'pool'), drive('sdb', 'unassigned')];
    const drives = { list: () => list, known: () => null, refreshedAt: () => null } as unknown as DriveService;
    const jobs = { counts: () => ({ running: 0, queued: 0 }) } as unknown as JobRunner;
    const status = new StatusService({
      drives, jobs, version: 'test', startedAt: 0, dataDir: '/var/lib/safehold', simulated: true, missingPrograms: new Set(),
      openAlerts: () => [], protection: () => ({ level: 'ok', headline: 'Protected', newestBackup: { at: '2026-01-01T00:00:00.000Z', driveName: 'A' } }), alerts: () => ({ setUp: false, notice: 'Alerts are not set up', notSentLastDay: 0 }),
    });
    assert.deepEqual(status.status().drives, { connected: 5, system: 1, rotation: 2, pool: 1, unassigned: 1 });
  });
});
