/**
 * A box for backup tests (root only): the real service process on real block devices (loop disks
 * as USB drives), the real restic, a real SMTP server catching the alert mails, and the calls a
 * test makes through the API (register a drive, wait for its plug-in backup, read the ledger).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupRunView, LedgerEntry } from '../../server/backups/backup.view.js';
import { forceUnmount, loopDiskSkipReason, removeDataFolder, type LoopDisk } from './loop-disk.js';
import { Browserish, startServiceProcess, STRONG_PASSWORD, waitFor, type ServiceProcess } from './service.js';
import { startMailCatcher, subjectOf, type MailCatcher } from './smtp.js';

const run = promisify(execFile);

/** Why backup tests cannot run here, or undefined. */
export async function backupSkipReason(): Promise<string | undefined> {
  return loopDiskSkipReason() ?? (await run('which', ['restic']).then(() => undefined, () => 'needs restic (make test installs it)'));
}

/**
 * Stops a service started on real block devices and removes its data folder; whatever it left
 * mounted under its mount folder is unmounted first (it unmounts what it mounted when it stops).
 */
export async function disposeUnmounted(svc: ServiceProcess): Promise<void> {
  await svc.stop();
  for (const dir of await readdir(join(svc.dataDir, 'mnt')).catch(() => [] as string[])) await forceUnmount(join(svc.dataDir, 'mnt', dir));
  await svc.dispose();
}

export interface JobJson {
  id: number;
  kind: string;
  target: string | null;
  state: string;
  message: string | null;
  progress: { bytesDone: number; itemsDone: number; current: string | null };
}

const ENDED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export class BackupBox {
  private constructor(
    public svc: ServiceProcess,
    public admin: Browserish,
    readonly mail: MailCatcher,
    /** A scratch folder for the test's sources (removed by `dispose`). */
    readonly scratch: string,
  ) {}

  /** `dataDir`: the service's data folder (default: a new temporary one); `dispose` removes it. */
  static async start(options: { dataDir?: string } = {}): Promise<BackupBox> {
    const mail = await startMailCatcher();
    const svc = await startServiceProcess({ simulate: false, dataDir: options.dataDir });
    const admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
    const res = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: mail.port, security: 'none', user: null, from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    if (res.status !== 200) throw new Error(`alert settings: ${JSON.stringify(res.json)}`);
    const scratch = await mkdtemp(join(tmpdir(), 'safehold-test-sources-'));
    return new BackupBox(svc, admin, mail, scratch);
  }

  async dispose(): Promise<void> {
    await this.svc.dispose();
    await removeDataFolder(this.svc.dataDir); // also after a restart on the same folder
    await this.mail.close();
    await rm(this.scratch, { recursive: true, force: true });
  }

  /**
   * A power cut: the service and every restic it started are killed at once (SIGKILL, nothing
   * cleaned up: mounts and restic's locks stay), then the service starts again on the same data.
   */
  async powerCut(): Promise<void> {
    const dataDir = this.svc.dataDir;
    this.svc.child.kill('SIGKILL');
    await run('pkill', ['-KILL', '-f', `restic .*--password-file=${dataDir}/`]).catch(() => undefined);
    await this.svc.stop();
    this.svc = await startServiceProcess({ simulate: false, dataDir });
    this.admin = new Browserish(this.svc.base);
    await this.admin.get('/session');
    const res = await this.admin.post('/login', { username: 'admin', password: STRONG_PASSWORD });
    if (res.status !== 200) throw new Error(`login after the restart: ${res.status} ${JSON.stringify(res.json)}`);
  }

  async addSource(name: string, path: string, excludes: string[] = []): Promise<void> {
    const res = await this.admin.post('/sources', { name, path, excludes });
    if (res.status !== 201) throw new Error(`add source: ${JSON.stringify(res.json)}`);
  }

  async driveOf(disk: LoopDisk): Promise<{ id: string; role: string }> {
    return (
      await waitFor(async () => ((await this.admin.get('/drives')).json.drives as Array<{ id: string; path: string; role: string }>).find((d) => d.path === disk.device), 10_000, `${disk.device} in the inventory`)
    ).value;
  }

  async jobs(): Promise<JobJson[]> {
    return (await this.admin.get('/jobs?limit=200')).json.jobs as JobJson[];
  }

  /** Waits until a job of `kind` on `target`, newer than `afterId`, has ended; returns it. */
  async jobEnded(kind: string, target: string, afterId = 0, timeoutMs = 120_000): Promise<JobJson> {
    try {
      return (
        await waitFor(async () => (await this.jobs()).find((j) => j.kind === kind && j.target === target && j.id > afterId && ENDED.includes(j.state)) ?? null, timeoutMs, `${kind} on ${target} to end`)
      ).value;
    } catch (error) {
      // Say where it stood, so that a hang seen only in CI can be understood from the log.
      const stuck = (await this.jobs()).filter((j) => j.kind === kind && j.target === target && j.id > afterId);
      const log = this.svc.output().split('\n').slice(-15).join('\n');
      throw new Error(`${(error as Error).message}; the job: ${JSON.stringify(stuck)}; the service's last lines:\n${log}`);
    }
  }

  async lastJobId(): Promise<number> {
    return Math.max(0, ...(await this.jobs()).map((j) => j.id));
  }

  /** Registers the disk as rotation drive `name` and waits for the backup that follows by itself. */
  async register(disk: LoopDisk, name: string, mode: 'keep' | 'format'): Promise<{ driveId: string; backup: JobJson }> {
    const drive = await this.driveOf(disk);
    const before = await this.lastJobId();
    const res = await this.admin.post('/rotation/drives', { driveId: drive.id, name, mode, ...(mode === 'format' ? { confirm: name } : {}) });
    if (res.status !== 202) throw new Error(`register: ${JSON.stringify(res.json)}`);
    const registered = await this.jobEnded('rotation.register', drive.id, before);
    if (registered.state !== 'succeeded') throw new Error(`registration ${registered.state}: ${registered.message}`);
    // A format gives a drive without a serial a new identity: find it again.
    const now = await this.driveOf(disk);
    return { driveId: now.id, backup: await this.jobEnded('backup.rotation', now.id, registered.id) };
  }

  async ledger(): Promise<LedgerEntry[]> {
    return (await this.admin.get('/backups/ledger')).json.drives as LedgerEntry[];
  }

  async entry(name: string): Promise<LedgerEntry> {
    const found = (await this.ledger()).find((d) => d.name === name);
    if (!found) throw new Error(`no drive ${name} in the ledger`);
    return found;
  }

  async runs(driveId: string): Promise<BackupRunView[]> {
    return (await this.admin.get(`/backups/runs?drive=${encodeURIComponent(driveId)}`)).json.runs as BackupRunView[];
  }

  async activity(): Promise<Array<{ level: string; kind: string; message: string }>> {
    return (await this.admin.get('/activity?limit=500')).json.entries as Array<{ level: string; kind: string; message: string }>;
  }

  /** The subjects of the mails received so far. */
  subjects(): string[] {
    return this.mail.received.map((m) => subjectOf(m.raw));
  }

  async waitForMail(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return (await waitFor(() => this.subjects().find((s) => pattern.test(s)) ?? null, timeoutMs, `a mail matching ${pattern}`)).value;
  }

  /** Whether anything is mounted under the service's mount folder. */
  async somethingMounted(): Promise<boolean> {
    const { readFile } = await import('node:fs/promises');
    return (await readFile('/proc/self/mountinfo', 'utf8')).includes(join(this.svc.dataDir, 'mnt'));
  }
}
