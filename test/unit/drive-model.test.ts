import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiskFacts } from '../../system/drives/block-devices.js';
import { displayName, formatSize, identify, systemRole } from '../../server/drives/drive.model.js';

const disk = (over: Partial<DiskFacts>): DiskFacts => ({
  name: 'sdb',
  path: '/dev/sdb',
  attachSeq: 1,
  model: null,
  vendor: null,
  serial: null,
  wwn: null,
  ptUuid: null,
  sizeBytes: 1e12,
  bus: 'usb',
  removable: true,
  rotational: null,
  readOnly: false,
  backingFile: null,
  description: null,
  partitions: [],
  ...over,
});

const part = (over: Partial<DiskFacts['partitions'][number]>) => ({
  name: 'sdb1',
  path: '/dev/sdb1',
  sizeBytes: 1e12,
  fsType: 'ext4',
  uuid: null,
  label: null,
  mountpoints: [],
  freeBytes: null,
  ...over,
});

describe('drive identity', () => {
  it('prefers WWN, then model + serial, then partition table, then filesystem UUID', () => {
    const fs = part({ uuid: '6e50163e-01c3-4ed3-9d40-656012867cca' });
    assert.deepEqual(identify(disk({ wwn: '0x5000c500a1b2c3d4', serial: 'S1', partitions: [fs] })), {
      kind: 'wwn',
      value: '0x5000c500a1b2c3d4',
      id: 'wwn-0x5000c500a1b2c3d4',
    });
    assert.equal(identify(disk({ model: 'WDC WD40EFRX', serial: 'WD-123', partitions: [fs] })).id, 'serial-WDC_WD40EFRX-WD-123');
    assert.equal(identify(disk({ ptUuid: 'abcd-01', partitions: [fs] })).kind, 'ptuuid');
    assert.equal(identify(disk({ partitions: [fs] })).id, 'fsuuid-6e50163e-01c3-4ed3-9d40-656012867cca');
    assert.deepEqual(identify(disk({})), { kind: 'none', value: 'sdb', id: 'none-sdb' });
  });

  it('never depends on the kernel name when the hardware has an identity', () => {
    assert.equal(identify(disk({ name: 'sdb', serial: 'X' })).id, identify(disk({ name: 'sdf', path: '/dev/sdf', serial: 'X' })).id);
  });
});

describe('system role', () => {
  it('marks the disk holding / and the one holding the data folder', () => {
    const root = disk({ name: 'mmcblk0', partitions: [part({ mountpoints: ['/boot/firmware'] }), part({ mountpoints: ['/'] })] });
    const data = disk({ name: 'sda', partitions: [part({ mountpoints: ['/srv'] })] });
    const other = disk({ name: 'sdb', partitions: [part({ mountpoints: ['/srv2'] })] });
    const roles = systemRole([root, data, other], '/srv/safehold');
    assert.equal(roles.get('mmcblk0'), 'Holds /boot/firmware');
    assert.match(roles.get('sda')!, /data folder/);
    assert.equal(roles.has('sdb'), false, '/srv2 is not a parent of /srv/safehold');
  });
});

describe('display', () => {
  it('names a disk by vendor and model, leaving out lsblk\'s "ATA" vendor', () => {
    assert.equal(displayName(disk({ vendor: 'ATA', model: 'WDC WD40EFRX' })), 'WDC WD40EFRX');
    assert.equal(displayName(disk({ vendor: 'SanDisk', model: 'Extreme 55AE' })), 'SanDisk Extreme 55AE');
    assert.equal(displayName(disk({ name: 'loop3', bus: 'loop' })), 'Loop device loop3');
    assert.equal(displayName(disk({ name: 'vda', bus: 'virtio', vendor: '0x1af4', description: '0x1af4' })), 'Virtual disk vda');
  });

  it('prints sizes in decimal units like disk makers do', () => {
    assert.equal(formatSize(4000787030016), '4.0 TB');
    assert.equal(formatSize(67108864), '67 MB');
    assert.equal(formatSize(512), '512 B');
  });
});
