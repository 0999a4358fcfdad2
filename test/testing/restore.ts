/**
 * Restore tests' setting (root only): a loop disk registered through the real service as rotation
 * drive A, with a snapshot written onto it by hand with the real restic and the drive's own password,
 * and waiting for jobs to end.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessCommandRunner } from '../../system/process/command-runner.js';
import { ResticAdapter } from '../../system/restic/restic.adapter.js';
import type { Snapshot } from '../../system/restic/restic.js';
import type { LoopDisk } from './loop-disk.js';
import { waitFor, type Browserish, type ServiceProcess } from './service.js';

export const FINISHED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** The job once it has ended (up to 2 minutes). */
export async function settledJob<T extends { state: string }>(admin: Browserish, id: number): Promise<T> {
  return (await waitFor(async () => {
    const job = (await admin.get(`/jobs/${id}`)).json as T;
    return FINISHED.includes(job.state) ? job : null;
  }, 120_000, `job ${id}`)).value;
}

/** Once every job has ended (up to 3 minutes). */
export async function allJobsSettled(admin: Browserish): Promise<void> {
  await waitFor(async () => ((await admin.get('/jobs?limit=500')).json.jobs as Array<{ state: string }>).every((j) => FINISHED.includes(j.state)), 180_000, 'every job to end');
}

/** Registers `disk` as rotation drive A (keeping its filesystem) and writes a snapshot of `paths` onto it, tagged `tag`. */
export async function driveWithSnapshot(svc: ServiceProcess, admin: Browserish, disk: LoopDisk, paths: string[], tag: string): Promise<{ driveId: string; base: string; snapshot: Snapshot }> {
  const { value: drive } = await waitFor(async () => ((await admin.get('/drives')).json.drives as Array<{ id: string; path: string }>).find((d) => d.path === disk.device), 10_000, 'the loop disk in the inventory');
  const reg = await admin.post('/rotation/drives', { driveId: drive.id, name: 'A', mode: 'keep' });
  if (reg.status !== 202) throw new Error(`registering drive A: ${JSON.stringify(reg.json)}`);
  const registered = await settledJob<{ state: string; message: string | null }>(admin, reg.json.job.id);
  if (registered.state !== 'succeeded') throw new Error(`registering drive A: ${registered.message}`);
  // A plug-in backup may start by itself on a registered drive (no sources: it writes nothing).
  await allJobsSettled(admin);

  const secrets = join(svc.dataDir, 'secrets');
  const passwordFile = join(secrets, readdirSync(secrets).find((n) => n.startsWith('restic-'))!);
  const mountpoint = await disk.mount();
  try {
    const restic = new ResticAdapter({ runner: new ProcessCommandRunner(), idlePriority: false });
    const repo = { path: join(mountpoint, 'Safehold', 'repository'), passwordFile };
    await restic.backup(repo, { paths, tags: [tag] });
    const [snapshot] = await restic.snapshots(repo, { tags: [tag] });
    return { driveId: drive.id, base: `/backups/drives/${encodeURIComponent(drive.id)}`, snapshot: snapshot! };
  } finally {
    await disk.unmount();
  }
}
