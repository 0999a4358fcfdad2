/**
 * The one-time setup code: proves that whoever creates the admin account can read the service's
 * console or its data folder, so a neighbour on the LAN cannot claim a new box.
 *
 * Contract: `ensureSetupCode()` keeps an existing `<data>/setup-code` (so a restart does not
 * invalidate a code already written down) or writes a new one, mode 0600, atomically;
 * `writeNewSetupCode()` always writes a new one (after a password reset). The code is
 * 12 characters from an alphabet without look-alikes (60 bits), shown as XXXX-XXXX-XXXX; comparison
 * ignores case, spaces and dashes and takes constant time. `removeSetupCode()` deletes it once an
 * admin exists.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../system/files/files.js';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const SETUP_CODE_FILE = 'setup-code';

export function newSetupCode(): string {
  const chars = Array.from({ length: 12 }, () => ALPHABET[randomInt(ALPHABET.length)]);
  return [chars.slice(0, 4), chars.slice(4, 8), chars.slice(8)].map((g) => g.join('')).join('-');
}

export const normalizeSetupCode = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');

export function setupCodeMatches(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(normalizeSetupCode(s)).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export async function ensureSetupCode(dataDir: string): Promise<string> {
  const file = join(dataDir, SETUP_CODE_FILE);
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(existing)) return existing;
  } catch {
    // none yet: write one below
  }
  return writeNewSetupCode(dataDir);
}

export async function writeNewSetupCode(dataDir: string): Promise<string> {
  const code = newSetupCode();
  await writeFileAtomic(join(dataDir, SETUP_CODE_FILE), `${code}\n`, 0o600);
  return code;
}

export async function removeSetupCode(dataDir: string): Promise<void> {
  await rm(join(dataDir, SETUP_CODE_FILE), { force: true });
}
