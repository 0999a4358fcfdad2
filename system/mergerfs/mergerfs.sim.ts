/**
 * `PoolView` without FUSE, for `make demo` (`--simulate`) and domain tests without root: the same
 * contract as `MergerfsPoolView` for what it records and decides (test/medium/pool-view.test.ts
 * runs both). Views and their branches are kept in `<root>/pool-views.json` (replaced atomically),
 * so they outlive the service like a real mount does; `placementOf` answers with the same rule
 * (`chooseBranch`) over the branch folders and the free space `spaceOf` reports.
 *
 * Not simulated: the view folder shows no union of the branches (it is an empty folder): read the
 * branches natively, or write a new file through `writeFile`, which does what a write through a
 * real view does. Nothing is ever busy or disconnected; mount folders are not sealed; a branch that
 * is the top of a mounted filesystem is not refused.
 */
import { lstat, mkdir, readdir, readFile, statfs, writeFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../files/files.js';
import {
  checkViewName,
  chooseBranch,
  folderLevels,
  normalizeBranches,
  PoolViewError,
  type Branch,
  type BranchFacts,
  type MountViewOptions,
  type MountViewResult,
  type Placement,
  type PoolView,
  type UnmountViewResult,
  type ViewStatus,
} from './pool-view.js';

const branchSchema = z.object({
  path: z.string(),
  mode: z.enum(['read-write', 'no-create', 'read-only']),
  reserveBytes: z.number().int().nonnegative(),
});
const registrySchema = z.object({
  views: z.array(z.object({ mountpoint: z.string(), name: z.string(), reserveBytes: z.number().int().nonnegative(), branches: z.array(branchSchema) })),
});
type Registry = z.infer<typeof registrySchema>;

export interface SimulatedPoolViewOptions {
  /** Folder of the registry file (the simulated host's root). */
  root: string;
  /** Bytes a branch has available, or null when it cannot be read. Default: its filesystem's available space (statfs). */
  spaceOf?: (branchPath: string) => Promise<number | null>;
}

export class SimulatedPoolView implements PoolView {
  readonly #registryFile: string;
  readonly #spaceOf: (branchPath: string) => Promise<number | null>;

  constructor(options: SimulatedPoolViewOptions) {
    this.#registryFile = join(options.root, 'pool-views.json');
    this.#spaceOf = options.spaceOf ?? statfsAvailable;
  }

  async mount(mountpoint: string, branches: readonly Branch[], options: MountViewOptions): Promise<MountViewResult> {
    checkViewName(options.name);
    const list = normalizeBranches(branches, options.reserveBytes);
    const folder = absolute(mountpoint);
    await mkdir(folder, { recursive: true, mode: 0o755 });
    const info = await lstat(folder);
    if (info.isSymbolicLink()) throw new PoolViewError('invalid-path', `${folder} is a symbolic link: a view is mounted only on a folder of Safehold's own.`);
    if (!info.isDirectory()) throw new PoolViewError('invalid-path', `${folder} is not a folder.`);
    const registry = await this.#read();
    const existing = registry.views.find((v) => v.mountpoint === folder);
    if (existing) {
      if (existing.name !== options.name) throw new PoolViewError('already-mounted', `${folder} already shows the view "${existing.name}", not "${options.name}".`, 'Unmount it first.');
      await this.#write({ views: registry.views.map((v) => (v === existing ? { ...v, reserveBytes: options.reserveBytes, branches: list } : v)) });
      return { mountpoint: folder, name: options.name, alreadyMounted: true };
    }
    const inside = await readdir(folder);
    if (inside.length > 0) {
      throw new PoolViewError('folder-not-empty', `${folder} is not empty (${inside.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}): a view is mounted only on an empty folder, so no file is hidden under it.`);
    }
    await this.#write({ views: [...registry.views, { mountpoint: folder, name: options.name, reserveBytes: options.reserveBytes, branches: list }] });
    return { mountpoint: folder, name: options.name, alreadyMounted: false };
  }

  async unmount(mountpoint: string): Promise<UnmountViewResult> {
    const folder = absolute(mountpoint);
    const registry = await this.#read();
    const kept = registry.views.filter((v) => v.mountpoint !== folder);
    if (kept.length === registry.views.length) return { wasMounted: false, lazy: false };
    await this.#write({ views: kept });
    return { wasMounted: true, lazy: false };
  }

  async status(mountpoint: string): Promise<ViewStatus> {
    const view = (await this.#read()).views.find((v) => v.mountpoint === absolute(mountpoint));
    return view ? { state: 'mounted', name: view.name } : { state: 'not-mounted' };
  }

  async list(): Promise<Array<{ mountpoint: string; status: ViewStatus }>> {
    return (await this.#read()).views.map((v) => ({ mountpoint: v.mountpoint, status: { state: 'mounted', name: v.name } as const }));
  }

  async branches(mountpoint: string): Promise<Required<Branch>[]> {
    return (await this.#view(mountpoint)).branches;
  }

  async setBranches(mountpoint: string, branches: readonly Branch[]): Promise<void> {
    const view = await this.#view(mountpoint);
    const list = normalizeBranches(branches, view.reserveBytes);
    const registry = await this.#read();
    await this.#write({ views: registry.views.map((v) => (v.mountpoint === view.mountpoint ? { ...v, branches: list } : v)) });
  }

  async placementOf(mountpoint: string, relativePath: string): Promise<Placement> {
    const levels = folderLevels(relativePath);
    const view = await this.#view(mountpoint);
    const facts: BranchFacts[] = [];
    const has: boolean[][] = [];
    for (const branch of view.branches) {
      const present = await isFolder(branch.path);
      facts.push({ branch, availableBytes: present ? await this.#spaceOf(branch.path) : null, readOnlyFilesystem: false });
      has.push(await Promise.all(levels.map((folder) => isFolder(join(branch.path, folder)))));
    }
    return chooseBranch(relativePath, facts, (index, folder) => has[index]![levels.indexOf(folder)]!);
  }

  /**
   * What writing `data` to `relativePath` through a real view does: an existing file is written
   * over on its newest copy; a new file lands on `placementOf`'s branch, its folders created there.
   * Returns the branch written to. Throws `failed` (like ENOSPC) when no branch can take it.
   */
  async writeFile(mountpoint: string, relativePath: string, data: string | Uint8Array): Promise<string> {
    folderLevels(relativePath);
    const view = await this.#view(mountpoint);
    const copies = [];
    for (const branch of view.branches) {
      const info = await stat(join(branch.path, relativePath)).catch(() => null);
      if (info?.isFile()) copies.push({ branch: branch.path, mtimeMs: info.mtimeMs });
    }
    const newest = copies.reduce<(typeof copies)[number] | null>((best, c) => (best && best.mtimeMs >= c.mtimeMs ? best : c), null);
    let target = newest?.branch;
    if (!target) {
      const placement = await this.placementOf(mountpoint, relativePath);
      if (placement.branch === null) throw new PoolViewError('failed', placement.reason);
      target = placement.branch;
    }
    const file = join(target, relativePath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data);
    return target;
  }

  async #view(mountpoint: string): Promise<Registry['views'][number]> {
    const folder = absolute(mountpoint);
    const view = (await this.#read()).views.find((v) => v.mountpoint === folder);
    if (!view) throw new PoolViewError('not-mounted', `No view is serving at ${folder} (not-mounted).`, 'Mount the view first.');
    return view;
  }

  async #read(): Promise<Registry> {
    let text: string;
    try {
      text = await readFile(this.#registryFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { views: [] };
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`${this.#registryFile} is not valid JSON.`);
    }
    const parsed = registrySchema.safeParse(data);
    if (!parsed.success) throw new Error(`${this.#registryFile} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return parsed.data;
  }

  async #write(registry: Registry): Promise<void> {
    await writeFileAtomic(this.#registryFile, `${JSON.stringify(registry, null, 2)}\n`);
  }
}

function absolute(mountpoint: string): string {
  if (!isAbsolute(mountpoint)) throw new PoolViewError('invalid-path', `"${mountpoint}" is not an absolute path.`);
  return resolve(mountpoint);
}

/** Whether something is at `path` (mergerfs asks lstat, so does the simulation). */
async function isFolder(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function statfsAvailable(path: string): Promise<number | null> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
