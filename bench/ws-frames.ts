/**
 * Just enough RFC 6455 for the benchmark peers, written against raw buffers so that neither the
 * echo server nor the load generator is slower than the proxy under test. Independent of src/ on
 * purpose: the benchmark must not share a bug with the code it measures.
 */
import { createHash } from 'node:crypto';

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Length of a frame header carrying `len` payload bytes. */
export function headerSize(len: number, masked: boolean): number {
  return (len < 126 ? 2 : len < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a header at dst[at] and returns where the payload starts. `key` is the 32-bit mask key
 * with key byte 0 in the most significant position (network order), or null for unmasked.
 */
export function writeHeader(dst: Buffer, at: number, fin: boolean, opcode: number, len: number, key: number | null): number {
  dst[at] = (fin ? 0x80 : 0) | opcode;
  const maskBit = key === null ? 0 : 0x80;
  let p = at + 2;
  if (len < 126) {
    dst[at + 1] = maskBit | len;
  } else if (len < 0x10000) {
    dst[at + 1] = maskBit | 126;
    dst.writeUInt16BE(len, p);
    p += 2;
  } else {
    dst[at + 1] = maskBit | 127;
    dst.writeUInt32BE(Math.floor(len / 0x100000000), p);
    dst.writeUInt32BE(len >>> 0, p + 4);
    p += 8;
  }
  if (key !== null) {
    dst.writeUInt32BE(key >>> 0, p);
    p += 4;
  }
  return p;
}

/** Key byte for payload offset `off` (key in network order). */
export function keyByte(key: number, off: number): number {
  return (key >>> (24 - 8 * (off & 3))) & 0xff;
}

/**
 * XORs buf[start, end) in place with the mask key, where buf[start] is payload offset `off`.
 * Word-at-a-time once aligned: about 4x the byte loop, and it runs on every echoed byte.
 */
export function xorInPlace(buf: Buffer, start: number, end: number, key: number, off: number): void {
  let i = start;
  while (i < end && ((buf.byteOffset + i) & 3) !== 0) {
    buf[i] = buf[i]! ^ keyByte(key, off + (i - start));
    i++;
  }
  const words = (end - i) >>> 2;
  if (words > 0 && LITTLE_ENDIAN) {
    const phase = (off + (i - start)) & 3;
    // The four key bytes starting at `phase`, read as a little-endian word.
    const k = (keyByte(key, phase) | (keyByte(key, phase + 1) << 8) | (keyByte(key, phase + 2) << 16) | (keyByte(key, phase + 3) << 24)) >>> 0;
    const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let j = 0; j < words; j++) w[j] = w[j]! ^ k;
    i += words << 2;
  }
  for (; i < end; i++) buf[i] = buf[i]! ^ keyByte(key, off + (i - start));
}

/** Copies src[start, end) XOR key into dst[at...]; for short payloads where a copy is needed anyway. */
export function xorCopy(src: Buffer, start: number, end: number, key: number, off: number, dst: Buffer, at: number): void {
  for (let i = start; i < end; i++) dst[at + (i - start)] = src[i]! ^ keyByte(key, off + (i - start));
}

/** A complete client (masked) frame. */
export function clientFrame(opcode: number, payload: Buffer, key: number): Buffer {
  const out = Buffer.allocUnsafe(headerSize(payload.length, true) + payload.length);
  const p = writeHeader(out, 0, true, opcode, payload.length, key);
  payload.copy(out, p);
  xorInPlace(out, p, out.length, key, 0);
  return out;
}

/** A complete server (unmasked) frame. */
export function serverFrame(opcode: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(headerSize(payload.length, false) + payload.length);
  payload.copy(out, writeHeader(out, 0, true, opcode, payload.length, null));
  return out;
}

/** Cheap varied mask keys (never zero, so a relay that forgets to unmask is caught). */
export function maskKeyFor(n: number): number {
  return ((Math.imul(n + 1, 0x9e3779b1) >>> 0) | 0x01010101) >>> 0;
}

export interface FrameHandler {
  /** key is null when the frame is unmasked; rsv1: the permessage-deflate bit (RFC 7692 §6). */
  header(fin: boolean, opcode: number, len: number, key: number | null, rsv1: boolean): void;
  /** Raw (still masked) payload bytes buf[start, end); `off` is buf[start]'s offset in the payload. */
  payload(buf: Buffer, start: number, end: number, off: number): void;
  end(): void;
}

/**
 * Streaming frame parser: payload bytes are handed over in place as they arrive, never gathered,
 * so a 256 MiB frame costs no memory and a chunk of small frames costs no copies.
 */
export class FrameParser {
  private head = Buffer.allocUnsafe(14);
  private headLen = 0;
  private remaining = 0;
  private off = 0;
  private inPayload = false;

  constructor(public handler: FrameHandler) {}

  /** Between frames: no header or payload bytes pending. */
  get atBoundary(): boolean {
    return !this.inPayload && this.headLen === 0;
  }

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.inPayload) {
        const take = Math.min(this.remaining, n - i);
        this.handler.payload(chunk, i, i + take, this.off);
        i += take;
        this.off += take;
        this.remaining -= take;
        if (this.remaining === 0) this.finish();
        continue;
      }
      // Fast path: the whole header is inside this chunk.
      let src: Buffer;
      let at: number;
      if (this.headLen === 0 && n - i >= 14) {
        src = chunk;
        at = i;
      } else {
        const want = this.headLen < 2 ? 2 : needed(this.head);
        while (this.headLen < want && i < n) this.head[this.headLen++] = chunk[i++]!;
        if (this.headLen < want) return;
        if (this.headLen < needed(this.head)) continue;
        src = this.head;
        at = 0;
      }
      const b0 = src[at]!;
      const b1 = src[at + 1]!;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let p = at + 2;
      if (len === 126) {
        len = src.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        len = src.readUInt32BE(p) * 0x100000000 + src.readUInt32BE(p + 4);
        p += 8;
      }
      let key: number | null = null;
      if (masked) {
        key = src.readUInt32BE(p);
        p += 4;
      }
      if (src === chunk) i = p;
      this.headLen = 0;
      this.handler.header((b0 & 0x80) !== 0, b0 & 0x0f, len, key, (b0 & 0x40) !== 0);
      this.remaining = len;
      this.off = 0;
      if (len === 0) this.finish();
      else this.inPayload = true;
    }
  }

  private finish(): void {
    this.inPayload = false;
    this.handler.end();
  }
}

/** Header length implied by the first two header bytes. */
function needed(h: Buffer): number {
  const l = h[1]! & 0x7f;
  return 2 + (l === 126 ? 2 : l === 127 ? 8 : 0) + ((h[1]! & 0x80) !== 0 ? 4 : 0);
}
