/**
 * Works through inflate requests (inflate-wire.ts) in the order they were written, one raw-inflate
 * context per direction of every compressed session, answering each frame with the output its
 * observers keep and what went wrong. Output past a message's cap is counted and dropped as it
 * streams, so a zlib bomb costs time, not memory; the context still sees every byte, so later
 * messages inflate correctly (RFC 7692 §7.2.3). Used by the inflating thread (inflate-worker.ts)
 * and, after each write, by the relay's thread itself (inflate-thread.ts, InflateAfterWrite).
 */
import { DEFLATE_TAIL } from '../protocol/constants.js';
import { Utf8Validator, asciiWords } from '../protocol/utf8-validator.js';
import { DONE_BAD_UTF8, DONE_ERROR, F_BEGIN, F_END, F_LAST, F_TAIL, F_TEXT, REQ_HEAD, Req } from './inflate-wire.js';
import { openRawInflate, type RawInflate } from './raw-inflate.js';

/** Where the answers go, frame after frame in the order the frames ended. */
export interface AnswerWriter {
  /** Kept output out[0, n), valid during the call only (`view`: a DataView of `out`). */
  piece(out: Uint8Array, view: DataView, n: number): void;
  /** The frame is done: DONE_* flags, its inflated length, zlib's error if any. */
  done(flags: number, length: number, error: Error | null): void;
}

/** From this size the UTF-8 check's native call costs less than reading words here. */
const ASCII_WORDS_BELOW = 1024;
/** A context's hold buffer up to this size is kept for its next frames. */
const HOLD_KEPT = 64 * 1024;

/** One direction's context and the message it is in. */
class Context {
  engine: RawInflate;
  readonly windowBits: number;
  readonly noContextTakeover: boolean;
  cap = 0;
  kept = 0;
  text = false;
  readonly utf8 = new Utf8Validator();
  error: Error | null = null;
  /** Output of the frame being read, kept or not. */
  produced = 0;
  /**
   * Kept output of a frame that has not ended yet, held here until it does (its answer is awaited
   * only from its end on): `held` bytes of `hold`.
   */
  hold: Buffer | null = null;
  held = 0;

  constructor(windowBits: number, noContextTakeover: boolean) {
    this.windowBits = windowBits;
    this.noContextTakeover = noContextTakeover;
    this.engine = openRawInflate(windowBits);
  }

  begin(cap: number, text: boolean): void {
    this.cap = cap;
    this.text = text;
    this.kept = 0;
    this.error = null;
    this.utf8.reset();
  }
}

export class InflateEngine {
  readonly #answers: AnswerWriter;
  readonly #contexts = new Map<number, Context>();
  /** Stands in for a context already closed: a frame ended after its close is still answered. */
  readonly #orphan = new Context(15, true);
  #current: Context = this.#orphan;
  #out: Uint8Array | null = null;
  #view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  readonly #sink = (out: Buffer, n: number): void => this.#take(out, n);
  /** See handle. */
  #direct = false;

  constructor(answers: AnswerWriter) {
    this.#answers = answers;
  }

  /** Handles the request bytes[at, at + length). */
  handle(bytes: Uint8Array, view: DataView, at: number, length: number): void {
    const id = view.getUint32(at + 1, true);
    switch (bytes[at]) {
      case Req.OPEN:
        this.#contexts.set(id, new Context(bytes[at + REQ_HEAD]!, bytes[at + REQ_HEAD + 1] === 1));
        return;
      case Req.FRAME: {
        const flags = bytes[at + REQ_HEAD]!;
        const c = this.#contexts.get(id) ?? this.#orphan;
        let from = at + REQ_HEAD + 1;
        if ((flags & F_BEGIN) !== 0) {
          c.begin(view.getFloat64(from, true), (flags & F_TEXT) !== 0);
          from += 8;
        }
        // Output goes straight to the answer only when the frame ends in this request, with none held.
        this.#direct = (flags & F_END) !== 0 && c.held === 0;
        if (from < at + length) this.#inflate(c, bytes, from, at + length);
        if ((flags & F_END) !== 0) this.#end(c, flags);
        return;
      }
      case Req.CLOSE:
        this.#contexts.get(id)?.engine.close();
        this.#contexts.delete(id);
        return;
    }
  }

  #inflate(c: Context, input: Uint8Array, from: number, to: number): void {
    if (c.error !== null) return;
    this.#current = c;
    c.engine.inflate(input, from, Infinity, this.#sink, to);
    const error = c.engine.error;
    if (error !== null) {
      c.error = error;
      // The context is lost after an error; start over so later messages without back-references decode.
      c.engine.close();
      c.engine = openRawInflate(c.windowBits);
    }
  }

  #end(c: Context, flags: number): void {
    const last = (flags & F_LAST) !== 0;
    // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
    if (last && (flags & F_TAIL) === 0) this.#inflate(c, DEFLATE_TAIL, 0, DEFLATE_TAIL.length);
    if (c.held > 0) {
      const hold = c.hold!;
      this.#answers.piece(hold, new DataView(hold.buffer, hold.byteOffset, c.held), c.held);
      c.held = 0;
      // A large message's buffer is not kept for the next one.
      if (hold.length > HOLD_KEPT) c.hold = null;
    }
    let done = c.error !== null ? DONE_ERROR : 0;
    if (last && c.text && !c.utf8.end()) done |= DONE_BAD_UTF8;
    this.#answers.done(done, c.produced, c.error);
    c.produced = 0;
    // §7.1.1: with no_context_takeover the sender starts each message afresh; so does its reader.
    if (last && c.noContextTakeover && c.error === null) c.engine.reset();
  }

  /** zlib's output piece out[0, n): the part within the cap goes back; a text message's is checked whole. */
  #take(out: Buffer, n: number): void {
    const c = this.#current;
    c.produced += n;
    if (this.#out !== out) {
      this.#out = out;
      this.#view = new DataView(out.buffer, out.byteOffset, out.length);
    }
    const k = Math.min(c.cap - c.kept, n);
    if (k > 0) {
      if (this.#direct) this.#answers.piece(out, this.#view, k);
      else this.#keep(c, out, k);
      c.kept += k;
    }
    if (!c.text) return;
    // Short ASCII (the usual JSON message) is seen a word at a time.
    if (n < ASCII_WORDS_BELOW && asciiWords(this.#view, 0, n)) c.utf8.pushAscii();
    else c.utf8.pushRange(out, 0, n);
  }

  /** Holds out[0, k) until the frame ends. */
  #keep(c: Context, out: Uint8Array, k: number): void {
    const need = c.held + k;
    if (c.hold === null || c.hold.length < need) {
      const bigger = Buffer.allocUnsafe(Math.max(need, 2 * (c.hold?.length ?? 0), 1024));
      if (c.held > 0) c.hold!.copy(bigger, 0, 0, c.held);
      c.hold = bigger;
    }
    c.hold.set(k === out.length ? out : out.subarray(0, k), c.held);
    c.held = need;
  }
}
