/**
 * Hot-plug on real block devices (root only): the real service, with the real Linux adapter, sees
 * a loop device "plugged in" (attached, ext4 with a label) within 5 seconds with the right size,
 * filesystem type, UUID and label, sees it "unplugged" (detached) within 5 seconds, and writes both
 * events to the activity log. The same service answers `safehold drives --json` on its socket.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, type LoopDisk } from '../testing/loop-disk.js';
import { Browserish, CLI, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const run = promisify(execFile);
const skip = loopDiskSkipReason();

interface DriveJson {
  id: string;
  name: string;
  sizeBytes: number;
  bus: string;
  partitions: { fsType: string | null; uuid: string | null; label: string | null; mountpoints: string[]; freeBytes: number | null }[];
}

describe('hot-plug on real loop devices', { skip }, () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let disk: LoopDisk | undefined;

  before(async () => {
    await cleanupLeftovers();
    svc = await startServiceProcess({ simulate: false });
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });
  after(async () => {
    await disk?.cleanup();
    await svc?.dispose();
  });

  const drives = async (): Promise<DriveJson[]> => (await admin.get('/drives')).json.drives;

  it('sees a disk plugged in within 5 s, with size, filesystem, UUID and label, then unplugged within 5 s', async () => {
    disk = await createLoopDisk({ sizeMiB: 96, label: 'SH-HOTPLUG' });
    const seen = await waitFor(async () => (await drives()).find((d) => d.name === disk!.name), 5000, `${disk.name} in /drives`);
    const drive = seen.value;
    assert.equal(drive.sizeBytes, disk.sizeBytes);
    assert.equal(drive.bus, 'loop');
    const fs = drive.partitions[0]!;
    assert.deepEqual([fs.fsType, fs.uuid, fs.label], ['ext4', disk.uuid, 'SH-HOTPLUG']);

    // mounted: the mount point and the free space show up (the 10-minute rescan is not waited for)
    const where = await disk.mount();
    const mounted = await waitFor(
      async () => (await drives()).find((d) => d.name === disk!.name && d.partitions[0]!.mountpoints.includes(where)),
      5000,
      'the mount point',
    );
    assert.ok(mounted.value.partitions[0]!.freeBytes! > 0);

    // the command line shows the same drive, through the service's socket
    const cli = await run(process.execPath, [CLI, 'drives', '--json', '--data', svc.dataDir]);
    const fromCli = (JSON.parse(cli.stdout) as { drives: DriveJson[] }).drives.find((d) => d.name === disk!.name);
    assert.equal(fromCli?.id, drive.id);

    await disk.detach();
    await waitFor(async () => !(await drives()).some((d) => d.name === disk!.name), 5000, `${disk.name} gone from /drives`);

    const entries: { kind: string; subject: string; message: string }[] = (await admin.get('/activity?limit=100')).json.entries;
    const mine = entries.filter((e) => e.subject === drive.id).map((e) => e.kind);
    assert.deepEqual(mine, ['drive.detached', 'drive.attached'], 'newest first: attached, then detached');
    assert.ok(entries.some((e) => e.subject === drive.id && /Drive connected: .*\(loop\d+, 101 MB, loop device\)/.test(e.message)));
  });
});
