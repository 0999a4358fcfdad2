/**
 * The drive marker: the small JSON file Safehold writes on every drive it uses (a rotation backup
 * drive or a storage pool member), so a drive is known by what it says about itself as well as by
 * its serial, and never by its /dev name.
 *
 * This is an ON-DISK FORMAT that must survive upgrades: docs/backup-drives.md describes every field
 * and the versioning rule (docs/pool-format.md the pool member's). On a drive's filesystem:
 *   Safehold/drive.json    the marker (this module)
 *   Safehold/README.txt    what the folder is, for a person browsing the drive elsewhere
 *   Safehold/repository/   a rotation drive's restic repository (the marker's `repository`, relative to Safehold/)
 *   Safehold/shares/       a pool member's files, one folder per share
 *
 * Version 1 is a rotation drive's marker. Version 2 adds `role` ("rotation" or "pool"); a marker is
 * written in the oldest version that can say what it must, so rotation drives keep version 1 (an
 * older Safehold still reads them) and pool members carry version 2 (an older Safehold refuses them
 * as written by a newer one, and never takes a pool disk for a backup drive).
 *
 * Reading is hostile-input safe: whatever is on a disk (no file, a symlink, a FIFO, a 2 GB file,
 * broken JSON, a newer or unknown format, wrong types) ends in a typed `MarkerError` with a message
 * for a person, never a crash and never a trusted value. `parseMarker` is the pure part.
 *
 * The caller checks that the folder has a drive behind it (`Mounts.isMountedDevice`) before
 * `writeMarker`: this module writes where it is told.
 */
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../files/files.js';

/** The folder Safehold owns at the root of a backup drive's filesystem. */
export const MARKER_DIR = 'Safehold';
export const MARKER_FILE = 'drive.json';
export const README_FILE = 'README.txt';
/** The `format` value every marker carries: what the file is, to a person and to a program. */
export const MARKER_FORMAT = 'safehold-drive-marker';
/** The newest marker version this Safehold reads (rotation drives are written as 1, pool members as 2). */
export const MARKER_VERSION = 2;
/** A marker is a few hundred bytes; anything larger is not one. */
const MAX_MARKER_BYTES = 64 * 1024;

const optionalText = z.string().min(1).max(256).nullable();
const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/, 'an id of 8 to 64 letters, digits, "-" or "_"');
/** A relative path under Safehold/ with plain segments: no "..", no absolute path, no backslash. */
const relativeFolder = z
  .string()
  .max(255)
  .refine(
    (path) => {
      const segments = path.replace(/\/$/, '').split('/');
      return segments.every((s) => /^[A-Za-z0-9._-]+$/.test(s) && s !== '.' && s !== '..');
    },
    { message: 'a relative folder of plain names (letters, digits, ".", "_", "-"; no "..", not absolute)' },
  );

/** The drive as the inventory saw it when the marker was written. */
const driveSchema = z.object({
    /** The owner's name for the drive ("A"). */
    name: z.string().min(1).max(64).regex(/^[^\p{Cc}]+$/u, 'no control characters'),
    /** How Safehold's inventory identified the drive when the marker was written (never `none`). */
    identity: z.object({
      kind: z.enum(['wwn', 'serial', 'ptuuid', 'fsuuid']),
      value: z.string().min(1).max(256),
    }),
    serial: optionalText,
    wwn: optionalText,
    model: optionalText,
    /** UUID of the filesystem this file was written on: a different one now means the drive was re-formatted and the marker copied back. */
    filesystemUuid: optionalText,
  });

const markerSchemaV1 = z.object({
  format: z.literal(MARKER_FORMAT),
  version: z.literal(1),
  drive: driveSchema,
  /** The rotation set this drive belongs to (random, one per box's set of rotation drives). */
  rotationSetId: id,
  /** The box that registered the drive (random, made once per data folder). */
  boxId: id,
  /** When the drive was registered, ISO 8601 UTC. */
  registeredAt: z.iso.datetime(),
  /** Where the restic repository is, relative to the Safehold/ folder. */
  repository: relativeFolder,
  /** The program and version that wrote the file ("Safehold 0.1.0"), for a person; not checked. */
  writtenBy: z.string().max(128).optional(),
});

/** Version 2 of a rotation drive's marker: version 1 with `role`. Read, never written (see the header). */
const rotationSchemaV2 = markerSchemaV1.extend({ version: z.literal(2), role: z.literal('rotation') });

/** A storage pool member's marker (version 2 only). */
const poolSchemaV2 = z.object({
  format: z.literal(MARKER_FORMAT),
  version: z.literal(2),
  role: z.literal('pool'),
  drive: driveSchema,
  /** The pool this disk belongs to (random, one per box's pool). */
  poolId: id,
  /** The box whose pool it is (random, made once per data folder). */
  boxId: id,
  /** When the disk joined the pool, ISO 8601 UTC. */
  joinedAt: z.iso.datetime(),
  /** Where the shares' folders are, relative to the Safehold/ folder. */
  shares: relativeFolder,
  writtenBy: z.string().max(128).optional(),
});

/** A rotation drive's marker, as version 1 writes it. */
export type DriveMarker = z.infer<typeof markerSchemaV1>;
/** What `writeMarker` takes: the marker without `format` and `version`, which it sets. */
export type DriveMarkerFields = Omit<DriveMarker, 'format' | 'version'>;
/** A storage pool member's marker. */
export type PoolMarker = z.infer<typeof poolSchemaV2>;
/** What `writePoolMarker` takes: the marker without `format`, `version` and `role`, which it sets. */
export type PoolMarkerFields = Omit<PoolMarker, 'format' | 'version' | 'role'>;
/** Any marker, by the role it gives its drive. A rotation marker is given in its version 1 shape. */
export type AnyMarker = { role: 'rotation'; marker: DriveMarker } | { role: 'pool'; marker: PoolMarker };

export type MarkerErrorKind = 'missing' | 'unreadable' | 'not-json' | 'not-a-marker' | 'too-new' | 'invalid' | 'other-role';

/**
 * Why a marker could not be read or used: `kind` for code, `message` (with the file's path when
 * known) for a person: one or more whole sentences ending with a period, to be quoted as they are.
 */
export class MarkerError extends Error {
  constructor(
    readonly kind: MarkerErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MarkerError';
  }
}

/** `<mountpoint>/Safehold/drive.json` */
export function markerPath(mountpoint: string): string {
  return join(mountpoint, MARKER_DIR, MARKER_FILE);
}

/** The repository's path relative to the root of the drive's filesystem (`Safehold/repository`), as the recovery kit prints it. */
export function repositoryPathOnDrive(marker: Pick<DriveMarker, 'repository'>): string {
  return `${MARKER_DIR}/${marker.repository.replace(/\/+$/, '')}`;
}

/**
 * Judges a marker file's text, of either role. Throws `MarkerError`: `not-json`, `not-a-marker`
 * (JSON, but not Safehold's), `too-new` (written by a newer Safehold: refused, never guessed at),
 * `invalid` (a field missing or wrong; the message lists them). Unknown extra fields are ignored.
 */
export function parseAnyMarker(text: string, where = 'the drive marker'): AnyMarker {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new MarkerError('not-json', `${where} is not valid JSON (damaged, or not written by Safehold).`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data) || (data as { format?: unknown }).format !== MARKER_FORMAT) {
    throw new MarkerError('not-a-marker', `${where} is not a Safehold drive marker (no "format": "${MARKER_FORMAT}").`);
  }
  const version = (data as { version?: unknown }).version;
  if (typeof version === 'number' && Number.isInteger(version) && version > MARKER_VERSION) {
    throw new MarkerError(
      'too-new',
      `${where} was written by a newer Safehold (marker version ${version}; this one reads up to ${MARKER_VERSION}). Update Safehold to use this drive; it was left untouched.`,
    );
  }
  if (version !== 1 && version !== 2) {
    throw new MarkerError('invalid', `${where} has an invalid version (${JSON.stringify(version) ?? 'none'}); expected 1 to ${MARKER_VERSION}.`);
  }
  const checked = (schema: z.ZodType) => {
    const result = schema.safeParse(data);
    if (result.success) return result.data;
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new MarkerError('invalid', `${where} is damaged or incomplete: ${issues}.`);
  };
  if (version === 1) return { role: 'rotation', marker: checked(markerSchemaV1) as DriveMarker };
  const role = (data as { role?: unknown }).role;
  if (role === 'pool') return { role: 'pool', marker: checked(poolSchemaV2) as PoolMarker };
  if (role === 'rotation') {
    const { role: _role, ...v1 } = checked(rotationSchemaV2) as z.infer<typeof rotationSchemaV2>;
    return { role: 'rotation', marker: { ...v1, version: 1 } };
  }
  throw new MarkerError('invalid', `${where} is damaged or incomplete: role: expected "rotation" or "pool", got ${JSON.stringify(role) ?? 'none'}.`);
}

const ROLE_WORDS = { rotation: 'a rotation backup drive', pool: "a disk of Safehold's storage pool" } as const;

/** A marker of one role; a marker of the other role is `other-role` ("… is a disk of Safehold's storage pool, not a rotation backup drive"). */
function ofRole(any: AnyMarker, role: 'rotation', where: string): DriveMarker;
function ofRole(any: AnyMarker, role: 'pool', where: string): PoolMarker;
function ofRole(any: AnyMarker, role: AnyMarker['role'], where: string): DriveMarker | PoolMarker {
  if (any.role !== role) throw new MarkerError('other-role', `${where} marks ${ROLE_WORDS[any.role]}, not ${ROLE_WORDS[role]}.`);
  return any.marker;
}

/** A rotation drive's marker (`parseAnyMarker`, and `other-role` for a pool member's). */
export function parseMarker(text: string, where = 'the drive marker'): DriveMarker {
  return ofRole(parseAnyMarker(text, where), 'rotation', where);
}

/** A pool member's marker (`parseAnyMarker`, and `other-role` for a rotation drive's). */
export function parsePoolMarker(text: string, where = 'the drive marker'): PoolMarker {
  return ofRole(parseAnyMarker(text, where), 'pool', where);
}

/** The marker as written: pretty JSON with a final newline (a person may read it). */
export function serializeMarker(fields: DriveMarkerFields): string {
  const marker = { format: MARKER_FORMAT, version: 1, ...fields };
  const checked = markerSchemaV1.safeParse(marker);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new MarkerError('invalid', `Refusing to write an invalid drive marker: ${issues}.`);
  }
  return `${JSON.stringify(checked.data, null, 2)}\n`;
}

/** A pool member's marker as written (version 2, role pool). */
export function serializePoolMarker(fields: PoolMarkerFields): string {
  const marker = { format: MARKER_FORMAT, version: 2, role: 'pool', ...fields };
  const checked = poolSchemaV2.safeParse(marker);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new MarkerError('invalid', `Refusing to write an invalid drive marker: ${issues}.`);
  }
  return `${JSON.stringify(checked.data, null, 2)}\n`;
}

/** `Safehold/` at `mountpoint`, made readable on any computer; refuses one that is a symlink or not a folder. */
async function markerFolder(mountpoint: string): Promise<string> {
  const dir = join(mountpoint, MARKER_DIR);
  const made = await mkdir(dir, { mode: 0o755 }).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
      return false;
    },
  );
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new MarkerError('invalid', `${dir} is not a folder (a symlink or a file): Safehold does not write through it.`);
  if (made) await chmod(dir, 0o755); // readable on any computer, whatever the service's umask (0077)
  return dir;
}

/** Like `writeMarker`, for a pool member: `Safehold/drive.json` (version 2, role pool) and its README. */
export async function writePoolMarker(mountpoint: string, fields: PoolMarkerFields): Promise<PoolMarker> {
  const text = serializePoolMarker(fields);
  const dir = await markerFolder(mountpoint);
  await writeFileAtomic(join(dir, README_FILE), poolReadmeText(fields));
  await writeFileAtomic(join(dir, MARKER_FILE), text);
  return parsePoolMarker(text);
}

/**
 * Writes `Safehold/drive.json` and `Safehold/README.txt` at `mountpoint` (creating the folder),
 * each atomically (temp file, fsync, rename, fsync folder): a pulled cable leaves the old marker or
 * the new one, never a torn file. Refuses a `Safehold` that is a symlink or not a folder. Returns
 * the marker written.
 */
export async function writeMarker(mountpoint: string, fields: DriveMarkerFields): Promise<DriveMarker> {
  const text = serializeMarker(fields);
  const dir = await markerFolder(mountpoint);
  await writeFileAtomic(join(dir, README_FILE), readmeText(fields));
  await writeFileAtomic(join(dir, MARKER_FILE), text);
  return parseMarker(text);
}

/** A rotation drive's marker at `mountpoint` (`readAnyMarker`; a pool member's is `other-role`). */
export async function readMarker(mountpoint: string): Promise<DriveMarker> {
  return ofRole(await readAnyMarker(mountpoint), 'rotation', markerPath(mountpoint));
}

/** A pool member's marker at `mountpoint` (`readAnyMarker`; a rotation drive's is `other-role`). */
export async function readPoolMarker(mountpoint: string): Promise<PoolMarker> {
  return ofRole(await readAnyMarker(mountpoint), 'pool', markerPath(mountpoint));
}

/**
 * Reads and judges `Safehold/drive.json` at `mountpoint`, of either role. Throws `MarkerError`:
 * `missing` (no folder or no file: not a registered drive, or another box's layout), `unreadable`
 * (permission, an I/O error from a failing drive, a symlink, a FIFO or other non-file, larger than
 * 64 KiB), and every kind `parseAnyMarker` throws. Never follows a symlink and never blocks on a FIFO.
 */
export async function readAnyMarker(mountpoint: string): Promise<AnyMarker> {
  const file = markerPath(mountpoint);
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MarkerError('missing', `No Safehold marker on this drive (${file} does not exist).`, { cause: error });
    if (code === 'ELOOP') throw new MarkerError('unreadable', `${file} is a symbolic link: Safehold does not trust it.`, { cause: error });
    throw new MarkerError('unreadable', `${file} cannot be opened (${code ?? (error as Error).message}).`, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MarkerError('unreadable', `${file} is not a regular file.`);
    if (info.size > MAX_MARKER_BYTES) throw new MarkerError('unreadable', `${file} is ${info.size} bytes: too large to be a Safehold marker.`);
    const buffer = Buffer.alloc(MAX_MARKER_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_MARKER_BYTES) throw new MarkerError('unreadable', `${file} is larger than ${MAX_MARKER_BYTES} bytes: too large to be a Safehold marker.`);
    }
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    return parseAnyMarker(text, file);
  } catch (error) {
    if (error instanceof MarkerError) throw error;
    if (error instanceof TypeError) throw new MarkerError('not-json', `${file} is not UTF-8 text (damaged, or not written by Safehold).`, { cause: error });
    const code = (error as NodeJS.ErrnoException).code;
    throw new MarkerError('unreadable', `${file} cannot be read (${code ?? (error as Error).message}).`, { cause: error });
  } finally {
    await handle.close();
  }
}

/** What the catalog expects of a drive it knows, seen now. */
interface ExpectedDrive {
  boxId: string;
  /** The drive's identity as the inventory sees it now. */
  identity: { kind: string; value: string };
  /** Its serial and WWN as the inventory sees them now (a drive moved to another USB bridge may change identity kind but keep one of these). */
  serial?: string | null;
  wwn?: string | null;
  /** The UUID of the filesystem the marker was read from, when known. */
  filesystemUuid?: string | null;
}

/** What the catalog expects of the rotation drive now plugged in (and the filesystem UUID seen now). */
export interface ExpectedMarker extends ExpectedDrive {
  rotationSetId: string;
  /** The registered name; omit to not compare names. */
  driveName?: string;
}

/** What the catalog expects of a pool member now seen. */
export interface ExpectedPoolMarker extends ExpectedDrive {
  poolId: string;
}

export type MarkerMismatchKind = 'other-box' | 'other-rotation-set' | 'other-pool' | 'other-drive' | 'reformatted' | 'other-name';

export interface MarkerMismatch {
  kind: MarkerMismatchKind;
  /** For a person: what differs and what it probably means. */
  message: string;
}

export type MarkerMatch = { ok: true } | { ok: false; reasons: MarkerMismatch[] };

/** The differences every role checks: a marker copied from another drive, a re-formatted filesystem. */
function sameDriveReasons(written: DriveMarker['drive'], expected: ExpectedDrive): MarkerMismatch[] {
  const reasons: MarkerMismatch[] = [];
  const sameIdentity = written.identity.kind === expected.identity.kind && written.identity.value === expected.identity.value;
  const same = (a: string | null | undefined, b: string | null | undefined) => !!a && !!b && a === b;
  const sameSerialOrWwn = same(written.wwn, expected.wwn) || same(written.serial, expected.serial);
  if (!sameIdentity && !sameSerialOrWwn) {
    reasons.push({
      kind: 'other-drive',
      message: `The marker was written on another drive (${written.identity.kind} ${written.identity.value}${written.model ? `, ${written.model}` : ''}), not this one (${expected.identity.kind} ${expected.identity.value}): it was copied over.`,
    });
  }
  const uuid = expected.filesystemUuid;
  if (uuid && written.filesystemUuid && uuid !== written.filesystemUuid) {
    reasons.push({
      kind: 'reformatted',
      message: `The drive's filesystem was re-created since the marker was written (filesystem ${uuid}, marker written on ${written.filesystemUuid}).`,
    });
  }
  return reasons;
}

/**
 * Compares a rotation marker read from a drive with what the catalog expects. Pure. Every
 * difference is a reason, most serious first: another box's drive; another rotation set; a marker
 * copied from another drive (identity, WWN and serial all differ); a re-formatted filesystem (its
 * UUID is not the one the marker was written on); a renamed drive.
 */
export function markerMatches(marker: DriveMarker, expected: ExpectedMarker): MarkerMatch {
  const reasons: MarkerMismatch[] = [];
  const name = JSON.stringify(marker.drive.name);
  if (marker.boxId !== expected.boxId) {
    reasons.push({ kind: 'other-box', message: `Drive ${name} belongs to another Safehold box (box id ${marker.boxId}).` });
  } else if (marker.rotationSetId !== expected.rotationSetId) {
    reasons.push({
      kind: 'other-rotation-set',
      message: `Drive ${name} belongs to an earlier rotation set of this box (${marker.rotationSetId}), not the current one.`,
    });
  }
  reasons.push(...sameDriveReasons(marker.drive, expected));
  if (expected.driveName !== undefined && expected.driveName !== marker.drive.name) {
    reasons.push({ kind: 'other-name', message: `The marker names the drive ${name}; the catalog knows it as ${JSON.stringify(expected.driveName)}.` });
  }
  return reasons.length ? { ok: false, reasons } : { ok: true };
}

/** The same comparison for a pool member: another box's pool disk, an earlier pool of this box, a copied marker, a re-formatted disk. Pure. */
export function poolMarkerMatches(marker: PoolMarker, expected: ExpectedPoolMarker): MarkerMatch {
  const reasons: MarkerMismatch[] = [];
  if (marker.boxId !== expected.boxId) {
    reasons.push({ kind: 'other-box', message: `This disk belongs to the storage pool of another Safehold box (box id ${marker.boxId}).` });
  } else if (marker.poolId !== expected.poolId) {
    reasons.push({ kind: 'other-pool', message: `This disk belongs to an earlier storage pool of this box (${marker.poolId}), not the current one.` });
  }
  reasons.push(...sameDriveReasons(marker.drive, expected));
  return reasons.length ? { ok: false, reasons } : { ok: true };
}

/** Safehold/README.txt: for a person who finds this folder on another computer. */
export function readmeText(fields: Pick<DriveMarker, 'drive' | 'repository'>): string {
  const repo = repositoryPathOnDrive(fields);
  return [
    `This folder belongs to Safehold, a home backup box. This is backup drive ${JSON.stringify(fields.drive.name)}.`,
    '',
    `  ${MARKER_FILE}      which drive this is, for Safehold (do not edit or copy it to another drive)`,
    `  ${fields.repository.replace(/\/+$/, '')}/    the backups: a standard restic repository (encrypted)`,
    '',
    'Do not delete, move or rename anything here: Safehold would no longer recognise the drive.',
    '',
    'To restore without the box: install restic (https://restic.net) on any computer that can read',
    'this drive (ext4: Linux), find the repository password in the printed Safehold recovery kit, and',
    'follow the kit. In short:',
    '',
    `  restic -r /path/to/this/drive/${repo} snapshots`,
    `  restic -r /path/to/this/drive/${repo} restore latest --target /path/to/an/empty/folder`,
    '',
  ].join('\n');
}

/** Safehold/README.txt on a pool member: the files are plain files, readable on any Linux computer. */
export function poolReadmeText(fields: Pick<PoolMarker, 'drive' | 'shares'>): string {
  const shares = fields.shares.replace(/\/+$/, '');
  return [
    "This folder belongs to Safehold, a home backup box. This disk is part of the box's storage pool.",
    '',
    `  ${MARKER_FILE}      which disk this is, for Safehold (do not edit or copy it to another disk)`,
    `  ${shares}/        the shared folders' files, as plain files: ${shares}/<share>/<the share's own folders>`,
    '',
    'Each file of a share is on one or more of the pool\'s disks: this disk may hold only some of them.',
    'To read them without the box, plug this disk into any Linux computer and copy what you need from',
    `${MARKER_DIR}/${shares}/. Do not delete, move or rename anything here while the disk is in the box.`,
    '',
  ].join('\n');
}
