/**
 * A storage pool for system tests: loop-device disks, the real service (real mergerfs, its own smbd
 * on a free port with Unix accounts of a prefix unique to the run), the admin logged in, the disks
 * joined. Everything it made is removed by `dispose()`, failed test or not.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanupLeftovers, createLoopDisk, loopDiskSkipReason, removeDataFolder, type LoopDisk } from './loop-disk.js';
import { freePort, removeAccounts, testAccountPrefix } from './samba.js';
import { Browserish, STRONG_PASSWORD, startServiceProcess, waitFor, type ServiceProcess } from './service.js';

const run = promisify(execFile);

/** Why pool tests cannot run here (no root, no mergerfs, no FUSE), or undefined. */
export async function poolSkipReason(): Promise<string | undefined> {
  return (
    loopDiskSkipReason() ??
    ((await run('which', ['mergerfs']).then(() => undefined, () => 'needs mergerfs (make test installs it)')) as string | undefined) ??
    ((await access('/dev/fuse').then(() => undefined, () => 'needs /dev/fuse')) as string | undefined)
  );
}

export interface MemberJson {
  driveId: string;
  device: string | null;
  mountpoint: string;
  state: string;
}

export interface ShareFilesJson {
  byCopies: Record<string, number>;
  waiting: number;
  short: { path: string; why: string }[];
}

export class PoolBox {
  svc!: ServiceProcess;
  admin!: Browserish;
  poolRoot = '';
  dataDir = '';
  smbPort = 0;
  readonly accountPrefix = testAccountPrefix();
  readonly disks: LoopDisk[] = [];

  /** A pool of fresh ext4 loop disks (`[MiB, label]` each), all joined keeping their (empty) files. */
  static async open(disks: readonly (readonly [number, string])[]): Promise<PoolBox> {
    await cleanupLeftovers();
    const box = new PoolBox();
    box.poolRoot = await mkdtemp(join(tmpdir(), 'safehold-test-poolroot-'));
    box.dataDir = await mkdtemp(join(tmpdir(), 'safehold-test-data-'));
    box.smbPort = await freePort();
    for (const [size, label] of disks) box.disks.push(await createLoopDisk({ sizeMiB: size, label }));
    await box.start();
    await box.admin.setup(box.dataDir);
    for (const disk of box.disks) await box.join(disk);
    return box;
  }

  /** Starts the service (again, after a stop or a kill) on the same data folder and pool root; the admin is logged in. */
  async start(): Promise<void> {
    this.svc = await startServiceProcess({
      simulate: false,
      dataDir: this.dataDir,
      args: ['--pool-root', this.poolRoot, '--smb-port', String(this.smbPort)],
      env: { SAFEHOLD_SMB_ACCOUNT_PREFIX: this.accountPrefix },
    });
    this.admin = new Browserish(this.svc.base);
    if ((await this.admin.get('/session')).json.setupRequired) return; // the first start: open() sets up
    const res = await this.admin.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    assert.equal(res.status, 200, `login: ${JSON.stringify(res.json)}`);
  }

  /** The disk joins the pool keeping its files; returns its drive id. */
  async join(disk: LoopDisk): Promise<string> {
    const { value: drive } = await waitFor(async () => ((await this.admin.get('/drives')).json.drives as { id: string; path: string }[]).find((d) => d.path === disk.device), 10_000, 'the disk in the inventory');
    const res = await this.admin.post('/pool/members', { driveId: drive.id, mode: 'keep' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    await this.finish(res.json.job.id);
    return drive.id;
  }

  /** Waits for a job to succeed (a failed one throws its message). */
  async finish(jobId: number, timeoutMs = 120_000): Promise<{ state: string; message: string }> {
    return (
      await waitFor(async () => {
        const job = (await this.admin.get(`/jobs/${jobId}`)).json as { state: string; message: string };
        if (job.state === 'failed' || job.state === 'interrupted' || job.state === 'cancelled') throw new Error(`job ${jobId} ${job.state}: ${job.message}`);
        return job.state === 'succeeded' ? job : null;
      }, timeoutMs, `job ${jobId}`)
    ).value;
  }

  async members(): Promise<MemberJson[]> {
    return (await this.admin.get('/pool')).json.members as MemberJson[];
  }

  async shareFiles(share: string): Promise<ShareFilesJson> {
    return ((await this.admin.get('/shares')).json.shares as { name: string; files: ShareFilesJson }[]).find((s) => s.name === share)!.files;
  }

  /** A share's pooled folder (or a path in it). */
  view(share: string, rel = ''): string {
    return join(this.poolRoot, 'shares', share, rel);
  }

  /** The mounted disks holding `share/rel`, with each copy's bytes. */
  async copies(share: string, rel: string): Promise<{ driveId: string; bytes: Buffer }[]> {
    const found: { driveId: string; bytes: Buffer }[] = [];
    for (const m of await this.members()) {
      if (m.state !== 'mounted') continue;
      const bytes = await readFile(join(m.mountpoint, 'Safehold', 'shares', share, rel)).catch(() => null);
      if (bytes) found.push({ driveId: m.driveId, bytes });
    }
    return found;
  }

  async dispose(): Promise<void> {
    try {
      await this.svc?.stop();
    } finally {
      await removeAccounts(this.accountPrefix);
      for (const disk of this.disks) await disk.cleanup().catch(() => undefined);
      if (this.poolRoot) await removeDataFolder(this.poolRoot).catch(() => undefined);
      if (this.dataDir) await removeDataFolder(this.dataDir).catch(() => undefined);
    }
  }
}

/** True while a share's pooled view is mounted at `path`. */
export async function viewMounted(path: string): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((line) => line.split(' ')[4] === path);
}
