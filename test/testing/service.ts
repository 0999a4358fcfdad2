/**
 * Test helpers for the running service: start the compiled service as a real process (the same
 * command `make run` uses) on a free port with a temporary data folder, and talk to it like a
 * browser would (cookies, CSRF token, Origin).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeDataFolder } from './loop-disk.js';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'server', 'cli', 'main.js');
/** The command that starts the service, with its Node options, as `make run` and systemd do. */
export const SAFEHOLD = join(ROOT, 'bin', 'safehold');
export const STRONG_PASSWORD = 'correct horse battery staple';

/**
 * Runs the command line `safehold ARGS` (the compiled CLI) and resolves with its exit code and output,
 * whatever the code. `asUser` runs it as that local user instead (runuser; needs root).
 */
export async function safehold(args: string[], options: { env?: Record<string, string>; asUser?: string } = {}) {
  const [file, argv] = options.asUser ? ['runuser', ['-u', options.asUser, '--', process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  try {
    const { stdout, stderr } = await promisify(execFile)(file, argv, { env: { ...process.env, ...options.env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface ServiceProcess {
  port: number;
  dataDir: string;
  base: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** What it printed on standard output alone: the service's log. */
  stdout(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** Stop, then remove the data folder. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  simulate?: boolean;
  dataDir?: string;
  env?: Record<string, string>;
  args?: string[];
}

export async function startServiceProcess(options: StartOptions = {}): Promise<ServiceProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'safehold-test-data-')));
  const port = await freePort();
  const args = ['serve', '--port', String(port), '--data', dataDir, '--listen', '127.0.0.1', ...(options.args ?? [])];
  if (options.simulate !== false) args.push('--simulate');
  const child = spawn(SAFEHOLD, args, {
    cwd: ROOT,
    env: { ...process.env, SAFEHOLD_LOG: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const base = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited at start-up (${child.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${base}/api/v1/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not answer within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopped: Promise<number | null> | null = null;
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return (stopped ??= exited);
  };
  return {
    port,
    dataDir,
    base,
    child,
    output: () => out,
    stdout: () => stdout,
    stop,
    async dispose() {
      await stop();
      if (!options.dataDir) await removeDataFolder(dataDir);
    },
  };
}

export const readSetupCode = async (dataDir: string) => (await readFile(join(dataDir, 'setup-code'), 'utf8')).trim();

/**
 * A browser-like client: keeps cookies, sends the CSRF token and the Origin of the page. With
 * `localAddress` (e.g. 127.0.0.2) its connections come from that address: another machine on the LAN,
 * as the service sees it.
 */
export class Browserish {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(
    readonly base: string,
    readonly origin = base,
    readonly localAddress?: string,
  ) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
    const h: Record<string, string> = { ...headers };
    if (this.cookies.size) h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (method !== 'GET') {
      h.origin ??= this.origin;
      if (this.csrf && !('x-csrf-token' in h)) h['x-csrf-token'] = this.csrf;
    }
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = this.localAddress
      ? await sendFrom(this.localAddress, `${this.base}/api/v1${path}`, method, h, payload)
      : await fetch(`${this.base}/api/v1${path}`, { method, headers: h, body: payload, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    if (json && typeof json === 'object' && typeof json.csrfToken === 'string') this.csrf = json.csrfToken;
    return { status: res.status, json, headers: res.headers };
  }

  get = (path: string) => this.request('GET', path);
  post = (path: string, body?: unknown, headers?: Record<string, string>) => this.request('POST', path, body, headers);

  /** GET /session (for the CSRF token), then setup with the code from the data folder. */
  async setup(dataDir: string, password = STRONG_PASSWORD): Promise<void> {
    await this.get('/session');
    const res = await this.post('/setup', { setupCode: await readSetupCode(dataDir), username: 'admin', password });
    if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${JSON.stringify(res.json)}`);
  }
}

/** One HTTP request from the local address `from` (fetch cannot choose it), answered in fetch's shape. */
function sendFrom(from: string, url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Headers; text(): Promise<string> }> {
  return new Promise((done, fail) => {
    const req = httpRequest(url, { method, headers, localAddress: from }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : [value ?? '']) answer.append(name, v);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        done({ status: res.statusCode ?? 0, headers: answer, text: async () => text });
      });
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes; returns the value and the time it took. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs: number, what: string): Promise<{ value: NonNullable<T>; ms: number }> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return { value: value as NonNullable<T>, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
