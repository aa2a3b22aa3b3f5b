/**
 * Masking (RFC 6455 §5.3): "octet i of the transformed data is the XOR of octet i of the original
 * data with octet at index i modulo 4 of the masking key". Every function takes the offset of the
 * first byte within its frame's payload, so a payload split across chunks is (un)masked piecewise.
 */

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/**
 * Below this many bytes the byte loop wins: the word loop needs two Uint32Array views, and making
 * a typed array costs as much as XOR-ing a few hundred bytes four at a time.
 */
const WORDS_FROM = 256;

/**
 * A native XOR with the signature of the `bufferutil` package's `mask`: dst[at + i] = src[i] ^
 * key[i % 4] for i < length. The core stays free of IO and packages: the relay may plug one in.
 */
export type NativeMask = (src: Uint8Array, key: Uint8Array, dst: Uint8Array, at: number, length: number) => void;

let native: NativeMask | null = null;

/** Uses `impl` for payloads of WORDS_FROM bytes and more (null: back to JavaScript only). */
export function useNativeMask(impl: NativeMask | null): void {
  native = impl;
}

/** Writes src XOR key into dst (which may be src itself); `offset` is src[0]'s position in the payload. */
export function maskInto(src: Uint8Array, key: Uint8Array, offset: number, dst: Uint8Array): void {
  const n = src.length;
  if (n < WORDS_FROM) return maskBytes(src, key, offset, dst, 0, n);
  if (native !== null) {
    // The native loop starts at key byte 0: rotate the key to the payload offset.
    const k = Buffer.allocUnsafe(4);
    for (let i = 0; i < 4; i++) k[i] = key[(offset + i) & 3]!;
    return native(src, k, dst, 0, n);
  }
  if (!LITTLE_ENDIAN) return maskBytes(src, key, offset, dst, 0, n);
  // 32-bit words need src and dst at the same alignment. A payload usually starts at an odd place in
  // its socket chunk (after a 2-14 byte header): then copy first and mask the copy in place.
  if (((src.byteOffset ^ dst.byteOffset) & 3) !== 0) {
    dst.set(src);
    src = dst;
  }
  const lead = (4 - (src.byteOffset & 3)) & 3;
  maskBytes(src, key, offset, dst, 0, lead);
  const words = (n - lead) >>> 2;
  const s32 = new Uint32Array(src.buffer, src.byteOffset + lead, words);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset + lead, words);
  // On a little-endian machine the key bytes, from the one at position `lead`, read as this word.
  const at = offset + lead;
  const k32 = (key[at & 3]! | (key[(at + 1) & 3]! << 8) | (key[(at + 2) & 3]! << 16) | (key[(at + 3) & 3]! << 24)) >>> 0;
  // Unrolled by four: the loop overhead is a large share of one XOR.
  const quad = words & ~3;
  let w = 0;
  for (; w < quad; w += 4) {
    d32[w] = s32[w]! ^ k32;
    d32[w + 1] = s32[w + 1]! ^ k32;
    d32[w + 2] = s32[w + 2]! ^ k32;
    d32[w + 3] = s32[w + 3]! ^ k32;
  }
  for (; w < words; w++) d32[w] = s32[w]! ^ k32;
  const done = lead + (words << 2);
  maskBytes(src, key, offset, dst, done, n);
}

function maskBytes(src: Uint8Array, key: Uint8Array, offset: number, dst: Uint8Array, from: number, to: number): void {
  // Four bytes a turn with the key bytes in locals: 2.5x the speed of indexing the key per byte.
  const at = offset + from;
  const k0 = key[at & 3]!;
  const k1 = key[(at + 1) & 3]!;
  const k2 = key[(at + 2) & 3]!;
  const k3 = key[(at + 3) & 3]!;
  let i = from;
  for (const end = to - 3; i < end; i += 4) {
    dst[i] = src[i]! ^ k0;
    dst[i + 1] = src[i + 1]! ^ k1;
    dst[i + 2] = src[i + 2]! ^ k2;
    dst[i + 3] = src[i + 3]! ^ k3;
  }
  for (; i < to; i++) dst[i] = src[i]! ^ key[(offset + i) & 3]!;
}

/** A new buffer holding src XOR key. */
export function masked(src: Uint8Array, key: Uint8Array, offset = 0): Buffer {
  const n = src.length;
  if (n < WORDS_FROM) {
    const out = Buffer.allocUnsafe(n); // every byte is written
    maskBytes(src, key, offset, out, 0, n);
    return out;
  }
  // Give the copy the same alignment as the source, so the word loop applies without a second pass.
  const base = Buffer.allocUnsafe(n + 3);
  const shift = ((src.byteOffset & 3) - (base.byteOffset & 3) + 4) & 3;
  const out = base.subarray(shift, shift + n);
  maskInto(src, key, offset, out);
  return out;
}

/**
 * The XOR of two keys: masking with it turns data masked with `from` into data masked with `to` in
 * one pass, so a relay re-masks without unmasking first.
 */
export function rekey(from: Uint8Array, to: Uint8Array, into: Uint8Array = new Uint8Array(4)): Uint8Array {
  for (let i = 0; i < 4; i++) into[i] = from[i]! ^ to[i]!;
  return into;
}

/**
 * The same on ranges, with the key as a 32-bit word (first byte most significant): no view or key
 * array is made for a small payload, whose relay would otherwise cost more in allocation than in
 * work. `offset`: the position of src[start] in its frame's payload.
 */
export function unmaskRange(src: Uint8Array, start: number, end: number, word: number, offset: number, dst: Uint8Array, dstAt: number): void {
  if (end - start >= WORDS_FROM) {
    if (native !== null) {
      // One view (the native call reads its source from index 0) and a reused key, rotated so
      // that its first byte applies to src[start].
      const k = ROTATED;
      for (let i = 0; i < 4; i++) k[i] = (word >>> (24 - 8 * ((offset + i) & 3))) & 0xff;
      native(src.subarray(start, end), k, dst, dstAt, end - start);
      return;
    }
    maskInto(src.subarray(start, end), wordKey(word, 0), offset, dst.subarray(dstAt, dstAt + end - start));
    return;
  }
  const shift = (offset & 3) * 8;
  // The key rotated so that its top byte applies to src[start].
  const k = shift === 0 ? word : ((word << shift) | (word >>> (32 - shift))) >>> 0;
  const k0 = k >>> 24;
  const k1 = (k >>> 16) & 0xff;
  const k2 = (k >>> 8) & 0xff;
  const k3 = k & 0xff;
  let i = start;
  let o = dstAt;
  for (const stop = end - 3; i < stop; i += 4, o += 4) {
    dst[o] = src[i]! ^ k0;
    dst[o + 1] = src[i + 1]! ^ k1;
    dst[o + 2] = src[i + 2]! ^ k2;
    dst[o + 3] = src[i + 3]! ^ k3;
  }
  if (i < end) dst[o++] = src[i++]! ^ k0;
  if (i < end) dst[o++] = src[i++]! ^ k1;
  if (i < end) dst[o] = src[i]! ^ k2;
}

/** XORs buf[start, end) in place with a key word (re-masking: the word is old key XOR new key). */
export function xorRange(buf: Uint8Array, start: number, end: number, word: number, offset: number): void {
  unmaskRange(buf, start, end, word, offset, buf, start);
}

const ROTATED = new Uint8Array(4);

function wordKey(word: number, offset: number): Uint8Array {
  const key = new Uint8Array(4);
  for (let i = 0; i < 4; i++) key[(i + offset) & 3] = (word >>> (24 - 8 * i)) & 0xff;
  return key;
}

/**
 * unmaskRange between DataViews, four bytes a read (a DataView read is a few instructions once
 * optimised; typed-array indexing costs about four times as much a byte here): src[start, end)
 * XOR the key word into dst at dstAt, src itself allowed. Word 0 copies. Returns whether every
 * byte written is below 0x80: ASCII text needs no other look for the UTF-8 check (§8.1).
 */
export function unmaskWords(src: DataView, start: number, end: number, word: number, offset: number, dst: DataView, dstAt: number): boolean {
  const shift = (offset & 3) * 8;
  const k = shift === 0 ? word : ((word << shift) | (word >>> (32 - shift))) >>> 0;
  let high = 0;
  let i = start;
  let o = dstAt;
  for (const stop = end - 3; i < stop; i += 4, o += 4) {
    const v = src.getUint32(i) ^ k;
    high |= v;
    dst.setUint32(o, v);
  }
  // One to three bytes left, under the key's first bytes (the loop kept its rotation).
  for (let s = 24; i < end; i++, o++, s -= 8) {
    const v = src.getUint8(i) ^ ((k >>> s) & 0xff);
    high |= v;
    dst.setUint8(o, v);
  }
  return (high & 0x80808080) === 0;
}
