/**
 * permessage-deflate for one direction (RFC 7692 §7.2), inflated after the relay has written: a
 * compressed frame goes through at once, and its record follows once its output is known, in the
 * session's order (later-records.ts). While a chunk is read each frame's compressed bytes are only
 * queued, unmasked, in one request buffer (no object per frame); once the chunk has been written,
 * zlib runs through the queue in one batch. The peer's bytes leave before zlib sees them, and zlib
 * runs on a batch instead of between the parser's frames.
 *
 * Output past a message's cap is counted and dropped as it streams, so a zlib bomb costs time, not
 * memory; the context still sees every byte, so later messages inflate correctly (§7.2.3). A run
 * inflates at most TURN_BUDGET bytes: the rest continues on later turns, so other sessions are not
 * kept waiting; over BACKLOG_LIMIT compressed bytes queued, the sender is paused.
 *
 * With --strict it runs at once instead (`eager`): a frame's part is ready when the frame ends,
 * before its chunk is written, since a violation found in the inflated text must stop the frame
 * before it is relayed. The rest is the same either way.
 */
import { DEFLATE_TAIL } from '../protocol/constants.js';
import { unmaskWords } from '../protocol/mask.js';
import { Utf8Validator, asciiWords } from '../protocol/utf8-validator.js';
import { BACKLOG_LIMIT, TURN_BUDGET, type Inflated, type InflatedPart, type InflaterHooks, type InflaterOptions } from './inflater.js';
import { openRawInflate, type RawInflate } from './raw-inflate.js';
import { SLAB_PIECE, slab } from './slab.js';

/** From this size the UTF-8 check's native call costs less than reading words here. */
const ASCII_WORDS_BELOW = 1024;
/** Buffers up to this size are kept for the next frames; larger ones go once used. */
const KEEP = 64 * 1024;

/** Request flags (the byte after a request's length). A message begins here: its cap (f64) follows. */
const F_BEGIN = 1;
/** … and it is text: its UTF-8 is checked (RFC 6455 §8.1). */
const F_TEXT = 2;
/** The frame ends with this request: answer it. */
const F_END = 4;
/** It is its message's last frame. */
const F_LAST = 8;
/** Its bytes end with the §7.2.2 tail already. */
const F_TAIL = 16;
/** A request's length (u32) and flags (u8). */
const HEAD = 5;

/** Who hears a frame's answer: its kept output, then how it ended. */
export interface InflateAnswer {
  /**
   * Output bytes[0, n) (`view`: a DataView of `bytes`), valid during the call only: the frame's
   * kept output, in one piece or (over zlib's 16 KiB a call) several. Returns true when it saw
   * that all n bytes are ASCII (then they need no UTF-8 check of their own).
   */
  piece(bytes: Uint8Array, view: DataView, n: number): boolean;
  /** `length`: the frame's inflated length, kept or not; `badUtf8`: its message ends here, not UTF-8. */
  done(length: number, error: Error | null, badUtf8: boolean): void;
}

/** A frame's part as a value (endFrame): ready at once, or promised when it comes later. */
class PartAnswer implements InflateAnswer {
  #pieces: Buffer[] = [];
  part: InflatedPart | null = null;
  #resolve: ((part: InflatedPart) => void) | null = null;

  piece(bytes: Uint8Array, view: DataView, n: number): boolean {
    if (n > SLAB_PIECE) {
      this.#pieces.push(Buffer.from(bytes.subarray(0, n)));
      return false;
    }
    // A small part is cut from the slab, copied a word at a time and seen to be ASCII on the way.
    const at = slab.take(n);
    const ascii = unmaskWords(view, 0, n, 0, 0, slab.view, at);
    this.#pieces.push(slab.piece(at, n));
    return ascii;
  }

  done(length: number, error: Error | null, badUtf8: boolean): void {
    const p = this.#pieces;
    this.part = { data: p.length === 0 ? EMPTY : p.length === 1 ? p[0]! : Buffer.concat(p), length, error, badUtf8 };
    this.#resolve?.(this.part);
  }

  /** The part now if it is done, else the promise of it. */
  get result(): Inflated {
    return this.part ?? new Promise((resolve) => (this.#resolve = resolve));
  }
}

const EMPTY = Buffer.alloc(0);

export interface LaterInflaterMode {
  /** Run at once (--strict): a frame's part is ready when it ends, if the turn's budget allows. */
  readonly eager?: boolean;
  /** minizlib instead of Node's native handle (tests both). */
  readonly fallback?: boolean;
}

export class LaterInflater {
  readonly #options: InflaterOptions;
  readonly #eager: boolean;
  readonly #fallback: boolean;
  #engine: RawInflate;
  hooks: InflaterHooks = {};

  // The message being inflated.
  #cap = 0;
  #kept = 0;
  #text = false;
  readonly #utf8 = new Utf8Validator();
  #error: Error | null = null;
  /** Output of the frame being inflated, kept or not. */
  #produced = 0;
  /** Kept output of a frame inflated over several requests, held until it ends: `#held` bytes. */
  #hold: Buffer | null = null;
  #held = 0;
  /** The frame ends in the request being run and nothing is held: output goes straight to its answer. */
  #direct = false;
  #outView: DataView = new DataView(new ArrayBuffer(0));
  #out: Uint8Array | null = null;

  // Requests: [u32 length][u8 flags][f64 cap, with F_BEGIN][compressed bytes], from #readAt on.
  #buf = new Uint8Array(0);
  #view = new DataView(this.#buf.buffer);
  #length = 0;
  #readAt = 0;
  /** Where the request at #readAt stopped for want of budget (-1: not begun). */
  #resume = -1;
  /** The request being written (see reserveInput). */
  #open = 0;
  /** A message begun and not yet in a request: it goes with the next. */
  #begin = false;
  #nextCap = 0;
  #nextText = false;
  /** The frame being read ended with its bytes (a whole last frame with its tail). */
  #ended = false;

  // Frames awaiting their answer, oldest at #head.
  #answers: InflateAnswer[] = [];
  #head = 0;
  /** Queued requests past BACKLOG_LIMIT bytes: the sender is paused. */
  #over = false;
  #budget = TURN_BUDGET;
  #running = false;
  #scheduled = false;
  #closed = false;
  #engineClosed = false;
  readonly #sink = (out: Buffer, n: number): void => this.#take(out, n);

  constructor(options: InflaterOptions, mode: LaterInflaterMode = {}) {
    this.#options = options;
    this.#eager = mode.eager === true;
    this.#fallback = mode.fallback === true;
    this.#engine = openRawInflate(options.windowBits, this.#fallback);
  }

  /** Parts come after the chunk's write (not eager): the pipe records such frames then. */
  get deferred(): boolean {
    return !this.#eager;
  }

  get backlogged(): boolean {
    return this.#over;
  }

  /** No frame awaits its answer. */
  get idle(): boolean {
    return this.#head === this.#answers.length;
  }

  /** A socket read begins: an eager inflater's turn budget is available again. */
  turn(): void {
    if (this.#eager && !this.#scheduled) this.#budget = TURN_BUDGET;
  }

  /** A message begins: up to `cap` inflated bytes are kept; `text`: its UTF-8 is checked (§8.1). */
  begin(cap: number, text: boolean): void {
    this.#begin = true;
    this.#nextCap = cap;
    this.#nextText = text;
  }

  /**
   * Room for n compressed bytes of the frame being read, written by the caller into
   * `input`/`inputView` from the offset returned; then commitInput(). `tail`: they are the
   * message's whole last frame with the RFC 7692 tail, so the frame ends with them.
   */
  reserveInput(n: number, tail: boolean): number {
    this.#ended = tail;
    return this.#request(n, tail ? F_END | F_LAST | F_TAIL : 0);
  }

  get input(): Uint8Array {
    return this.#buf;
  }

  get inputView(): DataView {
    return this.#view;
  }

  commitInput(): void {
    this.#length += this.#open;
    // Counted as queued, whether its frame has ended or not (a frame may be any size).
    if (this.#length - this.#readAt > BACKLOG_LIMIT) this.#check();
  }

  #request(n: number, flags: number): number {
    const begin = this.#begin;
    const head = HEAD + (begin ? 8 : 0);
    const size = head + n;
    if (this.#length + size > this.#buf.length) this.#grow(size);
    const at = this.#length;
    this.#view.setUint32(at, size, true);
    this.#buf[at + 4] = flags | (begin ? F_BEGIN | (this.#nextText ? F_TEXT : 0) : 0);
    if (begin) this.#view.setFloat64(at + HEAD, this.#nextCap, true);
    this.#begin = false;
    this.#open = size;
    return at + head;
  }

  #grow(size: number): void {
    // What was run already goes; what is left moves to the front.
    const left = this.#length - this.#readAt;
    const need = left + size;
    let buf = this.#buf;
    if (need <= buf.length) buf.copyWithin(0, this.#readAt, this.#length);
    else {
      buf = new Uint8Array(Math.max(need, 2 * buf.length, 1024));
      buf.set(this.#buf.subarray(this.#readAt, this.#length));
    }
    if (this.#resume >= 0) this.#resume -= this.#readAt;
    this.#buf = buf;
    this.#view = new DataView(buf.buffer);
    this.#length = left;
    this.#readAt = 0;
  }

  write(data: Uint8Array, start = 0, end = data.length, tail = false): void {
    if (this.#closed) return;
    const at = this.reserveInput(end - start, tail);
    this.#buf.set(data.subarray(start, end), at);
    this.commitInput();
  }

  /** Ends the frame; its part comes to `answer`, after the chunk has been written (written()). */
  endFrameTo(last: boolean, answer: InflateAnswer): void {
    if (!this.#ended) {
      this.#request(0, F_END | (last ? F_LAST : 0));
      this.commitInput();
    }
    this.#ended = false;
    this.#answers.push(answer);
  }

  /**
   * Ends the frame and hands back its part: eager, now unless the turn's budget ran out (then a
   * promise); otherwise always a promise, kept after the chunk's write.
   */
  endFrame(last: boolean): Inflated {
    const answer = new PartAnswer();
    this.endFrameTo(last, answer);
    if (this.#eager && !this.#scheduled && !this.#running) this.#run();
    return answer.result;
  }

  /**
   * The chunk has been written: zlib runs through what was queued (unless a slice of it waits for
   * its turn); not eager, with a new budget.
   */
  written(): void {
    if (this.#scheduled || this.#running) return;
    if (!this.#eager) this.#budget = TURN_BUDGET;
    this.#run();
  }

  #run(): void {
    this.#running = true;
    try {
      while (this.#readAt < this.#length) {
        const at = this.#readAt;
        const size = this.#view.getUint32(at, true);
        const stop = this.#handle(at, size);
        if (stop >= 0) {
          this.#resume = stop;
          this.#check();
          this.#scheduled = true;
          setImmediate(() => {
            this.#scheduled = false;
            this.#budget = TURN_BUDGET;
            this.#run();
          });
          return;
        }
        this.#resume = -1;
        this.#readAt = at + size;
      }
      this.#length = 0;
      this.#readAt = 0;
      if (this.#over) this.#check();
      if (this.#buf.length > KEEP) {
        this.#buf = new Uint8Array(1024);
        this.#view = new DataView(this.#buf.buffer);
      }
      if (this.#closed) this.#closeEngine();
    } finally {
      this.#running = false;
    }
  }

  /** Runs the request at `at` (from #resume when it stopped before); returns -1 when done, else where to go on. */
  #handle(at: number, size: number): number {
    const flags = this.#buf[at + 4]!;
    let from = this.#resume;
    if (from < 0) {
      from = at + HEAD;
      if ((flags & F_BEGIN) !== 0) {
        this.#startMessage(this.#view.getFloat64(from, true), (flags & F_TEXT) !== 0);
        from += 8;
      }
    }
    const end = at + size;
    this.#direct = (flags & F_END) !== 0 && this.#held === 0;
    if (from < end || this.#engine.pending) {
      const next = this.#inflate(this.#buf, from, end);
      if (next >= 0) return next;
    }
    if ((flags & F_END) !== 0) this.#end(flags);
    return -1;
  }

  #startMessage(cap: number, text: boolean): void {
    this.#cap = cap;
    this.#text = text;
    this.#kept = 0;
    this.#error = null;
    this.#utf8.reset();
    // (What a frame cut off before its end left behind is not this message's.)
    this.#held = 0;
    this.#produced = 0;
  }

  /** Inflates input[from, end); returns -1 when done, else where to go on (the budget ran out). */
  #inflate(input: Uint8Array, from: number, end: number): number {
    if (this.#error !== null || this.#engineClosed) return -1;
    if (this.#budget <= 0) return from;
    const next = this.#engine.inflate(input, from, this.#budget, this.#sink, end);
    const error = this.#engine.error;
    if (error !== null) {
      this.#error = error;
      // The context is lost after an error; start over so later messages without back-references decode.
      this.#engine.close();
      this.#engine = openRawInflate(this.#options.windowBits, this.#fallback);
      return -1;
    }
    return next < end || this.#engine.pending ? next : -1;
  }

  #end(flags: number): void {
    const last = (flags & F_LAST) !== 0;
    // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
    if (last && (flags & F_TAIL) === 0) {
      // The tail yields only what is left of the flush before it: nothing to slice.
      const budget = this.#budget;
      this.#budget = Infinity;
      this.#direct = this.#held === 0;
      this.#inflate(DEFLATE_TAIL, 0, DEFLATE_TAIL.length);
      this.#budget = budget;
    }
    const h = this.#head;
    const answer = this.#answers[h]!;
    if (this.#held > 0) {
      const hold = this.#hold!;
      answer.piece(hold, new DataView(hold.buffer, hold.byteOffset, this.#held), this.#held);
      this.#held = 0;
      if (hold.length > KEEP) this.#hold = null;
    }
    const length = this.#produced;
    this.#produced = 0;
    const badUtf8 = last && this.#text && !this.#utf8.end();
    // §7.1.1: with no_context_takeover the sender starts each message afresh; so does its reader.
    if (last && this.#options.noContextTakeover && this.#error === null && !this.#engineClosed) this.#engine.reset();
    this.#head = h + 1;
    if (this.#head === this.#answers.length) {
      this.#answers.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#answers.length) {
      this.#answers = this.#answers.slice(this.#head);
      this.#head = 0;
    }
    answer.done(length, this.#error, badUtf8);
  }

  /** zlib's output piece out[0, n): the part within the cap is kept; a text message's is checked whole. */
  #take(out: Buffer, n: number): void {
    this.#budget -= n;
    this.#produced += n;
    if (this.#out !== out) {
      this.#out = out;
      this.#outView = new DataView(out.buffer, out.byteOffset, out.length);
    }
    const k = Math.min(this.#cap - this.#kept, n);
    let ascii = false;
    if (k > 0) {
      this.#kept += k;
      if (this.#direct) {
        this.#direct = false;
        ascii = this.#answers[this.#head]!.piece(out, this.#outView, k) && k === n;
      } else this.#keep(out, k);
    }
    if (!this.#text) return;
    if (ascii) return void this.#utf8.pushAscii();
    // Short ASCII (the usual JSON message) is seen a word at a time.
    if (n < ASCII_WORDS_BELOW && asciiWords(this.#outView, 0, n)) this.#utf8.pushAscii();
    else this.#utf8.pushRange(out, 0, n);
  }

  /** Holds out[0, k) until the frame ends. */
  #keep(out: Uint8Array, k: number): void {
    const need = this.#held + k;
    if (this.#hold === null || this.#hold.length < need) {
      const bigger = Buffer.allocUnsafe(Math.max(need, 2 * (this.#hold?.length ?? 0), 1024));
      if (this.#held > 0) this.#hold!.copy(bigger, 0, 0, this.#held);
      this.#hold = bigger;
    }
    this.#hold.set(k === out.length ? out : out.subarray(0, k), this.#held);
    this.#held = need;
  }

  #check(): void {
    const over = this.#length - this.#readAt > BACKLOG_LIMIT;
    if (over !== this.#over) {
      this.#over = over;
      this.hooks.backlog?.(over);
    }
  }

  /**
   * Frees the zlib memory once the frames already ended have their answers: a large message just
   * before the session's close is still recorded whole. A frame not ended is abandoned.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#scheduled && !this.#running) {
      // What was queued and ended still runs (its records are awaited); then the engine goes.
      this.#budget = TURN_BUDGET;
      this.#run();
    }
  }

  #closeEngine(): void {
    if (this.#engineClosed) return;
    this.#engineClosed = true;
    this.#engine.close();
  }
}
