/**
 * The kernel's mount table (/proc/self/mountinfo) and device numbers, parsed. Pure functions.
 *
 * A mountinfo line (proc(5)):
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent major:minor root mountpoint mount-options [optional fields…] - fstype source super-options
 * Paths escape space, tab, newline and backslash as \040 \011 \012 \134.
 */

export interface MountEntry {
  id: number;
  parentId: number;
  major: number;
  minor: number;
  /** The folder of the filesystem mounted here (`/` for a whole filesystem, a subfolder for a bind mount). */
  root: string;
  mountpoint: string;
  /** Per-mount options (`rw`, `nosuid`, …). */
  mountOptions: string[];
  fsType: string;
  /** `/dev/sdb1`, `tmpfs`, `server:/export`, … */
  source: string;
  /** Per-filesystem options (`rw`, `errors=remount-ro`, `emergency_ro`, …). */
  superOptions: string[];
}

export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Every well-formed line, in the kernel's order (a later entry for the same mount point is mounted over an earlier one). */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    const [id, parentId, devno, root, mountpoint, options] = fields;
    const numbers = /^(\d+):(\d+)$/.exec(devno ?? '');
    if (!numbers || !root || !mountpoint || options === undefined) continue;
    entries.push({
      id: Number(id),
      parentId: Number(parentId),
      major: Number(numbers[1]),
      minor: Number(numbers[2]),
      root: unescapeMountField(root),
      mountpoint: unescapeMountField(mountpoint),
      mountOptions: options.split(','),
      fsType: fields[dash + 1]!,
      source: unescapeMountField(fields[dash + 2]!),
      superOptions: (fields[dash + 3] ?? '').split(',').filter(Boolean),
    });
  }
  return entries;
}

/** Major and minor of a device number as glibc encodes `st_dev` / `st_rdev`. */
export function deviceNumbers(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}
