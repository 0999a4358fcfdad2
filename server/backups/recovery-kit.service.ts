/**
 * The recovery kit: every repository on the rotation drives, its password and the exact
 * stock-restic commands to restore everything when this box is gone. docs/recovery.md describes
 * the procedure the text walks through and the JSON format (a format that must survive upgrades).
 *
 * Contracts:
 * - `kit()` lists every registered rotation drive, plugged in or away (its serial, WWN and model
 *   come from the drives table, which keeps what the inventory last saw), never touches a drive and
 *   never fails because restic is missing (`resticVersion: null`). A password whose secret file is
 *   gone is given as `""` and the text says so in words: the other drives are still listed.
 * - The kit holds passwords: it is for the admin only, never logged, never cached (the routes say
 *   `no-store`).
 * - `needed()` is cheap (two catalog reads, no I/O): the dashboard asks it on every refresh. It is
 *   true when there is a rotation drive and the owner never confirmed saving the kit, or a drive
 *   was registered after the last confirmation.
 * - `markSaved()` is idempotent in effect: it records the time of the newest confirmation.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import { MARKER_DIR, MARKER_FILE, repositoryPathOnDrive } from '../../system/marker/drive-marker.js';
import type { Restic } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import type { DriveRepository } from '../drives/drive.repository.js';
import type { SecretStore } from '../settings/secrets.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import type { BackupRepository } from './backup.repository.js';
import type { RecoveryKit, RecoveryKitRepository } from './backup.view.js';
import type { RotationRepository } from './rotation.repository.js';

export type { RecoveryKit, RecoveryKitRepository };

/** The settings key holding `{ savedAt }` (ms since the epoch) of the owner's last confirmation. */
export const RECOVERY_KIT_SETTING = 'recoveryKit';
const SavedSetting = z.object({ savedAt: z.number().int().nonnegative() });

/** Placeholders the text's commands use: the folder the drive is mounted at, and where files go. */
export const DRIVE_PLACEHOLDER = '/path/to/drive';
export const TARGET_PLACEHOLDER = '/path/to/restore-folder';

/** restic 0.14 makes repositories of format version 2, which older restic cannot open. */
export const OLDEST_RESTIC = '0.14';

export interface RecoveryKitServiceOptions {
  rotation: RotationRepository;
  /** Every drive ever seen (serials of drives that are away). */
  driveRepo: DriveRepository;
  backups: BackupRepository;
  secrets: SecretStore;
  settings: SettingsRepository;
  /** This box's ids (made once, kept in settings). */
  boxIds: () => { boxId: string; rotationSetId: string };
  /** null when restic is not installed. */
  restic: Restic | null;
  activity: ActivityService;
  clock: Clock;
}

export class RecoveryKitService {
  constructor(readonly o: RecoveryKitServiceOptions) {}

  /** The kit as of now, with every rotation drive (sorted by name) and its password. */
  async kit(): Promise<RecoveryKit> {
    const repositories: RecoveryKitRepository[] = [];
    for (const row of this.o.rotation.list()) {
      const facts = this.o.driveRepo.get(row.driveId)?.facts;
      const password = (await this.o.secrets.read(row.passwordSecret))?.trim() ?? '';
      repositories.push({
        driveName: row.name,
        serial: facts?.serial ?? null,
        wwn: facts?.wwn ?? null,
        model: facts?.model ?? null,
        // Registration always makes the repository `Safehold/repository` (rotation.service.ts).
        pathOnDrive: repositoryPathOnDrive({ repository: 'repository' }),
        filesystemUuid: row.filesystemUuid,
        password,
        sources: this.o.backups.sourcesOn(row.driveId),
      });
    }
    const saved = this.#savedAt();
    return {
      format: 'safehold-recovery-kit',
      version: 1,
      generatedAt: new Date(this.o.clock.now()).toISOString(),
      box: { hostname: hostname(), boxId: this.o.boxIds().boxId },
      resticVersion: await this.#resticVersion(),
      repositories,
      savedAt: saved === null ? null : new Date(saved).toISOString(),
    };
  }

  /** The printable kit: plain text a person follows on another computer. */
  text(kit: RecoveryKit): string {
    return recoveryKitText(kit);
  }

  /** `safehold-recovery-kit-<host>.txt`, with the host name reduced to characters safe in a header and a file name. */
  fileName(kit: RecoveryKit): string {
    const host = kit.box.hostname.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 64) || 'box';
    return `safehold-recovery-kit-${host}.txt`;
  }

  /** The owner confirms having saved (printed, downloaded) the kit now. */
  markSaved(): { savedAt: string } {
    const now = this.o.clock.now();
    this.o.settings.put(RECOVERY_KIT_SETTING, { savedAt: now });
    const drives = this.o.rotation.list().map((r) => r.name);
    this.o.activity.record({
      level: 'info',
      kind: 'recovery-kit.saved',
      message: `Recovery kit saved${drives.length ? ` (drives ${drives.join(', ')})` : ' (no backup drives yet)'}.`,
    });
    return { savedAt: new Date(now).toISOString() };
  }

  /** True when there is a rotation drive and the kit was never confirmed saved, or a drive was registered since. */
  needed(): boolean {
    const drives = this.o.rotation.list();
    if (drives.length === 0) return false;
    const saved = this.#savedAt();
    return saved === null || drives.some((d) => d.registeredAt > saved);
  }

  #savedAt(): number | null {
    return this.o.settings.get(RECOVERY_KIT_SETTING, SavedSetting.nullable(), null)?.savedAt ?? null;
  }

  async #resticVersion(): Promise<string | null> {
    if (!this.o.restic) return null;
    try {
      return (await this.o.restic.version()).version || null;
    } catch {
      return null;
    }
  }
}

/** The label Safehold gives a drive it formats (rotation.service.ts): `SH-<name>`, spaces as dashes, at most 16 characters. */
export function formattedLabel(driveName: string): string {
  return `SH-${driveName.replace(/ /g, '-')}`.slice(0, 16);
}

/**
 * The kit as printable plain text (pure). Every command sits alone on a line indented by four
 * spaces and starting with `restic `, with `DRIVE_PLACEHOLDER` for the drive's folder and
 * `TARGET_PLACEHOLDER` for where restored files go; a program (the tests) can find and run them.
 */
export function recoveryKitText(kit: RecoveryKit): string {
  const out: string[] = [];
  const line = (text = '') => out.push(text);
  const rule = (char: string, text: string) => {
    line(text);
    line(char.repeat(Math.min(text.length, 78)));
  };

  rule('=', 'SAFEHOLD RECOVERY KIT');
  line(`Box:      ${kit.box.hostname} (box id ${kit.box.boxId})`);
  line(`Made:     ${kit.generatedAt}`);
  line(`restic:   ${kit.resticVersion ?? 'unknown (restic was not available on the box)'} on the box; use ${OLDEST_RESTIC} or newer`);
  line(`Drives:   ${kit.repositories.length === 0 ? 'none' : kit.repositories.map((r) => r.driveName).join(', ')}`);
  line();
  line('KEEP THIS PAGE SAFE. It holds the passwords of your backups: whoever has one of the backup');
  line('drives and this page can read every file on it, so do not keep it with the box or the drives.');
  line('Without these passwords nobody, not even you, can open the backups.');
  line();
  line('What this is: every backup drive of this box holds an encrypted restic repository. restic is a');
  line('free backup program for Linux, macOS and Windows. With one of the drives, this page and any');
  line('computer you can get your files back even when the box is gone; you do not need Safehold.');
  line();

  if (kit.repositories.length === 0) {
    rule('-', 'NO BACKUP DRIVES YET');
    line('This box has no rotation backup drives yet, so there are no backups to restore from and no');
    line('passwords to keep. Register a backup drive (Drives page, "Use as a rotation backup drive"),');
    line('then save this kit again.');
    line();
    return `${out.join('\n')}\n`;
  }

  rule('-', 'STEP 1. Install restic');
  line(`  Any restic from version ${OLDEST_RESTIC} on works (older versions cannot open these backups).`);
  line('  Linux (Debian, Ubuntu, Raspberry Pi OS):  sudo apt install restic');
  line('  macOS (with Homebrew):                    brew install restic');
  line('  Windows: download restic from https://github.com/restic/restic/releases (the file ending in');
  line('  _windows_amd64.zip), unpack it and rename it restic.exe; or run: winget install restic.restic');
  line('  Everything else: https://restic.net. Check it works with:  restic version');
  line();

  rule('-', 'STEP 2. Connect a backup drive and find its folder');
  line('  Any of the drives below holds a full backup (the one that was plugged into the box last is the');
  line('  newest). Drives that Safehold erased are formatted ext4, which Linux reads by itself:');
  line('  - Linux: plug it in; it appears under /media/<your name>/<label> (see "Label" below). The backup');
  line('    files belong to the administrator (root) of the box, so open an administrator terminal first');
  line('    with:  sudo -i  (it asks for your own login password), and type every command below there.');
  line('    To mount the drive yourself in that terminal:  mkdir /mnt/backup && mount /dev/sdX1 /mnt/backup');
  line('    ("lsblk -f" shows the drives with their labels and UUIDs; a drive without partitions is sdX).');
  line('  - Windows and macOS cannot read ext4 by themselves: start the computer from a Linux live USB');
  line('    stick (for example Ubuntu, "Try Ubuntu") and follow the Linux steps, or install an ext4 reader');
  line('    (Windows: WSL with "wsl --mount"; macOS: an ext4 driver).');
  line('  - A drive registered "keeping its files" keeps its own filesystem (NTFS, exFAT, ...), which the');
  line('    computer may read directly.');
  line(`  In every command below, replace ${DRIVE_PLACEHOLDER} with the drive's folder, for example`);
  line('  /media/anna/SH-A (Linux), /Volumes/SH-A (macOS) or E: (Windows), and');
  line(`  ${TARGET_PLACEHOLDER} with an empty folder with enough free space for the files. When a`);
  line('  folder\'s name has spaces, put the whole path in double quotes: "/media/anna/My Drive/Safehold/repository".');
  line('  Restored files appear in that folder under their whole path on the box, e.g.');
  line(`  ${TARGET_PLACEHOLDER}/srv/photos/2024/...`);
  line();

  rule('-', 'STEP 3. Give restic the password');
  line('  Each command asks "enter password for repository:". Type (or paste) the drive\'s password below');
  line('  and press Enter; nothing is shown while you type. To avoid typing it for every command, save');
  line('  the password alone on the first line of a text file (for example password-A.txt) and either add');
  line('  --password-file password-A.txt to each command, or set it once for the whole session:');
  line('    Linux and macOS:     export RESTIC_PASSWORD_FILE=/full/path/to/password-A.txt');
  line('    Windows PowerShell:  $env:RESTIC_PASSWORD_FILE = "C:\\full\\path\\to\\password-A.txt"');
  line('  Delete the file when you are done.');
  line();

  rule('-', 'STEP 4. List, restore, check');
  line('  For your drive below: list the backups ("snapshots"), then restore the newest backup of one');
  line('  source, or of every source. To restore an older backup, use its ID from the list instead of');
  line('  "latest" (and leave out --tag). To check that the backup is intact, run the "check" command.');
  line('  If the drive is mounted read-only, add --no-lock to each command.');
  line();

  for (const repo of kit.repositories) {
    const r = `restic -r ${DRIVE_PLACEHOLDER}/${repo.pathOnDrive}`;
    rule('=', `BACKUP DRIVE "${repo.driveName}"`);
    line('How to recognise it:');
    line(`  Name:              ${repo.driveName} (the name given to it on the box)`);
    line(`  Model:             ${repo.model ?? 'not reported'}`);
    line(`  Serial number:     ${repo.serial ?? 'not reported'}`);
    if (repo.wwn) line(`  WWN:               ${repo.wwn}`);
    line(`  Filesystem UUID:   ${repo.filesystemUuid ?? 'not known'}`);
    line(`  Label:             ${formattedLabel(repo.driveName)} if Safehold erased and formatted it; otherwise its own label`);
    line(`  On the drive:      a folder ${MARKER_DIR} holding ${MARKER_FILE}, which names drive "${repo.driveName}"`);
    line(`Where the backups are on it: ${repo.pathOnDrive} (from the top of the drive)`);
    line('Password (one line, no spaces, upper and lower case matter):');
    line();
    if (repo.password) line(`    ${repo.password}`);
    else line('    MISSING: the box had lost this password when the kit was made. Without it this drive cannot be opened.');
    line();
    line(`Sources backed up on it when the kit was made: ${repo.sources.length ? repo.sources.join(', ') : 'none yet'}`);
    line();
    line('List the backups on this drive:');
    line(`    ${r} snapshots`);
    line();
    if (repo.sources.length) {
      const [first] = repo.sources;
      line(`Restore the newest backup of one source (here "${first}"; the others the same way, with their name):`);
      line(`    ${r} restore latest --tag ${first} --target ${TARGET_PLACEHOLDER}`);
      line();
      line('Restore everything (the newest backup of every source):');
      for (const source of repo.sources) line(`    ${r} restore latest --tag ${source} --target ${TARGET_PLACEHOLDER}`);
      line();
    } else {
      line('No backup on this drive was recorded when the kit was made.');
      line();
    }
    line('A source the list shows that is not named here (added later): use its name from the Tags column:');
    line(`    ${r} restore latest --tag SOURCE --target ${TARGET_PLACEHOLDER}`);
    line();
    line('Check that the backup is intact (add --read-data to read every file back: slow):');
    line(`    ${r} check`);
    line();
  }
  line(`This kit is format safehold-recovery-kit version ${kit.version}. Make a new one after adding a drive.`);
  return `${out.join('\n')}\n`;
}
