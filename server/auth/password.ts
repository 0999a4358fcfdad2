/**
 * Password hashing (scrypt from node:crypto, run on libuv's thread pool, off the event loop) and
 * the password policy for the admin account.
 *
 * Stored format (survives upgrades): `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`; verification reads
 * the parameters from the string, so they can be raised later without breaking old hashes.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** N = 2^15, r = 8: 32 MiB and ~0.1 s on a Raspberry Pi 4 per hash. */
const DEFAULT = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFKC'), salt, KEY_LENGTH, { ...options, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, params = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export const MIN_PASSWORD_LENGTH = 12;

/** Passwords people pick first; the length rule already refuses most of the well-known lists. */
const COMMON = new Set([
  'password1234',
  'password12345',
  'password123456',
  '123456789012',
  '1234567890123',
  'qwertyuiopas',
  'qwerty123456',
  'administrator',
  'administrator1',
  'letmein12345',
  'iloveyou1234',
  'welcome12345',
  'changeme1234',
  'passwordpassword',
  'safehold1234',
  'safeholdadmin',
  'raspberrypi1',
  'raspberry1234',
]);

/**
 * Why a password is too weak, in words for the owner, or null when it is acceptable.
 * `avoid` lists strings it must not be (the user name, the setup code).
 */
export function passwordProblem(password: string, avoid: string[] = []): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > 256) return 'Use at most 256 characters.';
  const lower = password.toLowerCase();
  if (new Set(lower).size < 5) return 'Use more different characters: this one repeats too much.';
  if (COMMON.has(lower)) return 'This password is too common; pick one nobody would guess.';
  if (isSequence(lower)) return 'A run of consecutive keys or digits is easy to guess.';
  for (const word of avoid) {
    const w = word.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (w.length >= 3 && lower.replace(/[^a-z0-9]/g, '').includes(w)) {
      return 'The password must not contain the user name or the setup code.';
    }
  }
  return null;
}

function isSequence(text: string): boolean {
  for (const run of ['abcdefghijklmnopqrstuvwxyz', '01234567890', 'qwertyuiopasdfghjklzxcvbnm']) {
    if (run.includes(text) || [...run].reverse().join('').includes(text)) return true;
  }
  return false;
}
