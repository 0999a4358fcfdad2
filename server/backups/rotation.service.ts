/**
 * Rotation backup drives: registering a drive the owner will swap (one plugged in, the others kept
 * elsewhere). docs/backup-drives.md describes the marker and the layout on the drive.
 *
 * Contract of registration (job `rotation.register`, holding the disk's lock):
 * - only a connected drive that is neither the system disk nor already registered; a name unique in
 *   the rotation; `format` only with the name typed again as confirmation;
 * - `keep`: the drive's filesystem and every file on it stay; Safehold works in `Safehold/` only.
 *   `format`: the whole drive is erased and made one ext4 filesystem labelled `SH-<name>`;
 * - the drive is mounted at `<data>/mnt/<drive id>` and written to only when a real device is
 *   behind that folder; the marker is written, then the restic repository `Safehold/repository` is
 *   created with a new random password kept in the secret store; the drive is unmounted (synced);
 * - the catalog records the drive only when all of that succeeded, and the event `rotation`
 *   announces it (the backup service starts the first backup onto it). On failure, what this attempt
 *   created on the drive (`Safehold/`) and the password are removed, and the drive is unmounted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import { MARKER_DIR, readMarker, repositoryPathOnDrive, writeMarker, MarkerError } from '../../system/marker/drive-marker.js';
import type { Mounts } from '../../system/mounts/mounts.js';
import type { Restic } from '../../system/restic/restic.js';
import type { ActivityService } from '../activity/activity.service.js';
import { describeForLog, type DriveView } from '../drives/drive.model.js';
import type { DriveService } from '../drives/drive.service.js';
import { ConflictError, InvalidInputError } from '../errors.js';
import type { EventBus } from '../events.js';
import { visibleText } from '../http/validate.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { JobDefinition, JobView } from '../jobs/job.model.js';
import { boxIds } from '../settings/box-identity.js';
import type { SecretStore } from '../settings/secrets.js';
import type { SettingsRepository } from '../settings/settings.repository.js';
import { VERSION } from '../version.js';
import { filesystemOf } from './drive-access.js';
import type { RotationRepository } from './rotation.repository.js';
import type { RotationView } from './rotation.view.js';

export type { RotationView };

export const REGISTER_JOB = 'rotation.register';

export const RegisterBody = z
  .strictObject({
    driveId: z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'Not a drive id'),
    name: visibleText().regex(/^[A-Za-z0-9][A-Za-z0-9 .-]{0,19}$/, 'Use 1 to 20 letters, digits, spaces, dots or dashes, starting with a letter or digit'),
    mode: z.enum(['keep', 'format']),
    confirm: z.string().max(40).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.mode === 'format' && v.confirm?.trim() !== v.name) {
      ctx.addIssue({ code: 'custom', path: ['confirm'], message: `Type the drive's name (${v.name}) to confirm that everything on it is erased` });
    }
  });
export type RegisterInput = z.infer<typeof RegisterBody>;

export interface RotationServiceOptions {
  repo: RotationRepository;
  drives: DriveService;
  jobs: JobRunner;
  mounts: Mounts;
  /** null when restic is not installed. */
  restic: Restic | null;
  secrets: SecretStore;
  settings: SettingsRepository;
  activity: ActivityService;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  dataDir: string;
}

export class RotationService {
  constructor(private readonly o: RotationServiceOptions) {}

  start(): void {
    this.o.jobs.define(this.#registerJob());
  }

  list(): RotationView[] {
    return this.o.repo.list().map((r) => {
      const drive = this.o.drives.list().find((d) => d.id === r.driveId);
      const known = drive ?? this.o.drives.lastKnown(r.driveId);
      return {
        driveId: r.driveId,
        name: r.name,
        registeredAt: new Date(r.registeredAt).toISOString(),
        connected: drive !== undefined,
        model: known?.model ?? null,
        serial: known?.serial ?? null,
      };
    });
  }

  /** Check what can be checked now and queue the registration job. */
  register(input: RegisterInput): JobView {
    const drive = this.#eligible(input);
    return this.o.jobs.submit(REGISTER_JOB, { target: drive.id, resources: [`disk:${drive.id}`], params: { name: input.name, mode: input.mode } });
  }

  /** This box's ids, made once: the marker names them so a drive of another box is recognised. */
  boxIds(): { boxId: string; rotationSetId: string } {
    return boxIds(this.o.settings);
  }

  #eligible(input: Pick<RegisterInput, 'driveId' | 'name' | 'mode'>): DriveView {
    if (!this.o.restic) throw new ConflictError('restic is not installed on this box (apt-get install restic): backups cannot be made.');
    const drive = this.o.drives.get(input.driveId);
    if (drive.role === 'system') throw new ConflictError(`${drive.displayName} is the system disk: it cannot be a backup drive.`);
    if (drive.role === 'pool') throw new ConflictError(`${drive.displayName} is a disk of the storage pool: a pool disk cannot also be a backup drive (a backup must live apart from what it protects).`);
    if (this.o.repo.get(drive.id)) throw new ConflictError(`${drive.displayName} is already rotation drive ${this.o.repo.get(drive.id)!.name}.`);
    const same = this.o.repo.byName(input.name);
    if (same) throw new InvalidInputError(`There is already a rotation drive called ${same.name}.`, [{ path: 'name', message: 'Already used by another drive' }]);
    if (input.mode === 'keep' && !drive.partitions.some((p) => p.fsType && p.fsType !== 'swap')) {
      throw new InvalidInputError(`${drive.displayName} has no filesystem to keep: choose "Erase and format".`, [{ path: 'mode', message: 'No filesystem on this drive' }]);
    }
    if (drive.identity.kind === 'none' && input.mode === 'keep') {
      throw new InvalidInputError(`${drive.displayName} reports no serial number and has no filesystem identity: Safehold could not recognise it again.`, [{ path: 'driveId', message: 'No identity' }]);
    }
    return drive;
  }

  #registerJob(): JobDefinition {
    return {
      kind: REGISTER_JOB,
      title: () => 'Register a rotation backup drive',
      run: async ({ target, params, signal, progress }) => {
        const name = String(params.name);
        const mode = params.mode === 'format' ? 'format' : 'keep';
        let drive = this.#eligible({ driveId: target ?? '', name, mode });
        const { mounts, secrets } = this.o;
        const restic = this.o.restic!;
        const steps = mode === 'format' ? 5 : 4;
        let step = 0;
        const say = (current: string) => progress({ itemsDone: step++, itemsTotal: steps, current });

        let newUuid: string | null = null;
        if (mode === 'format') {
          say(`Erasing and formatting ${drive.displayName}`);
          const formatted = await mounts.format(drive.path, { label: `SH-${name.replace(/ /g, '-')}`.slice(0, 16), fsType: 'ext4', signal });
          newUuid = formatted.uuid;
          // The filesystem (and with it a drive's identity, when it has no serial) is new: read the inventory again.
          await this.o.drives.refresh(signal);
          const again = this.o.drives.list().find((d) => d.path === drive.path);
          if (!again) throw new Error(`${drive.displayName} disappeared while it was being formatted.`);
          drive = again;
        }
        const device = filesystemOf(drive, newUuid);
        const partition = drive.partitions.find((p) => p.path === device) ?? drive.partitions[0];
        const mountpoint = join(this.o.dataDir, 'mnt', drive.id);
        await mkdir(join(this.o.dataDir, 'mnt'), { recursive: true, mode: 0o700 });

        say(`Mounting ${drive.displayName}`);
        await mounts.mount(device, mountpoint, { signal });
        const secretName = `restic-${createHash('sha256').update(drive.id).digest('hex').slice(0, 16)}`;
        let created = false;
        try {
          if (!(await mounts.isMountedDevice(mountpoint))) throw new Error(`${drive.displayName} is not mounted at ${mountpoint}: nothing was written.`);
          const existing = await readMarker(mountpoint).catch((e: unknown) => (e instanceof MarkerError && e.kind === 'missing' ? null : Promise.reject(e)));
          if (existing) {
            throw new ConflictError(
              `${drive.displayName} already holds Safehold's folder (drive "${existing.drive.name}", registered ${existing.registeredAt.slice(0, 10)}${existing.boxId === this.boxIds().boxId ? ' by this box' : ' by another box'}). Nothing was changed.`,
            );
          }
          say('Writing the drive marker');
          const ids = this.boxIds();
          created = true;
          const marker = await writeMarker(mountpoint, {
            drive: {
              name,
              identity: { kind: drive.identity.kind === 'none' ? 'fsuuid' : drive.identity.kind, value: drive.identity.value },
              serial: drive.serial,
              wwn: drive.wwn,
              model: drive.model,
              filesystemUuid: partition?.uuid ?? null,
            },
            rotationSetId: ids.rotationSetId,
            boxId: ids.boxId,
            registeredAt: new Date(this.o.clock.now()).toISOString(),
            repository: 'repository',
            writtenBy: `Safehold ${VERSION}`,
          });
          say('Creating the encrypted backup repository');
          await secrets.write(secretName, randomBytes(32).toString('base64url'));
          await restic.init({ path: join(mountpoint, repositoryPathOnDrive(marker)), passwordFile: secrets.pathOf(secretName) }, { signal });
          say('Writing everything out and unmounting');
          await mounts.unmount(mountpoint);
          await mounts.flush(device).catch(() => false);
        } catch (error) {
          if (created) {
            await rm(join(mountpoint, MARKER_DIR), { recursive: true, force: true }).catch(() => undefined);
            await secrets.remove(secretName).catch(() => undefined);
          }
          await mounts.unmount(mountpoint).catch((e: unknown) => this.o.log.warn({ err: e }, 'unmount after a failed registration'));
          throw error;
        }
        const registeredAt = this.o.clock.now();
        this.o.repo.db.transaction(() => {
          this.o.repo.add({ driveId: drive.id, name, passwordSecret: secretName, filesystemUuid: partition?.uuid ?? null, registeredAt });
          this.o.drives.assignRole(drive.id, { role: 'rotation', label: name, since: registeredAt });
        })();
        this.o.drives.republish();
        this.o.bus.publish('rotation', { registered: drive.id });
        this.o.activity.record({
          level: 'info',
          kind: 'rotation.registered',
          subject: drive.id,
          message: `${describeForLog(drive)} is now rotation drive ${name}${mode === 'format' ? ' (erased and formatted)' : ' (its files were kept)'}. The first backup onto it starts now.`,
        });
        return `Rotation drive ${name} is ready: ${drive.displayName}. The first backup onto it starts now.`;
      },
    };
  }
}
