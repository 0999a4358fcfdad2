/** The catalog's record of backups (real SQLite): the snapshots on a drive kept equal to restic's list, and what counts as a good backup. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BackupRepository, type SnapshotRow } from '../../server/backups/backup.repository.js';
import type { SourceRunView } from '../../server/backups/backup.view.js';
import { tempCatalog } from '../testing/catalog.js';

const FULL_A = 'a1b2c3d4'.padEnd(64, '0');
const FULL_B = 'b1b2c3d4'.padEnd(64, '1');
const FULL_C = 'c1b2c3d4'.padEnd(64, '2');
const row = (id: string, files: number | null): SnapshotRow => ({ driveId: 'd1', id, source: 'photos', paths: ['/srv/photos'], time: 1000, runId: 1, files, bytes: null, filesNew: null, filesChanged: null, suspicious: null });
const listed = (id: string, time: number) => ({ id, source: 'photos', paths: ['/srv/photos'], time });
const backedUp = (name: string): SourceRunView => ({ name, outcome: 'backed-up', snapshotId: 'x', files: 1, bytes: 1, filesNew: 1, filesChanged: 0, suspicious: null, message: null, fileNotes: [], fileNoteCounts: { unreadable: 0, changed: 0, 'owner-cannot-read': 0 } });
const refused = (name: string): SourceRunView => ({ ...backedUp(name), outcome: 'refused', snapshotId: null });

describe('the catalog record of backups', () => {
  const cat = tempCatalog();
  const repo = new BackupRepository(cat.db);
  after(() => cat.dispose());

  it("gives a snapshot recorded under restic's short id its full id, keeping its counts; drops the forgotten; adds the unknown", () => {
    repo.addSnapshot(row(FULL_A.slice(0, 8), 400)); // as `restic backup` printed it
    repo.addSnapshot(row(FULL_B, 390)); // forgotten since
    repo.reconcileSnapshots('d1', [listed(FULL_A, 2000), listed(FULL_C, 3000)]);
    const rows = repo.snapshots('d1');
    assert.deepEqual(rows.map((r) => [r.id, r.files, r.time]), [[FULL_A, 400, 2000], [FULL_C, null, 3000]]);
    assert.equal(repo.snapshot('d1', FULL_A.slice(0, 8))?.id, FULL_A, 'found by its short id too');
  });

  it('counts as the last good backup only a run that backed something up', () => {
    const good = repo.startRun('d1', null, 10);
    repo.saveRun({ ...good, finishedAt: 20, outcome: 'good', sources: [backedUp('photos')] });
    const empty = repo.startRun('d1', null, 30);
    repo.saveRun({ ...empty, finishedAt: 40, outcome: 'partial', sources: [refused('photos')] });
    assert.equal(repo.lastRun('d1')?.id, empty.id);
    assert.equal(repo.lastGoodRun('d1')?.id, good.id);
    assert.deepEqual(repo.runsLeftRunning(), [], 'none left running');
  });
});
