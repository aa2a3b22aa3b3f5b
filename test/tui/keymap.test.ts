import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BINDINGS, canonicalKey, displayKey, helpSections, resolveAction, type Action } from '../../src/tui/keymap.js';
import { helpContent } from '../../src/tui/panes/help.js';

describe('keymap', () => {
  it('names keys the same way whatever blessed reports', () => {
    assert.equal(canonicalKey('j', { name: 'j', full: 'j' }), 'j');
    assert.equal(canonicalKey('G', { name: 'g', full: 'S-g', shift: true }), 'G');
    assert.equal(canonicalKey('?', { full: '?' }), '?');
    assert.equal(canonicalKey('/', { name: undefined, full: '/' }), '/');
    assert.equal(canonicalKey(' ', { name: 'space', full: 'space' }), 'space');
    assert.equal(canonicalKey('\r', { name: 'enter', full: 'enter' }), 'enter');
    assert.equal(canonicalKey('\t', { name: 'tab', full: 'tab' }), 'tab');
    assert.equal(canonicalKey(undefined, { name: 'tab', full: 'S-tab', shift: true }), 'S-tab');
    assert.equal(canonicalKey('\x13', { name: 's', full: 'C-s', ctrl: true }), 'C-s');
    assert.equal(canonicalKey(undefined, { name: 'pagedown', full: 'pagedown' }), 'pagedown');
    assert.equal(canonicalKey('é', { full: 'é' }), 'é');
  });

  it('finds actions in the most specific context first', () => {
    assert.equal(resolveAction(['frames', 'list', 'global'], 'enter'), 'detail');
    assert.equal(resolveAction(['detail', 'list', 'global'], 'enter'), 'close-detail');
    assert.equal(resolveAction(['frames', 'list', 'global'], 'j'), 'down');
    assert.equal(resolveAction(['frames', 'list', 'global'], 'down'), 'down');
    assert.equal(resolveAction(['frames', 'list', 'global'], 'G'), 'bottom');
    assert.equal(resolveAction(['frames', 'list', 'global'], 'i'), 'intercept-toggle');
    assert.equal(resolveAction(['sessions', 'list', 'global'], 'f'), 'session-filter');
    assert.equal(resolveAction(['frames', 'list', 'global'], 'f'), null);
    assert.equal(resolveAction(['prompt'], 'escape'), 'cancel');
    assert.equal(resolveAction(['editor'], 'C-s'), 'save');
    assert.equal(resolveAction(['inject'], 'right'), 'option-next');
  });

  it('has no key bound twice in one context', () => {
    const seen = new Map<string, Action>();
    for (const b of BINDINGS) {
      if (b.action === 'text') continue;
      for (const c of b.contexts) {
        for (const k of b.keys) {
          const key = `${c}:${k}`;
          assert.ok(!seen.has(key), `${key} is bound to ${seen.get(key)} and ${b.action}`);
          seen.set(key, b.action);
        }
      }
    }
  });

  it('generates a help screen that lists every key of every binding', () => {
    const text = helpContent(120).join('\n');
    for (const b of BINDINGS) {
      assert.ok(text.includes(b.help.replace(/[{}]/g, '')), `help for ${b.action}`);
      for (const k of b.keys) assert.ok(text.includes(displayKey(k)), `key ${k}`);
    }
    const sections = helpSections().map((s) => s.title);
    assert.ok(sections.includes('Main screen'));
    assert.ok(sections.includes('Editor (e)'));
    assert.ok(sections.includes('Send form (s)'));
  });

  it('writes keys for people', () => {
    assert.equal(displayKey('C-s'), 'Ctrl-S');
    assert.equal(displayKey('pagedown'), 'PgDn');
    assert.equal(displayKey('S-tab'), 'Shift-Tab');
    assert.equal(displayKey('up'), '↑');
    assert.equal(displayKey('G'), 'G');
  });
});
