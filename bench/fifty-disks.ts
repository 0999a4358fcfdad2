/**
 * The data of the service benchmark: 50 plugged-in disks for the simulated host, varied like a
 * crowded box (SATA hard disks and SSDs, USB drives, NVMe; one to three partitions; some with a
 * WWN, some only a serial, one with no identity at all). Deterministic: the same 50 disks every run.
 */
import type { SimulatedDiskSpec, SimulatedPartition } from '../system/drives/simulated-host.js';
import { seededRandom } from './random.js';

const MiB = 1024 * 1024;


const hex = (next: () => number, digits: number) =>
  Array.from({ length: digits }, () => Math.floor(next() * 16).toString(16)).join('');

const uuid = (next: () => number) => `${hex(next, 8)}-${hex(next, 4)}-4${hex(next, 3)}-a${hex(next, 3)}-${hex(next, 12)}`;

/** `sd` names like the kernel's: sda … sdz, sdaa, sdab … */
function sdName(index: number): string {
  const letters = (n: number): string => (n < 26 ? String.fromCharCode(97 + n) : letters(Math.floor(n / 26) - 1) + letters(n % 26));
  return `sd${letters(index)}`;
}

const MODELS = {
  sata: [
    { model: 'WDC WD40EFRX-68N32N0', vendor: 'ATA', size: 4_000_787_030_016, rotational: true },
    { model: 'ST8000VN004-2M2101', vendor: 'ATA', size: 8_001_563_222_016, rotational: true },
    { model: 'Samsung SSD 870 EVO 1TB', vendor: 'ATA', size: 1_000_204_886_016, rotational: false },
  ],
  usb: [
    { model: 'Elements 25A3', vendor: 'WD', size: 2_000_398_934_016, rotational: true },
    { model: 'Expansion HDD', vendor: 'Seagate', size: 5_000_981_077_504, rotational: true },
    { model: 'Extreme 55AE', vendor: 'SanDisk', size: 1_000_170_586_112, rotational: false },
  ],
  nvme: [
    { model: 'Samsung SSD 980 1TB', vendor: null, size: 1_000_204_886_016, rotational: false },
    { model: 'WD Blue SN570 500GB', vendor: null, size: 500_107_862_016, rotational: false },
  ],
} as const;

/** The 50 disks; disk 0 is the system disk (NVMe, mounted at "/"). */
export function fiftyDisks(): SimulatedDiskSpec[] {
  const next = seededRandom(50);
  const specs: SimulatedDiskSpec[] = [];
  let sd = 0;
  let nvme = 0;
  for (let i = 0; i < 50; i++) {
    const bus = i === 0 ? 'nvme' : (['sata', 'usb', 'sata', 'nvme', 'usb'] as const)[i % 5]!;
    const choices = MODELS[bus];
    const kind = choices[Math.floor(next() * choices.length)]!;
    const name = bus === 'nvme' ? `nvme${nvme++}n1` : sdName(sd++);
    const partitionCount = i === 0 ? 2 : 1 + Math.floor(next() * 3);
    const usable = kind.size - 2 * MiB;
    const partitions: SimulatedPartition[] = [];
    for (let p = 0; p < partitionCount; p++) {
      const last = p === partitionCount - 1;
      const size = last ? usable - partitions.reduce((s, x) => s + x.sizeBytes, 0) : Math.floor(usable / (partitionCount * 1.5));
      const fsType = i === 0 && p === 0 ? 'vfat' : p === 2 ? null : (['ext4', 'ext4', 'xfs', 'exfat'] as const)[Math.floor(next() * 4)]!;
      partitions.push({
        fsType,
        uuid: fsType === null ? null : uuid(next),
        label: fsType !== null && next() < 0.5 ? `DATA-${i}-${p + 1}` : null,
        sizeBytes: size,
        usedBytes: fsType === null ? 0 : Math.floor(size * next() * 0.9),
        ...(i === 0 ? { mountpoint: p === 0 ? '/boot/efi' : '/' } : {}),
      });
    }
    const anonymous = i === 49; // no serial, no WWN, no partition table id: identity "none" or a filesystem UUID
    specs.push({
      name,
      model: kind.model,
      vendor: kind.vendor,
      serial: anonymous ? null : `S${hex(next, 4).toUpperCase()}NX${String(i).padStart(4, '0')}`,
      wwn: anonymous || bus !== 'sata' ? null : `0x5000c500${hex(next, 8)}`,
      ptUuid: anonymous ? null : uuid(next),
      description: null,
      sizeBytes: kind.size,
      bus,
      removable: bus === 'usb',
      rotational: kind.rotational,
      plugged: true,
      partitions,
    });
  }
  return specs;
}

export const DISK_COUNT = 50;
