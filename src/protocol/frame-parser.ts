/**
 * Incremental, streaming frame parser (RFC 6455 §5.2). Bytes in, events out; no IO.
 *
 * It never buffers a payload: payload is reported as a range of the chunk that was pushed, still
 * masked as on the wire, so a relay can forward it (or re-mask it in one pass) without a copy.
 * Only the 2..14 header bytes are gathered across chunks. Peer mistakes are reported as
 * violations and parsing goes on; only a length that cannot be framed stops it (`fatal`).
 *
 * `feed(chunk, sink)` calls the sink as it goes and makes no object per payload piece: a relay's
 * cost per small frame is mostly allocation. `push(chunk)` returns the same as event objects.
 */
import {
  LENGTH_MASK,
  MASK_BIT,
  MAX_CONTROL_PAYLOAD,
  MAX_SAFE_PAYLOAD,
  Opcode,
  PAYLOAD_LEN_16,
  PAYLOAD_LEN_64,
  isControlOpcode,
  isReservedOpcode,
} from './constants.js';
import { WireHeader, type FrameHeader } from './frame-header.js';
import { violation, type Violation } from './violations.js';

/** The data message a frame belongs to (§5.4). */
export interface MessageContext {
  /** Opcode of the message's first frame (Text or Binary; Continuation for a stray continuation). */
  readonly opcode: number;
  /** RFC 7692: RSV1 on the first frame marks the whole message as compressed. */
  readonly compressed: boolean;
  readonly first: boolean;
}

export type ParseEvent =
  | {
      readonly type: 'header';
      readonly header: FrameHeader;
      /** The header bytes exactly as received. */
      readonly raw: Uint8Array;
      /** Where the header starts in the chunk just pushed; -1 when it began in an earlier one. */
      readonly at: number;
      /** null for control frames. */
      readonly message: MessageContext | null;
      /** A fresh array: the receiver may add to it. */
      readonly violations: Violation[];
    }
  /** A slice of payload as on the wire (still masked); `offset` is its position in the frame's payload. */
  | { readonly type: 'payload'; readonly data: Uint8Array; readonly offset: number }
  | { readonly type: 'frame-end'; readonly header: FrameHeader }
  /** A problem not tied to one header: EOF mid-frame, or a length that cannot be framed. */
  | { readonly type: 'violation'; readonly violation: Violation };

/** What `feed` reports, in stream order. */
export interface FrameSink {
  /**
   * A decoded header: `at` is where it starts in the chunk (-1 when it began in an earlier one),
   * `end` where it ends in the chunk; `violations` null when there are none (else a fresh array).
   */
  header(header: WireHeader, at: number, end: number, message: MessageContext | null, violations: Violation[] | null): void;
  /** Payload bytes chunk[start, end) as on the wire; `offset`: chunk[start]'s position in the payload. */
  payload(chunk: Uint8Array, start: number, end: number, offset: number): void;
  frameEnd(header: WireHeader): void;
  /** A problem not tied to one header (EOF mid-frame, a length that cannot be framed). */
  violation(violation: Violation): void;
}

export interface FrameParserOptions {
  /** Which peer sends the bytes: client frames must be masked, server frames must not (§5.1). */
  readonly from: 'client' | 'server';
  /** permessage-deflate was negotiated, so RSV1 may be set on a message's first frame. */
  readonly rsv1Allowed: boolean;
}

/** The contexts are immutable and few (opcode × compressed × first): shared, not made per frame. */
const CONTEXTS = new Map<number, MessageContext>();

function messageContext(opcode: number, compressed: boolean, first: boolean): MessageContext {
  const key = (opcode << 2) | (compressed ? 2 : 0) | (first ? 1 : 0);
  let context = CONTEXTS.get(key);
  if (context === undefined) {
    context = Object.freeze({ opcode, compressed, first });
    CONTEXTS.set(key, context);
  }
  return context;
}

const enum State {
  Header,
  Payload,
  Failed,
}

const MAX_HEADER = 14;

/**
 * Where every parser gathers and decodes a header: filled and decoded in one synchronous step, so
 * one buffer serves them all. A header cut by the end of a chunk is kept in the parser's own
 * buffer until the next chunk (made the first time that happens): a typed array per parser would
 * cost every connection an allocation and its memory.
 */
const HEAD = new Uint8Array(MAX_HEADER);

export class FrameParser {
  readonly #from: 'client' | 'server';
  #rsv1Allowed: boolean;
  #state = State.Header;
  /** The bytes of a header cut by the end of a chunk (#headLen of them), null until one was. */
  #partial: Uint8Array | null = null;
  #headLen = 0;
  #headAt = -1;
  #header: WireHeader | null = null;
  #payloadDone = 0;
  // §5.4 message bookkeeping: is a fragmented data message open, and what is it?
  #messageOpen = false;
  #messageOpcode: number = Opcode.Continuation;
  #messageCompressed = false;
  #closeSeen = false;
  #bytes = 0;
  /** Violations #check found in the header being decoded (null: none, the usual case). */
  #found: Violation[] | null = null;

  constructor(options: FrameParserOptions) {
    this.#from = options.from;
    this.#rsv1Allowed = options.rsv1Allowed;
  }

  /** Total bytes pushed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True after a fatal violation: the rest of the stream cannot be framed. */
  get failed(): boolean {
    return this.#state === State.Failed;
  }

  /** Header bytes gathered but not yet decoded: they belong to a frame that is not reported yet. */
  get buffered(): number {
    return this.#headLen;
  }

  /** True between frames (nothing partial buffered). */
  get idle(): boolean {
    return this.#state === State.Header && this.#headLen === 0;
  }

  /** Parses `chunk`, reporting to `sink` as it goes. */
  feed(chunk: Uint8Array, sink: FrameSink): void {
    this.#bytes += chunk.length;
    if (this.#headLen > 0) this.#headAt = -1;
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.#state === State.Failed) break;
      if (this.#state === State.Header) {
        pos = this.#readHeader(chunk, pos, sink);
        continue;
      }
      const header = this.#header!;
      const take = Math.min(header.payloadLength - this.#payloadDone, n - pos);
      sink.payload(chunk, pos, pos + take, this.#payloadDone);
      pos += take;
      this.#payloadDone += take;
      if (this.#payloadDone === header.payloadLength) this.#endFrame(sink);
    }
  }

  /** The same as `feed`, as event objects (payload as views of the chunk). */
  push(chunk: Uint8Array): ParseEvent[] {
    const events: ParseEvent[] = [];
    this.feed(chunk, {
      header: (header, at, _end, message, violations) => events.push({ type: 'header', header, raw: header.raw, at, message, violations: violations ?? [] }),
      payload: (c, start, end, offset) => events.push({ type: 'payload', data: c.subarray(start, end), offset }),
      frameEnd: (header) => events.push({ type: 'frame-end', header }),
      violation: (violation) => events.push({ type: 'violation', violation }),
    });
    return events;
  }

  /** End of stream: reports a frame cut short. */
  finish(): ParseEvent[] {
    if (this.#state === State.Failed || this.idle) return [];
    this.#state = State.Failed;
    const detail =
      this.#header === null
        ? `${this.#headLen} header byte(s) received`
        : `${this.#payloadDone} of ${this.#header.payloadLength} payload bytes received`;
    return [{ type: 'violation', violation: violation('truncated-frame', detail) }];
  }

  /** Gathers header bytes; returns the new position in the chunk. */
  #readHeader(chunk: Uint8Array, pos: number, sink: FrameSink): number {
    const head = HEAD;
    if (this.#headLen === 0) this.#headAt = pos;
    else for (let i = 0; i < this.#headLen; i++) head[i] = this.#partial![i]!;
    // The first two bytes tell how long the header is: gather them, then the rest.
    while (this.#headLen < 2 && pos < chunk.length) head[this.#headLen++] = chunk[pos++]!;
    if (this.#headLen < 2) return this.#keepPartial(pos);
    const len7 = head[1]! & LENGTH_MASK;
    const masked = (head[1]! & MASK_BIT) !== 0;
    const need = 2 + (len7 === PAYLOAD_LEN_16 ? 2 : len7 === PAYLOAD_LEN_64 ? 8 : 0) + (masked ? 4 : 0);
    // Byte by byte: a view to copy from would cost more than the at most 12 bytes it copies.
    const stop = Math.min(pos + need - this.#headLen, chunk.length);
    while (pos < stop) head[this.#headLen++] = chunk[pos++]!;
    if (this.#headLen < need) return this.#keepPartial(pos);
    this.#decodeHeader(len7, masked, need, pos, sink);
    return pos;
  }

  /** The chunk ended inside a header: its bytes so far move from the shared buffer to the parser's own. */
  #keepPartial(pos: number): number {
    const partial = (this.#partial ??= new Uint8Array(MAX_HEADER));
    for (let i = 0; i < this.#headLen; i++) partial[i] = HEAD[i]!;
    return pos;
  }

  /** Decodes the header gathered in HEAD (the caller filled it in the same synchronous step). */
  #decodeHeader(len7: number, masked: boolean, headerLength: number, end: number, sink: FrameSink): void {
    const head = HEAD;
    let violations: Violation[] | null = null;
    let payloadLength = len7;
    let offset = 2;
    if (len7 === PAYLOAD_LEN_16) {
      payloadLength = (head[2]! << 8) | head[3]!;
      offset = 4;
      // §5.2: "the minimal number of bytes MUST be used to encode the length".
      if (payloadLength < PAYLOAD_LEN_16) (violations ??= []).push(violation('non-minimal-length', `${payloadLength} in 16 bits`));
    } else if (len7 === PAYLOAD_LEN_64) {
      const hi = ((head[2]! << 24) | (head[3]! << 16) | (head[4]! << 8) | head[5]!) >>> 0;
      const lo = ((head[6]! << 24) | (head[7]! << 16) | (head[8]! << 8) | head[9]!) >>> 0;
      offset = 10;
      // §5.2: "the most significant bit MUST be 0". Nothing after this can be framed.
      if (hi >= 0x8000_0000) return this.#fail(sink, violation('length-msb-set'));
      payloadLength = hi * 0x1_0000_0000 + lo;
      if (payloadLength > MAX_SAFE_PAYLOAD) return this.#fail(sink, violation('length-too-large', String(payloadLength)));
      if (payloadLength <= 0xffff) (violations ??= []).push(violation('non-minimal-length', `${payloadLength} in 64 bits`));
    }
    const key = masked ? ((head[offset]! << 24) | (head[offset + 1]! << 16) | (head[offset + 2]! << 8) | head[offset + 3]!) >>> 0 : 0;
    const header = new WireHeader(head[0]!, len7, payloadLength, headerLength, masked, key);
    const message = this.#check(header);
    if (this.#found !== null) {
      violations = violations === null ? this.#found : violations.concat(this.#found);
      this.#found = null;
    }
    this.#header = header;
    this.#payloadDone = 0;
    this.#state = State.Payload;
    this.#headLen = 0;
    sink.header(header, this.#headAt, end, message, violations);
    if (payloadLength === 0) this.#endFrame(sink);
  }

  /** Header-level rules; updates message state and returns the frame's message context. */
  #check(header: WireHeader): MessageContext | null {
    const { opcode } = header;
    // §5.1: "a client MUST mask all frames that it sends"; "A server MUST NOT mask any frames".
    if (this.#from === 'client' && !header.masked) this.#flag(violation('unmasked-client-frame'));
    if (this.#from === 'server' && header.masked) this.#flag(violation('masked-server-frame'));
    if (isReservedOpcode(opcode)) this.#flag(violation('reserved-opcode', `0x${opcode.toString(16)}`));
    if (this.#closeSeen) this.#flag(violation('data-after-close'));
    if (opcode === Opcode.Close) this.#closeSeen = true;
    // §5.2: RSV2/RSV3 have no meaning without an extension that defines them; none does here.
    if (header.rsv2 || header.rsv3) this.#flag(violation('unexpected-rsv', 'RSV2/RSV3'));
    if (isControlOpcode(opcode)) {
      if (header.payloadLength > MAX_CONTROL_PAYLOAD) {
        this.#flag(violation('control-too-long', `${header.payloadLength} bytes`));
      }
      if (!header.fin) this.#flag(violation('control-fragmented'));
      // RFC 7692 §6.1: "An endpoint MUST NOT set the 'Per-Message Compressed' bit of control frames".
      if (header.rsv1) this.#flag(violation('unexpected-rsv', 'RSV1 on a control frame'));
      return null;
    }
    let first: boolean;
    if (opcode === Opcode.Continuation) {
      first = !this.#messageOpen;
      if (first) {
        this.#flag(violation('unexpected-continuation'));
        this.#messageOpcode = Opcode.Continuation;
        this.#messageCompressed = false;
      }
      // RFC 7692 §6.1: RSV1 belongs on the first frame of a message only.
      if (header.rsv1) this.#flag(violation('unexpected-rsv', 'RSV1 on a continuation frame'));
    } else {
      first = true;
      if (this.#messageOpen) this.#flag(violation('expected-continuation'));
      this.#messageOpcode = opcode;
      if (header.rsv1 && !this.#rsv1Allowed) this.#flag(violation('unexpected-rsv', 'RSV1 without permessage-deflate'));
      this.#messageCompressed = header.rsv1 && this.#rsv1Allowed;
    }
    this.#messageOpen = !header.fin;
    return messageContext(this.#messageOpcode, this.#messageCompressed, first);
  }

  #flag(v: Violation): void {
    (this.#found ??= []).push(v);
  }

  #endFrame(sink: FrameSink): void {
    const header = this.#header!;
    this.#header = null;
    this.#state = State.Header;
    sink.frameEnd(header);
  }

  #fail(sink: FrameSink, v: Violation): void {
    this.#state = State.Failed;
    this.#headLen = 0;
    sink.violation(v);
  }
}
