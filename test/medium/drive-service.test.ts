/**
 * Drive inventory above the adapter line, on the simulated host with a real catalog: plugging and
 * unplugging is recorded in the activity log and published, a drive keeps its id across
 * re-plugging, and a disconnected drive is kept, not deleted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { SimulatedBlockDevices, SimulatedHost } from '../../system/drives/simulated-host.js';
import { ActivityRepository } from '../../server/activity/activity.repository.js';
import { ActivityService } from '../../server/activity/activity.service.js';
import { DriveRepository } from '../../server/drives/drive.repository.js';
import { DriveService } from '../../server/drives/drive.service.js';
import { EventBus } from '../../server/events.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';

describe('drive inventory on the simulated host', () => {
  it('records connected and disconnected drives in the activity log, and keeps identities', async () => {
    const cat = tempCatalog();
    const root = await mkdtemp(join(tmpdir(), 'safehold-test-simhost-'));
    try {
      const host = await SimulatedHost.open(root);
      await host.seedDemo();
      const clock = new ManualClock();
      const bus = new EventBus();
      const published: number[] = [];
      bus.subscribe('drives', (e) => published.push(e.drives.length));
      const activity = new ActivityService(new ActivityRepository(cat.db), bus, clock);
      const repo = new DriveRepository(cat.db);
      const service = new DriveService({ repo, devices: new SimulatedBlockDevices(host), activity, bus, clock, log: silentLog(), dataDir: '/var/lib/safehold' });

      const first = await service.refresh();
      const names = service.list().map((d) => d.name);
      assert.deepEqual(names, ['mmcblk0', 'sda', 'sdb', 'usb-a', 'usb-old']);
      assert.equal(service.list()[0]!.role, 'system', 'the SD card holding / comes first, as system');
      assert.equal(first.connected.length, 5);
      const usbA = service.list().find((d) => d.name === 'usb-a')!;

      await host.plug('usb-b');
      clock.advance(1000);
      const second = await service.refresh();
      assert.deepEqual(second.connected.map((d) => d.name), ['usb-b']);
      assert.equal(second.disconnected.length, 0);

      await host.unplug('usb-a');
      clock.advance(1000);
      const third = await service.refresh();
      assert.deepEqual(third.disconnected.map((d) => d.id), [usbA.id]);
      assert.ok(repo.get(usbA.id), 'a disconnected drive keeps its row');
      assert.equal(repo.get(usbA.id)!.connected, false);

      await host.plug('usb-a');
      clock.advance(1000);
      await service.refresh();
      assert.equal(service.list().find((d) => d.name === 'usb-a')!.id, usbA.id, 'same identity after re-plugging');
      assert.equal(service.list().find((d) => d.name === 'usb-a')!.firstSeenAt, usbA.firstSeenAt);

      const log = activity.list(50).map((e) => `${e.kind} ${e.subject}`);
      assert.equal(log.filter((l) => l === `drive.detached ${usbA.id}`).length, 1);
      assert.equal(log.filter((l) => l === `drive.attached ${usbA.id}`).length, 2);
      const message = activity.list(50).find((e) => e.kind === 'drive.detached')!.message;
      assert.match(message, /^Drive disconnected: Samsung SSD 840 Series \(usb-a, 500 GB, USB\)$/);

      const before = published.length;
      await service.refresh();
      assert.equal(published.length, before, 'nothing changed: nothing published');
    } finally {
      cat.dispose();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('shows the role its owner stored on the drive row; the system disk stays system whatever is stored', async () => {
    const cat = tempCatalog();
    const root = await mkdtemp(join(tmpdir(), 'safehold-test-simhost-'));
    try {
      const host = await SimulatedHost.open(root);
      await host.seedDemo();
      const clock = new ManualClock();
      const bus = new EventBus();
      const activity = new ActivityService(new ActivityRepository(cat.db), bus, clock);
      const repo = new DriveRepository(cat.db);
      const service = new DriveService({ repo, devices: new SimulatedBlockDevices(host), activity, bus, clock, log: silentLog(), dataDir: '/var/lib/safehold' });
      await service.refresh();
      const usbA = service.list().find((d) => d.name === 'usb-a')!;
      const system = service.list().find((d) => d.role === 'system')!;
      assert.equal(usbA.role, 'unassigned');

      const published: string[] = [];
      bus.subscribe('drives', (e) => published.push(e.drives.find((d) => d.id === usbA.id)!.role));
      service.assignRole(usbA.id, { role: 'rotation', label: 'A', since: Date.UTC(2026, 0, 2) });
      service.assignRole(system.id, { role: 'rotation', label: 'X', since: 0 });
      service.republish();
      const after = service.get(usbA.id);
      assert.equal(after.role, 'rotation');
      assert.deepEqual(after.rotation, { name: 'A', registeredAt: '2026-01-02T00:00:00.000Z' });
      assert.equal(after.roleReason, 'Rotation backup drive A');
      assert.deepEqual(published, ['rotation'], 'the page hears of it once');
      assert.equal(service.get(system.id).role, 'system', 'what the disk holds wins over a stored role');
      assert.equal(service.get(system.id).rotation, null);

      // The role is kept while the drive is away, and a role this version does not know reads as unassigned.
      await host.unplug('usb-a');
      await service.refresh();
      assert.equal(service.known(usbA.id)!.drive.role, 'rotation');
      cat.db.prepare("UPDATE drives SET role = 'from-a-newer-version' WHERE id = ?").run(usbA.id);
      assert.equal(service.known(usbA.id)!.drive.role, 'unassigned');
      assert.throws(() => service.assignRole('wwn-nothing', { role: 'rotation', label: 'B', since: 0 }), /knows no drive/);
    } finally {
      cat.dispose();
      await rm(root, { recursive: true, force: true });
    }
  });
});
