/**
 * Mask keys from a CSPRNG (RFC 6455 §5.3: "The masking key MUST be derived from a strong source
 * of entropy"). One randomFillSync call fills 8 KiB, enough for 2048 frames.
 */
import { randomFillSync } from 'node:crypto';

/** Returns a fresh 4-byte key each call. Injected so tests can fix the key. */
export type MaskKeySource = () => Uint8Array;

const POOL_SIZE = 8 * 1024;

export function randomMaskKeys(): MaskKeySource {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let offset = POOL_SIZE;
  return () => {
    if (offset === POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    // A copy (Buffer#slice would be a view): records keep their key, and the pool is refilled in place.
    const key = new Uint8Array(4);
    for (let i = 0; i < 4; i++) key[i] = pool[offset++]!;
    return key;
  };
}

/** Always the same key (tests only). */
export function fixedMaskKey(key: Uint8Array): MaskKeySource {
  return () => key;
}
