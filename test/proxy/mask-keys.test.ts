import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomMaskKeys } from '../../src/proxy/mask-keys.js';

test('mask keys are 4 fresh bytes each and keep their value after the pool is refilled', () => {
  const next = randomMaskKeys();
  const first = next();
  const copy = Uint8Array.from(first);
  const seen = new Set<string>();
  // 8 KiB of pool is 2048 keys: go well past a refill.
  for (let i = 0; i < 5000; i++) {
    const key = next();
    assert.equal(key.length, 4);
    seen.add(Buffer.from(key).toString('hex'));
  }
  assert.deepEqual(first, copy, 'a key handed out must not change when the pool is refilled');
  // 5000 draws from 2^32 values: a repeat is possible but more than a handful means no entropy.
  assert.ok(seen.size > 4990, `only ${seen.size} distinct keys in 5000`);
});
