/**
 * Secrets (the SMTP password; later repository passwords and SSH keys) live in files under
 * `<data>/secrets/`, mode 0600 in a folder of mode 0700, written atomically. They are never stored
 * in the catalog, never returned by the API and never logged.
 */
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../system/files/files.js';

export class SecretStore {
  readonly #dir: string;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, 'secrets');
  }

  #file(name: string): string {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`not a secret name: ${name}`);
    return join(this.#dir, name);
  }

  /** Where secret `name` is kept (for programs that take a password file, like restic). */
  pathOf(name: string): string {
    return this.#file(name);
  }

  async read(name: string): Promise<string | null> {
    try {
      return await readFile(this.#file(name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async has(name: string): Promise<boolean> {
    return (await this.read(name)) !== null;
  }

  async write(name: string, value: string): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await chmod(this.#dir, 0o700);
    await writeFileAtomic(this.#file(name), value, 0o600);
  }

  async remove(name: string): Promise<void> {
    await rm(this.#file(name), { force: true });
  }
}
