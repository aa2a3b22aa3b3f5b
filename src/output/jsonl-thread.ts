/**
 * The JSONL log's writer: the relay's thread only packs each record into a batch in shared memory
 * (jsonl-entries.ts); a thread of its own (jsonl-worker.ts) encodes the lines and writes the file.
 * Encoding two lines per frame, and at the default --max-preview a 64 KiB payload twice in base64,
 * cost the relay's thread more than relaying the frame did.
 *
 * A log is the record of what happened, so nothing is dropped: batches are handed over in order,
 * each in one of a number of slots (64 MiB in all unless --log-buffer says otherwise; the slot freed last is filled next, so a log that
 * keeps up touches only a few). When every slot waits for the writer (a disk slower than the
 * traffic), the relay's thread waits for one to come free: the peers are held back by TCP as they
 * would be by a slow peer, and the log says so in a `backpressure` record. The counters the two
 * threads share are in shared memory, so the wait needs no message from the writer, and the file
 * is complete after close() or, when the process exits without it, after its 'exit' event.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';
import type { FrameRecord, MessageRecord } from '../proxy/events.js';
import { payloadFrameOf, payloadLengthOf } from '../proxy/pipe-records.js';
import { byBytes, entryKey, frameEntrySize, freshSlab, lineEntryRoom, messageEntrySize, packFrame, packLine, packMessage, packPart, PART_ROOM, slab, type Slab } from './jsonl-entries.js';

/** Indexes into the shared counters. */
export const PRODUCED = 0;
export const CONSUMED = 1;
export const CLOSING = 2;
export const FAILED = 3;
export const DONE = 4;
/** Batch k's length is at LENGTHS + k % slots, its slot at slotIndexes(slots) + k % slots. */
export const LENGTHS = 8;
export const slotIndexes = (slots: number): number => LENGTHS + slots;

export interface JsonlThreadData {
  readonly fd: number;
  /** The batches: slotBytes a slot. */
  readonly shared: SharedArrayBuffer;
  /** Int32 counters: PRODUCED, CONSUMED, ... and the slots' lengths. */
  readonly control: SharedArrayBuffer;
  readonly slots: number;
  readonly slotBytes: number;
}

export interface JsonlThreadOptions {
  /** Bytes of records that may wait for the writer (--log-buffer), in batches of slotBytes; 64 MiB by default. */
  readonly bytes?: number;
  readonly slotBytes?: number;
  /** Instead of `bytes`: how many batches. */
  readonly slots?: number;
}

const BYTES = 64 * 1024 * 1024;
const SLOT_BYTES = 256 * 1024;
const FLUSH_MS = 10;
/** Full batches (1 MiB) handed over before the writer is woken; a partial one wakes it at once. */
const WAKE_AT = 4;
/** At most one backpressure record a second. */
const NOTE_MS = 1000;
/** At exit without close(): how long the writer may make no progress before the rest is given up. */
const EXIT_STALL_MS = 10_000;

export class JsonlThread {
  readonly #fd: number;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #ctl: Int32Array;
  readonly #slab: Slab;
  readonly #slotCount: number;
  readonly #slotBytes: number;
  /** Batches handed over so far, and returned by the writer (their slots free again). */
  #produced = 0;
  #reclaimed = 0;
  /** Free slots, the one freed last on top; the slot of each batch out, by its number % slots. */
  readonly #free: number[];
  readonly #slotOf: Int32Array;
  /** The slot being filled. */
  #slot = 0;
  /** Batches waiting before the writer is woken for them. */
  readonly #wakeAt: number;
  /** Whether the slot being filled is known to be free. */
  #claimed = false;
  /** Where the slot being filled begins in the slab, and where its next entry goes. */
  #base = 0;
  #at = 0;
  /** The frame entry just packed in this slot, whose payload a one-frame message reuses. */
  #lastFrame: FrameRecord | null = null;
  #timer: NodeJS.Timeout | null = null;
  #waits = 0;
  #waitedMs = 0;
  #noted = 0;
  #failed = false;
  #closed = false;
  readonly #byCache = new Map<string, Buffer | null>();
  readonly #onExit = (): void => this.#drainAtExit();

  /** `fd`: the file, open for appending; the writer never closes it, close() does. */
  constructor(fd: number, options: JsonlThreadOptions = {}) {
    this.#fd = fd;
    // Entries start at multiples of 8 (jsonl-entries.ts).
    this.#slotBytes = ((options.slotBytes ?? SLOT_BYTES) + 7) & ~7;
    const slots = options.slots ?? Math.max(2, Math.ceil((options.bytes ?? BYTES) / this.#slotBytes));
    this.#slotCount = slots;
    const shared = new SharedArrayBuffer(slots * this.#slotBytes);
    const control = new SharedArrayBuffer((LENGTHS + 2 * slots) * 4);
    this.#free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    this.#slotOf = new Int32Array(slots);
    this.#wakeAt = Math.max(1, Math.min(WAKE_AT, slots >> 2));
    this.#ctl = new Int32Array(control);
    this.#slab = slab(shared);
    const data: JsonlThreadData = { fd, shared, control, slots, slotBytes: this.#slotBytes };
    this.#worker = new Worker(threadEntry(import.meta.url, 'jsonl-worker'), { eval: true, workerData: data, name: 'wsproxy log' });
    this.#worker.unref();
    this.#worker.on('message', (m: { readonly error: string }) => process.stderr.write(`wsproxy: --log-file: ${m.error}; the log ends here\n`));
    this.#worker.on('error', (error) => {
      Atomics.store(this.#ctl, FAILED, 1);
      process.stderr.write(`wsproxy: --log-file: the log's thread stopped: ${error.message}\n`);
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    process.on('exit', this.#onExit);
  }

  /** A record's line, already JSON. */
  line(text: string): void {
    if (!this.#open()) return;
    const room = lineEntryRoom(text);
    if (room > this.#slotBytes) {
      const entry = freshSlab(room);
      return this.#pieces(entry.bytes.subarray(0, packLine(entry, 0, text)));
    }
    this.#room(room);
    this.#at = packLine(this.#slab, this.#at, text);
    this.#scheduled();
  }

  /** False when the frame must go as its line (jsonl-entries.ts says which). */
  frame(f: FrameRecord): boolean {
    const key = entryKey(f);
    const n = frameEntrySize(f, key);
    if (n < 0 || key === undefined) return false;
    if (!this.#open()) return true;
    if (n > this.#slotBytes) {
      const entry = freshSlab(n);
      this.#pieces(entry.bytes.subarray(0, packFrame(entry, 0, f, key)));
      return true;
    }
    this.#room(n);
    this.#at = packFrame(this.#slab, this.#at, f, key);
    this.#lastFrame = f;
    this.#scheduled();
    return true;
  }

  /** False when the message must go as its line. */
  message(m: MessageRecord): boolean {
    let by: Buffer | null = null;
    if (m.by !== null) {
      by = this.#byCache.get(m.by) ?? null;
      if (by === null && !this.#byCache.has(m.by)) {
        by = byBytes(m.by);
        if (this.#byCache.size < 64) this.#byCache.set(m.by, by);
      }
    }
    // A one-frame message's record names its frame: no payload is made to compare.
    const frame = payloadFrameOf(m);
    let same = frame !== null ? frame === this.#lastFrame : this.#samePayload(m.payload);
    let n = messageEntrySize(m, same, by);
    if (n < 0) return false;
    if (!this.#open()) return true;
    if (n > this.#slotBytes) {
      const entry = freshSlab(n);
      this.#pieces(entry.bytes.subarray(0, packMessage(entry, 0, m, false, by)));
      return true;
    }
    this.#room(n);
    // #room may have started a new batch: the frame's payload is then not there to point at.
    if (same && this.#lastFrame === null) {
      same = false;
      this.#room(messageEntrySize(m, false, by));
    }
    this.#at = packMessage(this.#slab, this.#at, m, same, by);
    this.#lastFrame = null;
    this.#scheduled();
    return true;
  }

  /**
   * Whether `p` is the payload of the frame entry just packed, in this batch (an earlier batch may
   * be reused by now): the same bytes of the same memory, whether or not the same view.
   */
  #samePayload(p: Uint8Array): boolean {
    const frame = this.#lastFrame;
    if (frame === null || p.length === 0 || p.length !== payloadLengthOf(frame)) return false;
    const last = frame.payload;
    return p === last || (p.buffer === last.buffer && p.byteOffset === last.byteOffset);
  }

  /** Hands over what is left, waits until the file has it all, and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#finish();
    // Unreferenced while it runs (it must not keep the process alive), but waited for now.
    this.#worker.ref();
    await this.#exited;
    process.off('exit', this.#onExit);
    await new Promise<void>((resolve) => fs.close(this.#fd, () => resolve()));
  }

  #open(): boolean {
    if (this.#failed || this.#closed) return false;
    if (Atomics.load(this.#ctl, FAILED) !== 0) {
      this.#failed = true;
      return false;
    }
    return true;
  }

  /** Makes room for `n` bytes (at most a slot) in the slot being filled. */
  #room(n: number): void {
    for (;;) {
      // Claiming may write a backpressure record first, hence the loop.
      if (!this.#claimed) this.#claim();
      else if (this.#at === this.#base || this.#at + n <= this.#base + this.#slotBytes) return;
      else this.#publish(false);
    }
  }

  /** An entry larger than a slot, in pieces across slots. */
  #pieces(entry: Buffer): void {
    for (let at = 0; at < entry.length; ) {
      this.#room(PART_ROOM);
      const piece = entry.subarray(at, at + this.#base + this.#slotBytes - this.#at - PART_ROOM);
      at += piece.length;
      this.#at = packPart(this.#slab, this.#at, piece, at === entry.length);
    }
    this.#lastFrame = null;
    this.#scheduled();
  }

  /** Takes a free slot for the next batch, waiting, when every slot is still the writer's, for one. */
  #claim(): void {
    const ctl = this.#ctl;
    this.#reclaim();
    if (this.#free.length === 0) {
      const start = performance.now();
      // The writer may be asleep with fewer than #wakeAt batches waiting: it has them all now.
      Atomics.notify(ctl, PRODUCED);
      while (this.#free.length === 0 && Atomics.load(ctl, FAILED) === 0) {
        Atomics.wait(ctl, CONSUMED, this.#reclaimed, 200);
        this.#reclaim();
      }
      this.#waits++;
      this.#waitedMs += performance.now() - start;
    }
    // After a failure nothing is read any more: any slot will do.
    this.#slot = this.#free.pop() ?? this.#slot;
    const k = this.#produced % this.#slotCount;
    this.#slotOf[k] = this.#slot;
    ctl[slotIndexes(this.#slotCount) + k] = this.#slot;
    this.#claimed = true;
    this.#base = this.#slot * this.#slotBytes;
    this.#at = this.#base;
    if (this.#waits > 0 && performance.now() - this.#noted >= NOTE_MS) this.#note();
  }

  /** The slots of the batches the writer is done with are free again. */
  #reclaim(): void {
    const consumed = Atomics.load(this.#ctl, CONSUMED);
    while (this.#reclaimed < consumed) this.#free.push(this.#slotOf[this.#reclaimed++ % this.#slotCount]!);
  }

  /** Says in the log how long the relay waited for it since the last such record. */
  #note(): void {
    const text = backpressureLine(this.#waits, this.#waitedMs);
    this.#waits = 0;
    this.#waitedMs = 0;
    this.#noted = performance.now();
    this.#room(lineEntryRoom(text));
    this.#at = packLine(this.#slab, this.#at, text);
  }

  /**
   * Hands the batch over. The writer is woken only when a few batches wait (`wake`: at once):
   * waking a thread lets the scheduler give it the relay's core there and then, and on two busy
   * cores a wake per batch cost the relay a time slice each.
   */
  #publish(wake: boolean): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (!this.#claimed || this.#at === this.#base) return;
    const ctl = this.#ctl;
    ctl[LENGTHS + (this.#produced % this.#slotCount)] = this.#at - this.#base;
    this.#produced++;
    Atomics.store(ctl, PRODUCED, this.#produced);
    if (wake || this.#produced - Atomics.load(ctl, CONSUMED) >= this.#wakeAt) Atomics.notify(ctl, PRODUCED);
    this.#claimed = false;
    this.#lastFrame = null;
  }

  #scheduled(): void {
    this.#timer ??= setTimeout(() => this.#publish(true), FLUSH_MS);
  }

  /** The last batch and the word to stop: the writer ends once the file has everything. */
  #finish(): void {
    if (this.#open() && this.#waits > 0) this.#note();
    this.#publish(true);
    this.#closed = true;
    Atomics.store(this.#ctl, CLOSING, 1);
    Atomics.notify(this.#ctl, PRODUCED);
  }

  /** The process exits without close() (an error, a closed stdout): the file still gets every record. */
  #drainAtExit(): void {
    if (this.#closed) return;
    this.#finish();
    const ctl = this.#ctl;
    let consumed = Atomics.load(ctl, CONSUMED);
    let since = Date.now();
    while (Atomics.load(ctl, DONE) === 0 && Date.now() - since < EXIT_STALL_MS) {
      Atomics.wait(ctl, DONE, 0, 50);
      const now = Atomics.load(ctl, CONSUMED);
      if (now !== consumed) {
        consumed = now;
        since = Date.now();
      }
    }
  }
}

export function backpressureLine(waits: number, waitedMs: number): string {
  return JSON.stringify({ type: 'backpressure', time: new Date().toISOString(), waits, waitedMs: Math.round(waitedMs) });
}
