/**
 * Frames in the TUI's ring. At small-message rates the ring turns over in a few tens of
 * milliseconds while every row in it is alive, so the garbage collector copies whatever the ring
 * holds on each young-generation pass: a record kept as it came (its header and mask-key arrays,
 * its violation list, the payload's Buffer) is about eight objects per frame, and even one object
 * per row cost the loaded proxy a tenth of its time in collection. An ordinary small frame (no close
 * body, no violation, a payload of at most SMALL_PAYLOAD bytes) is therefore kept as no object at
 * all: its fields in the columns of a FrameTable (the mask key as a number), its payload bytes in
 * a shared slab; a FrameRow is made for it only when it is read, which only the rows on screen, the detail view,
 * the filter and the exports do. Any other frame is a FrameRow holding its record (cut to the
 * payload cap), as is a small frame once a message record or a fault names it.
 */
import { frameKind } from '../protocol/constants.js';
import { encodeHeader, headerLength, keyBytes } from '../protocol/frame-header.js';
import type { FrameRecord, FrameOrigin, MessageRecord } from '../proxy/events.js';
import { copyPayload, maskWordOf, payloadLengthOf } from '../proxy/pipe-records.js';
import { TRIMMED_PAYLOAD } from './row-payloads.js';

/** Largest payload kept in a slab: the size old large payloads are trimmed to, so none of these is ever trimmed. */
export const SMALL_PAYLOAD = TRIMMED_PAYLOAD;
const SLAB = 256 * 1024;

const FIN = 1 << 4;
const RSV1 = 1 << 5;
const RSV2 = 1 << 6;
const RSV3 = 1 << 7;
const MASKED = 1 << 8;
const TRUNCATED = 1 << 9;
const COMPRESSED = 1 << 10;
const SERVER = 1 << 11;
const MODIFIED = 1 << 12;
const INJECTED = 1 << 13;
const KIND_SHIFT = 14;
const KINDS = [null, 'text', 'binary'] as const;

const EMPTY: readonly never[] = [];

export class FrameRow {
  readonly seq: number;
  /** For continuation frames: the kind of the message they belong to (from its first frame). */
  readonly messageKind: 'text' | 'binary' | null;
  /** The whole message this data frame belongs to, once its record arrived (for resend). */
  message: MessageRecord | null = null;
  /** The fault rule actions applied to its message ("delay", "drop"...), once a `fault` record named it. */
  fault: string | undefined = undefined;
  /** Replaced by a copy with a shorter payload when the payload budget is spent (store.ts). */
  record: FrameRecord;

  constructor(seq: number, record: FrameRecord, messageKind: 'text' | 'binary' | null) {
    this.seq = seq;
    this.record = record;
    this.messageKind = messageKind;
  }

  get type(): 'frame' {
    return 'frame';
  }

  get id(): number {
    return this.record.id;
  }

  get session(): number {
    return this.record.session;
  }

  /** Payload bytes held. */
  get payloadLength(): number {
    return this.record.payload.length;
  }
}

/**
 * Whether the record can be kept in columns: no close body, no violation, a short payload, and a
 * header in the minimal encoding (§5.2), so that its bytes follow from the fields and the key.
 * The header's bytes are not read: a peer frame's record makes them only when asked.
 */
function small(r: FrameRecord): boolean {
  return r.close === null && r.violations.length === 0 && payloadLengthOf(r) <= SMALL_PAYLOAD && r.headerLength === headerLength(r.length, r.masked);
}

/**
 * Small frames by row number (seq), in columns of a ring of slots (seq modulo its size). The
 * store's rows are numbered one after the other and it holds at most `history` of them, so a
 * ring of more than `history` slots never gives one slot to two rows it holds.
 */
export class FrameTable {
  readonly #maxSlots: number;
  #mask = 1023;
  #seqs = new Float64Array(1024);
  #ids = new Float64Array(1024);
  #sessions = new Float64Array(1024);
  #times = new Float64Array(1024);
  #lengths = new Float64Array(1024);
  /** opcode (4 bits), the flag bits, message kind. */
  #meta = new Int32Array(1024);
  /** The peer's mask key as a word (keyWord), for masked frames. */
  #keys = new Float64Array(1024);
  #at = new Int32Array(1024);
  #payloadLengths = new Int32Array(1024);
  #slabOf: (Buffer | undefined)[] = new Array<Buffer | undefined>(1024).fill(undefined);
  #slab = Buffer.allocUnsafeSlow(SLAB);
  #view = new DataView(this.#slab.buffer, this.#slab.byteOffset, SLAB);
  #used = 0;

  constructor(history: number) {
    let slots = 1024;
    while (slots <= history) slots *= 2;
    this.#maxSlots = slots;
  }

  /**
   * Keeps row `seq` for frame `r`, its payload cut to `cap`; false, keeping nothing, when the
   * frame is not small (it needs a FrameRow of its own).
   */
  add(seq: number, r: FrameRecord, messageKind: 'text' | 'binary' | null, cap: number): boolean {
    if (!small(r)) return false;
    // Rows are numbered from 1: while seq is below the size, growing keeps every slot in place.
    while (seq > this.#mask && this.#mask + 1 < this.#maxSlots) this.#grow();
    // The key as a word: a peer frame's record gives it without making its bytes.
    const key = maskWordOf(r);
    if (r.masked ? key === null : r.maskKey !== null) return false;
    // (Copied from the relay's slab when the record's payload is still there: no Buffer made.)
    const length = payloadLengthOf(r);
    const n = Math.min(length, cap);
    if (this.#used + n > this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB);
      this.#view = new DataView(this.#slab.buffer, this.#slab.byteOffset, SLAB);
      this.#used = 0;
    }
    const slab = this.#slab;
    const at = this.#used;
    if (n > 0) copyPayload(r, slab, this.#view, at, n);
    this.#used += n;
    const i = seq & this.#mask;
    this.#keys[i] = key ?? 0;
    this.#seqs[i] = seq;
    this.#ids[i] = r.id;
    this.#sessions[i] = r.session;
    this.#times[i] = r.time;
    this.#lengths[i] = r.length;
    this.#meta[i] =
      r.opcode |
      (r.fin ? FIN : 0) |
      (r.rsv1 ? RSV1 : 0) |
      (r.rsv2 ? RSV2 : 0) |
      (r.rsv3 ? RSV3 : 0) |
      (r.masked ? MASKED : 0) |
      (r.truncated || length > n ? TRUNCATED : 0) |
      (r.compressed ? COMPRESSED : 0) |
      (r.from === 'server' ? SERVER : 0) |
      (r.origin === 'modified' ? MODIFIED : r.origin === 'injected' ? INJECTED : 0) |
      ((messageKind === 'text' ? 1 : messageKind === 'binary' ? 2 : 0) << KIND_SHIFT);
    this.#at[i] = at;
    this.#payloadLengths[i] = n;
    if (this.#slabOf[i] !== slab) this.#slabOf[i] = slab;
    return true;
  }

  /** The frame id of row `seq` (a row the store holds). */
  id(seq: number): number {
    return this.#ids[this.#slot(seq)]!;
  }

  /** The row `seq` as a FrameRow: a new object on each call, its bytes views of the slab. */
  row(seq: number): FrameRow {
    const i = this.#slot(seq);
    const meta = this.#meta[i]!;
    const slab = this.#slabOf[i]!;
    const at = this.#at[i]!;
    const masked = (meta & MASKED) !== 0;
    const opcode = meta & 15;
    const length = this.#lengths[i]!;
    const maskKey = masked ? keyBytes(this.#keys[i]!) : null;
    const fin = (meta & FIN) !== 0;
    const rsv1 = (meta & RSV1) !== 0;
    const rsv2 = (meta & RSV2) !== 0;
    const rsv3 = (meta & RSV3) !== 0;
    const header = encodeHeader({ fin, rsv1, rsv2, rsv3, opcode, maskKey, payloadLength: length });
    const origin: FrameOrigin = (meta & MODIFIED) !== 0 ? 'modified' : (meta & INJECTED) !== 0 ? 'injected' : 'peer';
    const record: FrameRecord = {
      id: this.#ids[i]!,
      session: this.#sessions[i]!,
      time: this.#times[i]!,
      from: (meta & SERVER) !== 0 ? 'server' : 'client',
      fin,
      rsv1,
      rsv2,
      rsv3,
      opcode,
      kind: frameKind(opcode),
      masked,
      maskKey,
      length,
      header,
      headerLength: header.length,
      payload: slab.subarray(at, at + this.#payloadLengths[i]!),
      truncated: (meta & TRUNCATED) !== 0,
      compressed: (meta & COMPRESSED) !== 0,
      close: null,
      violations: EMPTY,
      origin,
    };
    return new FrameRow(seq, record, KINDS[(meta >> KIND_SHIFT) & 3]!);
  }

  #slot(seq: number): number {
    const i = seq & this.#mask;
    if (this.#seqs[i] !== seq) throw new Error(`frame row ${seq} is not held`);
    return i;
  }

  #grow(): void {
    const n = (this.#mask + 1) * 2;
    const f64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.#seqs = f64(this.#seqs);
    this.#ids = f64(this.#ids);
    this.#sessions = f64(this.#sessions);
    this.#times = f64(this.#times);
    this.#lengths = f64(this.#lengths);
    this.#meta = i32(this.#meta);
    this.#keys = f64(this.#keys);
    this.#at = i32(this.#at);
    this.#payloadLengths = i32(this.#payloadLengths);
    const slabs = new Array<Buffer | undefined>(n).fill(undefined);
    for (let i = 0; i <= this.#mask; i++) slabs[i] = this.#slabOf[i];
    this.#slabOf = slabs;
    this.#mask = n - 1;
  }
}
