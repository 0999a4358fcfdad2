/**
 * Names and paths the command line did not write itself are shown as the characters they hold: a
 * terminal must not be moved, recoloured, split or reordered by them; and the one rule of which
 * characters count as invisible, shared with the API's name check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable } from '../../server/cli/printable.js';
import { invisibleCharacter, parseInput, visibleText } from '../../server/http/validate.js';
import { InvalidInputError } from '../../server/errors.js';

/** What a terminal would act on: any character outside printable ASCII and ordinary letters. */
const actsOnTerminal = (text: string) => /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udfff]/.test(text);

describe('printable() on the command line', () => {
  it('leaves ordinary names alone, accents, spaces, quotes and emoji included', () => {
    for (const name of ['photos', 'Backup A', 'Café Élodie', '"quoted" name', 'tab-less', 'disk 😀', 'C:\\old', '日本語']) {
      assert.equal(printable(name), name);
    }
  });

  it('escapes C0 controls and DEL, so no escape sequence or line break reaches the terminal', () => {
    assert.equal(printable('a\u001b[31mred'), '"a\\u001b[31mred"');
    assert.equal(printable('two\nlines'), '"two\\nlines"');
    assert.equal(printable('bell\u0007'), '"bell\\u0007"');
    assert.equal(printable('del\u007f'), '"del\\u007f"');
  });

  it('escapes C1 controls (U+0085 next line, U+009B the one-byte CSI)', () => {
    assert.equal(printable('next\u0085line'), '"next\\u0085line"');
    assert.equal(printable('x\u009b2Jy'), '"x\\u009b2Jy"');
  });

  it('escapes the line and paragraph separators', () => {
    assert.equal(printable('a\u2028b\u2029c'), '"a\\u2028b\\u2029c"');
  });

  it('escapes bidi overrides and isolates, zero-width characters and the BOM', () => {
    assert.equal(printable('invoice\u202Efdp.exe'), '"invoice\\u202efdp.exe"');
    assert.equal(printable('\u2066x\u2069'), '"\\u2066x\\u2069"');
    assert.equal(printable('ad\u200Bmin'), '"ad\\u200bmin"');
    assert.equal(printable('\uFEFFname'), '"\\ufeffname"');
  });

  it('escapes a lone surrogate, and a format character beyond U+FFFF as JSON does', () => {
    assert.equal(printable('half\uD800'), '"half\\ud800"');
    assert.equal(printable('tag\u{E0041}'), '"tag\\udb40\\udc41"');
  });

  it('never lets anything a terminal acts on through, and reads back as the same text', () => {
    const hostile = 'a\u0000b\u0009c\u001bd\u007fe\u0085f\u009bg\u200bh\u200ei\u202aj\u202ek\u2028l\u2029m\u2066n\ufeffo\ud800p\udfffq';
    const shown = printable(hostile);
    assert.equal(actsOnTerminal(shown), false, shown);
    assert.equal(JSON.parse(shown), hostile);
  });
});

describe('which characters count as invisible', () => {
  it('finds the first one, with its code and its position in characters', () => {
    assert.deepEqual(invisibleCharacter('abc\u202Edef'), { code: 'U+202E', position: 4 });
    assert.deepEqual(invisibleCharacter('😀\u200B'), { code: 'U+200B', position: 2 });
    assert.deepEqual(invisibleCharacter('x\uDC00'), { code: 'U+DC00', position: 2 });
    assert.equal(invisibleCharacter('Café 😀 日本'), null);
  });

  it('lets an emoji sequence keep its joiners, and refuses a joiner anywhere else', () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}'; // 👨‍👩‍👧
    const heart = '\u2764\uFE0F\u200D\u{1F525}'; // ❤️‍🔥
    const tone = '\u{1F9D1}\u{1F3FD}\u200D\u{1F4BB}'; // 🧑🏽‍💻
    for (const name of [`${family} photos`, heart, tone]) {
      assert.equal(invisibleCharacter(name), null, name);
      assert.equal(printable(name), name);
    }
    assert.deepEqual(invisibleCharacter('ad\u200Dmin'), { code: 'U+200D', position: 3 });
    assert.deepEqual(invisibleCharacter('\u{1F468}\u200D'), { code: 'U+200D', position: 2 });
    assert.deepEqual(invisibleCharacter(`${family}\u200B`), { code: 'U+200B', position: 6 });
    assert.equal(printable('a\u200Db'), '"a\\u200db"');
  });

  it('is what the API refuses in a name, with the character and where it is', () => {
    const name = visibleText().min(1).max(40);
    assert.equal(parseInput(name, '  Backup A '), 'Backup A');
    assert.throws(
      () => parseInput(name, 'Bac\u202Ekup', 'drive name'),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        /Names cannot contain invisible or control characters \(U\+202E at position 4\)/.test(error.message),
    );
    // At the end too: the check comes before trimming, so a trailing separator is not quietly dropped.
    assert.throws(() => parseInput(name, 'Backup\u2028'), InvalidInputError);
  });
});
