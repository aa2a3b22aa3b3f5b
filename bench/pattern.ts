/**
 * Deterministic payloads that can be generated and checked piecewise at memcpy/memcmp speed, so a
 * 256 MiB message is validated byte for byte without ever being held.
 *
 * A stream (one message) is a sequence of 64 KiB blocks: a fixed pseudo-random base block whose
 * first 8 bytes are replaced by a stamp (stream id, block index). The stamp makes dropped,
 * duplicated, reordered or cross-wired blocks visible; the base catches corrupted bytes.
 */
import { keyByte } from './ws-frames.js';

export const BLOCK = 64 * 1024;
const STAMP = 8;

const base = Buffer.allocUnsafe(BLOCK);
for (let j = 0; j < BLOCK; j++) base[j] = (Math.imul(j + 1, 0x9e3779b1) >>> 23) & 0xff;

/** The base block XORed with a mask key; valid at any block start since BLOCK is a multiple of 4. */
const maskedBases = new Map<number, Buffer>();
function baseFor(key: number | null): Buffer {
  if (key === null) return base;
  let b = maskedBases.get(key);
  if (!b) {
    b = Buffer.from(base);
    for (let j = 0; j < BLOCK; j++) b[j] = b[j]! ^ keyByte(key, j);
    if (maskedBases.size > 64) maskedBases.clear();
    maskedBases.set(key, b);
  }
  return b;
}

function stampByte(id: number, block: number, j: number, key: number | null): number {
  const v = j < 4 ? id : block;
  const b = (v >>> (24 - 8 * (j & 3))) & 0xff;
  return key === null ? b : b ^ keyByte(key, j);
}

/** Writes stream `id` bytes [off, off+len) into dst[at...], masked with `key` if given. */
export function fillPattern(dst: Buffer, at: number, id: number, off: number, len: number, key: number | null): void {
  const src = baseFor(key);
  let done = 0;
  while (done < len) {
    const pos = off + done;
    const block = Math.floor(pos / BLOCK);
    const inBlock = pos - block * BLOCK;
    const take = Math.min(BLOCK - inBlock, len - done);
    src.copy(dst, at + done, inBlock, inBlock + take);
    for (let j = inBlock; j < STAMP && j < inBlock + take; j++) dst[at + done + (j - inBlock)] = stampByte(id, block, j, key);
    done += take;
  }
}

/** A whole stream as one buffer. */
export function patternBuffer(id: number, len: number, key: number | null = null): Buffer {
  const b = Buffer.allocUnsafe(len);
  fillPattern(b, 0, id, 0, len, key);
  return b;
}

/**
 * Checks stream `id` piece by piece. With a key it checks the masked bytes directly (the key is
 * folded into the expected base once), which is how the sink validates 256 MiB without unmasking.
 */
export class PatternChecker {
  private readonly expected: Buffer;
  /** Payload offset of the first mismatch, or -1. */
  firstBad = -1;

  constructor(private readonly id: number, private readonly key: number | null) {
    this.expected = baseFor(key);
  }

  check(buf: Buffer, start: number, end: number, off: number): boolean {
    if (this.firstBad >= 0) return false;
    let i = start;
    while (i < end) {
      const pos = off + (i - start);
      const block = Math.floor(pos / BLOCK);
      const inBlock = pos - block * BLOCK;
      const take = Math.min(BLOCK - inBlock, end - i);
      let j = inBlock;
      for (; j < STAMP && j < inBlock + take; j++) {
        if (buf[i + (j - inBlock)] !== stampByte(this.id, block, j, this.key)) return this.fail(pos + (j - inBlock));
      }
      const from = i + (j - inBlock);
      if (from < i + take && buf.compare(this.expected, j, inBlock + take, from, i + take) !== 0) {
        return this.fail(pos + (j - inBlock));
      }
      i += take;
    }
    return true;
  }

  private fail(at: number): false {
    this.firstBad = at;
    return false;
  }
}
