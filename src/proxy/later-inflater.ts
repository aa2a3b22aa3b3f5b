/**
 * permessage-deflate inflated after the relay has written, for the records only (RFC 7692): a
 * compressed frame goes through at once, and its record follows once its output is known, in the
 * session's order (later-records.ts). Each direction is a LaterInflater, which writes its frames
 * as requests (inflate-wire.ts) for an InflateEngine (inflate-engine.ts) run by a transport: this
 * thread right after each chunk's write (InflateAfterWrite, the default), or a thread of its own
 * (inflate-thread.ts). A small frame costs one request written and one answer read, and no object.
 *
 * With --strict the relay inflates as it reads (inflater.ts): a violation found in the inflated
 * text must stop the frame before it is relayed.
 */
import { InflateEngine } from './inflate-engine.js';
import { DONE_BAD_UTF8, F_BEGIN, F_END, F_LAST, F_TAIL, F_TEXT, REQ_HEAD, Req } from './inflate-wire.js';
import type { InflatedPart, InflaterHooks, InflaterOptions, PayloadInflater, PieceCheck } from './inflater.js';

/** Compressed bytes in flight per direction before its sender is paused (as inflater.ts). */
const BACKLOG_LIMIT = 1024 * 1024;
/** FRAME records are cut to this size. */
const DATA_PIECE = 64 * 1024;

/** Who hears a frame's answer: its kept output piece by piece, then how it ended. */
export interface InflateAnswer {
  /** Output bytes[from, to) (`view` is a DataView of `bytes`), valid during the call only. */
  piece(bytes: Uint8Array, view: DataView, from: number, to: number): void;
  /** `length`: its inflated length, kept or not. */
  done(length: number, error: Error | null, badUtf8: boolean): void;
}

/** Where a request is being written. */
export interface Target {
  bytes: Uint8Array;
  view: DataView;
}

/** Runs the requests of every LaterInflater, in the order they were written. */
export interface Transport {
  readonly target: Target;
  open(options: InflaterOptions): number;
  /** Begins a request of n bytes in `target` (type and context written); returns where it starts. */
  begin(n: number, type: number, id: number): number;
  commit(): void;
  /** A frame ended: `answer` hears of it once everything written before has been run. */
  awaits(answer: InflateAnswer, owner: LaterInflater, bytes: number): void;
  /** A socket read begins. */
  turn(): void;
  /** A chunk's output has been written. */
  written(): void;
}

/** The frames awaiting their answers, oldest first: who hears it, whose it is, its compressed bytes. */
export class AnswerQueue {
  #answers: InflateAnswer[] = [];
  #owners: LaterInflater[] = [];
  #bytes: number[] = [];
  #head = 0;

  get empty(): boolean {
    return this.#head === this.#answers.length;
  }

  push(answer: InflateAnswer, owner: LaterInflater, bytes: number): void {
    this.#answers.push(answer);
    this.#owners.push(owner);
    this.#bytes.push(bytes);
  }

  piece(bytes: Uint8Array, view: DataView, from: number, to: number): void {
    this.#answers[this.#head]!.piece(bytes, view, from, to);
  }

  done(length: number, error: Error | null, flags: number): void {
    const h = this.#head;
    const answer = this.#answers[h]!;
    const owner = this.#owners[h]!;
    const bytes = this.#bytes[h]!;
    this.#head = h + 1;
    if (this.#head === this.#answers.length) {
      this.#answers.length = 0;
      this.#owners.length = 0;
      this.#bytes.length = 0;
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#answers.length) {
      this.#answers = this.#answers.slice(this.#head);
      this.#owners = this.#owners.slice(this.#head);
      this.#bytes = this.#bytes.slice(this.#head);
      this.#head = 0;
    }
    owner.answered(bytes);
    answer.done(length, error, (flags & DONE_BAD_UTF8) !== 0);
  }
}

/**
 * Requests gathered while a chunk is read, run once its output has been written: the peer's bytes
 * leave before zlib sees them, and zlib then runs on a batch, not between frames. A compressed
 * message larger than a socket's read is inflated a read's worth at a time, as it arrives.
 */
export class InflateAfterWrite implements Transport {
  readonly target: Target = { bytes: new Uint8Array(64 * 1024), view: new DataView(new ArrayBuffer(0)) };
  #length = 0;
  #open = 0;
  #nextId = 1;
  #running = false;
  readonly #queue = new AnswerQueue();
  readonly #engine = new InflateEngine({
    piece: (out, view, n) => this.#queue.piece(out, view, 0, n),
    done: (flags, length, error) => this.#queue.done(length, error, flags),
  });

  constructor() {
    this.target.view = new DataView(this.target.bytes.buffer);
  }

  open(options: InflaterOptions): number {
    const id = this.#nextId++;
    const at = this.begin(REQ_HEAD + 2, Req.OPEN, id);
    this.target.bytes[at + REQ_HEAD] = options.windowBits;
    this.target.bytes[at + REQ_HEAD + 1] = options.noContextTakeover ? 1 : 0;
    this.commit();
    return id;
  }

  begin(n: number, type: number, id: number): number {
    const t = this.target;
    if (this.#length + 4 + n > t.bytes.length) {
      const bigger = new Uint8Array(Math.max(t.bytes.length * 2, this.#length + 4 + n));
      bigger.set(t.bytes.subarray(0, this.#length));
      t.bytes = bigger;
      t.view = new DataView(bigger.buffer);
    }
    const at = this.#length + 4;
    t.view.setUint32(this.#length, n, true);
    t.bytes[at] = type;
    t.view.setUint32(at + 1, id, true);
    this.#open = n;
    return at;
  }

  commit(): void {
    this.#length += 4 + this.#open;
  }

  awaits(answer: InflateAnswer, owner: LaterInflater, bytes: number): void {
    this.#queue.push(answer, owner, bytes);
  }

  turn(): void {}

  /** Runs what was asked (an answer may lead to more requests: they run in the same pass). */
  written(): void {
    if (this.#running || this.#length === 0) return;
    this.#running = true;
    try {
      const t = this.target;
      for (let at = 0; at < this.#length; ) {
        const n = t.view.getUint32(at, true);
        this.#engine.handle(t.bytes, t.view, at + 4, n);
        at += 4 + n;
      }
      this.#length = 0;
      if (t.bytes.length > 1024 * 1024) {
        // Back to its usual size after a large message.
        t.bytes = new Uint8Array(64 * 1024);
        t.view = new DataView(t.bytes.buffer);
      }
    } finally {
      this.#running = false;
    }
  }
}

/** A promised part: what the pipe's held messages (deciders, re-compression) wait for. */
class PartAnswer implements InflateAnswer {
  #chunks: Buffer[] = [];
  readonly #resolve: (part: InflatedPart) => void;

  constructor(resolve: (part: InflatedPart) => void) {
    this.#resolve = resolve;
  }

  piece(bytes: Uint8Array, _view: DataView, from: number, to: number): void {
    this.#chunks.push(Buffer.from(bytes.subarray(from, to)));
  }

  done(length: number, error: Error | null, badUtf8: boolean): void {
    const c = this.#chunks;
    this.#resolve({ data: c.length === 1 ? c[0]! : Buffer.concat(c), length, error, badUtf8 });
  }
}

let afterWrite: InflateAfterWrite | null = null;

/**
 * One direction's inflater whose parts come later, always: as a promise (endFrame, inflater.ts's
 * interface), or to an InflateAnswer (endFrameTo: no object per frame).
 */
export class LaterInflater implements PayloadInflater {
  readonly #transport: Transport;
  readonly #id: number;
  /** The message begun and not yet told to the engine (it goes with its first FRAME). */
  #begin = false;
  #cap = 0;
  #text = false;
  /** The frame being read was ended with its bytes (a whole last frame with its tail). */
  #ended = false;
  /** Compressed bytes of the frame being read, and of all frames awaiting their answer. */
  #frameBytes = 0;
  #backlog = 0;
  #over = false;
  #awaited = 0;
  #closed = false;
  hooks: InflaterHooks = {};

  /** `transport`: the shared thread's (inflate-thread.ts); by default this thread's, after each write. */
  constructor(options: InflaterOptions, transport: Transport = (afterWrite ??= new InflateAfterWrite())) {
    this.#transport = transport;
    this.#id = transport.open(options);
  }

  get threaded(): true {
    return true;
  }

  get backlogged(): boolean {
    return this.#over;
  }

  /** No frame awaits its answer. */
  get idle(): boolean {
    return this.#awaited === 0;
  }

  turn(): void {
    this.#transport.turn();
  }

  written(): void {
    this.#transport.written();
  }

  /** `check` is not used: the engine checks UTF-8 itself when `text`. */
  begin(cap: number, _check: PieceCheck | null, text = false): void {
    this.#begin = true;
    this.#cap = cap;
    this.#text = text;
  }

  #request(n: number, flags: number): number {
    const t = this.#transport;
    const head = REQ_HEAD + 1 + (this.#begin ? 8 : 0);
    const at = t.begin(head + n, Req.FRAME, this.#id);
    t.target.bytes[at + REQ_HEAD] = flags | (this.#begin ? F_BEGIN | (this.#text ? F_TEXT : 0) : 0);
    if (this.#begin) t.target.view.setFloat64(at + REQ_HEAD + 1, this.#cap, true);
    this.#begin = false;
    return at + head;
  }

  /**
   * Room for n compressed bytes of the frame being read, written by the caller into
   * `input.bytes`/`input.view` from the offset returned; then commitInput(). `tail`: they are
   * the message's whole last frame with the RFC 7692 tail, so the frame ends with them.
   */
  reserveInput(n: number, tail: boolean): number {
    this.#ended = tail;
    this.#frameBytes += n;
    return this.#request(n, tail ? F_END | F_LAST | F_TAIL : 0);
  }

  /** Where reserveInput's room is (valid until commitInput). */
  get input(): Target {
    return this.#transport.target;
  }

  commitInput(): void {
    this.#transport.commit();
  }

  write(data: Uint8Array, start = 0, end = data.length, tail = false): void {
    if (this.#closed) return;
    for (let from = start; ; from += DATA_PIECE) {
      const to = Math.min(end, from + DATA_PIECE);
      const at = this.reserveInput(to - from, tail && to === end);
      this.input.bytes.set(data.subarray(from, to), at);
      this.commitInput();
      if (to >= end) break;
    }
  }

  /** Ends the frame; its part comes to `answer`. */
  endFrameTo(last: boolean, answer: InflateAnswer): void {
    if (!this.#ended) {
      this.#request(0, F_END | (last ? F_LAST : 0));
      this.#transport.commit();
    }
    this.#ended = false;
    const bytes = this.#frameBytes;
    this.#frameBytes = 0;
    this.#awaited++;
    this.#backlog += bytes;
    if (bytes > 0) this.#check();
    this.#transport.awaits(answer, this, bytes);
  }

  endFrame(last: boolean): Promise<InflatedPart> {
    return new Promise((resolve) => this.endFrameTo(last, new PartAnswer(resolve)));
  }

  /** A frame's answer came (before its InflateAnswer hears it). */
  answered(bytes: number): void {
    this.#awaited--;
    this.#backlog -= bytes;
    if (bytes > 0) this.#check();
  }

  #check(): void {
    const over = this.#backlog > BACKLOG_LIMIT;
    if (over !== this.#over) {
      this.#over = over;
      this.hooks.backlog?.(over);
    }
  }

  /** The context is freed once the frames already ended are answered (requests run in order). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.begin(REQ_HEAD, Req.CLOSE, this.#id);
    this.#transport.commit();
  }
}
