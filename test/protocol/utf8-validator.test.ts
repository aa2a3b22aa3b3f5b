import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Utf8Validator } from '../../src/protocol/utf8-validator.js';

// zlib hands inflated text out of one reused buffer, and the relay checks masked text through a
// reused scratch buffer: a sequence cut at a piece's end must survive the buffer being refilled.
test('a sequence cut between two pieces of one reused buffer is carried, not overwritten', () => {
  const text = Buffer.from('€'.repeat(20_000));
  const buffer = Buffer.alloc(16 * 1024);
  for (const push of ['push', 'pushRange'] as const) {
    const v = new Utf8Validator();
    for (let at = 0; at < text.length; at += buffer.length) {
      const n = Math.min(buffer.length, text.length - at);
      text.copy(buffer, 0, at, at + n);
      assert.equal(push === 'push' ? v.push(buffer.subarray(0, n)) : v.pushRange(buffer, 0, n), true, `${push} at ${at}`);
    }
    assert.equal(v.end(), true, push);
  }
});

test('pushRange finds invalid bytes inside a range and ignores the bytes around it', () => {
  const bytes = Buffer.from([0xff, 0x61, 0x62, 0xc3, 0x28, 0xff]);
  assert.equal(new Utf8Validator().pushRange(bytes, 1, 3), true);
  const v = new Utf8Validator();
  assert.equal(v.pushRange(bytes, 1, 5), false);
  assert.equal(v.end(), false);
});

test('pushAscii: valid after whole sequences, invalid right after an unfinished one', () => {
  const v = new Utf8Validator();
  assert.equal(v.pushAscii(), true);
  assert.equal(v.push(Buffer.from([0x61, 0xe2, 0x82])), true);
  assert.equal(v.pushAscii(), false);
  assert.equal(v.end(), false);
});
