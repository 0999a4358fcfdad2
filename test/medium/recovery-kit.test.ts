/**
 * The recovery kit with a real catalog and the real restic: a repository laid out as on a rotation
 * drive (`<drive>/Safehold/repository`), two sources backed up into it, and then, using ONLY the
 * kit's text, the stock `restic` command lists the snapshots, restores one source and restores
 * everything into empty folders, each compared byte for byte with the sources. The password is
 * read off the text and given in each of the ways the text describes (typed at the prompt, the
 * RESTIC_PASSWORD_FILE variable, --password-file). Also: when the dashboard asks for the kit.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityRepository } from '../../server/activity/activity.repository.js';
import { ActivityService } from '../../server/activity/activity.service.js';
import { BackupRepository } from '../../server/backups/backup.repository.js';
import { DRIVE_PLACEHOLDER, RecoveryKitService, recoveryKitText } from '../../server/backups/recovery-kit.service.js';
import { RotationRepository } from '../../server/backups/rotation.repository.js';
import { DriveRepository } from '../../server/drives/drive.repository.js';
import { EventBus } from '../../server/events.js';
import { SecretStore } from '../../server/settings/secrets.js';
import { SettingsRepository } from '../../server/settings/settings.repository.js';
import { ManualClock } from '../../system/clock.js';
import type { DiskFacts } from '../../system/drives/block-devices.js';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { ResticAdapter } from '../../system/restic/restic.adapter.js';
import { isInstalled } from '../../system/tools.js';
import { tempCatalog } from '../testing/catalog.js';
import { describeTree, makeHostileTree } from '../testing/restic.js';
import { blockAfter, commandOf, runRestic } from '../testing/recovery-kit.js';

const hasRestic = await isInstalled('restic');
const DAY = 24 * 3600 * 1000;

function usbFacts(name: string, serial: string, uuid: string): DiskFacts {
  return {
    name,
    path: `/dev/${name}`,
    attachSeq: 1,
    model: 'SanDisk Extreme 55AE',
    vendor: 'SanDisk',
    serial,
    wwn: null,
    ptUuid: null,
    sizeBytes: 500_000_000_000,
    bus: 'usb',
    removable: true,
    rotational: false,
    readOnly: false,
    backingFile: null,
    description: null,
    partitions: [{ name, path: `/dev/${name}`, sizeBytes: 500_000_000_000, fsType: 'ext4', uuid, label: 'SH-A', mountpoints: [], freeBytes: null }],
  };
}

describe('the recovery kit, restored from with stock restic', { skip: hasRestic ? false : 'restic is not installed (apt-get install restic)' }, () => {
  const cat = tempCatalog();
  let root: string;
  let drive: string;
  let photos: string;
  let documents: string;
  let home: string;
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
  let kits: RecoveryKitService;
  let rotation: RotationRepository;
  let driveRepo: DriveRepository;
  let activity: ActivityService;
  let secrets: SecretStore;
  const driveA = 'serial-SanDisk_Extreme_55AE-323131313131';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'safehold-test-kit-'));
    drive = join(root, 'drive A mounted here'); // a space: the kit's commands must survive a real mount folder
    home = join(root, 'home');
    mkdirSync(home);
    mkdirSync(join(drive, 'Safehold'), { recursive: true });
    photos = makeHostileTree(join(root, 'photos-box'), 900).src;
    documents = join(root, 'documents');
    mkdirSync(join(documents, 'letters'), { recursive: true });
    writeFileSync(join(documents, 'letters', 'bank.txt'), 'Dear bank,\n');
    writeFileSync(join(documents, 'tax-2025.pdf'), Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) % 256)));

    const db = cat.db;
    rotation = new RotationRepository(db);
    driveRepo = new DriveRepository(db);
    const backups = new BackupRepository(db);
    const settings = new SettingsRepository(db);
    secrets = new SecretStore(join(root, 'data'));
    activity = new ActivityService(new ActivityRepository(db), new EventBus(), clock);
    const restic = new ResticAdapter({ runner: new ProcessCommandRunner() });
    kits = new RecoveryKitService({
      rotation,
      driveRepo,
      backups,
      secrets,
      settings,
      boxIds: () => ({ boxId: '0d6c5f2e-9a8b-4c7d-8e6f-5a4b3c2d1e0f', rotationSetId: 'f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d' }),
      restic,
      activity,
      clock,
    });
    assert.equal(kits.needed(), false, 'no rotation drive: nothing to save');

    // Drive A as registration leaves it: the drives row, the marker folder's repository, the password secret, the rotation row.
    driveRepo.recordInventory([{ id: driveA, identityKind: 'serial', facts: usbFacts('sdb', '323131313131', '7c9e6679-7425-40de-944b-e07fc1f90ae0') }], clock.now());
    await secrets.write('restic-aaaa', 'Xq3-not-a-real-password-but-random-enough_9');
    const repo = { path: join(drive, 'Safehold', 'repository'), passwordFile: secrets.pathOf('restic-aaaa') };
    await restic.init(repo);
    rotation.add({ driveId: driveA, name: 'A', passwordSecret: 'restic-aaaa', filesystemUuid: '7c9e6679-7425-40de-944b-e07fc1f90ae0', registeredAt: clock.now() });
    // Two sources backed up (tags: their names), as the backup service records them.
    for (const [source, path] of [['photos', photos], ['documents', documents]] as const) {
      await restic.backup(repo, { paths: [path], tags: [source] });
      const [snap] = await restic.snapshots(repo, { tags: [source] });
      backups.addSnapshot({ driveId: driveA, id: snap!.id, source, paths: snap!.paths, time: Date.parse(snap!.time), runId: null, files: null, bytes: null, filesNew: null, filesChanged: null, suspicious: null });
    }
    // The drive goes away: the kit still knows it from the drives table.
    clock.advance(3600_000);
    driveRepo.recordInventory([], clock.now());
  });
  after(() => {
    cat.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('gives the JSON: the drive (away) with its serial, the path on the drive, the password, the sources, restic\'s version', async () => {
    const kit = await kits.kit();
    assert.equal(kit.format, 'safehold-recovery-kit');
    assert.equal(kit.version, 1);
    assert.equal(kit.box.boxId, '0d6c5f2e-9a8b-4c7d-8e6f-5a4b3c2d1e0f');
    assert.match(kit.resticVersion ?? '', /^0\.\d+\.\d+/);
    assert.equal(kit.savedAt, null);
    assert.equal(kit.generatedAt, new Date(clock.now()).toISOString());
    assert.deepEqual(kit.repositories, [
      {
        driveName: 'A',
        serial: '323131313131',
        wwn: null,
        model: 'SanDisk Extreme 55AE',
        pathOnDrive: 'Safehold/repository',
        filesystemUuid: '7c9e6679-7425-40de-944b-e07fc1f90ae0',
        password: 'Xq3-not-a-real-password-but-random-enough_9',
        sources: ['documents', 'photos'],
      },
    ]);
    assert.match(kits.fileName(kit), /^safehold-recovery-kit-[A-Za-z0-9._-]+\.txt$/);
  });

  it('restores with stock restic using only the text: list, one source, everything, check', async () => {
    const text = kits.text(await kits.kit());
    const lines = text.split('\n');
    assert.ok(text.includes(`replace ${DRIVE_PLACEHOLDER} with the drive's folder`), 'the text says which placeholder is the drive');
    assert.ok(text.includes('Serial number:     323131313131') && text.includes('SH-A'), 'the drive can be recognised');
    assert.ok(text.includes('RESTIC_PASSWORD_FILE') && text.includes('--password-file'), 'the ways to give the password');
    assert.ok(text.includes('https://restic.net'), 'where to get restic');

    const section = lines.findIndex((l) => l === 'BACKUP DRIVE "A"');
    assert.ok(section >= 0, 'the drive has its own section');
    // The password: the first line that is not blank after its heading, alone and indented.
    const pwHeading = lines.findIndex((l, i) => i > section && l.startsWith('Password'));
    const passwordLine = lines.slice(pwHeading + 1).find((l) => l.trim() !== '')!;
    assert.match(passwordLine, /^ {4}\S+$/, 'the password stands alone on its line');
    const password = passwordLine.trim();
    assert.equal(password, 'Xq3-not-a-real-password-but-random-enough_9', 'the password as printed');
    const passwordFile = join(root, 'password-A.txt');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });

    // 1. List the snapshots, typing the password at restic's prompt (stdin).
    const [list] = blockAfter(lines, 'List the backups on this drive', section);
    const listed = await runRestic(commandOf(list!, drive, ''), { stdin: `${password}\n`, home });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /photos/);
    assert.match(listed.stdout, /documents/);
    assert.match(listed.stdout, /2 snapshots/);

    // 2. Restore one source, the password file given once through RESTIC_PASSWORD_FILE.
    const [one] = blockAfter(lines, 'Restore the newest backup of one source', section);
    const oneTarget = join(root, 'restored-one');
    mkdirSync(oneTarget);
    const restoredOne = await runRestic(commandOf(one!, drive, oneTarget), { env: { RESTIC_PASSWORD_FILE: passwordFile }, home });
    assert.equal(restoredOne.code, 0, restoredOne.stderr);
    const source = one!.match(/--tag (\S+)/)![1]!;
    const sourcePath = source === 'photos' ? photos : documents;
    assert.deepEqual(describeTree(join(oneTarget, sourcePath)), describeTree(sourcePath), `${source} comes back byte for byte`);
    assert.deepEqual(readdirSync(oneTarget), [sourcePath.split('/')[1]!], 'only that source was restored');

    // 3. Restore everything, with --password-file added to each command.
    const all = blockAfter(lines, 'Restore everything', section);
    assert.equal(all.length, 2, 'one command per source');
    const allTarget = join(root, 'restored-all');
    mkdirSync(allTarget);
    for (const command of all) {
      const ran = await runRestic([...commandOf(command, drive, allTarget), '--password-file', passwordFile], { home });
      assert.equal(ran.code, 0, ran.stderr);
    }
    assert.deepEqual(describeTree(join(allTarget, photos)), describeTree(photos), 'photos byte for byte');
    assert.deepEqual(describeTree(join(allTarget, documents)), describeTree(documents), 'documents byte for byte');

    // 4. The check the text gives.
    const [check] = blockAfter(lines, 'Check that the backup is intact', section);
    const checked = await runRestic(commandOf(check!, drive, ''), { env: { RESTIC_PASSWORD_FILE: passwordFile }, home });
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /no errors were found/);
  });

  it('asks to be saved until confirmed, and again after a new drive is registered', async () => {
    assert.equal(kits.needed(), true, 'a drive, never saved');
    clock.advance(60_000);
    const { savedAt } = kits.markSaved();
    assert.equal(savedAt, new Date(clock.now()).toISOString());
    assert.equal(kits.needed(), false, 'saved after the last drive was registered');
    assert.equal((await kits.kit()).savedAt, savedAt);
    assert.match(activity.list(5)[0]!.message, /^Recovery kit saved \(drives A\)\.$/);
    assert.equal(activity.list(5)[0]!.kind, 'recovery-kit.saved');

    clock.advance(2 * DAY);
    const driveB = 'serial-WD_Elements_25A3-57583132';
    driveRepo.recordInventory([{ id: driveB, identityKind: 'serial', facts: { ...usbFacts('sdc', '57583132', '1b4e28ba-2fa1-11d2-883f-0016d3cca427'), model: 'WD Elements 25A3' } }], clock.now());
    rotation.add({ driveId: driveB, name: 'B', passwordSecret: 'restic-bbbb', filesystemUuid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', registeredAt: clock.now() });
    assert.equal(kits.needed(), true, 'drive B was registered after the kit was saved');

    // B's secret file is missing: the kit still lists it, says so, and A's password is still there.
    const kit = await kits.kit();
    assert.deepEqual(kit.repositories.map((r) => [r.driveName, r.password === '', r.sources.length]), [['A', false, 2], ['B', true, 0]]);
    const text = kits.text(kit);
    assert.match(text, /BACKUP DRIVE "B"[\s\S]*MISSING: the box had lost this password/);
    assert.match(text, /No backup on this drive was recorded when the kit was made\./);

    clock.advance(60_000);
    kits.markSaved();
    assert.equal(kits.needed(), false);
  });

  it('says in words that there is nothing to restore when there are no drives', () => {
    const text = recoveryKitText({
      format: 'safehold-recovery-kit',
      version: 1,
      generatedAt: '2026-03-01T09:00:00.000Z',
      box: { hostname: 'box', boxId: '0d6c5f2e-9a8b-4c7d-8e6f-5a4b3c2d1e0f' },
      resticVersion: null,
      repositories: [],
      savedAt: null,
    });
    assert.match(text, /no rotation backup drives yet/);
    assert.doesNotMatch(text, /^ {4}restic /m, 'no commands without a drive');
  });
});
