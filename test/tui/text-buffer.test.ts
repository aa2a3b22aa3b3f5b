import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TextBuffer } from '../../src/tui/text-buffer.js';

function type(b: TextBuffer, ...keys: string[]): void {
  for (const k of keys) {
    if (!b.handleKey(k, k.length === 1 ? k : undefined)) throw new Error(`key ${k} not handled`);
  }
}

describe('TextBuffer', () => {
  it('inserts, moves and deletes by code point', () => {
    const b = new TextBuffer('');
    type(b, 'a', 'b', 'c', 'left', 'left', 'X');
    assert.equal(b.text, 'aXbc');
    type(b, 'backspace', 'delete');
    assert.equal(b.text, 'ac');
    b.setText('😀x');
    type(b, 'left', 'left', 'delete');
    assert.equal(b.text, 'x', 'an astral character is one step');
  });

  it('an emoji typed as its two UTF-16 halves, one key each, is one character', () => {
    const b = new TextBuffer('', false);
    for (const unit of ['a', '\ud83c', '\udf89', 'b']) b.handleKey(unit, unit);
    assert.deepEqual([...b.line(0)], ['a', '🎉', 'b']);
    assert.equal(b.text, 'a🎉b');
    assert.equal(b.col, 3);
  });

  it('splits and joins lines', () => {
    const b = new TextBuffer('hello world');
    b.home();
    for (let i = 0; i < 5; i++) b.right();
    type(b, 'enter');
    assert.equal(b.text, 'hello\n world');
    assert.deepEqual([b.row, b.col], [1, 0]);
    type(b, 'backspace');
    assert.equal(b.text, 'hello world');
    type(b, 'end', 'enter', 'x');
    assert.equal(b.text, 'hello world\nx');
  });

  it('keeps the goal column through short lines', () => {
    const b = new TextBuffer('long line here\nab\nanother long one');
    b.moveTo(0, 10);
    type(b, 'down');
    assert.deepEqual([b.row, b.col], [1, 2]);
    type(b, 'down');
    assert.deepEqual([b.row, b.col], [2, 10]);
  });

  it('kills to the end of the line and joins at the end', () => {
    const b = new TextBuffer('abc\ndef');
    b.moveTo(0, 1);
    type(b, 'C-k');
    assert.equal(b.text, 'a\ndef');
    type(b, 'C-k');
    assert.equal(b.text, 'adef');
  });

  it('stays on one line when single-line', () => {
    const b = new TextBuffer('a\nb', false);
    assert.equal(b.text, 'a b');
    assert.equal(b.handleKey('enter', '\r'), false);
    assert.equal(b.handleKey('up', undefined), false);
    b.insert('x\ny');
    assert.equal(b.text, 'a bxy');
  });

  it('does not take keys it does not know', () => {
    const b = new TextBuffer('');
    assert.equal(b.handleKey('C-s', undefined), false);
    assert.equal(b.handleKey('escape', '\x1b'), false);
    assert.equal(b.text, '');
  });
});
