/**
 * The drive marker (system/marker/drive-marker.ts): a format on a disk that must survive upgrades,
 * read from drives that may hold anything. Every bad file is refused with a message a person can
 * act on; nothing crashes, hangs or is trusted.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  MarkerError,
  markerMatches,
  markerPath,
  parseAnyMarker,
  parseMarker,
  parsePoolMarker,
  poolMarkerMatches,
  readAnyMarker,
  readMarker,
  readPoolMarker,
  repositoryPathOnDrive,
  serializeMarker,
  serializePoolMarker,
  writeMarker,
  writePoolMarker,
  type DriveMarker,
  type DriveMarkerFields,
  type ExpectedMarker,
  type ExpectedPoolMarker,
  type PoolMarkerFields,
} from '../../system/marker/drive-marker.js';

const fields: DriveMarkerFields = {
  drive: {
    name: 'A',
    identity: { kind: 'serial', value: 'S14LNEACC02756X' },
    serial: 'S14LNEACC02756X',
    wwn: null,
    model: 'Samsung SSD 840 Series',
    filesystemUuid: '7c9e6679-7425-40de-944b-e07fc1f90ae0',
  },
  rotationSetId: 'f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  boxId: '0d6c5f2e-9a8b-4c7d-8e6f-5a4b3c2d1e0f',
  registeredAt: '2025-05-01T10:00:00.000Z',
  repository: 'repository',
  writtenBy: 'Safehold 0.1.0',
};

const expected: ExpectedMarker = {
  boxId: fields.boxId,
  rotationSetId: fields.rotationSetId,
  identity: { kind: 'serial', value: 'S14LNEACC02756X' },
  serial: 'S14LNEACC02756X',
  wwn: null,
  driveName: 'A',
  filesystemUuid: '7c9e6679-7425-40de-944b-e07fc1f90ae0',
};

const valid = (): Record<string, unknown> => JSON.parse(serializeMarker(fields)) as Record<string, unknown>;

/** Expects `fn` to throw a MarkerError of `kind` whose message matches `pattern`. */
async function refused(fn: () => unknown, kind: MarkerError['kind'], pattern: RegExp) {
  await assert.rejects(
    async () => fn(),
    (error: unknown) => {
      assert.ok(error instanceof MarkerError, `a MarkerError, got ${String(error)}`);
      assert.equal(error.kind, kind, error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('drive marker: parse', () => {
  it('reads back what it writes', () => {
    const marker = parseMarker(serializeMarker(fields));
    assert.deepEqual(marker, { format: 'safehold-drive-marker', version: 1, ...fields });
  });

  it('ignores fields it does not know (a later minor addition)', () => {
    const marker = parseMarker(JSON.stringify({ ...valid(), colour: 'blue' }));
    assert.equal(marker.drive.name, 'A');
    assert.equal((marker as Record<string, unknown>).colour, undefined);
  });

  it('refuses text that is not JSON', async () => {
    await refused(() => parseMarker('{"format": "safehold-drive-marker",'), 'not-json', /not valid JSON/);
    await refused(() => parseMarker(''), 'not-json', /not valid JSON/);
  });

  it('refuses JSON that is not a Safehold marker', async () => {
    await refused(() => parseMarker('[1,2]'), 'not-a-marker', /not a Safehold drive marker/);
    await refused(() => parseMarker('null'), 'not-a-marker', /not a Safehold drive marker/);
    await refused(() => parseMarker('{"version":1}'), 'not-a-marker', /not a Safehold drive marker/);
  });

  it('refuses a marker from a newer Safehold politely, saying what to do', async () => {
    await refused(() => parseMarker(JSON.stringify({ ...valid(), version: 3, somethingNew: {} })), 'too-new', /newer Safehold.*version 3.*reads up to 2.*Update Safehold/);
  });

  it('refuses a version that is not a known one', async () => {
    for (const version of [0, '1', 1.5, null, undefined]) {
      await refused(() => parseMarker(JSON.stringify({ ...valid(), version })), 'invalid', /invalid version/);
    }
  });

  it('refuses every field that is missing or wrong, naming it', async () => {
    const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
      ['no drive', (m) => delete m.drive, /drive:/],
      ['no name', (m) => delete m.drive.name, /drive\.name/],
      ['name with a newline', (m) => (m.drive.name = 'A\nB'), /drive\.name: no control characters/],
      ['identity kind none', (m) => (m.drive.identity.kind = 'none'), /drive\.identity\.kind/],
      ['empty identity', (m) => (m.drive.identity.value = ''), /drive\.identity\.value/],
      ['serial a number', (m) => (m.drive.serial = 12345), /drive\.serial/],
      ['box id too short', (m) => (m.boxId = 'abc'), /boxId: an id of 8 to 64/],
      ['rotation set id with a slash', (m) => (m.rotationSetId = '../../etc/passwd'), /rotationSetId/],
      ['registeredAt not a date', (m) => (m.registeredAt = 'yesterday'), /registeredAt/],
      ['repository escaping the folder', (m) => (m.repository = '../elsewhere'), /repository: a relative folder/],
      ['repository absolute', (m) => (m.repository = '/etc'), /repository: a relative folder/],
      ['repository empty', (m) => (m.repository = ''), /repository/],
    ];
    for (const [what, spoil, pattern] of cases) {
      const marker = valid();
      spoil(marker);
      await refused(() => parseMarker(JSON.stringify(marker), 'drive.json'), 'invalid', pattern).catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`);
      });
    }
  });

  it('gives the repository path relative to the root of the drive', () => {
    assert.equal(repositoryPathOnDrive({ repository: 'repository/' }), 'Safehold/repository');
    assert.equal(repositoryPathOnDrive({ repository: 'restic/main' }), 'Safehold/restic/main');
  });
});

describe('drive marker: files on a drive', () => {
  let root: string;
  let mount: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'safehold-marker-'));
  });
  beforeEach(async () => {
    mount = await mkdtemp(join(root, 'drive-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes Safehold/drive.json and a README a person understands, atomically, and reads it back equal', async () => {
    const written = await writeMarker(mount, fields);
    assert.deepEqual(await readMarker(mount), written);
    assert.deepEqual((await readdir(join(mount, 'Safehold'))).sort(), ['README.txt', 'drive.json'], 'no temporary files left');
    const readme = await readFile(join(mount, 'Safehold', 'README.txt'), 'utf8');
    assert.match(readme, /Safehold/);
    assert.match(readme, /backup drive "A"/);
    assert.match(readme, /restic -r \/path\/to\/this\/drive\/Safehold\/repository restore latest/);
    assert.match(readme, /recovery kit/);
    const text = await readFile(markerPath(mount), 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.match(text, /"format": "safehold-drive-marker"/);
  });

  it('replaces an earlier marker', async () => {
    await writeMarker(mount, fields);
    await writeMarker(mount, { ...fields, drive: { ...fields.drive, name: 'B' } });
    assert.equal((await readMarker(mount)).drive.name, 'B');
  });

  it('refuses to write an invalid marker', async () => {
    await refused(() => writeMarker(mount, { ...fields, boxId: 'x' }), 'invalid', /Refusing to write an invalid drive marker: boxId/);
    await refused(() => readMarker(mount), 'missing', /No Safehold marker/);
  });

  it('does not write through a Safehold folder that is a symlink', async () => {
    const elsewhere = await mkdtemp(join(root, 'elsewhere-'));
    await symlink(elsewhere, join(mount, 'Safehold'));
    await refused(() => writeMarker(mount, fields), 'invalid', /not a folder/);
    assert.deepEqual(await readdir(elsewhere), []);
  });

  it('says "missing" for a drive without the folder or without the file', async () => {
    await refused(() => readMarker(mount), 'missing', /No Safehold marker on this drive/);
    await mkdir(join(mount, 'Safehold'));
    await refused(() => readMarker(mount), 'missing', /drive\.json does not exist/);
  });

  it('refuses damaged files with the file path in the message', async () => {
    await mkdir(join(mount, 'Safehold'));
    const file = markerPath(mount);
    await writeFile(file, '{"format": "safehold-drive-ma');
    await refused(() => readMarker(mount), 'not-json', new RegExp(`${file}.*not valid JSON`));
    await writeFile(file, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    await refused(() => readMarker(mount), 'not-json', /not UTF-8/);
    await writeFile(file, JSON.stringify({ ...valid(), version: 7 }));
    await refused(() => readMarker(mount), 'too-new', /newer Safehold/);
    await writeFile(file, JSON.stringify({ ...valid(), boxId: 42 }));
    await refused(() => readMarker(mount), 'invalid', /damaged or incomplete: boxId/);
  });

  it('refuses a symlink, a folder, a FIFO and a huge file without following, hanging or reading it all', async () => {
    await mkdir(join(mount, 'Safehold'));
    const file = markerPath(mount);
    const real = join(mount, 'real.json');
    await writeFile(real, serializeMarker(fields));
    await symlink(real, file);
    await refused(() => readMarker(mount), 'unreadable', /symbolic link/);
    await rm(file);
    await mkdir(file);
    await refused(() => readMarker(mount), 'unreadable', /not a regular file/);
    await rm(file, { recursive: true });
    execFileSync('mkfifo', [file]);
    await refused(() => readMarker(mount), 'unreadable', /not a regular file/);
    await rm(file);
    await writeFile(file, Buffer.alloc(10 * 1024 * 1024, 0x20));
    await refused(() => readMarker(mount), 'unreadable', /too large/);
  });
});

describe('drive marker: does it match what the catalog expects?', () => {
  const marker: DriveMarker = parseMarker(serializeMarker(fields));

  it('matches the drive it was written on', () => {
    assert.deepEqual(markerMatches(marker, expected), { ok: true });
  });

  it('matches the same drive behind another USB bridge (identity kind changed, serial the same)', () => {
    const moved = { ...expected, identity: { kind: 'ptuuid', value: '0a1b2c30' } };
    assert.deepEqual(markerMatches(marker, moved), { ok: true });
  });

  const reasons = (e: ExpectedMarker) => {
    const result = markerMatches(marker, e);
    assert.equal(result.ok, false);
    return result.ok ? [] : result.reasons;
  };

  it("names another box's drive", () => {
    const [reason, ...rest] = reasons({ ...expected, boxId: 'another-box-1234' });
    assert.equal(reason?.kind, 'other-box');
    assert.match(reason!.message, /belongs to another Safehold box/);
    assert.deepEqual(rest, []);
  });

  it('names an earlier rotation set of this box', () => {
    const [reason] = reasons({ ...expected, rotationSetId: 'old-set-12345678' });
    assert.equal(reason?.kind, 'other-rotation-set');
  });

  it("names another drive's marker copied over", () => {
    const [reason] = reasons({ ...expected, identity: { kind: 'wwn', value: '0x5000c500deadbeef' }, serial: 'OTHER', wwn: '0x5000c500deadbeef' });
    assert.equal(reason?.kind, 'other-drive');
    assert.match(reason!.message, /written on another drive \(serial S14LNEACC02756X, Samsung SSD 840 Series\).*copied over/);
  });

  it('names a re-formatted drive (the filesystem is not the one the marker was written on)', () => {
    const [reason] = reasons({ ...expected, filesystemUuid: '11111111-2222-4333-8444-555555555555' });
    assert.equal(reason?.kind, 'reformatted');
    assert.match(reason!.message, /re-created since the marker was written/);
  });

  it('names a different drive name, and lists every difference at once', () => {
    const all = reasons({ ...expected, driveName: 'B', boxId: 'another-box-1234', identity: { kind: 'wwn', value: 'x' }, serial: null });
    assert.deepEqual(all.map((r) => r.kind), ['other-box', 'other-drive', 'other-name']);
  });
});

const poolFields: PoolMarkerFields = {
  drive: { ...fields.drive, name: 'Disk 2' },
  poolId: '5a4b3c2d-1e0f-4a7b-8c9d-f3b1c2d4e5f6',
  boxId: fields.boxId,
  joinedAt: '2026-12-03T08:00:00.000Z',
  shares: 'shares',
  writtenBy: 'Safehold 0.1.0',
};

describe('drive marker: pool members (version 2, role pool)', () => {
  it('writes a pool marker as version 2 and reads it back; a rotation marker stays version 1', () => {
    const pool = parsePoolMarker(serializePoolMarker(poolFields));
    assert.deepEqual(pool, { format: 'safehold-drive-marker', version: 2, role: 'pool', ...poolFields });
    assert.equal(JSON.parse(serializeMarker(fields)).version, 1, 'an older Safehold still reads rotation drives');
    assert.equal(parseAnyMarker(serializeMarker(fields)).role, 'rotation');
  });

  it('reads a rotation marker written as version 2 (role rotation) in its version 1 shape', () => {
    const v2 = JSON.stringify({ ...valid(), version: 2, role: 'rotation' });
    assert.deepEqual(parseMarker(v2), parseMarker(serializeMarker(fields)));
  });

  it('never takes a pool disk for a backup drive, nor the other way round', async () => {
    await refused(() => parseMarker(serializePoolMarker(poolFields)), 'other-role', /storage pool, not a rotation backup drive/);
    await refused(() => parsePoolMarker(serializeMarker(fields)), 'other-role', /rotation backup drive, not a disk of Safehold's storage pool/);
  });

  it('refuses a version 2 marker without a known role, and a pool marker with a field wrong, naming it', async () => {
    await refused(() => parseAnyMarker(JSON.stringify({ ...valid(), version: 2 })), 'invalid', /role: expected "rotation" or "pool"/);
    const bad = { ...JSON.parse(serializePoolMarker(poolFields)), poolId: '../x', shares: '/etc' };
    await refused(() => parsePoolMarker(JSON.stringify(bad)), 'invalid', /poolId: .*shares: /);
  });

  describe('on a folder', () => {
    let root: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'safehold-test-poolmarker-'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('writes Safehold/drive.json and a README that says the files are plain files under Safehold/shares', async () => {
      const written = await writePoolMarker(root, poolFields);
      assert.deepEqual(await readPoolMarker(root), written);
      assert.equal((await readAnyMarker(root)).role, 'pool');
      await refused(() => readMarker(root), 'other-role', /storage pool/);
      const readme = await readFile(join(root, 'Safehold', 'README.txt'), 'utf8');
      assert.match(readme, /storage pool/);
      assert.match(readme, /Safehold\/shares\//);
      assert.match(readme, /any Linux computer/);
    });
  });

  describe('does it match what the catalog expects?', () => {
    const marker = parsePoolMarker(serializePoolMarker(poolFields));
    const expect: ExpectedPoolMarker = { boxId: poolFields.boxId, poolId: poolFields.poolId, identity: fields.drive.identity, serial: fields.drive.serial, wwn: null, filesystemUuid: fields.drive.filesystemUuid };
    const kinds = (e: ExpectedPoolMarker) => {
      const result = poolMarkerMatches(marker, e);
      return result.ok ? [] : result.reasons.map((r) => r.kind);
    };

    it('matches the disk it was written on', () => {
      assert.deepEqual(poolMarkerMatches(marker, expect), { ok: true });
    });

    it("names another box's pool disk, an earlier pool, a copied marker and a re-formatted disk", () => {
      assert.deepEqual(kinds({ ...expect, boxId: 'another-box-1234' }), ['other-box']);
      assert.deepEqual(kinds({ ...expect, poolId: 'an-earlier-pool-1' }), ['other-pool']);
      assert.deepEqual(kinds({ ...expect, identity: { kind: 'wwn', value: 'x' }, serial: 'OTHER' }), ['other-drive']);
      assert.deepEqual(kinds({ ...expect, filesystemUuid: '11111111-2222-4333-8444-555555555555' }), ['reformatted']);
    });
  });
});
