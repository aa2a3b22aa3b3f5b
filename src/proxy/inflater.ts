/**
 * permessage-deflate for one direction (RFC 7692 §7.2). The relay forwards compressed bytes as
 * they came; this inflates a copy for the log and for deciders, synchronously, on the relay's own
 * turn, so a frame's record is ready when its bytes have been relayed, like any other frame's.
 *
 * Output beyond the cap of the current message is counted and discarded as it streams (one 16 KiB
 * buffer is reused), so a zlib bomb costs CPU, not memory; the context still sees every byte, so
 * later messages inflate correctly. A turn inflates at most TURN_BUDGET bytes per direction: the
 * rest of a large message (or a bomb) continues on later turns, so other sessions are not kept
 * waiting, and endFrame then hands back a promise instead of the part itself.
 */
import zlib from 'node:zlib';
import { DEFLATE_TAIL } from '../protocol/constants.js';
import { unmaskWords } from '../protocol/mask.js';
import { asciiWords } from '../protocol/utf8-validator.js';
import { openRawInflate, zlibWindow, type RawInflate } from './raw-inflate.js';
import { SLAB_PIECE, slab } from './slab.js';

export interface InflatedPart {
  /** Output for this frame, up to what the message cap still allowed. */
  readonly data: Buffer;
  /** Total output bytes for this frame, kept or not. */
  readonly length: number;
  readonly error: Error | null;
  /** The message's last frame, text, and its inflated bytes are not valid UTF-8 (found by an inflater that checks it itself). */
  readonly badUtf8?: boolean;
}

/** A part now, or later when the work was sliced over several turns. */
export type Inflated = InflatedPart | Promise<InflatedPart>;

export interface InflaterOptions {
  readonly windowBits: number;
  /** RFC 7692 §7.1.1: the sender resets its context after each message. */
  readonly noContextTakeover: boolean;
}

/** Inflated bytes per direction per turn of the event loop (about a millisecond of work). */
export const TURN_BUDGET = 1024 * 1024;
/** Compressed bytes waiting for later turns before the sender is paused. */
export const BACKLOG_LIMIT = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/** From this size the UTF-8 check's native call costs less than reading words here. */
const ASCII_WORDS_BELOW = 1024;

/** The message being inflated: how much of it observers keep, and who sees every chunk. */
/** What reads every inflated piece of a message (the UTF-8 check, §8.1), kept or not. */
export interface PieceCheck {
  /** bytes[from, to), valid during the call only. */
  pushRange(bytes: Uint8Array, from: number, to: number): boolean;
  /** A piece already seen to be all ASCII (optional: then pushRange is not called for it). */
  pushAscii?(): boolean;
}

interface MessageSink {
  cap: number;
  kept: number;
  check: PieceCheck | null;
  /** zlib failed inside this message: the rest of it is not inflated. */
  error: Error | null;
}

/** One frame's share of the output. */
interface FrameSink {
  message: MessageSink;
  chunks: Buffer[];
  produced: number;
  /** The RFC 7692 tail came with the frame's own input (see write). */
  tail: boolean;
}

/** Work left for a later turn, in order: input still to inflate, or a frame to end. */
type Op =
  | { readonly type: 'input'; readonly frame: FrameSink; readonly input: Uint8Array; offset: number }
  | { readonly type: 'end'; readonly frame: FrameSink; readonly last: boolean; readonly resolve: (part: InflatedPart) => void };

export interface InflaterHooks {
  /** The backlog of work for later turns went over (true) or back under (false) its bound. */
  backlog?(over: boolean): void;
}

/** What a pipe inflates a direction with: as frames are read (Inflater), or after each chunk's write (later-inflater.ts). */
export interface PayloadInflater {
  /** Parts always come after the chunk's write, and the inflater checks UTF-8 itself (begin's `text`). */
  readonly deferred: boolean;
  readonly idle: boolean;
  readonly backlogged: boolean;
  hooks: InflaterHooks;
  turn(): void;
  /** The chunk read since turn() has been written. */
  written(): void;
  begin(cap: number, check: PieceCheck | null, text?: boolean): void;
  write(data: Uint8Array, start?: number, end?: number, tail?: boolean): void;
  endFrame(last: boolean): Inflated;
  close(): void;
}

export class Inflater implements PayloadInflater {
  readonly #options: InflaterOptions;
  readonly #fallback: boolean;
  #engine: RawInflate;
  #message: MessageSink = { cap: 0, kept: 0, check: null, error: null };
  #frame: FrameSink | null = null;
  #spare: FrameSink | null = null;
  /** The frame output currently goes to. */
  #target: FrameSink | null = null;
  readonly #ops: Op[] = [];
  #backlog = 0;
  #over = false;
  #budget = TURN_BUDGET;
  #scheduled = false;
  #closed = false;
  #engineClosed = false;
  hooks: InflaterHooks = {};
  #out: Buffer | null = null;
  #outView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  readonly #sink = (out: Buffer, n: number): void => this.#take(out, n);

  /** `fallback`: minizlib instead of Node's native handle (tests both). */
  constructor(options: InflaterOptions, fallback = false) {
    this.#options = options;
    this.#fallback = fallback;
    this.#engine = openRawInflate(options.windowBits, fallback);
  }

  get deferred(): false {
    return false;
  }

  /** Compressed bytes waiting for later turns are over their bound. */
  get backlogged(): boolean {
    return this.#over;
  }

  written(): void {}

  /** A new read has begun: the turn's budget is available again. */
  turn(): void {
    if (!this.#scheduled) this.#budget = TURN_BUDGET;
  }

  /**
   * Starts a message. Up to `cap` inflated bytes are kept; `check` (if any) sees every inflated
   * chunk as it is produced (UTF-8 validation runs over all of it without keeping it).
   */
  begin(cap: number, check: PieceCheck | null): void {
    // Nothing waits for a later turn: no frame refers to the last message's sink any more, and
    // it is filled anew (one object fewer per message). Otherwise a sink of its own.
    if (this.idle && this.#frame === null) {
      const m = this.#message;
      m.cap = cap;
      m.kept = 0;
      m.check = check;
      m.error = null;
    } else this.#message = { cap, kept: 0, check, error: null };
  }

  /** No work waits for a later turn: every frame ended so far has its part. */
  get idle(): boolean {
    return this.#ops.length === 0;
  }

  #currentFrame(): FrameSink {
    if (this.#frame !== null) return this.#frame;
    // The frame sink of the last frame, when its part was made on its own turn: nothing else holds it.
    const spare = this.#spare;
    if (spare !== null) {
      this.#spare = null;
      spare.message = this.#message;
      if (spare.chunks.length !== 0) spare.chunks = [];
      spare.produced = 0;
      spare.tail = false;
      return (this.#frame = spare);
    }
    return (this.#frame = { message: this.#message, chunks: [], produced: 0, tail: false });
  }

  /**
   * Compressed bytes data[start, end), read during the call only (what waits for a later turn is
   * copied). `tail`: they end with the RFC 7692 tail (the message's last frame, whole): one zlib
   * call instead of two.
   */
  write(data: Uint8Array, start = 0, end = data.length, tail = false): void {
    if (this.#closed) return;
    const frame = this.#currentFrame();
    if (tail) frame.tail = true;
    let offset = start;
    if (this.#ops.length === 0) {
      offset = this.#run(frame, data, start, end);
      if (offset < 0) return;
    }
    this.#defer({ type: 'input', frame, input: Uint8Array.prototype.slice.call(data, offset, end), offset: 0 });
  }

  /** Ends a frame: its part, now or once the turns it waits for have run. At the last frame the RFC 7692 tail is added. */
  endFrame(last: boolean): Inflated {
    const frame = this.#currentFrame();
    this.#frame = null;
    if (this.#ops.length === 0) {
      const part = this.#end(frame, last);
      this.#spare = frame;
      return part;
    }
    return new Promise((resolve) => this.#defer({ type: 'end', frame, last, resolve }));
  }

  /** Inflates input[offset..] into `frame`; returns -1 when done, else where to go on next turn. */
  #run(frame: FrameSink, input: Uint8Array, offset: number, end = input.length): number {
    if (frame.message.error !== null) return -1;
    if (this.#budget <= 0) return offset;
    this.#target = frame;
    const next = this.#engine.inflate(input, offset, this.#budget, this.#sink, end);
    this.#target = null;
    const error = this.#engine.error;
    if (error !== null) {
      frame.message.error = error;
      // The context is lost after an error; start over so later messages without back-references decode.
      this.#engine.close();
      this.#engine = openRawInflate(this.#options.windowBits, this.#fallback);
      return -1;
    }
    return next < end || this.#engine.pending ? next : -1;
  }

  #take(out: Buffer, n: number): void {
    const frame = this.#target!;
    this.#budget -= n;
    frame.produced += n;
    const message = frame.message;
    let check = message.check;
    const room = message.cap - message.kept;
    if (room > 0) {
      // A copy: the piece lives in the engine's reused buffer.
      const k = Math.min(room, n);
      let kept: Buffer;
      if (k <= SLAB_PIECE) {
        // Four bytes a read, seen to be ASCII on the way (the usual JSON message): then the check
        // needs no pass of its own.
        const at = slab.take(k);
        const ascii = unmaskWords(this.#viewOf(out), 0, k, 0, 0, slab.view, at);
        kept = slab.piece(at, k);
        if (ascii && check?.pushAscii !== undefined && k === n) {
          check.pushAscii();
          check = null;
        }
      } else {
        kept = Buffer.allocUnsafe(k);
        kept.set(out.subarray(0, k));
      }
      frame.chunks.push(kept);
      message.kept += k;
    }
    if (check === null) return;
    // Short ASCII (what nobody previews of a JSON message): seen a word at a time.
    if (check.pushAscii !== undefined && n < ASCII_WORDS_BELOW && asciiWords(this.#viewOf(out), 0, n)) check.pushAscii();
    else check.pushRange(out, 0, n);
  }

  /** A DataView of the engine's output buffer (the same buffer every call: made once). */
  #viewOf(out: Buffer): DataView {
    if (this.#out !== out) {
      this.#out = out;
      this.#outView = new DataView(out.buffer, out.byteOffset, out.length);
    }
    return this.#outView;
  }

  #end(frame: FrameSink, last: boolean): InflatedPart {
    const message = frame.message;
    // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
    if (last && !frame.tail && message.error === null && !this.#engineClosed) {
      // The tail yields only what is left of the flush before it: nothing to slice.
      const budget = this.#budget;
      const before = frame.produced;
      this.#budget = Infinity;
      this.#run(frame, DEFLATE_TAIL, 0);
      this.#budget = budget - (frame.produced - before);
    }
    // §7.1.1: with no_context_takeover the sender starts each message afresh; so does its reader.
    if (last && this.#options.noContextTakeover && !this.#engineClosed) this.#engine.reset();
    const chunks = frame.chunks;
    const data = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    return { data, length: frame.produced, error: message.error };
  }

  #defer(op: Op): void {
    this.#ops.push(op);
    if (op.type === 'input') this.#backlog += op.input.length - op.offset;
    this.#checkBacklog();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  /** A later turn: goes on with the work in order, within the turn's budget. */
  #drain(): void {
    this.#scheduled = false;
    this.#budget = TURN_BUDGET;
    const ops = this.#ops;
    while (ops.length > 0) {
      const op = ops[0]!;
      if (op.type === 'input') {
        const before = op.offset;
        const next = this.#run(op.frame, op.input, op.offset);
        if (next >= 0) {
          this.#backlog -= next - before;
          op.offset = next;
          this.#schedule();
          break;
        }
        this.#backlog -= op.input.length - before;
        ops.shift();
      } else {
        ops.shift();
        op.resolve(this.#end(op.frame, op.last));
      }
    }
    this.#checkBacklog();
    if (this.#closed && ops.length === 0) this.#closeEngine();
  }

  #checkBacklog(): void {
    const over = this.#backlog > BACKLOG_LIMIT;
    if (over !== this.#over) {
      this.#over = over;
      this.hooks.backlog?.(over);
    }
  }

  /**
   * Frees the zlib memory, but only after the frames already ended have inflated: a large message
   * just before the session's close is still recorded whole. A frame not ended is abandoned.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const open = this.#frame;
    this.#frame = null;
    if (open !== null) {
      for (let i = this.#ops.length - 1; i >= 0; i--) {
        const op = this.#ops[i]!;
        if (op.frame === open && op.type === 'input') {
          this.#backlog -= op.input.length - op.offset;
          this.#ops.splice(i, 1);
        }
      }
    }
    if (this.#ops.length === 0) this.#closeEngine();
  }

  #closeEngine(): void {
    if (this.#engineClosed) return;
    this.#engineClosed = true;
    this.#engine.close();
  }
}

/**
 * The proxy's own compressor for a direction whose messages it rewrote (RFC 7692 §7.2.1): each
 * message is deflated, flushed with Z_SYNC_FLUSH and the trailing 0x00 0x00 0xff 0xff removed.
 */
export class Deflater {
  readonly #options: InflaterOptions;
  #stream: zlib.DeflateRaw;
  #chunks: Buffer[] = [];

  constructor(options: InflaterOptions) {
    this.#options = options;
    this.#stream = this.#open();
  }

  #open(): zlib.DeflateRaw {
    const stream = zlib.createDeflateRaw({ windowBits: zlibWindow(this.#options.windowBits), memLevel: 8 });
    stream.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    return stream;
  }

  compress(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.#stream;
      stream.once('error', reject);
      stream.write(data);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.off('error', reject);
        let out = Buffer.concat(this.#chunks);
        this.#chunks = [];
        if (out.length >= 4 && out.subarray(out.length - 4).equals(DEFLATE_TAIL)) out = out.subarray(0, out.length - 4);
        if (this.#options.noContextTakeover) {
          stream.close();
          this.#stream = this.#open();
        }
        // §7.2.3.6: an empty message compresses to a single 0x00 block.
        resolve(out.length === 0 ? Buffer.from([0x00]) : out);
      });
    });
  }

  close(): void {
    this.#stream.close();
  }
}
