/**
 * The JSONL log's records as compact entries, for the thread that encodes and writes them
 * (jsonl-thread.ts, jsonl-worker.ts): a frame or a message is its fields and its payload bytes
 * (encoding two lines per frame, a 64 KiB payload twice in base64, is most of the log's cost, and
 * that moves off the relay's thread); any other record is its line, already JSON. The worker
 * rebuilds the record and encodes it with JsonlBatch, so a line is the same bytes either way.
 *
 *   frame:   1, id f64, session f64, time f64, length f64, bits u8, opcode u8, headerLength u8,
 *            origin u8, [mask key 4 bytes], n u32, n bytes
 *   message: 2, id f64, session f64, time f64, length f64, frames f64, bits u8, fate u8,
 *            by u8 (255: null), [by bytes], [n u32, n bytes unless the frame's payload is reused]
 *   line:    3, n u32, n bytes of UTF-8 (no newline)
 *   part:    4 (5 for the last), n u32, n bytes: an entry larger than a batch, in pieces
 *
 * A record these cannot carry exactly (a close frame, violations, a kind that does not follow from
 * the opcode, a decider's name that is not plain) goes as its line.
 */
import { frameKind } from '../protocol/constants.js';
import type { FrameOrigin, FrameRecord, MessageFate, MessageRecord } from '../proxy/events.js';

export const FRAME = 1;
export const MESSAGE = 2;
export const LINE = 3;
/** A piece of an entry larger than a batch; the last piece completes it. */
export const PART = 4;
export const LAST_PART = 5;

const FRAME_FIXED = 1 + 4 * 8 + 4 + 4;
const MESSAGE_FIXED = 1 + 5 * 8 + 3;
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
/** Frame bits above a byte: a mask key follows. */
const KEY = 1;
/** Message bits. */
const M_SERVER = 1;
const M_BINARY = 2;
const M_TRUNCATED = 4;
const M_COMPRESSED = 8;
/** The message's payload is the frame's just before it (same bytes, same slot): not copied again. */
const M_SAME = 16;

/** Bytes the frame's entry takes, or -1 when it must go as its line. */
export function frameEntrySize(f: FrameRecord): number {
  if (f.close !== null || f.violations.length > 0) return -1;
  if (!(f.opcode >= 0 && f.opcode <= 15 && (f.opcode | 0) === f.opcode) || f.kind !== frameKind(f.opcode)) return -1;
  if (!(f.headerLength >= 0 && f.headerLength <= 255 && (f.headerLength | 0) === f.headerLength)) return -1;
  if (ORIGINS.indexOf(f.origin) < 0) return -1;
  const key = f.maskKey;
  if (key !== null && key.length !== 4) return -1;
  return FRAME_FIXED + (key === null ? 0 : 4) + f.payload.length;
}

/** Writes the frame's entry at `at` (its size from frameEntrySize); returns where it ends. */
export function packFrame(b: Buffer, at: number, f: FrameRecord): number {
  b[at++] = FRAME;
  b.writeDoubleLE(f.id, at);
  b.writeDoubleLE(f.session, at + 8);
  b.writeDoubleLE(f.time, at + 16);
  b.writeDoubleLE(f.length, at + 24);
  at += 32;
  b[at++] = (f.from === 'server' ? SERVER : 0) | (f.fin ? FIN : 0) | (f.rsv1 ? RSV1 : 0) | (f.rsv2 ? RSV2 : 0) | (f.rsv3 ? RSV3 : 0) | (f.masked ? MASKED : 0) | (f.truncated ? TRUNCATED : 0) | (f.compressed ? COMPRESSED : 0);
  b[at++] = f.opcode;
  b[at++] = f.headerLength;
  const key = f.maskKey;
  b[at++] = ORIGINS.indexOf(f.origin) | (key === null ? 0 : KEY << 4);
  if (key !== null) {
    b[at++] = key[0]!;
    b[at++] = key[1]!;
    b[at++] = key[2]!;
    b[at++] = key[3]!;
  }
  return payload(b, at, f.payload);
}

/** `by` as UTF-8 when it reads back the same, else null (the message then goes as its line). */
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
  return MESSAGE_FIXED + (by === null ? 0 : by.length) + (same ? 0 : 4 + m.payload.length);
}

export function packMessage(b: Buffer, at: number, m: MessageRecord, same: boolean, by: Buffer | null): number {
  b[at++] = MESSAGE;
  b.writeDoubleLE(m.id, at);
  b.writeDoubleLE(m.session, at + 8);
  b.writeDoubleLE(m.time, at + 16);
  b.writeDoubleLE(m.length, at + 24);
  b.writeDoubleLE(m.frames, at + 32);
  at += 40;
  b[at++] = (m.from === 'server' ? M_SERVER : 0) | (m.kind === 'binary' ? M_BINARY : 0) | (m.truncated ? M_TRUNCATED : 0) | (m.compressed ? M_COMPRESSED : 0) | (same ? M_SAME : 0);
  b[at++] = FATES.indexOf(m.fate);
  if (by === null) b[at++] = NULL_BY;
  else {
    b[at++] = by.length;
    b.set(by, at);
    at += by.length;
  }
  return same ? at : payload(b, at, m.payload);
}

/** Bytes a line's entry takes at most (its exact size is known once written). */
export function lineEntryRoom(text: string): number {
  return 5 + text.length * 3;
}

/** Writes a line's entry at `at`, with room for lineEntryRoom(text); returns where it ends. */
export function packLine(b: Buffer, at: number, text: string): number {
  const n = b.write(text, at + 5, 'utf8');
  b[at] = LINE;
  b.writeUInt32LE(n, at + 1);
  return at + 5 + n;
}

function payload(b: Buffer, at: number, p: Uint8Array): number {
  const n = p.length;
  b.writeUInt32LE(n, at);
  at += 4;
  // Small payloads are the common case: a loop costs less than a call into set().
  if (n < 128) for (let i = 0; i < n; i++) b[at + i] = p[i]!;
  else b.set(p, at);
  return at + n;
}

const NONE: readonly never[] = [];
const NO_BYTES = new Uint8Array(0);

/** Room a piece's header takes. */
export const PART_HEADER = 5;

/** Writes a piece of an entry at `at`; returns where it ends. */
export function packPart(b: Buffer, at: number, piece: Uint8Array, last: boolean): number {
  b[at] = last ? LAST_PART : PART;
  b.writeUInt32LE(piece.length, at + 1);
  b.set(piece, at + PART_HEADER);
  return at + PART_HEADER + piece.length;
}

export interface EntryReader {
  frame(f: FrameRecord): void;
  message(m: MessageRecord): void;
  /** A line's bytes, without its newline. */
  line(bytes: Uint8Array): void;
  /** A piece of a large entry (a copy is needed: the bytes are a view of the batch). */
  part(bytes: Uint8Array, last: boolean): void;
}

/** Reads the entries of b[0..length), in order. Payloads are views of `b`. */
export function readEntries(b: Buffer, length: number, to: EntryReader): void {
  let at = 0;
  let last: Uint8Array = NO_BYTES;
  while (at < length) {
    const type = b[at++];
    if (type === LINE || type === PART || type === LAST_PART) {
      const n = b.readUInt32LE(at);
      const bytes = b.subarray(at + 4, at + 4 + n);
      if (type === LINE) to.line(bytes);
      else to.part(bytes, type === LAST_PART);
      at += 4 + n;
      continue;
    }
    const id = b.readDoubleLE(at);
    const session = b.readDoubleLE(at + 8);
    const time = b.readDoubleLE(at + 16);
    const length = b.readDoubleLE(at + 24);
    at += 32;
    if (type === FRAME) {
      const bits = b[at]!;
      const opcode = b[at + 1]!;
      const headerLength = b[at + 2]!;
      const originKey = b[at + 3]!;
      at += 4;
      let maskKey: Uint8Array | null = null;
      if (originKey >> 4 === KEY) {
        maskKey = b.subarray(at, at + 4);
        at += 4;
      }
      const n = b.readUInt32LE(at);
      last = b.subarray(at + 4, at + 4 + n);
      at += 4 + n;
      to.frame({
        id,
        session,
        time,
        from: (bits & SERVER) !== 0 ? 'server' : 'client',
        fin: (bits & FIN) !== 0,
        rsv1: (bits & RSV1) !== 0,
        rsv2: (bits & RSV2) !== 0,
        rsv3: (bits & RSV3) !== 0,
        opcode,
        kind: frameKind(opcode),
        masked: (bits & MASKED) !== 0,
        maskKey,
        length,
        header: NO_BYTES,
        headerLength,
        payload: last,
        truncated: (bits & TRUNCATED) !== 0,
        compressed: (bits & COMPRESSED) !== 0,
        close: null,
        violations: NONE,
        origin: ORIGINS[originKey & 15]!,
      });
      continue;
    }
    if (type !== MESSAGE) throw new Error(`JSONL entry of unknown type ${type} at ${at - 33}`);
    const frames = b.readDoubleLE(at);
    const bits = b[at + 8]!;
    const fate = FATES[b[at + 9]!]!;
    const byLength = b[at + 10]!;
    at += 11;
    let by: string | null = null;
    if (byLength !== NULL_BY) {
      by = b.toString('utf8', at, at + byLength);
      at += byLength;
    }
    let p = last;
    if ((bits & M_SAME) === 0) {
      const n = b.readUInt32LE(at);
      p = b.subarray(at + 4, at + 4 + n);
      at += 4 + n;
    }
    to.message({
      id,
      session,
      time,
      from: (bits & M_SERVER) !== 0 ? 'server' : 'client',
      kind: (bits & M_BINARY) !== 0 ? 'binary' : 'text',
      length,
      payload: p,
      truncated: (bits & M_TRUNCATED) !== 0,
      frames,
      compressed: (bits & M_COMPRESSED) !== 0,
      fate,
      by,
    });
  }
}
