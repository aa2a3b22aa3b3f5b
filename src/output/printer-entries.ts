/**
 * The printer's lines as compact entries, for the thread that formats and writes them
 * (printer-thread.ts): a frame is its few fields and the preview bytes it shows (formatting it is
 * most of the printer's cost, and that moves off the relay's thread); any other line is its text.
 *
 *   frame: 1, time f64, session u32, bits u8, opcode u8, origin u8, length f64, n u16, n bytes
 *   line:  2, n u32, n bytes of UTF-8
 */
import { frameKind, type FrameKind } from '../protocol/constants.js';
import type { FrameOrigin, FrameRecord, Side } from '../proxy/events.js';
import type { FrameLine } from './format.js';
import { copyPayload, payloadLengthOf } from '../proxy/pipe-records.js';

/**
 * The hand-over of batches, in shared memory instead of a message per batch (posting one cost
 * the relay's thread tens of microseconds): the relay writes a batch's slot and length at
 * `posted` and bumps it, then wakes the thread if it sleeps; the thread prints the batches in
 * order and bumps `done`, so the relay knows which slots are free again by reading one number.
 * STOP ends the loop.
 */
export const HandOver = {
  POSTED: 0,
  DONE: 1,
  STOP: 2,
  /** 1 while the thread sleeps: only then is it woken (a wake costs the waker its core for a while). */
  SLEEPING: 3,
  /** Then (slot, length) pairs, one per slot: at most that many batches are ever in flight. */
  RING: 4,
} as const;

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
  readonly #view: DataView;
  length = 0;
  /** Lines in it. */
  count = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
  }

  /** Empty again, for the next batch in the same memory. */
  reset(): void {
    this.length = 0;
    this.count = 0;
  }

  /** Adds a frame with at most `previewBytes` of its preview; false when there is no room. */
  frame(f: FrameRecord, previewBytes: number): boolean {
    // (A peer frame's preview may still lie in the relay's slab: copied from there, no Buffer made.)
    const length = payloadLengthOf(f);
    const n = Math.min(length, previewBytes);
    const b = this.buffer;
    const v = this.#view;
    const at = this.length;
    if (at + FRAME_FIXED + n > b.length) return false;
    b[at] = FRAME;
    v.setFloat64(at + 1, f.time, true);
    v.setUint32(at + 9, f.session >>> 0, true);
    b[at + 13] = (f.from === 'server' ? SERVER : 0) | (f.fin ? FIN : 0) | (f.rsv1 ? RSV1 : 0) | (f.rsv2 ? RSV2 : 0) | (f.rsv3 ? RSV3 : 0) | (f.truncated || n < length ? TRUNCATED : 0) | (f.compressed ? COMPRESSED : 0);
    b[at + 14] = f.opcode;
    b[at + 15] = f.origin === 'peer' ? 0 : f.origin === 'modified' ? 1 : 2;
    v.setFloat64(at + 16, f.length, true);
    v.setUint16(at + 24, n, true);
    const to = at + FRAME_FIXED;
    copyPayload(f, b, v, to, n);
    this.length = to + n;
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

/** One frame entry read back: the fields a line shows, its preview a range of the batch (see readEntries). */
class EntryFrame implements FrameLine {
  time = 0;
  session = 0;
  from: Side = 'client';
  kind: FrameKind = 'text';
  opcode = 0;
  fin = false;
  rsv1 = false;
  rsv2 = false;
  rsv3 = false;
  length = 0;
  origin: FrameOrigin = 'peer';
  compressed = false;
  truncated = false;
  readonly violations: readonly never[] = NONE;
  readonly close = null;

  constructor(readonly payload: Buffer) {}
}

/**
 * Reads the entries of a batch: a frame as the fields of its line, with its preview at
 * payload[start, end); a line as its bytes. The frame object is one for the whole batch, filled
 * anew for each entry: valid during the call only.
 */
export function readEntries(b: Buffer, length: number, onFrame: (f: FrameLine, start: number, end: number, view: DataView) => void, onLine: (bytes: Uint8Array) => void): void {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const f = new EntryFrame(b);
  let at = 0;
  while (at < length) {
    const type = b[at];
    if (type === LINE) {
      const n = v.getUint32(at + 1, true);
      onLine(b.subarray(at + 5, at + 5 + n));
      at += 5 + n;
      continue;
    }
    const bits = b[at + 13]!;
    f.time = v.getFloat64(at + 1, true);
    f.session = v.getUint32(at + 9, true);
    f.from = (bits & SERVER) !== 0 ? 'server' : 'client';
    f.fin = (bits & FIN) !== 0;
    f.rsv1 = (bits & RSV1) !== 0;
    f.rsv2 = (bits & RSV2) !== 0;
    f.rsv3 = (bits & RSV3) !== 0;
    f.truncated = (bits & TRUNCATED) !== 0;
    f.compressed = (bits & COMPRESSED) !== 0;
    f.opcode = b[at + 14]!;
    f.kind = frameKind(f.opcode);
    f.origin = ORIGINS[b[at + 15]!] ?? 'peer';
    f.length = v.getFloat64(at + 16, true);
    const n = v.getUint16(at + 24, true);
    at += FRAME_FIXED;
    onFrame(f, at, at + n, v);
    at += n;
  }
}
