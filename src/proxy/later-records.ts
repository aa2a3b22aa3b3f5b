/**
 * The records of one direction's compressed frames inflated after their chunk's write
 * (later-inflater.ts): written through at once, recorded once their output is known. They keep
 * their place in the session's order: the frames of one read share one place reserved in the
 * Sequencer (a closure per read, not per frame), and each frame's preview goes into the slab as a
 * plain frame's does (slab.ts IN_SLAB).
 */
import { unmaskWords } from '../protocol/mask.js';
import type { InflateAnswer, LaterInflater } from './later-inflater.js';
import type { PeerRecords } from './peer-records.js';
import { inflatedViolations } from './pipe-observe.js';
import type { Current, Message } from './pipe-state.js';
import type { Sequencer } from './sequencer.js';
import { IN_SLAB, SLAB_PIECE, slab } from './slab.js';

const EMPTY = new Uint8Array(0);

export class LaterRecords implements InflateAnswer {
  readonly #peer: PeerRecords;
  readonly #records: Sequencer;
  /** Frames in order, from absolute index `#base`; before `#answered` they have their answer. */
  #items: (Current | undefined)[] = [];
  #base = 0;
  #answered = 0;
  /** Recorded (handed to the Sequencer) up to here. */
  #emitted = 0;
  /** Places reserved in the Sequencer, oldest first: where each ends, and how to fill it. */
  #ends: number[] = [];
  #fills: ((fn: () => void) => void)[] = [];
  /** The Sequencer's count of places right after the last reservation (still the last if equal). */
  #stamp = -1;
  /** Frames recorded so far, and who waits for all of them (settled). */
  #flushed = 0;
  #settled: (() => void)[] = [];

  constructor(peer: PeerRecords, records: Sequencer) {
    this.#peer = peer;
    this.#records = records;
  }

  /** Nothing waits: every frame added has been recorded. */
  get idle(): boolean {
    return this.#flushed === this.#base + this.#items.length;
  }

  /**
   * A frame that ended waits for its output (its record's fields kept on it, as PeerRecords.hold
   * does): everything recorded before it goes out first.
   */
  add(cur: Current, close: Current['close'], msg: Message | null, last: boolean, time: number, inflater: LaterInflater): void {
    this.#peer.release();
    cur.close = close;
    cur.msg = msg;
    cur.last = last;
    cur.endTime = time;
    const end = this.#base + this.#items.length + 1;
    this.#items.push(cur);
    const n = this.#ends.length;
    // Nothing took a place after this read's: the frame joins it.
    if (n > 0 && this.#records.stamp === this.#stamp) this.#ends[n - 1] = end;
    else {
      this.#fills.push(this.#records.reserve());
      this.#ends.push(end);
      this.#stamp = this.#records.stamp;
    }
    inflater.endFrameTo(last, this);
  }

  piece(bytes: Uint8Array, view: DataView, n: number): boolean {
    const cur = this.#items[this.#answered - this.#base]!;
    if (cur.previewLen === 0 && n <= SLAB_PIECE) {
      // Copied a word at a time, seen to be ASCII on the way.
      const at = slab.take(n);
      const ascii = unmaskWords(view, 0, n, 0, 0, slab.view, at);
      cur.slabMemory = slab.memory;
      cur.slabAt = at;
      cur.previewLen = n;
      return ascii;
    }
    // Large, or in pieces (over zlib's 16 KiB a call): one buffer of them all.
    const before = cur.slabMemory !== null ? new Uint8Array(cur.slabMemory, cur.slabAt, cur.previewLen) : (cur.preview ?? EMPTY);
    const all = Buffer.allocUnsafe(cur.previewLen + n);
    all.set(before.subarray(0, cur.previewLen));
    all.set(bytes.subarray(0, n), cur.previewLen);
    cur.slabMemory = null;
    cur.preview = all;
    cur.previewLen += n;
    return false;
  }

  done(length: number, error: Error | null, badUtf8: boolean): void {
    const cur = this.#items[this.#answered++ - this.#base]!;
    cur.shownLength = length;
    inflatedViolations(cur, error, badUtf8);
    while (this.#ends.length > 0 && this.#ends[0]! <= this.#answered) {
      const start = this.#emitted;
      const end = this.#ends.shift()!;
      this.#emitted = end;
      this.#fills.shift()!(() => this.#record(start, end));
    }
  }

  #record(start: number, end: number): void {
    for (let i = start; i < end; i++) {
      const k = i - this.#base;
      const cur = this.#items[k]!;
      this.#items[k] = undefined;
      const shown = cur.slabMemory !== null ? IN_SLAB : cur.preview === null ? EMPTY : cur.preview.subarray(0, cur.previewLen);
      this.#peer.record(cur, shown, cur.close, cur.msg, cur.last, cur.endTime, cur.shownLength);
    }
    this.#flushed = end;
    this.#compact();
    if (this.idle && this.#settled.length > 0) for (const resolve of this.#settled.splice(0)) resolve();
  }

  /** Drops what has been recorded from the front of the list. */
  #compact(): void {
    const gone = this.#flushed - this.#base;
    if (gone === this.#items.length) this.#items.length = 0;
    else if (gone >= 1024 && gone * 2 >= this.#items.length) this.#items = this.#items.slice(gone);
    else return;
    this.#base = this.#flushed;
  }

  /** Resolves once every frame added so far has been recorded. */
  settled(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#settled.push(resolve));
  }
}
