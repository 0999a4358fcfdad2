/**
 * The BlockDevices contract, run against both implementations: what the drive service relies on
 * when a disk is plugged in and pulled out. Plus the simulated host's own promises.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlockDevices, DiskFacts } from '../../system/drives/block-devices.js';
import { LinuxBlockDevices } from '../../system/drives/linux-block-devices.adapter.js';
import {
  SimulatedBlockDevices,
  SimulatedHost,
  UnknownSimulatedDiskError,
  type SimulatedDiskProblem,
} from '../../system/drives/simulated-host.js';
import { SimulatedMounts } from '../../system/mounts/mounts.sim.js';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, type LoopDisk } from '../testing/loop-disk.js';

/** A disk the subject can plug in and pull out, with the facts list() must then report. */
interface Plugged {
  sizeBytes: number;
  fsType: string;
  uuid: string;
  label: string;
  unplug(): Promise<void>;
}

interface Subject {
  devices: BlockDevices;
  plug(): Promise<Plugged>;
  close(): Promise<void>;
}

const findByUuid = (disks: DiskFacts[], uuid: string) => disks.find((d) => d.partitions.some((p) => p.uuid === uuid));

function blockDevicesContract(name: string, skip: string | undefined, open: () => Promise<Subject>) {
  describe(`BlockDevices contract: ${name}`, { skip }, () => {
    let subject: Subject;
    before(async () => {
      subject = await open();
    });
    after(async () => {
      await subject?.close();
    });

    it('a plugged disk appears with its size and filesystem; unplugged, it is gone; the fingerprint follows both', async () => {
      const { devices } = subject;
      // Stable while nothing changes (three reads: another test on this machine may attach a loop device meanwhile).
      const reads = [await devices.fingerprint(), await devices.fingerprint(), await devices.fingerprint()];
      assert.ok(reads[0] === reads[1] || reads[1] === reads[2], 'fingerprint is stable while nothing changes');
      const before = reads[2];

      const disk = await subject.plug();
      try {
        const afterPlug = await devices.fingerprint();
        assert.notEqual(afterPlug, before, 'fingerprint changes when a disk is plugged');
        const found = findByUuid(await devices.list(), disk.uuid);
        assert.ok(found, 'the plugged disk is listed');
        assert.equal(found.sizeBytes, disk.sizeBytes);
        assert.equal(found.path, `/dev/${found.name}`);
        const [part] = found.partitions.filter((p) => p.uuid === disk.uuid);
        assert.equal(part?.fsType, disk.fsType);
        assert.equal(part?.label, disk.label);

        await disk.unplug();
        assert.notEqual(await devices.fingerprint(), afterPlug, 'fingerprint changes when the disk is pulled');
        assert.equal(findByUuid(await devices.list(), disk.uuid), undefined, 'the pulled disk is no longer listed');
      } finally {
        await disk.unplug();
      }
    });

    it('reports no missing tools on a complete machine', async () => {
      assert.deepEqual(await subject.devices.missingTools(), []);
    });

    it('watch() returns a stop function that can be called', () => {
      const stop = subject.devices.watch(() => {});
      stop();
    });
  });
}

blockDevicesContract('LinuxBlockDevices (loop devices)', loopDiskSkipReason(), async () => {
  const runner = new ProcessCommandRunner();
  await cleanupLeftovers(runner);
  const loops: LoopDisk[] = [];
  return {
    devices: new LinuxBlockDevices({ runner }),
    async plug() {
      const loop = await createLoopDisk({ runner, sizeMiB: 48, label: 'CONTRACT' });
      loops.push(loop);
      return { sizeBytes: loop.sizeBytes, fsType: 'ext4', uuid: loop.uuid, label: loop.label, unplug: () => loop.detach() };
    },
    async close() {
      for (const loop of loops) await loop.cleanup();
    },
  };
});

blockDevicesContract('SimulatedBlockDevices', undefined, async () => {
  const root = await mkdtemp(join(tmpdir(), 'safehold-sim-'));
  const host = await SimulatedHost.open(root);
  await host.seedDemo();
  return {
    devices: new SimulatedBlockDevices(host),
    async plug() {
      const uuid = '11111111-2222-4333-8444-555555555555';
      await host.addDisk({
        name: 'usb-contract', model: 'Cruzer', vendor: 'SanDisk', serial: 'C1', wwn: null, sizeBytes: 64_000_000_000,
        bus: 'usb', removable: true, rotational: false, plugged: false,
        partitions: [{ fsType: 'ext4', uuid, label: 'CONTRACT', sizeBytes: 63_000_000_000, usedBytes: 0 }],
      });
      await host.plug('usb-contract');
      return { sizeBytes: 64_000_000_000, fsType: 'ext4', uuid, label: 'CONTRACT', unplug: () => host.unplug('usb-contract') };
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});

describe('SimulatedHost', () => {
  let root: string;
  let host: SimulatedHost;
  let problems: SimulatedDiskProblem[];
  let devices: SimulatedBlockDevices;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'safehold-sim-'));
    host = await SimulatedHost.open(root);
    await host.seedDemo();
    problems = [];
    devices = new SimulatedBlockDevices(host, { onProblem: (p) => problems.push(p) });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('seeds the demo: system card on "/", two SATA hard disks, usb-a plugged and usb-b not, and the failing usb-old', async () => {
    assert.deepEqual(await host.listNames(), ['mmcblk0', 'sda', 'sdb', 'usb-a', 'usb-b', 'usb-old']);
    const disks = await devices.list();
    assert.deepEqual(disks.map((d) => d.name), ['mmcblk0', 'sda', 'sdb', 'usb-a', 'usb-old']);
    const card = disks.find((d) => d.name === 'mmcblk0')!;
    assert.equal(card.bus, 'mmc');
    assert.ok(card.partitions.some((p) => p.mountpoints.includes('/')));
    assert.deepEqual(disks.filter((d) => d.bus === 'sata').map((d) => d.model), ['WDC WD140EDFZ-11A0VA0', 'ST3500418AS']);
    for (const disk of disks.filter((d) => d.bus === 'sata')) assert.ok(disk.sizeBytes >= 5e11 && disk.rotational === true);
    const usbA = disks.find((d) => d.name === 'usb-a')!;
    assert.equal(usbA.partitions[0]?.label, 'BACKUP-A');
    assert.deepEqual(usbA.partitions[0]?.mountpoints, [], 'a USB drive is not mounted until Safehold mounts it');
    assert.equal(usbA.partitions[0]?.freeBytes, null);
    assert.deepEqual(disks.find((d) => d.name === 'sda')!.partitions[0]?.mountpoints, [host.filesDir('sda')], 'a fixed disk is, as by fstab');
  });

  it('reports a drive mounted where SimulatedMounts mounted it, and not mounted once it is unmounted', async () => {
    const mounts = new SimulatedMounts(host);
    const folder = join(root, 'mnt-usb-a');
    const mountsOf = async () => (await devices.list()).find((d) => d.name === 'usb-a')!.partitions[0]!.mountpoints;
    const before = await devices.fingerprint();
    await mounts.mount('/dev/usb-a1', folder);
    assert.deepEqual(await mountsOf(), [folder]);
    const mounted = await devices.fingerprint();
    assert.notEqual(mounted, before, 'the watcher sees the mount');
    await mounts.unmount(folder);
    assert.deepEqual(await mountsOf(), []);
    assert.notEqual(await devices.fingerprint(), mounted, 'and the unmount');
    await rm(folder, { recursive: true, force: true });
  });

  it('seeding again keeps what the owner changed', async () => {
    await host.plug('usb-b');
    await host.seedDemo();
    assert.ok((await devices.list()).some((d) => d.name === 'usb-b'));
    await host.unplug('usb-b');
  });

  it('raises attachSeq on every plug, like the kernel diskseq', async () => {
    const seqOf = async () => (await devices.list()).find((d) => d.name === 'usb-b')?.attachSeq;
    await host.plug('usb-b');
    const first = await seqOf();
    await host.unplug('usb-b');
    await host.plug('usb-b');
    assert.equal(await seqOf(), first! + 1);
    await host.unplug('usb-b');
  });

  it('names the existing disks when asked for one that does not exist', async () => {
    await assert.rejects(host.plug('usb-z'), (error: Error) => {
      assert.ok(error instanceof UnknownSimulatedDiskError);
      assert.match(error.message, /usb-z.*mmcblk0, sda, sdb, usb-a, usb-b, usb-old/);
      return true;
    });
  });

  it('refuses a second disk with the same name and a name that is not a plain word', async () => {
    const spec = { model: null, vendor: null, serial: null, wwn: null, sizeBytes: 1, bus: 'usb' as const, removable: true, rotational: null, plugged: true, partitions: [] };
    await assert.rejects(host.addDisk({ ...spec, name: 'usb-a' }), /already exists/);
    await assert.rejects(host.addDisk({ ...spec, name: '../escape' }), /not a valid simulated disk name/);
  });

  it('skips a hand-broken disk.json, says which disk and why, and lists the others', async () => {
    await host.addDisk({
      name: 'broken', model: null, vendor: null, serial: null, wwn: null, sizeBytes: 10, bus: 'usb',
      removable: true, rotational: null, plugged: true, partitions: [],
    });
    await writeFile(join(root, 'disks', 'broken', 'disk.json'), '{"sizeBytes": "big"');
    const names = (await devices.list()).map((d) => d.name);
    assert.ok(names.includes('sda') && !names.includes('broken'));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /"broken".*not valid JSON/);
    await devices.list();
    assert.equal(problems.length, 1, 'the same problem is reported once');

    await writeFile(join(root, 'disks', 'broken', 'disk.json'), '{"sizeBytes": "big"}');
    await devices.list();
    assert.match(problems[1]?.message ?? '', /"broken".*invalid.*sizeBytes/);
    await rm(join(root, 'disks', 'broken'), { recursive: true });
  });

  it('writes disk.json atomically: no temporary files remain', async () => {
    await host.plug('usb-b');
    await host.unplug('usb-b');
    assert.deepEqual(await readdir(join(root, 'disks', 'usb-b')), ['disk.json', 'files']);
  });

  it('notices a plug among 50 disks in the fingerprint', async () => {
    for (let i = 0; i < 45; i++) {
      await host.addDisk({
        name: `bench-${i}`, model: 'M', vendor: 'V', serial: `S${i}`, wwn: null, sizeBytes: 1e12, bus: 'sata',
        removable: false, rotational: true, plugged: false, partitions: [],
      });
    }
    const before = await devices.fingerprint();
    await host.plug('bench-44');
    assert.notEqual(await devices.fingerprint(), before);
  });
});
