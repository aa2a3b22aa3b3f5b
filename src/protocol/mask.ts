/**
 * Masking (RFC 6455 §5.3): "octet i of the transformed data is the XOR of octet i of the original
 * data with octet at index i modulo 4 of the masking key". Every function takes the offset of the
 * first byte within its frame's payload, so a payload split across chunks is (un)masked piecewise.
 */

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Writes src XOR key into dst (which may be src itself); `offset` is src[0]'s position in the payload. */
export function maskInto(src: Uint8Array, key: Uint8Array, offset: number, dst: Uint8Array): void {
  const n = src.length;
  const k0 = key[offset & 3]!;
  const k1 = key[(offset + 1) & 3]!;
  const k2 = key[(offset + 2) & 3]!;
  const k3 = key[(offset + 3) & 3]!;
  let i = 0;
  // Four bytes per step on 32-bit words when both views are aligned: about 4x the byte loop.
  if (n >= 32 && LITTLE_ENDIAN && (src.byteOffset & 3) === 0 && (dst.byteOffset & 3) === 0) {
    const words = n >>> 2;
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
    // On a little-endian machine the key bytes k0..k3 in memory read as this word.
    const k32 = (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)) >>> 0;
    for (let w = 0; w < words; w++) d32[w] = s32[w]! ^ k32;
    i = words << 2;
  }
  for (; i < n; i++) {
    const k = (i & 3) === 0 ? k0 : (i & 3) === 1 ? k1 : (i & 3) === 2 ? k2 : k3;
    dst[i] = src[i]! ^ k;
  }
}

/** A new buffer holding src XOR key. */
export function masked(src: Uint8Array, key: Uint8Array, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(src.length); // every byte is written by maskInto
  maskInto(src, key, offset, out);
  return out;
}

/**
 * The XOR of two keys: masking with it turns data masked with `from` into data masked with `to` in
 * one pass, so a relay re-masks without unmasking first.
 */
export function rekey(from: Uint8Array, to: Uint8Array): Uint8Array {
  return Uint8Array.of(from[0]! ^ to[0]!, from[1]! ^ to[1]!, from[2]! ^ to[2]!, from[3]! ^ to[3]!);
}
