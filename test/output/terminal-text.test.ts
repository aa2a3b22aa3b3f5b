import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeForTerminal, escapeJsonText } from '../../src/output/terminal-text.js';
import { TERMINAL_UNSAFE } from '../helpers/terminal-safe.js';

describe('escapeForTerminal', () => {
  test('an OSC title sequence and CSI sequences become visible text', () => {
    assert.equal(escapeForTerminal('\x1b]0;pwned\x07/x'), '\\x1b]0;pwned\\x07/x');
    assert.equal(escapeForTerminal('\x1b[2J\x1b[H'), '\\x1b[2J\\x1b[H');
    assert.equal(escapeForTerminal('a\nb\rc\td\x00e\x7f'), 'a\\nb\\rc\\td\\x00e\\x7f');
  });

  test('C1 controls (U+0080-U+009F) are escaped, one-character CSI and OSC among them', () => {
    for (let cp = 0x80; cp <= 0x9f; cp++) assert.equal(escapeForTerminal(`a${String.fromCharCode(cp)}b`), `a\\x${cp.toString(16)}b`);
  });

  test('bidi embeddings, overrides and isolates are escaped', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      assert.equal(escapeForTerminal(`x${String.fromCodePoint(cp)}y`), `x\\u{${cp.toString(16)}}y`);
    }
  });

  test('invisible characters are escaped: zero-width, BOM, soft hyphen, separators, tags, variation selectors, lone surrogates', () => {
    assert.equal(escapeForTerminal('a\u200bb\u200dc\ufeffd\u00ade'), 'a\\u{200b}b\\u{200d}c\\u{feff}d\\xade');
    assert.equal(escapeForTerminal('\u2028\u2029'), '\\u{2028}\\u{2029}');
    assert.equal(escapeForTerminal('\u{e0041}\ufe0f'), '\\u{e0041}\\u{fe0f}');
    assert.equal(escapeForTerminal('a\ud800b\udc00'), 'a\\u{d800}b\\u{dc00}');
    assert.equal(escapeForTerminal('\u{10ffff}'), '\\u{10ffff}', 'unassigned');
  });

  test('a backslash is escaped so a typed escape cannot pass for ours; quotes only when quoted', () => {
    assert.equal(escapeForTerminal('\\x1b'), '\\\\x1b');
    assert.equal(escapeForTerminal('say "hi"'), 'say "hi"');
    assert.equal(escapeForTerminal('say "hi"', { quoted: true }), 'say \\"hi\\"');
    assert.equal(escapeForTerminal('a\\"b\x1b', { keepBackslash: true }), 'a\\"b\\x1b');
  });

  test('printable text is kept: accents, CJK, emoji, combining marks, private use', () => {
    for (const text of ['héllo wörld', '日本語テキスト', '🎌 🚀 😀', 'e\u0301', '\ue000', 'plain ascii ~!@#$%^&*()']) {
      assert.equal(escapeForTerminal(text), text);
    }
  });

  test('no code point comes out as something a terminal acts on or hides', () => {
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp === 0xd800) cp = 0xe000; // lone surrogates are checked above; a string needs them paired
      const out = escapeForTerminal(String.fromCodePoint(cp));
      assert.ok(!TERMINAL_UNSAFE.test(out), `U+${cp.toString(16)} came out as ${JSON.stringify(out)}`);
    }
  });
});

describe('escapeJsonText', () => {
  test('C1, bidi and invisible characters become \\u escapes; the value is unchanged', () => {
    const value = { text: 'a\x85b\u202ec\u2066d\u200be\u2028f\x7fg🎌', name: 'x\x9b[31m' };
    const json = escapeJsonText(JSON.stringify(value));
    assert.ok(!TERMINAL_UNSAFE.test(json), json);
    assert.match(json, /a\\u0085b\\u202ec\\u2066d\\u200be\\u2028f\\u007fg🎌/);
    assert.deepEqual(JSON.parse(json), value);
  });

  test('a line with nothing to escape is returned as it is', () => {
    const json = JSON.stringify({ a: 'héllo 日本 🎌', b: '\x1b' });
    assert.equal(escapeJsonText(json), json);
  });
});
