/**
 * The overview's headline ranks what matters most to a family first: having no backup at all is
 * worse than a disk that wants watching (a cable's CRC errors), which is worse than a swap reminder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriveView } from '../../server/drives/drive.model.js';
import type { DriveService } from '../../server/drives/drive.service.js';
import type { JobRunner } from '../../server/jobs/job-runner.js';
import { StatusService, type StatusServiceOptions } from '../../server/status/status.service.js';

const cable = { id: 'id-sdb', name: 'sdb', displayName: 'WD Elements', role: 'unassigned', health: { verdict: 'warning', headline: 'Cable errors (UDMA CRC): 12' } } as unknown as DriveView;

function headline(protection: ReturnType<StatusServiceOptions['protection']>) {
  const drives = { list: () => [cable], known: () => null, refreshedAt: () => null } as unknown as DriveService;
  const jobs = { counts: () => ({ running: 0, queued: 0 }) } as unknown as JobRunner;
  return new StatusService({
    drives, jobs, version: 'test', startedAt: 0, dataDir: '/var/lib/safehold', simulated: true, missingPrograms: new Set(),
    openAlerts: () => [], protection: () => protection, alerts: () => ({ setUp: true, notice: null, notSentLastDay: 0 }),
  }).status();
}

describe('status: the headline, worst first', () => {
  it('puts "no backups at all" above a disk warning', () => {
    const s = headline({ level: 'attention', headline: 'No backups yet: register a USB drive as a rotation backup drive on the Drives page.', newestBackup: null });
    assert.equal(s.overall, 'attention');
    assert.match(s.headline, /^No backups yet/);
  });

  it('puts nothing chosen to back up above a disk warning', () => {
    const s = headline({ level: 'attention', headline: 'Nothing is backed up: choose the folders to protect in Settings.', newestBackup: null });
    assert.match(s.headline, /^Nothing is backed up/);
  });

  it('puts a disk warning above a swap reminder when backups exist', () => {
    const s = headline({ level: 'attention', headline: 'Drive A has been plugged in for 9 days: swap it.', newestBackup: { at: new Date().toISOString(), driveName: 'A' } });
    assert.match(s.headline, /^A disk needs attention: WD Elements/);
  });
});
