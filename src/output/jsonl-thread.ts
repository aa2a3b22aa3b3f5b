/**
 * The JSONL log's writer: the relay's thread only packs each record into a batch in shared memory
 * (jsonl-entries.ts); a thread of its own (jsonl-worker.ts) encodes the lines and writes the file.
 * Encoding two lines per frame, and at the default --max-preview a 64 KiB payload twice in base64,
 * cost the relay's thread more than relaying the frame did.
 *
 * A log is the record of what happened, so nothing is dropped: the batches form a ring of SLOTS
 * (16 MiB in all), handed over in order. When every slot waits for the writer (a disk slower than
 * the traffic), the relay's thread waits for one to come free: the peers are held back by TCP as
 * they would be by a slow peer, and the log says so in a `backpressure` record. The counters the
 * two threads share are in shared memory, so the wait needs no message from the writer, and the
 * file is complete after close() or, when the process exits without it, after its 'exit' event.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';
import type { FrameRecord, MessageRecord } from '../proxy/events.js';
import { byBytes, frameEntrySize, lineEntryRoom, messageEntrySize, packFrame, packLine, packMessage, packPart, PART_HEADER } from './jsonl-entries.js';

/** Indexes into the shared counters. */
export const PRODUCED = 0;
export const CONSUMED = 1;
export const CLOSING = 2;
export const FAILED = 3;
export const DONE = 4;
/** Slot i's length is at LENGTHS + i. */
export const LENGTHS = 8;

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
  readonly slots?: number;
  readonly slotBytes?: number;
}

const SLOTS = 64;
const SLOT_BYTES = 256 * 1024;
const FLUSH_MS = 10;
/** At most one backpressure record a second. */
const NOTE_MS = 1000;
/** At exit without close(): how long the writer may make no progress before the rest is given up. */
const EXIT_STALL_MS = 10_000;

export class JsonlThread {
  readonly #fd: number;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #ctl: Int32Array;
  readonly #slots: Buffer[];
  readonly #slotBytes: number;
  /** Batches handed over so far; the one being filled is #produced % slots. */
  #produced = 0;
  /** Whether the slot being filled is known to be free. */
  #claimed = false;
  #at = 0;
  /** The payload of the frame entry just packed in this slot (a one-frame message reuses it). */
  #lastPayload: Uint8Array | null = null;
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
    const slots = options.slots ?? SLOTS;
    this.#slotBytes = options.slotBytes ?? SLOT_BYTES;
    const shared = new SharedArrayBuffer(slots * this.#slotBytes);
    const control = new SharedArrayBuffer((LENGTHS + slots) * 4);
    this.#ctl = new Int32Array(control);
    this.#slots = Array.from({ length: slots }, (_, i) => Buffer.from(shared, i * this.#slotBytes, this.#slotBytes));
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
      const entry = Buffer.allocUnsafe(room);
      return this.#pieces(entry.subarray(0, packLine(entry, 0, text)));
    }
    this.#room(room);
    this.#at = packLine(this.#slots[this.#slot()]!, this.#at, text);
    this.#scheduled();
  }

  /** False when the frame must go as its line (jsonl-entries.ts says which). */
  frame(f: FrameRecord): boolean {
    const n = frameEntrySize(f);
    if (n < 0) return false;
    if (!this.#open()) return true;
    if (n > this.#slotBytes) {
      const entry = Buffer.allocUnsafe(n);
      packFrame(entry, 0, f);
      this.#pieces(entry);
      return true;
    }
    this.#room(n);
    this.#at = packFrame(this.#slots[this.#slot()]!, this.#at, f);
    this.#lastPayload = f.payload;
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
    // Only a payload packed in this very slot may be pointed at: an earlier slot may be reused.
    const same = m.payload === this.#lastPayload && m.payload.length > 0;
    let n = messageEntrySize(m, same, by);
    if (n < 0) return false;
    if (!this.#open()) return true;
    if (n > this.#slotBytes) {
      const entry = Buffer.allocUnsafe(n);
      packMessage(entry, 0, m, false, by);
      this.#pieces(entry);
      return true;
    }
    this.#room(n);
    // #room may have started a new slot: the frame's payload is then not there to point at.
    const reuse = same && this.#lastPayload === m.payload;
    if (same && !reuse) {
      n = messageEntrySize(m, false, by);
      this.#room(n);
    }
    this.#at = packMessage(this.#slots[this.#slot()]!, this.#at, m, reuse, by);
    this.#lastPayload = null;
    this.#scheduled();
    return true;
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

  #slot(): number {
    return this.#produced % this.#slots.length;
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
      else if (this.#at === 0 || this.#at + n <= this.#slotBytes) return;
      else this.#publish();
    }
  }

  /** An entry larger than a slot, in pieces across slots. */
  #pieces(entry: Buffer): void {
    for (let at = 0; at < entry.length; ) {
      this.#room(PART_HEADER + 1);
      const piece = entry.subarray(at, at + this.#slotBytes - this.#at - PART_HEADER);
      at += piece.length;
      this.#at = packPart(this.#slots[this.#slot()]!, this.#at, piece, at === entry.length);
    }
    this.#lastPayload = null;
    this.#scheduled();
  }

  /** Waits, when every slot is still the writer's, until the one to fill next is free. */
  #claim(): void {
    const ctl = this.#ctl;
    const need = this.#produced - this.#slots.length + 1;
    let consumed = Atomics.load(ctl, CONSUMED);
    if (consumed < need) {
      const start = performance.now();
      while (consumed < need && Atomics.load(ctl, FAILED) === 0) {
        Atomics.wait(ctl, CONSUMED, consumed, 200);
        consumed = Atomics.load(ctl, CONSUMED);
      }
      this.#waits++;
      this.#waitedMs += performance.now() - start;
    }
    this.#claimed = true;
    if (this.#waits > 0 && performance.now() - this.#noted >= NOTE_MS) this.#note();
  }

  /** Says in the log how long the relay waited for it since the last such record. */
  #note(): void {
    const text = backpressureLine(this.#waits, this.#waitedMs);
    this.#waits = 0;
    this.#waitedMs = 0;
    this.#noted = performance.now();
    this.#room(lineEntryRoom(text));
    this.#at = packLine(this.#slots[this.#slot()]!, this.#at, text);
  }

  #publish(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (!this.#claimed || this.#at === 0) return;
    const ctl = this.#ctl;
    ctl[LENGTHS + this.#slot()] = this.#at;
    this.#produced++;
    Atomics.store(ctl, PRODUCED, this.#produced);
    Atomics.notify(ctl, PRODUCED);
    this.#at = 0;
    this.#claimed = false;
    this.#lastPayload = null;
  }

  #scheduled(): void {
    this.#timer ??= setTimeout(() => this.#publish(), FLUSH_MS);
  }

  /** The last batch and the word to stop: the writer ends once the file has everything. */
  #finish(): void {
    if (this.#open() && this.#waits > 0) this.#note();
    this.#publish();
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
