import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateUtf8 } from '../../src/proxy/out-message.js';

test('close reasons are cut to 123 bytes on a character boundary', () => {
  assert.equal(truncateUtf8('short', 123), 'short');
  assert.equal(Buffer.byteLength(truncateUtf8('x'.repeat(200), 123)), 123);
  // 61 two-byte characters = 122 bytes; one more would be 124.
  assert.equal(truncateUtf8('é'.repeat(80), 123), 'é'.repeat(61));
  // A 4-byte character is never cut in half (no lone surrogate, no U+FFFD).
  const cut = truncateUtf8('a'.repeat(121) + '😀', 123);
  assert.equal(cut, 'a'.repeat(121));
  assert.ok(!cut.includes('\uFFFD'));
});
