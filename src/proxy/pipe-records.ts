/**
 * Building the bus records of one direction: frame and message records, spelled out as literals
 * (they are made once per frame on the hot path), and the capped payload previews they carry.
 */
import { parseClosePayload, type ClosePayload } from '../protocol/close-codes.js';
import { frameKind } from '../protocol/constants.js';
import { WireHeader, keyWord, type FrameHeader } from '../protocol/frame-header.js';
import { unmaskWords } from '../protocol/mask.js';
import { slab } from './slab.js';
import type { Violation } from '../protocol/violations.js';
import type { FrameOrigin, FrameRecord, MessageRecord, ProxyBus, Side } from './events.js';

/** The session's numbers (export/stats.ts), kept as its records are made: no bus listener per frame. */
export interface StatsSink {
  frame(f: FrameRecord): void;
  /** A message's numbers (`length` inflated), whether or not it gets a record. */
  countMessage(from: Side, time: number, length: number, compressed: boolean): void;
}

export interface RecordSink {
  readonly session: number;
  readonly bus: ProxyBus;
  readonly stats?: StatsSink | undefined;
}

/** What a frame record says about the frame itself. */
export interface FrameFacts {
  readonly id: number;
  readonly time: number;
  /** A peer's frame: the parser's WireHeader, whose bytes are made only if an observer reads them. */
  readonly header: FrameHeader;
  /** The header bytes of a frame the proxy wrote (a peer's come from its WireHeader). */
  readonly raw?: Uint8Array;
  readonly violations: readonly Violation[];
}

/**
 * A peer frame's record. The header bytes and the mask key are read from the parser's header when
 * an observer asks for them (the JSONL log, the TUI's detail view): the headless printer and the
 * statistics never do, and two small typed arrays per frame cost more than the rest of its record.
 */
class PeerFrameRecord implements FrameRecord {
  readonly kind: FrameRecord['kind'];
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  readonly length: number;
  readonly headerLength: number;
  readonly #wire: WireHeader;
  /** The payload, or, while it still lies in a slab (slab.ts IN_SLAB), null and where it lies. */
  #payload: Uint8Array | null;
  readonly #memory: ArrayBuffer | null;
  readonly #at: number;
  readonly #length: number;

  constructor(
    readonly id: number,
    readonly session: number,
    readonly time: number,
    readonly from: Side,
    h: WireHeader,
    payload: Uint8Array | null,
    memory: ArrayBuffer | null,
    at: number,
    length: number,
    readonly truncated: boolean,
    readonly compressed: boolean,
    readonly close: FrameRecord['close'],
    readonly violations: readonly Violation[],
    readonly origin: FrameOrigin,
  ) {
    this.#wire = h;
    this.#payload = payload;
    this.#memory = memory;
    this.#at = at;
    this.#length = length;
    this.fin = h.fin;
    this.rsv1 = h.rsv1;
    this.rsv2 = h.rsv2;
    this.rsv3 = h.rsv3;
    this.opcode = h.opcode;
    this.kind = frameKind(h.opcode);
    this.masked = h.masked;
    this.length = h.payloadLength;
    this.headerLength = h.headerLength;
  }

  get maskKey(): Uint8Array | null {
    return this.#wire.maskKey;
  }

  get payload(): Uint8Array {
    return (this.#payload ??= Buffer.from(this.#memory!, this.#at, this.#length));
  }

  /** The payload's length, without making the payload. */
  get payloadLength(): number {
    return this.#payload === null ? this.#length : this.#payload.length;
  }

  /** Copies the first n payload bytes to dst at `to` (dstView: a DataView of dst), from the slab when the payload is still there. */
  copyPayload(dst: Uint8Array, dstView: DataView, to: number, n: number): void {
    if (this.#payload === null) unmaskWords(slab.viewOf(this.#memory!), this.#at, this.#at + n, 0, 0, dstView, to);
    else copyBytes(this.#payload, dst, to, n);
  }

  /** The mask key as a word (first byte most significant), without making its bytes. */
  get maskWord(): number {
    return this.#wire.key;
  }

  get header(): Uint8Array {
    return this.#wire.raw;
  }

  /** A plain object with every field (for spreads and structured clones, which skip getters). */
  toJSON(): FrameRecord {
    return plainFrame(this);
  }
}

/**
 * A masked frame's key as a word (as keyWord reads its bytes), null when it has no 4-byte key; for
 * a peer frame's record without making the bytes.
 */
export function maskWordOf(f: FrameRecord): number | null {
  if (f instanceof PeerFrameRecord) return f.masked ? f.maskWord : null;
  return f.maskKey?.length === 4 ? keyWord(f.maskKey) : null;
}

/** f.payload's length; a peer frame's record tells it without making its payload. */
export function payloadLengthOf(f: FrameRecord): number {
  return f instanceof PeerFrameRecord ? f.payloadLength : f.payload.length;
}

/**
 * Copies f.payload's first n bytes to dst at `to` (dstView: a DataView of dst); a peer frame's
 * record from the slab, four bytes a read, when its payload is still there.
 */
export function copyPayload(f: FrameRecord, dst: Uint8Array, dstView: DataView, to: number, n: number): void {
  if (f instanceof PeerFrameRecord) f.copyPayload(dst, dstView, to, n);
  else copyBytes(f.payload, dst, to, n);
}

function copyBytes(p: Uint8Array, dst: Uint8Array, to: number, n: number): void {
  // A short copy costs less as a loop than as a call into the runtime.
  if (n < 32) for (let i = 0; i < n; i++) dst[to + i] = p[i]!;
  else dst.set(n === p.length ? p : p.subarray(0, n), to);
}

/** A frame record as a plain object with its own copy of every field. */
export function plainFrame(f: FrameRecord): FrameRecord {
  return {
    id: f.id,
    session: f.session,
    time: f.time,
    from: f.from,
    fin: f.fin,
    rsv1: f.rsv1,
    rsv2: f.rsv2,
    rsv3: f.rsv3,
    opcode: f.opcode,
    kind: f.kind,
    masked: f.masked,
    maskKey: f.maskKey,
    length: f.length,
    header: f.header,
    headerLength: f.headerLength,
    payload: f.payload,
    truncated: f.truncated,
    compressed: f.compressed,
    close: f.close,
    violations: f.violations,
    origin: f.origin,
  };
}

export function emitFrame(
  sink: RecordSink,
  from: Side,
  f: FrameFacts,
  payload: Uint8Array,
  truncated: boolean,
  close: FrameRecord['close'],
  origin: FrameOrigin,
  compressed: boolean,
  /** A peer frame's preview still in a slab (slab.ts IN_SLAB): its memory, offset and length; `payload` is then ignored. */
  lazy: ArrayBuffer | null = null,
  lazyAt = 0,
  lazyLength = 0,
): FrameRecord {
  const h = f.header;
  // The literal lives in a function of its own: spelled out here, it made this one too large for
  // the compiler to inline the peer record's constructor into the relay's hot path.
  const record: FrameRecord =
    h instanceof WireHeader && f.raw === undefined
      ? new PeerFrameRecord(f.id, sink.session, f.time, from, h, lazy === null ? payload : null, lazy, lazyAt, lazyLength, truncated, compressed, close, f.violations, origin)
      : frameLiteral(sink.session, from, f, payload, truncated, close, origin, compressed);
  sink.stats?.frame(record);
  sink.bus.emit('frame', record);
  return record;
}

/** The record of a frame the proxy wrote (or of a header that is not the parser's), as a literal. */
function frameLiteral(session: number, from: Side, f: FrameFacts, payload: Uint8Array, truncated: boolean, close: FrameRecord['close'], origin: FrameOrigin, compressed: boolean): FrameRecord {
  const h = f.header;
  return {
    id: f.id,
    session,
    time: f.time,
    from,
    fin: h.fin,
    rsv1: h.rsv1,
    rsv2: h.rsv2,
    rsv3: h.rsv3,
    opcode: h.opcode,
    kind: frameKind(h.opcode),
    masked: h.maskKey !== null,
    maskKey: h.maskKey,
    length: h.payloadLength,
    header: f.raw ?? (h instanceof WireHeader ? h.raw : new Uint8Array(0)),
    headerLength: h.headerLength,
    payload,
    truncated,
    compressed,
    close,
    violations: f.violations,
    origin,
  };
}

export type MessageFacts = Omit<MessageRecord, 'session' | 'from'>;

export function emitMessage(sink: RecordSink, from: Side, f: MessageFacts): void {
  // Spelled out rather than spread: a spread here once cost 15% of the relay's CPU.
  const record: MessageRecord = {
    id: f.id,
    session: sink.session,
    time: f.time,
    from,
    kind: f.kind,
    length: f.length,
    payload: f.payload,
    truncated: f.truncated,
    frames: f.frames,
    compressed: f.compressed,
    fate: f.fate,
    by: f.by,
  };
  sink.stats?.countMessage(from, f.time, f.length, f.compressed);
  sink.bus.emit('message', record);
}

/**
 * The record of a message whose payload is its last frame's preview as it is (a one-frame message,
 * the usual case): the payload is the frame record's own, made when either record is asked for it.
 * A peer frame's preview may still lie in the slab, and the TUI, which reads every message record,
 * never reads this one's payload; the JSONL log reads both and finds the same bytes.
 */
class FrameMessageRecord implements MessageRecord {
  readonly #frame: FrameRecord;
  #payload: Buffer | null = null;
  readonly by = null;

  constructor(
    readonly id: number,
    readonly session: number,
    readonly time: number,
    readonly from: Side,
    readonly kind: MessageRecord['kind'],
    readonly length: number,
    readonly truncated: boolean,
    readonly frames: number,
    readonly compressed: boolean,
    readonly fate: MessageRecord['fate'],
    frame: FrameRecord,
  ) {
    this.#frame = frame;
  }

  /** The frame whose payload this is (not a field of the record: spreads and clones skip it). */
  static frameOf(m: FrameMessageRecord): FrameRecord {
    return m.#frame;
  }

  /** The frame's payload, as a Buffer as every message record's is (the same bytes, not a copy). */
  get payload(): Uint8Array {
    if (this.#payload === null) {
      const p = this.#frame.payload;
      this.#payload = Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.length);
    }
    return this.#payload;
  }

  /** A plain object with every field (for spreads and structured clones, which skip getters). */
  toJSON(): MessageRecord {
    return { id: this.id, session: this.session, time: this.time, from: this.from, kind: this.kind, length: this.length, payload: this.payload, truncated: this.truncated, frames: this.frames, compressed: this.compressed, fate: this.fate, by: this.by };
  }
}

/** The frame whose payload a message record shares (a one-frame message's), or null. */
export function payloadFrameOf(m: MessageRecord): FrameRecord | null {
  return m instanceof FrameMessageRecord ? FrameMessageRecord.frameOf(m) : null;
}

/** m.payload's length; a one-frame message's record tells it without making its payload. */
export function messagePayloadLengthOf(m: MessageRecord): number {
  return m instanceof FrameMessageRecord ? payloadLengthOf(FrameMessageRecord.frameOf(m)) : m.payload.length;
}

/** Copies m.payload's first n bytes to dst at `to`, as copyPayload does for a frame's. */
export function copyMessagePayload(m: MessageRecord, dst: Uint8Array, dstView: DataView, to: number, n: number): void {
  if (m instanceof FrameMessageRecord) copyPayload(FrameMessageRecord.frameOf(m), dst, dstView, to, n);
  else copyBytes(m.payload, dst, to, n);
}

/** A message whose payload is `frame`'s (see FrameMessageRecord); `f` says the rest. */
export function emitFrameMessage(sink: RecordSink, from: Side, f: Omit<MessageFacts, 'payload' | 'by'>, frame: FrameRecord): void {
  const record = new FrameMessageRecord(f.id, sink.session, f.time, from, f.kind, f.length, f.truncated, f.frames, f.compressed, f.fate, frame);
  sink.stats?.countMessage(from, f.time, f.length, f.compressed);
  sink.bus.emit('message', record);
}

/** The close part of a frame record, from the close body (or its parse, when already done). */
export function closeOf(body: Uint8Array, parsed: ClosePayload = parseClosePayload(body)): FrameRecord['close'] {
  return { code: parsed.code, reason: parsed.reason };
}

/** The first `limit` bytes of the parts, joined (the parts themselves may be far larger). */
export function firstBytes(parts: readonly Uint8Array[], limit: number): Buffer {
  const head: Uint8Array[] = [];
  let kept = 0;
  for (const p of parts) {
    if (kept >= limit) break;
    const part = p.length > limit - kept ? p.subarray(0, limit - kept) : p;
    head.push(part);
    kept += part.length;
  }
  return concat(head);
}

const NOTHING = Buffer.alloc(0);

/** Joins parts; a single part is returned as a Buffer view, not copied. */
export function concat(parts: readonly Uint8Array[]): Buffer {
  if (parts.length === 0) return NOTHING;
  if (parts.length === 1) {
    const p = parts[0]!;
    return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.length);
  }
  return Buffer.concat(parts);
}
