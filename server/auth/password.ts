/**
 * Password hashing (scrypt from node:crypto, run on libuv's thread pool, off the event loop) and
 * the password policy for the admin account (with a strength estimator in a worker thread).
 *
 * Stored format (survives upgrades): `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`; verification reads
 * the parameters from the string, so they can be raised later without breaking old hashes.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { StrengthAnswer, StrengthRequest } from './password-strength.worker.js';

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
export const MAX_PASSWORD_LENGTH = 256;

/** zxcvbn's score a password must reach: 3 is "safely unguessable" (about 10^8 guesses and more). */
const MIN_SCORE = 3;

/** Words anyone can guess about this box, judged like the user name. */
const BOX_WORDS = ['safehold', 'admin', 'administrator', 'backup', 'raspberry', 'raspberrypi', 'pi'];

/**
 * Why a password is too weak, in words for the owner, or null when it is acceptable.
 * `avoid` lists strings it must not contain (the user name, the setup code).
 *
 * Rules: 12 to 256 characters; not containing any of `avoid`; and guessable by nobody, as judged by
 * the zxcvbn-ts estimator with its common-password list and English words (score 3 of 4 at least).
 * A refusal from the estimator says why in its words ("This is a commonly used password. Add more
 * words that are less common."). The estimator runs in a worker thread started on the first call.
 */
export async function passwordProblem(password: string, avoid: string[] = []): Promise<string | null> {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  const letters = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const word of avoid) {
    const w = letters(word);
    if (w.length >= 3 && letters(password).includes(w)) return 'The password must not contain the user name or the setup code.';
  }
  const strength = await estimateStrength(password, [...avoid, ...BOX_WORDS]);
  if (strength.score >= MIN_SCORE) return null;
  const why = [strength.warning, ...strength.suggestions].filter((s): s is string => !!s);
  if (why.length === 0) why.push('Add more words, or make it longer.');
  const [first, ...rest] = why;
  return [`Too easy to guess: ${first!.charAt(0).toLowerCase()}${first!.slice(1)}`, ...rest].join(' ');
}

// ---- the estimator's worker thread ----

/** How long the worker is kept after its last estimate (a refused owner usually tries again soon). */
const ESTIMATOR_IDLE_MS = 2 * 60 * 1000;

let worker: Worker | null = null;
let idleTimer: NodeJS.Timeout | null = null;
let nextId = 1;
const pending = new Map<number, { resolve: (a: StrengthAnswer) => void; reject: (e: Error) => void }>();

function estimateStrength(password: string, userInputs: string[]): Promise<StrengthAnswer> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  const w = (worker ??= startWorker());
  w.ref(); // an estimate under way keeps the process alive
  const id = nextId++;
  const request: StrengthRequest = { id, password, userInputs };
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage(request);
  });
}

function startWorker(): Worker {
  const w = new Worker(new URL('./password-strength.worker.js', import.meta.url));
  w.on('message', (answer: StrengthAnswer) => {
    pending.get(answer.id)?.resolve(answer);
    pending.delete(answer.id);
    if (pending.size === 0) idle(w);
  });
  const fail = (error: Error) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(new Error('The password strength estimator failed.', { cause: error }));
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the estimator's worker exited with code ${code}`)));
  return w;
}

function idle(w: Worker): void {
  w.unref();
  idleTimer = setTimeout(() => closeStrengthEstimator(), ESTIMATOR_IDLE_MS);
  idleTimer.unref();
}

/** Ends the estimator's worker now (it starts again on the next estimate). Idempotent. */
export async function closeStrengthEstimator(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  const w = worker;
  worker = null;
  await w?.terminate();
}
