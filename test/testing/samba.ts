/**
 * Helpers for tests against a real smbd: a prefix for the run's Unix accounts (removed afterwards,
 * only ours), a free loopback port, and smbclient as the client (passwords through an
 * authentication file, never on its command line).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCommandRunner, type CommandRunner } from '../../system/process/command-runner.js';
import { isInstalled } from '../../system/tools.js';

export async function sambaSkipReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root: creates Unix accounts and runs smbd';
  for (const tool of ['smbd', 'smbclient', 'smbpasswd', 'pdbedit', 'smbcontrol', 'testparm', 'useradd']) {
    if (!(await isInstalled(tool))) return `${tool} is not installed (Debian packages samba, smbclient)`;
  }
  return undefined;
}

/** `shtest<4 hex>-`: unique to this run (the adapter allows 12 characters of prefix: Unix names stop at 32). */
export function testAccountPrefix(): string {
  return `shtest${randomBytes(2).toString('hex')}-`;
}

/** Removes the Unix accounts whose names start with `prefix` (this run's only). */
export async function removeAccounts(prefix: string, runner: CommandRunner = new ProcessCommandRunner()): Promise<void> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const name of passwd.split('\n').map((l) => l.split(':')[0]!)) {
    if (name.startsWith(prefix)) await runner.run('userdel', [name]);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface SmbResult {
  ok: boolean;
  output: string;
}

/** smbclient against `//127.0.0.1/<share>` on `port`, in a folder of its own; `user` null logs in as nobody (-N). */
export class SmbClient {
  readonly #runner: CommandRunner;
  readonly #port: number;
  constructor(port: number, runner: CommandRunner = new ProcessCommandRunner()) {
    this.#port = port;
    this.#runner = runner;
  }

  /** Runs `commands` (smbclient's -c) with files of `workDir` at hand; `protocol` is the client's highest. */
  async run(share: string, login: { user: string; password: string } | null, commands: string, workDir: string, protocol = 'SMB3'): Promise<SmbResult> {
    const auth = join(workDir, '.auth');
    const args = [`//127.0.0.1/${share}`, '-p', String(this.#port), '-m', protocol, `--option=client max protocol=${protocol}`, '-c', commands];
    if (login) {
      await writeFile(auth, `username = ${login.user}\npassword = ${login.password}\n`, { mode: 0o600 });
      args.push('-A', auth);
    } else {
      args.push('-N');
    }
    try {
      const result = await this.#runner.run('smbclient', args, { cwd: workDir, secrets: login ? [login.password] : [], timeoutMs: 30_000 });
      const output = `${result.stdout}\n${result.stderr}`;
      return { ok: result.exitCode === 0 && !/NT_STATUS_/.test(output), output };
    } finally {
      await rm(auth, { force: true });
    }
  }

  /**
   * What this login can do on the share, as a person would find out: read `probe.txt` (which the
   * test put in the folder), then write a file. 'rw', 'ro' or 'none'.
   */
  async accessOf(share: string, login: { user: string; password: string } | null): Promise<'rw' | 'ro' | 'none'> {
    const work = await mkdtemp(join(tmpdir(), 'smbclient-'));
    try {
      await writeFile(join(work, 'up.txt'), `written by ${login?.user ?? 'a guest'}\n`);
      const read = await this.run(share, login, 'get probe.txt got.txt', work);
      if (!read.ok) return 'none';
      const write = await this.run(share, login, `put up.txt written-${randomBytes(4).toString('hex')}.txt`, work);
      return write.ok ? 'rw' : 'ro';
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
