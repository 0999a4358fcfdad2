/**
 * The password strength estimator (zxcvbn-ts with its common-password list and English words), run
 * in a worker thread by password.ts: loading its dictionaries takes most of a second and some 50 MB,
 * and one estimate can take a tenth of a second or more, so neither happens on the service's event
 * loop, and the memory goes back when the worker ends.
 *
 * Protocol: receives `StrengthRequest`, answers `StrengthAnswer` with the same `id`.
 */
import { parentPort } from 'node:worker_threads';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

export interface StrengthRequest {
  id: number;
  password: string;
  /** Words the password must not lean on (user name, setup code, the product's own words). */
  userInputs: string[];
}

export interface StrengthAnswer {
  id: number;
  /** 0 (too guessable) … 4 (very unguessable), zxcvbn's scale. */
  score: number;
  warning: string | null;
  suggestions: string[];
}

/**
 * Bounds on the work of one estimate, measured with the service's Node options (interpreter-only V8, x86):
 * a 256-character password of repeated l33t patterns took 6 to 15 s with the defaults (256
 * characters, 100 substitutions), and about 0.5 s with these. Only the first `maxLength` characters
 * are judged: a longer password must be strong in those alone.
 */
const LIMITS = { maxLength: 64, l33tMaxSubstitutions: 16 };

const estimator = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...english.dictionary },
  graphs: common.adjacencyGraphs,
  translations: english.translations,
  ...LIMITS,
});

parentPort!.on('message', (request: StrengthRequest) => {
  const result = estimator.check(request.password, request.userInputs);
  const answer: StrengthAnswer = {
    id: request.id,
    score: result.score,
    warning: result.feedback.warning || null,
    suggestions: result.feedback.suggestions,
  };
  parentPort!.postMessage(answer);
});
