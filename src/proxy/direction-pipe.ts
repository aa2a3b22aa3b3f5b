/**
 * One direction of one session: bytes from a peer → FrameParser → (observation, decisions) →
 * bytes to the other peer.
 *
 * The fast path writes every frame through as it streams, in the very chunk that arrived: a masked
 * frame gets a fresh key written into its header and its payload re-masked in one pass, in place;
 * an unmasked frame is not touched. Nothing is held unless a decider wants the message, in which case
 * it and everything behind it in this direction wait in an ordered queue. The queue is bounded:
 * over its limit the source is paused, and a held message larger than --max-message is streamed.
 */
import { MAX_CONTROL_PAYLOAD, Opcode, isControlOpcode } from '../protocol/constants.js';
import { parseClosePayload, type ClosePayload } from '../protocol/close-codes.js';
import type { DeflateParams } from '../protocol/deflate-params.js';
import { keyBytes, rewriteMaskKey, type WireHeader } from '../protocol/frame-header.js';
import { FrameParser, type FrameSink, type MessageContext } from '../protocol/frame-parser.js';
import { Utf8Validator } from '../protocol/utf8-validator.js';
import { violation, type Violation } from '../protocol/violations.js';
import type { OutMessage } from '../intercept/verdict.js';
import type { FrameOrigin, FrameRecord, Side } from './events.js';
import { DirectionCompression } from './direction-compression.js';
import { wants } from './held-decisions.js';
import { HoldQueue, type QueuePort } from './hold-queue.js';
import type { InflatedPart } from './inflater.js';
import type { PipeHost } from './pipe-host.js';
import { nextKeyWord } from './mask-keys.js';
import { inflatedViolations } from './pipe-observe.js';
import { ChunkOutput } from './chunk-output.js';
import { CloseAnswer } from './close-answer.js';
import { PayloadReader } from './payload-read.js';
import { closeOf } from './pipe-records.js';
import { PeerRecords } from './peer-records.js';
import { LaterRecords } from './later-records.js';
import { IN_SLAB } from './slab.js';
import { FRAME_COST, NO_PARTS, NO_VIOLATIONS, addViolation, controlKind, newCurrent, overHeld, type Current, type DataKind, type Item, type Message, type MessageItem, type QueuedFrame } from './pipe-state.js';
import { writeOriginal, writeProxyMessages } from './pipe-writes.js';
import type { Sequencer } from './sequencer.js';

export type { PipeHost, RelayLimits } from './pipe-host.js';

const EMPTY = new Uint8Array(0);
/** What settled() gives when nothing is inflating (most pipes never inflate). */
const SETTLED: Promise<void> = Promise.resolve();

export class DirectionPipe {
  readonly from: Side;
  readonly #host: PipeHost;
  readonly #parser: FrameParser;
  /** null when permessage-deflate was not negotiated. */
  readonly #compression: DirectionCompression | null;
  readonly #records: Sequencer;
  readonly #utf8 = new Utf8Validator();
  #cur: Current | null = null;
  #msg: Message | null = null;
  /** The ordered queue of what is held, and its items (the same array, read on every frame). */
  readonly #hold: HoldQueue;
  readonly #queue: Item[];
  /** Data injects wait for the peer's open message to end (fragments must not interleave, §5.4). */
  #pendingInjects: OutMessage[] = [];
  /** Frames whose inflated output (and so whose record) is still to come. */
  #inflating: Set<Promise<InflatedPart>> | null = null;
  #stopped = false;
  /** A close frame was written to the other peer: a second one is not (RFC 6455 §5.5.1). */
  #closeWritten = false;
  /** After the proxy's own close: what the stream is still read for (the peer's close answer). */
  #answer: CloseAnswer | null = null;
  #parsing = false;
  #pumpWanted = false;
  /** The chunk being parsed, and when it arrived (one clock read per read, not per frame). */
  #chunk: Uint8Array = EMPTY;
  #time = 0;
  /** What goes out for the chunk being parsed: runs of it written in place, and segments between. */
  readonly #out = new ChunkOutput();
  readonly #reader = new PayloadReader();
  /** The peer's frame and message records, held until the chunk they came in has been written. */
  readonly #peer: PeerRecords;
  /** Records of compressed frames inflated after their chunk's write (null with --strict or no deflate). */
  readonly #later: LaterRecords | null;
  /** The parser's callbacks and the hold queue's view of this pipe, in one object. */
  readonly #sink: FrameSink & QueuePort;

  constructor(from: Side, host: PipeHost, deflate: DeflateParams | null) {
    this.from = from;
    this.#host = host;
    this.#records = host.records;
    this.#peer = new PeerRecords(host, from);
    this.#parser = new FrameParser({ from, rsv1Allowed: deflate !== null });
    this.#compression = deflate === null ? null : new DirectionCompression(from, deflate, host.inflateLater === true);
    this.#sink = new DirectionPipe.#Port(this, from, host, this.#compression);
    // Compressed input waiting for later turns counts as held: over its bound the peer is paused.
    this.#hold = new HoldQueue(this.#sink);
    this.#queue = this.#hold.items;
    if (this.#compression !== null) this.#compression.inflater.hooks = { backlog: () => this.#hold.checkPressure() };
    this.#later = this.#compression?.inflater.deferred === true ? new LaterRecords(this.#peer, this.#records) : null;
  }

  /**
   * What the parser and the hold queue call: one object per pipe whose methods reach the pipe's
   * private state, rather than a closure per callback (a proxy may hold thousands of sessions).
   */
  static readonly #Port = class PipePort implements FrameSink, QueuePort {
    readonly #p: DirectionPipe;
    readonly from: Side;
    readonly host: PipeHost;
    readonly compression: DirectionCompression | null;

    constructor(p: DirectionPipe, from: Side, host: PipeHost, compression: DirectionCompression | null) {
      this.#p = p;
      this.from = from;
      this.host = host;
      this.compression = compression;
    }

    // FrameSink
    header(header: WireHeader, at: number, end: number, message: MessageContext | null, violations: Violation[] | null): void {
      this.#p.#onHeader(header, at, end, message, violations);
    }
    payload(chunk: Uint8Array, start: number, end: number, offset: number): void {
      this.#p.#onPayload(chunk, start, end, offset);
    }
    frameEnd(): void {
      this.#p.#onFrameEnd();
    }
    violation(v: Violation): void {
      if (!this.#p.#stopped) this.#p.#peer.report(v, null);
    }

    // QueuePort
    stopped(): boolean {
      return this.#p.#stopped;
    }
    current(): Current | null {
      return this.#p.#cur;
    }
    message(): Message | null {
      return this.#p.#msg;
    }
    writeOriginal(frame: QueuedFrame): number {
      return this.#p.#writeOriginal(frame);
    }
    closeWritten(): boolean {
      return this.#p.#closeWritten;
    }
    writeMessages(messages: readonly OutMessage[], origin: FrameOrigin | null, compressed: readonly Buffer[] | null): void {
      this.#p.#writeMessages(messages, origin, false, compressed);
    }
    log(text: string): void {
      this.#p.#peer.log(text);
    }
    releaseHeld(): void {
      this.#p.#peer.release();
    }
    flush(): void {
      this.#p.#flush();
    }
    drained(): boolean {
      return this.#p.drained;
    }
  };

  get failed(): boolean {
    return this.#parser.failed;
  }

  /** Nothing held or waiting: everything received has been written. */
  get drained(): boolean {
    return this.#queue.length === 0 && this.#pendingInjects.length === 0;
  }

  /** Bytes from the peer. */
  push(chunk: Uint8Array): void {
    if (this.#stopped) return void (this.#answer === null ? undefined : this.#parser.feed(chunk, this.#answer));
    if (chunk.length === 0) return;
    // The chunk may leave as it came only if it starts at a frame boundary or inside a frame being
    // written through, with nothing waiting ahead of it.
    const whole = this.#parser.buffered === 0 && (this.#cur === null || this.#cur.queued === null) && this.#queue.length === 0;
    this.#compression?.inflater.turn();
    this.#peer.read();
    this.#chunk = chunk;
    this.#time = this.#host.now();
    this.#out.begin(chunk);
    // The queue moves on after the chunk, not in the middle of it: its writes must follow this
    // chunk's, and the whole-chunk shortcut below must be the only write of the chunk.
    this.#parsing = true;
    this.#parser.feed(chunk, this.#sink);
    this.#parsing = false;
    if (this.#stopped) {
      // The session failed the connection while this chunk was parsed; nothing after that goes out.
      this.#endChunk();
      this.#out.clear();
      this.#peer.release();
      return;
    }
    const end = chunk.length - this.#parser.buffered;
    if (whole && this.#out.whole(end)) {
      // Every frame in this chunk went through as it was (masked ones re-keyed in place): the
      // output is the chunk itself, less any header bytes of a frame not decoded yet.
      this.#host.write([end === chunk.length ? chunk : chunk.subarray(0, end)]);
      this.#out.frameEnd();
    } else this.#flush();
    this.#endChunk();
    // Only now do this chunk's frames get their records: the peer's bytes waited for no observer.
    this.#peer.release();
    this.#compression?.inflater.written();
    if (this.#pumpWanted) {
      this.#pumpWanted = false;
      void this.#hold.pump();
    }
  }

  #endChunk(): void {
    this.#chunk = EMPTY;
    this.#reader.end();
    this.#out.end();
  }

  /** Moves the queue on now, or after the chunk being parsed. */
  #kick(): void {
    if (this.#parsing) this.#pumpWanted = true;
    else void this.#hold.pump();
  }

  /** The peer closed its side. */
  end(): void {
    for (const event of this.#parser.finish()) if (event.type === 'violation') this.#peer.report(event.violation, null);
    this.#abandonOpen();
    this.#flush();
    void this.#hold.pump();
  }

  /**
   * The open message will never finish (end of stream, or a new message began, §5.4): decide on
   * what arrived whole, and forget a frame cut short, which cannot be written.
   */
  #abandonOpen(): void {
    if (this.#cur !== null) this.#hold.abandon(this.#cur.queued);
    this.#cur = null;
    if (this.#pendingInjects.length > 0) {
      // They were waiting for a message that will never end; data cannot be sent inside it (§5.4).
      this.#peer.log(`${this.#pendingInjects.length} injected message(s) not sent: the peer's stream ended inside a message`);
      this.#pendingInjects = [];
    }
    if (this.#msg?.held != null) this.#msg.held.complete = true;
    this.#msg = null;
  }

  /** Injects a message (text/binary/control) behind everything pending in this direction. */
  inject(message: OutMessage): void {
    if (this.#stopped) return;
    const isData = message.kind === 'text' || message.kind === 'binary';
    if (isData && this.#msg !== null) this.#pendingInjects.push(message);
    else this.#queue.push({ type: 'inject', messages: [message] });
    void this.#hold.pump();
  }

  /**
   * Resolves once every frame still inflating has had its record emitted (the session's close
   * record must come after them). Call after stop(): nothing new starts inflating then.
   */
  settled(): Promise<void> {
    // Each part's own .then (the record) was attached first, so it runs before this resolves.
    const waits: Promise<unknown>[] = this.#inflating === null ? [] : [...this.#inflating];
    if (this.#later !== null && !this.#later.idle) waits.push(this.#later.settled());
    return waits.length === 0 ? SETTLED : Promise.all(waits).then(() => undefined);
  }

  /** Stops relaying (the session is closing); `answered` hears the peer's answer to the proxy's close. */
  stop(answered?: (close: ClosePayload) => void): void {
    if (answered !== undefined && !this.#stopped && !this.#parser.failed) this.#answer = new CloseAnswer(answered);
    this.#stopped = true;
    // The frame being reported when the session fails the connection is not passed on, if none of
    // it has left yet: the peer gets the proxy's close instead, as from a conforming endpoint.
    this.#out.dropFrame();
    this.#queue.length = 0;
    this.#pendingInjects = [];
    this.#compression?.close();
  }

  /** Writes a frame now, ahead of anything queued (the proxy's own close on failure or shutdown). */
  writeNow(message: OutMessage): void {
    this.#writeMessages([message], 'injected', true);
    this.#flush();
  }

  // ---- parse events ------------------------------------------------------------------------

  #onHeader(header: WireHeader, at: number, end: number, message: MessageContext | null, violations: Violation[] | null): void {
    if (this.#stopped) return;
    const host = this.#host;
    const id = host.nextId();
    const control = isControlOpcode(header.opcode);
    if (message?.first) this.#startMessage(message);
    const msg = this.#msg;
    let queued: QueuedFrame | null = null;
    let decide = false;
    if (control) {
      const kind = controlKind(header.opcode);
      // A close behind one already written (an injected close the peer answered) waits to be dropped.
      decide = kind !== null && (wants(this.#host, this.from, kind) || (kind === 'close' && this.#closeWritten));
    }
    const held = !control && msg !== null ? msg.held : null;
    if (held !== null || decide || this.#queue.length > 0) {
      queued = { id, header, raw: header.raw, chunks: [], complete: false, time: this.#time };
      // A control frame inside a held message travels with it, in its place (§5.4 allows the interleaving).
      const tail = this.#queue[this.#queue.length - 1];
      if (held !== null) held.frames.push(queued);
      else if (!decide && tail?.type === 'message' && !tail.complete) tail.frames.push(queued);
      else this.#queue.push({ type: 'frame', frame: queued, decide });
      this.#hold.bytes += FRAME_COST;
      this.#hold.checkPressure();
      if (held !== null && overHeld(held, this.#host.limits.maxMessage)) this.#kick();
    } else if (header.opcode === Opcode.Close) this.#closeWritten = true;
    // A close body is decoded from the preview, so control frames keep all of a legal payload.
    const previewCap = Math.min(header.payloadLength, control ? Math.max(this.#peer.preview, MAX_CONTROL_PAYLOAD) : this.#peer.preview);
    const cur = newCurrent(id, this.#time, header, message, violations ?? NO_VIOLATIONS, previewCap, queued);
    this.#cur = cur;
    this.#out.frameEnd();
    if (queued !== null) {
      // Its bytes wait in the queue: what was written through before it leaves first.
      this.#out.skip(end);
      return;
    }
    // Written through: a masked frame gets a fresh key (§5.3), in place when its header is here.
    let word = 0;
    if (header.masked) {
      word = nextKeyWord(host.keys);
      cur.rekey = (header.key ^ word) >>> 0;
    }
    if (at >= 0) {
      if (header.masked) for (let i = 0; i < 4; i++) this.#chunk[end - 4 + i] = (word >>> (24 - 8 * i)) & 0xff;
      this.#out.pass(at, end);
    } else {
      // It began in an earlier chunk: written whole, as a segment of its own.
      this.#out.push(header.masked ? rewriteMaskKey(header.raw, keyBytes(word)) : header.raw);
      this.#out.skip(end);
    }
    this.#out.frameStart(at);
  }

  #startMessage(message: MessageContext): void {
    const limits = this.#host.limits;
    // A message still open here was cut off by a new one (expected-continuation): it ends as it is.
    if (this.#msg?.held != null) this.#msg.held.complete = true;
    const kind: DataKind | 'continuation' = message.opcode === Opcode.Text ? 'text' : message.opcode === Opcode.Binary ? 'binary' : 'continuation';
    const dataKind: DataKind = kind === 'text' ? 'text' : 'binary';
    const wanted = kind !== 'continuation' && wants(this.#host, this.from, dataKind);
    // A compressed message that cannot go straight through is held whole, in case it has to be
    // re-compressed once an earlier message is changed.
    const c = this.#compression;
    const mustHold = message.compressed && c !== null && c.contextTakeover && (c.recompress || this.#queue.length > 0);
    let held: MessageItem | null = null;
    if (wanted || mustHold) {
      held = { type: 'message', id: this.#host.nextId(), time: this.#time, kind: dataKind, compressed: message.compressed, wanted, frames: [], parts: [], size: 0, complete: false };
      this.#queue.push(held);
    }
    // Plain text is validated as it streams, so one validator per direction serves every message;
    // a compressed message is validated by its inflater, as zlib gets to it.
    const inflater = message.compressed ? (this.#compression?.inflater ?? null) : null;
    const utf8 = kind !== 'text' || inflater !== null ? null : this.#utf8.reset();
    this.#msg = {
      id: held?.id ?? this.#host.nextId(),
      time: this.#time,
      kind,
      compressed: message.compressed,
      utf8,
      held,
      fate: 'forwarded',
      frames: 0,
      length: 0,
      preview: NO_PARTS,
      previewLen: 0,
    };
    if (message.compressed && this.#compression !== null) {
      const cap = held !== null ? limits.maxMessage + 1 : this.#peer.preview;
      this.#compression.inflater.begin(cap, kind === 'text');
    }
  }

  #onPayload(chunk: Uint8Array, start: number, end: number, offset: number): void {
    if (this.#stopped) return;
    const cur = this.#cur!;
    const msg = cur.message !== null ? this.#msg : null;
    const inflater = msg?.compressed === true ? (this.#compression?.inflater ?? null) : null;
    if (cur.queued !== null) {
      if (this.#hold.payload(cur, msg, inflater, chunk, start, end, offset)) this.#kick();
      return this.#out.skip(end);
    }
    // Written through as it lies: read for the observers, then re-keyed in place.
    if (inflater === null) this.#reader.through(cur, msg?.utf8 ?? null, chunk, start, end, offset);
    else this.#reader.inflate(inflater, cur, chunk, start, end, offset);
    this.#out.pass(start, end);
  }

  #onFrameEnd(): void {
    if (this.#stopped) return;
    const cur = this.#cur!;
    this.#cur = null;
    const header = cur.header;
    const framePreview = cur.preview === null ? (cur.slabMemory !== null ? IN_SLAB : EMPTY) : cur.previewLen === cur.preview.length ? cur.preview : cur.preview.subarray(0, cur.previewLen);
    let close: FrameRecord['close'] = null;
    if (header.opcode === Opcode.Close) {
      const parsed = parseClosePayload(framePreview);
      close = closeOf(framePreview, parsed);
      if (parsed.problem !== null) addViolation(cur, violation(parsed.problem, parsed.code === null ? undefined : String(parsed.code)));
      this.#host.closeFrame(parsed.code, parsed.reason);
    }
    const msg = cur.message !== null ? this.#msg : null;
    const last = msg !== null && header.fin;
    if (msg !== null) {
      msg.frames++;
      if (last) {
        this.#msg = null;
        if (this.#pendingInjects.length > 0) {
          const injects = this.#pendingInjects;
          this.#pendingInjects = [];
          if (msg.held !== null) msg.held.complete = true;
          for (const m of injects) this.#queue.push({ type: 'inject', messages: [m] });
        }
      }
    }
    let preview = framePreview;
    let length = header.payloadLength;
    const inflater = msg?.compressed === true ? (this.#compression?.inflater ?? null) : null;
    // Written through and not held: inflated once the chunk is written, and recorded then.
    const later = inflater !== null && inflater.deferred && msg!.held === null;
    const part = inflater === null || later ? null : inflater.endFrame(last);
    const held = msg?.held ?? null;
    if (part !== null) held?.parts.push(part);
    if (later) this.#later!.add(cur, close, msg, last, this.#time, inflater);
    else if (part instanceof Promise) {
      // Inflated later (on later turns, or after the chunk's write): this record and every later
      // one of the session wait for it, in order.
      this.#peer.release();
      const emit = this.#records.reserve();
      (this.#inflating ??= new Set()).add(part);
      void part.then((p) => {
        this.#inflating?.delete(part);
        if (held !== null) {
          // Now it can be listed while it waits behind another (waiting.ts).
          held.parts[held.parts.indexOf(part)] = p;
          if (held.complete) this.#kick();
        }
        inflatedViolations(cur, p.error, p.badUtf8);
        const limit = this.#peer.preview;
        const payload = p.data.length > limit ? p.data.subarray(0, limit) : p.data;
        emit(() => this.#peer.record(cur, payload, close, msg, last, this.#host.now(), p.length));
      });
    } else {
      if (part !== null) {
        // Inflated on this turn: the record goes out with the chunk, like any other frame's.
        inflatedViolations(cur, part.error, part.badUtf8);
        const limit = this.#peer.preview;
        preview = part.data.length > limit ? part.data.subarray(0, limit) : part.data;
        length = part.length;
      } else if (msg !== null && last && msg.utf8 !== null && !msg.utf8.end()) addViolation(cur, violation('invalid-utf8'));
      // Straight out when nothing waits for zlib ahead of it (no closure per frame on the hot path).
      const time = this.#time;
      if (this.#parsing && cur.violations.length === 0 && this.#records.idle) {
        // Held until the chunk has been written (see push).
        this.#peer.hold(cur, preview, close, msg, last, time, length);
      } else {
        // A frame with a violation is reported at once: with --strict the session fails the
        // connection, and stop() keeps the frame from being relayed.
        this.#peer.release();
        if (this.#records.idle) this.#peer.record(cur, preview, close, msg, last, time, length);
        else this.#records.now(() => this.#peer.record(cur, preview, close, msg, last, time, length));
      }
    }
    if (cur.queued !== null) {
      cur.queued.complete = true;
      if (msg !== null && last && msg.held !== null) msg.held.complete = true;
      this.#kick();
    } else if (this.#queue.length > 0) this.#kick();
    this.#out.frameEnd();
  }

  // ---- writing ---------------------------------------------------------------------------

  /** A queued frame as received (fresh mask key); returns old key XOR new key (null when unmasked). */
  #writeOriginal(frame: QueuedFrame): number {
    if (frame.header.opcode === Opcode.Close) this.#closeWritten = true;
    this.#out.cut();
    return writeOriginal(this.#out.segments, this.#host, frame);
  }

  /** Frames the proxy writes itself, each record in the session's order (now: ahead of it); `origin` null: no record. */
  #writeMessages(messages: readonly OutMessage[], origin: FrameOrigin | null, now = false, compressed: readonly Buffer[] | null = null): void {
    if (messages.some((m) => m.kind === 'close')) this.#closeWritten = true;
    writeProxyMessages(this.#out, this.#host, this.from, messages, origin, compressed, (record) => {
      this.#peer.release();
      if (now) record();
      else this.#records.now(record);
    });
  }

  #flush(): void {
    const out = this.#out.take();
    if (out !== null) this.#host.write(out);
  }
}
