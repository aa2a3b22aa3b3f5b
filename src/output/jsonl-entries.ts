/**
 * The JSONL log's records as compact entries, for the thread that encodes and writes them
 * (jsonl-thread.ts, jsonl-worker.ts): a frame or a message is its fields and its payload bytes
 * (encoding two lines per frame, a 64 KiB payload twice in base64, is most of the log's cost, and
 * that moves off the relay's thread); any other record is its line, already JSON. The worker
 * rebuilds the record and encodes it with JsonlBatch, so a line is the same bytes either way.
 *
 * Entries start at multiples of 8, so their numbers are single stores into a Float64Array over the
 * same memory (Buffer's writeDoubleLE copies byte by byte):
 *
 *   frame:   1, bits, opcode, headerLength, origin | key << 4, 3 unused; id, session, time,
 *            length (f64 each); n u32, mask key (4 bytes); n bytes of payload
 *   message: 2, bits, fate, by length (255: null), n u32; id, session, time, length, frames
 *            (f64 each); the by bytes; n bytes of payload, unless it is the frame's just before
 *   line:    3, 3 unused, n u32, n bytes of UTF-8 (no newline)
 *   part:    4 (5 for the last), 3 unused, n u32, n bytes: an entry larger than a batch, in pieces
 *
 * A record these cannot carry exactly (a close frame, violations, a kind that does not follow from
 * the opcode, a decider's name that is not plain) goes as its line.
 */
import { frameKind } from '../protocol/constants.js';
import type { FrameOrigin, FrameRecord, MessageFate, MessageRecord } from '../proxy/events.js';
import { copyMessagePayload, copyPayload, maskWordOf, messagePayloadLengthOf, payloadLengthOf } from '../proxy/pipe-records.js';

export const FRAME = 1;
export const MESSAGE = 2;
export const LINE = 3;
export const PART = 4;
export const LAST_PART = 5;

/** Memory that entries are written to and read from: bytes, f64 and a DataView over the same buffer, from its start. */
export interface Slab {
  readonly bytes: Buffer;
  readonly f64: Float64Array;
  readonly view: DataView;
}

export function slab(buffer: ArrayBufferLike): Slab {
  return { bytes: Buffer.from(buffer), f64: new Float64Array(buffer, 0, buffer.byteLength >> 3), view: new DataView(buffer) };
}

/** A slab of its own for `n` bytes (an entry larger than a batch, put together). */
export function freshSlab(n: number): Slab {
  return slab(new ArrayBuffer((n + 7) & ~7));
}

/** Bytes before a frame's or a message's variable part; before a line's or a piece's bytes. */
const FIXED = 48;
const SHORT = 8;
const ORIGINS: readonly FrameOrigin[] = ['peer', 'modified', 'injected'];
const FATES: readonly MessageFate[] = ['forwarded', 'modified', 'dropped', 'injected', 'streamed'];
const NULL_BY = 255;
/** Frame bits. */
const SERVER = 1;
const FIN = 2;
const RSV1 = 4;
const RSV2 = 8;
const RSV3 = 16;
const MASKED = 32;
const TRUNCATED = 64;
const COMPRESSED = 128;
/** Message bits. */
const M_SERVER = 1;
const M_BINARY = 2;
const M_TRUNCATED = 4;
const M_COMPRESSED = 8;
/** The message's payload is the frame's just before it (same bytes, same batch): not copied again. */
const M_SAME = 16;

const aligned = (n: number): number => (n + 7) & ~7;

function u32(b: Buffer, at: number, n: number): void {
  b[at] = n;
  b[at + 1] = n >>> 8;
  b[at + 2] = n >>> 16;
  b[at + 3] = n >>> 24;
}

const readU32 = (b: Buffer, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/**
 * The key an entry carries: f's mask key as a word (maskWordOf: a peer frame's without making its
 * bytes), null for none, undefined for a key an entry cannot carry (not 4 bytes: never from the relay).
 */
export function entryKey(f: FrameRecord): number | null | undefined {
  const key = maskWordOf(f);
  return key === null && f.maskKey !== null ? undefined : key;
}

/** Bytes the frame's entry takes, or -1 when it must go as its line. `key`: entryKey(f), read once. */
export function frameEntrySize(f: FrameRecord, key: number | null | undefined): number {
  if (f.close !== null || f.violations.length > 0) return -1;
  const op = f.opcode;
  if (!(op >= 0 && op <= 15 && (op | 0) === op) || f.kind !== frameKind(op)) return -1;
  const h = f.headerLength;
  if (!(h >= 0 && h <= 255 && (h | 0) === h)) return -1;
  if (f.origin !== 'peer' && f.origin !== 'modified' && f.origin !== 'injected') return -1;
  if (key === undefined) return -1;
  return aligned(FIXED + payloadLengthOf(f));
}

/** Writes the frame's entry at `at` (a multiple of 8, room for frameEntrySize); returns where the next one goes. */
export function packFrame(s: Slab, at: number, f: FrameRecord, key: number | null): number {
  const b = s.bytes;
  const f64 = s.f64;
  b[at] = FRAME;
  b[at + 1] = (f.from === 'server' ? SERVER : 0) | (f.fin ? FIN : 0) | (f.rsv1 ? RSV1 : 0) | (f.rsv2 ? RSV2 : 0) | (f.rsv3 ? RSV3 : 0) | (f.masked ? MASKED : 0) | (f.truncated ? TRUNCATED : 0) | (f.compressed ? COMPRESSED : 0);
  b[at + 2] = f.opcode;
  b[at + 3] = f.headerLength;
  b[at + 4] = (f.origin === 'peer' ? 0 : f.origin === 'modified' ? 1 : 2) | (key === null ? 0 : 16);
  const i = at >> 3;
  f64[i + 1] = f.id;
  f64[i + 2] = f.session;
  f64[i + 3] = f.time;
  f64[i + 4] = f.length;
  // (A peer frame's payload may still lie in the relay's slab: copied from there, no Buffer made.)
  const n = payloadLengthOf(f);
  u32(b, at + 40, n);
  if (key !== null) {
    b[at + 44] = key >>> 24;
    b[at + 45] = (key >>> 16) & 0xff;
    b[at + 46] = (key >>> 8) & 0xff;
    b[at + 47] = key & 0xff;
  }
  copyPayload(f, b, s.view, at + FIXED, n);
  return aligned(at + FIXED + n);
}

/** `by` as UTF-8 when it reads back the same and is short, else null (the message then goes as its line). */
export function byBytes(by: string): Buffer | null {
  if (by.length > 80) return null;
  const bytes = Buffer.from(by, 'utf8');
  return bytes.length < NULL_BY && bytes.toString('utf8') === by ? bytes : null;
}

/**
 * Bytes the message's entry takes, or -1 when it must go as its line. `same`: its payload is
 * the one of the frame entry just before it, in the same batch; `by`: byBytes(m.by).
 */
export function messageEntrySize(m: MessageRecord, same: boolean, by: Buffer | null): number {
  if ((m.kind !== 'text' && m.kind !== 'binary') || FATES.indexOf(m.fate) < 0) return -1;
  if (m.by !== null && by === null) return -1;
  return aligned(FIXED + (by === null ? 0 : by.length) + (same ? 0 : messagePayloadLengthOf(m)));
}

export function packMessage(s: Slab, at: number, m: MessageRecord, same: boolean, by: Buffer | null): number {
  const b = s.bytes;
  const f64 = s.f64;
  b[at] = MESSAGE;
  b[at + 1] = (m.from === 'server' ? M_SERVER : 0) | (m.kind === 'binary' ? M_BINARY : 0) | (m.truncated ? M_TRUNCATED : 0) | (m.compressed ? M_COMPRESSED : 0) | (same ? M_SAME : 0);
  b[at + 2] = FATES.indexOf(m.fate);
  b[at + 3] = by === null ? NULL_BY : by.length;
  const i = at >> 3;
  f64[i + 1] = m.id;
  f64[i + 2] = m.session;
  f64[i + 3] = m.time;
  f64[i + 4] = m.length;
  f64[i + 5] = m.frames;
  let end = at + FIXED;
  if (by !== null) {
    b.set(by, end);
    end += by.length;
  }
  if (same) u32(b, at + 4, 0);
  else {
    const n = messagePayloadLengthOf(m);
    u32(b, at + 4, n);
    copyMessagePayload(m, b, s.view, end, n);
    end += n;
  }
  return aligned(end);
}

/** Bytes a line's entry takes at most (its exact size is known once written). */
export function lineEntryRoom(text: string): number {
  return aligned(SHORT + text.length * 3);
}

/** Writes a line's entry at `at`, with room for lineEntryRoom(text); returns where the next one goes. */
export function packLine(s: Slab, at: number, text: string): number {
  const b = s.bytes;
  const n = b.write(text, at + SHORT, 'utf8');
  b[at] = LINE;
  u32(b, at + 4, n);
  return aligned(at + SHORT + n);
}

/** Room a piece takes besides its bytes. */
export const PART_ROOM = SHORT + 8;

/** Writes a piece of an entry at `at`; returns where the next one goes. */
export function packPart(s: Slab, at: number, piece: Uint8Array, last: boolean): number {
  const b = s.bytes;
  b[at] = last ? LAST_PART : PART;
  u32(b, at + 4, piece.length);
  b.set(piece, at + SHORT);
  return aligned(at + SHORT + piece.length);
}

const NONE: readonly never[] = [];
const NO_BYTES = new Uint8Array(0);

export interface EntryReader {
  frame(f: FrameRecord): void;
  message(m: MessageRecord): void;
  /** A line's bytes, without its newline. */
  line(bytes: Uint8Array): void;
  /** A piece of a large entry (a copy is needed: the bytes are a view of the batch). */
  part(bytes: Uint8Array, last: boolean): void;
}

/** Reads the entries of the slab from `at` to `end`, in order. Payloads are views of the slab. */
export function readEntries(s: Slab, at: number, end: number, to: EntryReader): void {
  const b = s.bytes;
  const f64 = s.f64;
  let last: Uint8Array = NO_BYTES;
  while (at < end) {
    const type = b[at]!;
    if (type === LINE || type === PART || type === LAST_PART) {
      const n = readU32(b, at + 4);
      const bytes = b.subarray(at + SHORT, at + SHORT + n);
      if (type === LINE) to.line(bytes);
      else to.part(bytes, type === LAST_PART);
      at = aligned(at + SHORT + n);
      continue;
    }
    const bits = b[at + 1]!;
    const i = at >> 3;
    if (type === FRAME) {
      const opcode = b[at + 2]!;
      const originKey = b[at + 4]!;
      const n = readU32(b, at + 40);
      last = b.subarray(at + FIXED, at + FIXED + n);
      to.frame({
        id: f64[i + 1]!,
        session: f64[i + 2]!,
        time: f64[i + 3]!,
        from: (bits & SERVER) !== 0 ? 'server' : 'client',
        fin: (bits & FIN) !== 0,
        rsv1: (bits & RSV1) !== 0,
        rsv2: (bits & RSV2) !== 0,
        rsv3: (bits & RSV3) !== 0,
        opcode,
        kind: frameKind(opcode),
        masked: (bits & MASKED) !== 0,
        maskKey: (originKey & 16) !== 0 ? b.subarray(at + 44, at + 48) : null,
        length: f64[i + 4]!,
        header: NO_BYTES,
        headerLength: b[at + 3]!,
        payload: last,
        truncated: (bits & TRUNCATED) !== 0,
        compressed: (bits & COMPRESSED) !== 0,
        close: null,
        violations: NONE,
        origin: ORIGINS[originKey & 15]!,
      });
      at = aligned(at + FIXED + n);
      continue;
    }
    if (type !== MESSAGE) throw new Error(`JSONL entry of unknown type ${type} at ${at}`);
    const byLength = b[at + 3]!;
    let p = at + FIXED;
    let by: string | null = null;
    if (byLength !== NULL_BY) {
      by = b.toString('utf8', p, p + byLength);
      p += byLength;
    }
    let payload = last;
    if ((bits & M_SAME) === 0) {
      const n = readU32(b, at + 4);
      payload = b.subarray(p, p + n);
      p += n;
    }
    to.message({
      id: f64[i + 1]!,
      session: f64[i + 2]!,
      time: f64[i + 3]!,
      from: (bits & M_SERVER) !== 0 ? 'server' : 'client',
      kind: (bits & M_BINARY) !== 0 ? 'binary' : 'text',
      length: f64[i + 4]!,
      payload,
      truncated: (bits & M_TRUNCATED) !== 0,
      frames: f64[i + 5]!,
      compressed: (bits & M_COMPRESSED) !== 0,
      fate: FATES[b[at + 2]!]!,
      by,
    });
    at = aligned(p);
  }
}
