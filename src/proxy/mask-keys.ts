/**
 * Mask keys from a CSPRNG (RFC 6455 §5.3: "The masking key MUST be derived from a strong source
 * of entropy"). One randomFillSync call fills 8 KiB, enough for 2048 frames.
 */
import { randomFillSync } from 'node:crypto';

/**
 * Returns a fresh 4-byte key each call; `word()` the next key as a 32-bit word (first byte most
 * significant), which the relay writes into a frame without making an array. Injected so tests
 * can fix the key.
 */
export interface MaskKeySource {
  (): Uint8Array;
  word?: () => number;
}

/** The next key of `source` as a word. */
export function nextKeyWord(source: MaskKeySource): number {
  if (source.word !== undefined) return source.word();
  const key = source();
  return ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
}

const POOL_SIZE = 8 * 1024;

export function randomMaskKeys(): MaskKeySource {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let offset = POOL_SIZE;
  const refill = (): void => {
    randomFillSync(pool);
    offset = 0;
  };
  const source: MaskKeySource = () => {
    if (offset === POOL_SIZE) refill();
    // A copy (Buffer#slice would be a view): records keep their key, and the pool is refilled in place.
    const key = new Uint8Array(4);
    for (let i = 0; i < 4; i++) key[i] = pool[offset++]!;
    return key;
  };
  source.word = () => {
    if (offset === POOL_SIZE) refill();
    const word = ((pool[offset]! << 24) | (pool[offset + 1]! << 16) | (pool[offset + 2]! << 8) | pool[offset + 3]!) >>> 0;
    offset += 4;
    return word;
  };
  return source;
}

/** Always the same key (tests only). */
export function fixedMaskKey(key: Uint8Array): MaskKeySource {
  return () => key;
}
