/** SMART history in a real catalog: record, latest, acknowledgements, and compaction of old reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SmartHistoryRepository, type SmartReadRecord } from '../../server/health/smart-history.repository.js';
import { tempCatalog } from '../testing/catalog.js';

const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2026, 0, 1);

const read = (at: number, over: Partial<SmartReadRecord> = {}): SmartReadRecord => ({
  driveId: 'wwn-1',
  at,
  state: 'read',
  verdict: 'healthy',
  temperatureC: 35,
  powerOnHours: 1000,
  counters: { 'ata:5': 0, 'ata:197': 0 },
  ...over,
});

describe('SMART history', () => {
  it('records each read with the latest raw JSON, keeping the last raw and bridge type while the disk sleeps', () => {
    const cat = tempCatalog();
    try {
      const repo = new SmartHistoryRepository(cat.db);
      const latest = { driveId: 'wwn-1', reasons: [], temperatureC: 35 };
      repo.record({ ...latest, at: T0, state: 'read', verdict: 'healthy', raw: '{"smartctl":{}}', deviceType: 'sat' }, read(T0));
      repo.record({ ...latest, at: T0 + 1800_000, state: 'asleep', verdict: 'healthy', temperatureC: null, raw: null, deviceType: null });
      const now = repo.latest('wwn-1')!;
      assert.equal(now.state, 'asleep');
      assert.equal(now.verdict, 'healthy', 'a sleeping disk keeps the verdict of its last read');
      assert.equal(now.raw, '{"smartctl":{}}', 'the last real read stays for the page');
      assert.equal(now.deviceType, 'sat');
      assert.equal(repo.history('wwn-1', 0, T0 + DAY).length, 1, 'only real reads go into the history');
      assert.equal(repo.lastRead('wwn-1')!.at, T0);
    } finally {
      cat.dispose();
    }
  });

  it('keeps acknowledgements per drive and counter', () => {
    const cat = tempCatalog();
    try {
      const repo = new SmartHistoryRepository(cat.db);
      repo.acknowledge({ driveId: 'wwn-1', key: 'ata:199', value: 108, note: 'old cable, replaced', at: T0 });
      repo.acknowledge({ driveId: 'wwn-1', key: 'ata:199', value: 110, note: null, at: T0 + 1 });
      assert.deepEqual(repo.acknowledgements('wwn-1').map((a) => [a.key, a.value]), [['ata:199', 110]]);
      assert.deepEqual(repo.acknowledgements('wwn-2'), []);
      assert.equal(repo.removeAcknowledgement('wwn-1', 'ata:199'), true);
      assert.equal(repo.removeAcknowledgement('wwn-1', 'ata:199'), false);
    } finally {
      cat.dispose();
    }
  });

  it('compacts old reads to one row per day, keeping the day\'s worst verdict, highest temperature and last counters', () => {
    const cat = tempCatalog();
    try {
      const repo = new SmartHistoryRepository(cat.db);
      // 3 days of reads every 30 minutes; on day 1 a warning at noon and a hot hour
      for (let t = T0; t < T0 + 3 * DAY; t += 1800_000) {
        const day1Noon = t === T0 + DAY + 12 * 3600_000;
        const r = read(t, { verdict: day1Noon ? 'warning' : 'healthy', temperatureC: day1Noon ? 58 : 35, counters: { 'ata:5': t >= T0 + DAY ? 8 : 0 } });
        repo.record({ driveId: r.driveId, at: t, state: 'read', verdict: r.verdict, reasons: [], temperatureC: r.temperatureC, raw: null, deviceType: null }, r);
      }
      const removed = repo.compact(T0 + 2 * DAY);
      assert.equal(removed, 2 * 48 - 2);
      const rows = repo.history('wwn-1', T0, T0 + 3 * DAY);
      assert.equal(rows.length, 2 + 48, 'two compacted days, the recent day untouched');
      const day1 = rows[1]!;
      assert.equal(day1.verdict, 'warning');
      assert.equal(day1.temperatureC, 58);
      assert.deepEqual(day1.counters, { 'ata:5': 8 });
      assert.equal(repo.compact(T0 + 2 * DAY), 0, 'compacting again changes nothing');
    } finally {
      cat.dispose();
    }
  });
});
