/**
 * A frame in the TUI's ring. At small-message rates the ring turns over in a few milliseconds
 * while every row in it is alive, so the garbage collector copies whatever a row holds on each
 * young-generation pass: a record kept as it came (its header and mask-key arrays, its violation
 * list, the payload's Buffer) is about eight objects per frame. An ordinary small frame (no
 * close body, no violation, a payload of at most SMALL_PAYLOAD bytes) is kept instead as one
 * object of plain fields, with its header and payload bytes copied into a shared slab; its record
 * is rebuilt whenever it is read, which only the rows on screen, the detail view, the filter and
 * the exports do. Any other frame keeps its record (cut to the payload cap) as before.
 */
import { frameKind } from '../protocol/constants.js';
import type { FrameRecord, FrameOrigin, MessageRecord } from '../proxy/events.js';
import { TRIMMED_PAYLOAD, compactFrame } from './row-payloads.js';

/** Largest payload kept in a slab: the size old large payloads are trimmed to, so none of these is ever trimmed. */
export const SMALL_PAYLOAD = TRIMMED_PAYLOAD;
const SLAB = 256 * 1024;
const MAX_HEADER = 14;

const FIN = 1;
const RSV1 = 2;
const RSV2 = 4;
const RSV3 = 8;
const MASKED = 16;
const TRUNCATED = 32;
const COMPRESSED = 64;
const SERVER = 128;
const MODIFIED = 256;
const INJECTED = 512;

const EMPTY: readonly never[] = [];

/** Where small frames' bytes are copied: slabs filled in turn, each freed with the last row that points into it. */
export class FrameSlabs {
  #slab = Buffer.allocUnsafeSlow(SLAB);
  #used = 0;

  /** Room for `n` bytes: the slab to write them to, at `this.at`. */
  take(n: number): Buffer {
    if (this.#used + n > this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB);
      this.#used = 0;
    }
    this.at = this.#used;
    this.#used += n;
    return this.#slab;
  }

  /** Offset of the bytes last taken. */
  at = 0;
}

/** Whether the record can be kept as plain fields: its mask key is the header's last four bytes, as on the wire. */
function small(r: FrameRecord): boolean {
  if (r.close !== null || r.violations.length > 0 || r.payload.length > SMALL_PAYLOAD || r.header.length > MAX_HEADER) return false;
  const key = r.maskKey;
  if (key === null) return !r.masked;
  const h = r.header;
  const n = h.length;
  return r.masked && key.length === 4 && n >= 6 && h[n - 4] === key[0] && h[n - 3] === key[1] && h[n - 2] === key[2] && h[n - 1] === key[3];
}

export class FrameRow {
  readonly seq: number;
  /** For continuation frames: the kind of the message they belong to (from its first frame). */
  readonly messageKind: 'text' | 'binary' | null;
  /** The whole message this data frame belongs to, once its record arrived (for resend). */
  message: MessageRecord | null = null;
  /** The fault rule actions applied to its message ("delay", "drop"...), once a `fault` record named it. */
  fault: string | undefined = undefined;
  /** The record as kept, for frames that are not small; null for a small one. */
  #record: FrameRecord | null;
  readonly id: number;
  readonly session: number;
  readonly time: number;
  readonly length: number;
  readonly #opcode: number;
  readonly #bits: number;
  readonly #slab: Buffer | null;
  readonly #at: number;
  readonly #headerLength: number;
  readonly #payloadLength: number;

  /** The row for `r`, with its payload cut to `cap` bytes. */
  constructor(seq: number, r: FrameRecord, messageKind: 'text' | 'binary' | null, cap: number, slabs: FrameSlabs) {
    this.seq = seq;
    this.messageKind = messageKind;
    this.id = r.id;
    this.session = r.session;
    this.time = r.time;
    this.length = r.length;
    this.#opcode = r.opcode;
    if (!small(r)) {
      this.#record = compactFrame(r, cap);
      this.#bits = 0;
      this.#slab = null;
      this.#at = 0;
      this.#headerLength = 0;
      this.#payloadLength = 0;
      return;
    }
    this.#record = null;
    const p = r.payload;
    const n = Math.min(p.length, cap);
    const h = r.header;
    const slab = slabs.take(h.length + n);
    const at = slabs.at;
    for (let i = 0; i < h.length; i++) slab[at + i] = h[i]!;
    if (n > 0) slab.set(n === p.length ? p : p.subarray(0, n), at + h.length);
    this.#slab = slab;
    this.#at = at;
    this.#headerLength = h.length;
    this.#payloadLength = n;
    this.#bits =
      (r.fin ? FIN : 0) |
      (r.rsv1 ? RSV1 : 0) |
      (r.rsv2 ? RSV2 : 0) |
      (r.rsv3 ? RSV3 : 0) |
      (r.masked ? MASKED : 0) |
      (r.truncated || p.length > n ? TRUNCATED : 0) |
      (r.compressed ? COMPRESSED : 0) |
      (r.from === 'server' ? SERVER : 0) |
      (r.origin === 'modified' ? MODIFIED : r.origin === 'injected' ? INJECTED : 0);
  }

  get type(): 'frame' {
    return 'frame';
  }

  /** Payload bytes held (the ring's payload budget counts those of frames that are not small). */
  get payloadLength(): number {
    return this.#record === null ? this.#payloadLength : this.#record.payload.length;
  }

  /** Whether the row keeps its record as it came (a frame that is not small). */
  get kept(): boolean {
    return this.#record !== null;
  }

  /** The frame's record: a new object on each read for a small frame (its bytes are views of the slab). */
  get record(): FrameRecord {
    return this.#record ?? this.#build();
  }

  /** Replaces a kept record (the payload budget cuts old large payloads); a small frame has none to replace. */
  set record(r: FrameRecord) {
    if (this.#record === null) throw new Error('a small frame row has no record to replace');
    this.#record = r;
  }

  #build(): FrameRecord {
    const bits = this.#bits;
    const slab = this.#slab!;
    const at = this.#at;
    const h = this.#headerLength;
    const masked = (bits & MASKED) !== 0;
    const origin: FrameOrigin = (bits & MODIFIED) !== 0 ? 'modified' : (bits & INJECTED) !== 0 ? 'injected' : 'peer';
    return {
      id: this.id,
      session: this.session,
      time: this.time,
      from: (bits & SERVER) !== 0 ? 'server' : 'client',
      fin: (bits & FIN) !== 0,
      rsv1: (bits & RSV1) !== 0,
      rsv2: (bits & RSV2) !== 0,
      rsv3: (bits & RSV3) !== 0,
      opcode: this.#opcode,
      kind: frameKind(this.#opcode),
      masked,
      maskKey: masked ? slab.subarray(at + h - 4, at + h) : null,
      length: this.length,
      header: slab.subarray(at, at + h),
      payload: slab.subarray(at + h, at + h + this.#payloadLength),
      truncated: (bits & TRUNCATED) !== 0,
      compressed: (bits & COMPRESSED) !== 0,
      close: null,
      violations: EMPTY,
      origin,
    };
  }
}
