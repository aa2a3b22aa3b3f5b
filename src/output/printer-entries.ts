/**
 * The printer's lines as compact entries, for the thread that formats and writes them
 * (printer-thread.ts): a frame is its few fields and the preview bytes it shows (formatting it is
 * most of the printer's cost, and that moves off the relay's thread); any other line is its text.
 *
 *   frame: 1, time f64, session u32, bits u8, opcode u8, origin u8, length f64, n u16, n bytes
 *   line:  2, n u32, n bytes of UTF-8
 */
import { frameKind } from '../protocol/constants.js';
import type { FrameOrigin, FrameRecord } from '../proxy/events.js';

const FRAME = 1;
const LINE = 2;
const FRAME_FIXED = 1 + 8 + 4 + 3 + 8 + 2;
const ORIGINS: readonly FrameOrigin[] = ['peer', 'modified', 'injected'];
const SERVER = 1;
const FIN = 2;
const RSV1 = 4;
const RSV2 = 8;
const RSV3 = 16;
const TRUNCATED = 32;
const COMPRESSED = 64;

export class EntryBatch {
  readonly buffer: Buffer;
  length = 0;
  /** Lines in it. */
  count = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** Empty again, for the next batch in the same memory. */
  reset(): void {
    this.length = 0;
    this.count = 0;
  }

  /** Adds a frame with at most `previewBytes` of its preview; false when there is no room. */
  frame(f: FrameRecord, previewBytes: number): boolean {
    const n = Math.min(f.payload.length, previewBytes);
    const b = this.buffer;
    let at = this.length;
    if (at + FRAME_FIXED + n > b.length) return false;
    b[at++] = FRAME;
    b.writeDoubleLE(f.time, at);
    at += 8;
    b.writeUInt32LE(f.session >>> 0, at);
    at += 4;
    b[at++] = (f.from === 'server' ? SERVER : 0) | (f.fin ? FIN : 0) | (f.rsv1 ? RSV1 : 0) | (f.rsv2 ? RSV2 : 0) | (f.rsv3 ? RSV3 : 0) | (f.truncated || n < f.payload.length ? TRUNCATED : 0) | (f.compressed ? COMPRESSED : 0);
    b[at++] = f.opcode;
    b[at++] = ORIGINS.indexOf(f.origin);
    b.writeDoubleLE(f.length, at);
    at += 8;
    b.writeUInt16LE(n, at);
    at += 2;
    const p = f.payload;
    if (n < 128) for (let i = 0; i < n; i++) b[at + i] = p[i]!;
    else b.set(p.subarray(0, n), at);
    this.length = at + n;
    this.count++;
    return true;
  }

  /** Adds a line of text; false when there is no room. */
  line(text: string): boolean {
    const b = this.buffer;
    const at = this.length;
    if (at + 5 + text.length * 3 > b.length) return false;
    b[at] = LINE;
    const n = b.write(text, at + 5, 'utf8');
    b.writeUInt32LE(n, at + 1);
    this.length = at + 5 + n;
    this.count++;
    return true;
  }
}

const NONE: readonly never[] = [];
const NO_BYTES = new Uint8Array(0);

/** Reads the entries of a batch: a frame as a record with what a frame line shows, a line as its bytes. */
export function readEntries(b: Buffer, length: number, onFrame: (f: FrameRecord) => void, onLine: (bytes: Uint8Array) => void): void {
  let at = 0;
  while (at < length) {
    const type = b[at++];
    if (type === LINE) {
      const n = b.readUInt32LE(at);
      onLine(b.subarray(at + 4, at + 4 + n));
      at += 4 + n;
      continue;
    }
    const time = b.readDoubleLE(at);
    const session = b.readUInt32LE(at + 8);
    const bits = b[at + 12]!;
    const opcode = b[at + 13]!;
    const origin = ORIGINS[b[at + 14]!] ?? 'peer';
    const length = b.readDoubleLE(at + 15);
    const n = b.readUInt16LE(at + 23);
    at += FRAME_FIXED - 1;
    const payload = b.subarray(at, at + n);
    at += n;
    onFrame({
      id: 0,
      session,
      time,
      from: (bits & SERVER) !== 0 ? 'server' : 'client',
      fin: (bits & FIN) !== 0,
      rsv1: (bits & RSV1) !== 0,
      rsv2: (bits & RSV2) !== 0,
      rsv3: (bits & RSV3) !== 0,
      opcode,
      kind: frameKind(opcode),
      masked: false,
      maskKey: null,
      length,
      header: NO_BYTES,
      headerLength: 0,
      payload,
      truncated: (bits & TRUNCATED) !== 0,
      compressed: (bits & COMPRESSED) !== 0,
      close: null,
      violations: NONE,
      origin,
    });
  }
}
