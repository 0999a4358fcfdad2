/**
 * Backup sources: the named folders on the box that backups protect (`safehold sources add NAME
 * PATH`, and the page), and every share of the storage pool (its pooled folder: `addShare`).
 *
 * Contract: a source's name is unique and is restic's tag for its snapshots (so it is restricted to
 * what a tag may hold); its path is absolute, an existing folder when added, stored with symbolic
 * links resolved (restic would back up a symbolic link given to it as just the link), unique, and
 * never Safehold's data folder or inside it (that holds the secrets, the catalog and the mounted
 * backup drives; the recovery kit carries what is needed of it). A source that contains the data
 * folder is accepted: its backups leave the data folder out (source-safety.ts). Removing a source
 * never touches its backups.
 */
import { isAbsolute, normalize, resolve } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../../system/clock.js';
import { inspectFolder } from '../../system/files/files.js';
import type { ActivityService } from '../activity/activity.service.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { visibleText } from '../http/validate.js';
import { insideDataFolder } from './source-safety.js';
import type { Source, SourceRepository } from './source.repository.js';

export const SourceName = visibleText().regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, 'Use 1 to 40 lower-case letters, digits, dot, dash or underscore, starting with a letter or digit');

const Exclude = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !/[\u0000\n\r]/.test(p), 'An exclude pattern cannot hold a line break');

export const NewSourceBody = z.strictObject({
  name: SourceName,
  path: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => !p.includes('\u0000'), 'A path cannot hold a NUL byte')
    .refine((p) => isAbsolute(p), 'Give the full path of the folder, starting with /'),
  excludes: z.array(Exclude).max(50).default([]),
});

export const ExcludesBody = z.strictObject({ excludes: z.array(Exclude).max(50) });

export class SourceService {
  constructor(
    /** `dataDir`: the data folder's real path (symbolic links resolved). */
    private readonly o: { repo: SourceRepository; activity: ActivityService; clock: Clock; dataDir: string },
  ) {}

  list(): Source[] {
    return this.o.repo.list();
  }

  get(name: string): Source {
    const source = this.o.repo.get(name);
    if (!source) throw new NotFoundError(`There is no source called "${name}".`);
    return source;
  }

  async add(input: z.infer<typeof NewSourceBody>): Promise<Source> {
    const given = normalize(resolve(input.path)).replace(/(.)\/+$/, '$1');
    const facts = await inspectFolder(given);
    const inside = insideDataFolder(given, facts.realPath ?? given, this.o.dataDir);
    if (inside) throw new InvalidInputError(inside, [{ path: 'path', message: "Inside Safehold's data folder" }]);
    if (!facts.exists) throw new InvalidInputError(`${given} does not exist. Is its disk mounted?`, [{ path: 'path', message: 'No such folder' }]);
    if (!facts.isDirectory) throw new InvalidInputError(`${given} is not a folder.`, [{ path: 'path', message: 'Not a folder' }]);
    if (!facts.readable) throw new InvalidInputError(`Safehold cannot read ${given}.`, [{ path: 'path', message: 'Not readable' }]);
    const path = facts.realPath ?? given;
    if (this.o.repo.get(input.name)) throw new ConflictError(`A source called "${input.name}" already exists.`);
    const same = this.o.repo.byPath(path);
    if (same) throw new ConflictError(`${path} is already the source "${same.name}".`);
    const source = this.o.repo.add({ name: input.name, path, excludes: input.excludes }, this.o.clock.now());
    this.o.activity.record({ level: 'info', kind: 'source.added', subject: source.name, message: `Source "${source.name}" added: ${path}${path === given ? '' : ` (where ${given} leads)`}${source.excludes.length ? ` (excluding ${source.excludes.join(', ')})` : ''}.` });
    return source;
  }

  /**
   * A share of the storage pool becomes a source: its pooled folder (Safehold's own, so it is not
   * inspected: it may be down while no pool disk is there, and the interlocks then refuse to back up
   * an empty folder). Named after the share in lower case (`share-<name>` when a source already has
   * that name). Idempotent for the same path; returns the source.
   */
  addShare(share: string, path: string): Source {
    const existing = this.o.repo.byPath(path);
    if (existing) return existing;
    const plain = share.toLowerCase();
    const name = this.o.repo.get(plain) ? `share-${plain}`.slice(0, 40).replace(/[._-]+$/, '') : plain;
    if (this.o.repo.get(name)) throw new ConflictError(`Sources called "${plain}" and "${name}" already exist: the share ${share} could not become a source.`);
    const source = this.o.repo.add({ name, path, excludes: [] }, this.o.clock.now());
    this.o.activity.record({ level: 'info', kind: 'source.added', subject: name, message: `The share ${share} is backed up as source "${name}" (${path}).` });
    return source;
  }

  /** The source of a share that was removed (its backups are kept); nothing when there is none. */
  removeShare(share: string, path: string): void {
    const source = this.o.repo.byPath(path);
    if (!source) return;
    this.o.repo.remove(source.name);
    this.o.activity.record({ level: 'info', kind: 'source.removed', subject: source.name, message: `The share ${share} is no longer backed up (source "${source.name}"); its earlier backups are kept.` });
  }

  setExcludes(name: string, excludes: string[]): Source {
    this.get(name);
    this.o.repo.setExcludes(name, excludes);
    this.o.activity.record({ level: 'info', kind: 'source.changed', subject: name, message: `Source "${name}" now excludes ${excludes.length ? excludes.join(', ') : 'nothing'}.` });
    return this.get(name);
  }

  remove(name: string): void {
    const source = this.get(name);
    this.o.repo.remove(name);
    this.o.activity.record({ level: 'info', kind: 'source.removed', subject: name, message: `Source "${name}" (${source.path}) removed. Its earlier backups are kept.` });
  }
}
