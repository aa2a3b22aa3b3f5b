import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { maskInto, masked, useNativeMask } from '../../src/protocol/mask.js';
import { installNativeMask } from '../../src/proxy/native-mask.js';
import { xorMask } from '../helpers/frames.js';

const kind = installNativeMask();
after(() => useNativeMask(null));

test('the native XOR, when it loads, equals the naive §5.3 loop at any offset, alignment and size', { skip: kind !== 'native' ? 'bufferutil did not load: masking stays in JavaScript' : false }, () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 200, maxLength: 3000 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.nat({ max: 1_000_000 }),
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 0, max: 7 }),
      (data, key, offset, srcShift, dstShift) => {
        const want = xorMask(data, key, offset);
        const src = Buffer.alloc(data.length + 8).subarray(srcShift, srcShift + data.length);
        src.set(data);
        const dst = Buffer.alloc(data.length + 8).subarray(dstShift, dstShift + data.length);
        maskInto(src, key, offset, dst);
        assert.deepEqual(dst, want);
        assert.deepEqual(src, Buffer.from(data), 'src untouched');
        maskInto(src, key, offset, src);
        assert.deepEqual(src, want, 'in place');
        assert.deepEqual(masked(data, key, offset), want);
      },
    ),
    { numRuns: 300 },
  );
});
