import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  busOf,
  parseBlkidExport,
  parseLsblkJson,
  toDiskFacts,
  type DiskExtras,
  type FsProbe,
  type LsblkDevice,
} from '../../system/drives/lsblk.parse.js';
import type { DiskFacts } from '../../system/drives/block-devices.js';

// Compiled to dist/test/unit/: the fixtures stay in the source tree.
const fixtures = new URL('../../../test/fixtures/lsblk/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');

function facts(devices: LsblkDevice[], probes: Record<string, FsProbe> = {}, extra: Partial<DiskExtras> = {}): DiskFacts[] {
  const extras: DiskExtras = { attachSeq: null, backingFile: null, description: null, probes: new Map(Object.entries(probes)), ...extra };
  return devices.map((d) => toDiskFacts(d, extras)).filter((d): d is DiskFacts => d !== null);
}

describe('lsblk and blkid output captured without udev (loop devices)', () => {
  const devices = parseLsblkJson(fixture('lsblk-loops-no-udev.json'));
  const probes = {
    '/dev/loop0': parseBlkidExport(fixture('blkid-loop0.txt')),
    '/dev/loop1': parseBlkidExport(fixture('blkid-loop1.txt')),
    '/dev/loop2': parseBlkidExport(fixture('blkid-loop2.txt')),
  };

  it('leaves out devices that hold no data (zram, size 0) and keeps loop and virtio disks', () => {
    assert.deepEqual(facts(devices, probes).map((d) => d.name), ['loop0', 'loop1', 'loop2', 'vda']);
  });

  it('reports a mounted ext4 written directly on a loop device as one partition with the probed identity', () => {
    const loop0 = facts(devices, probes).find((d) => d.name === 'loop0')!;
    assert.equal(loop0.bus, 'loop');
    assert.equal(loop0.sizeBytes, 64 * 1024 * 1024);
    assert.deepEqual(loop0.partitions, [
      {
        name: 'loop0',
        path: '/dev/loop0',
        sizeBytes: 64 * 1024 * 1024,
        fsType: 'ext4',
        uuid: '3f1c2b7e-5a4d-4e8f-9b21-0c6d7e8f9a01',
        label: 'BACKUP-A',
        mountpoints: ['/tmp/safehold-test-cap-mnt-a'],
        freeBytes: 52670464,
      },
    ]);
  });

  it('reports an unmounted filesystem with no mount points and no free space figure', () => {
    const [part] = facts(devices, probes).find((d) => d.name === 'loop2')!.partitions;
    assert.equal(part?.label, 'BACKUP-B');
    assert.deepEqual(part?.mountpoints, []);
    assert.equal(part?.freeBytes, null);
  });

  it('takes the partition-table id of a disk from the probe and invents no partition for it', () => {
    const loop1 = facts(devices, probes).find((d) => d.name === 'loop1')!;
    assert.equal(loop1.ptUuid, '5afe0001');
    assert.deepEqual(loop1.partitions, []);
  });

  it('without a probe result a blank-looking loop device has no partitions (lsblk alone knows nothing)', () => {
    assert.deepEqual(facts(devices).find((d) => d.name === 'loop2')!.partitions, []);
  });

  it('keeps the mounted root disk visible with its mount point even when its filesystem cannot be probed', () => {
    const vda = facts(devices, probes).find((d) => d.name === 'vda')!;
    assert.equal(vda.bus, 'virtio');
    assert.deepEqual(vda.partitions.map((p) => [p.path, p.fsType, p.mountpoints]), [['/dev/vda', null, ['/']]]);
    assert.equal(vda.partitions[0]?.freeBytes, 85550215168);
  });

  it('passes the sysfs facts through', () => {
    const [loop0] = facts(devices.slice(0, 1), probes, { attachSeq: 17, backingFile: '/tmp/a.img', description: 'x' });
    assert.equal(loop0?.attachSeq, 17);
    assert.equal(loop0?.backingFile, '/tmp/a.img');
    assert.equal(loop0?.description, 'x');
  });
});

describe('lsblk output with udev (hand-written: USB, NVMe, SD card, DVD)', () => {
  const disks = facts(parseLsblkJson(fixture('lsblk-usb-nvme-mmc.hand-written.json')));
  const byName = (name: string) => disks.find((d) => d.name === name)!;

  it('leaves out optical drives', () => {
    assert.deepEqual(disks.map((d) => d.name), ['sda', 'nvme0n1', 'mmcblk0']);
  });

  it('describes a USB disk: bus, hot-plug as removable, trimmed vendor, partition from lsblk', () => {
    const sda = byName('sda');
    assert.equal(sda.bus, 'usb');
    assert.equal(sda.removable, true);
    assert.equal(sda.vendor, 'WD');
    assert.equal(sda.serial, '575836314A2B3C4D');
    assert.equal(sda.ptUuid, '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    assert.deepEqual(sda.partitions.map((p) => [p.path, p.fsType, p.label, p.mountpoints, p.freeBytes]), [
      ['/dev/sda1', 'ext4', 'BACKUP-A', ['/media/safehold/BACKUP-A'], 1860000000000],
    ]);
  });

  it('lists NVMe partitions (a LUKS container stays one partition) and marks the disk solid state', () => {
    const nvme = byName('nvme0n1');
    assert.equal(nvme.bus, 'nvme');
    assert.equal(nvme.rotational, false);
    assert.equal(nvme.wwn, 'eui.0025385b91234567');
    assert.deepEqual(nvme.partitions.map((p) => [p.name, p.fsType]), [['nvme0n1p1', 'vfat'], ['nvme0n1p2', 'crypto_LUKS']]);
  });

  it('shows the SD card root partition mounted on "/" (what the system-disk policy looks for)', () => {
    const card = byName('mmcblk0');
    assert.equal(card.bus, 'mmc');
    assert.deepEqual(card.partitions.flatMap((p) => p.mountpoints), ['/boot/firmware', '/']);
  });

  it("lsblk's own values win over a stale probe", () => {
    const [sda] = facts(parseLsblkJson(fixture('lsblk-usb-nvme-mmc.hand-written.json')), {
      '/dev/sda1': { fsType: 'vfat', uuid: 'OLD', label: 'OLD', ptUuid: null },
    });
    assert.equal(sda?.partitions[0]?.label, 'BACKUP-A');
  });
});

describe('parsing details', () => {
  it('accepts the string sizes and "0"/"1" flags of older util-linux', () => {
    const [disk] = parseLsblkJson(
      JSON.stringify({
        blockdevices: [{ name: 'sdb', size: '1000204886016', type: 'disk', tran: 'sata', rm: '0', hotplug: '1', rota: '1', ro: '0', mountpoint: null }],
      }),
    );
    assert.equal(disk?.sizeBytes, 1000204886016);
    assert.equal(disk?.hotplug, true);
    assert.equal(disk?.rotational, true);
    assert.equal(disk?.path, '/dev/sdb');
    assert.deepEqual(disk?.mountpoints, []);
  });

  it('rejects output that is not lsblk JSON with a readable message', () => {
    assert.throws(() => parseLsblkJson('lsblk: unknown column: FOO'), /not JSON: lsblk: unknown column/);
    assert.throws(() => parseLsblkJson('{"devices": []}'), /no "blockdevices"/);
  });

  it('maps transports and kernel names to a bus', () => {
    const cases: Array<[Partial<LsblkDevice>, string]> = [
      [{ name: 'sda', tran: 'usb' }, 'usb'],
      [{ name: 'sda', tran: 'sata' }, 'sata'],
      [{ name: 'sda', tran: 'ata' }, 'sata'],
      [{ name: 'sdc', tran: 'sas' }, 'scsi'],
      [{ name: 'sdd', tran: 'iscsi' }, 'scsi'],
      [{ name: 'sde', tran: 'fc' }, 'scsi'],
      [{ name: 'nvme0n1', tran: 'nvme' }, 'nvme'],
      [{ name: 'mmcblk1', tran: null }, 'mmc'],
      [{ name: 'vdb', tran: null }, 'virtio'],
      [{ name: 'sdf', tran: null, subsystems: 'block:scsi:virtio:pci' }, 'virtio'],
      [{ name: 'loop4', tran: null, type: 'loop' }, 'loop'],
      [{ name: 'sdg', tran: null, subsystems: 'block:scsi:pci' }, 'other'],
    ];
    for (const [device, bus] of cases) {
      assert.equal(busOf({ type: 'disk', subsystems: null, tran: null, ...device } as LsblkDevice), bus, JSON.stringify(device));
    }
  });

  it('reads blkid export output, and a value-less probe as all null', () => {
    assert.deepEqual(parseBlkidExport('DEVNAME=/dev/sdb1\nLABEL=My Photos\nUUID=ab-cd\nTYPE=exfat\nUSAGE=filesystem\n'), {
      fsType: 'exfat',
      uuid: 'ab-cd',
      label: 'My Photos',
      ptUuid: null,
    });
    assert.deepEqual(parseBlkidExport(''), { fsType: null, uuid: null, label: null, ptUuid: null });
  });
});
