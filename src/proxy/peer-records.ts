/**
 * The records of one direction's peer frames and messages, in the session's order. A frame that
 * went through cleanly is held until its chunk has been written (the peer's bytes wait for no
 * observer), then recorded with the others of that chunk; anything else that goes on the bus
 * (a violation, a log line, a frame the proxy writes) first lets the held ones out.
 */
import type { Violation } from '../protocol/violations.js';
import type { FrameRecord, Side } from './events.js';
import { account } from './pipe-observe.js';
import type { PipeHost } from './pipe-host.js';
import { emitFrame } from './pipe-records.js';
import type { Current, Message } from './pipe-state.js';
import { plainMessagesWanted, previewBytes } from './preview-demand.js';
import { IN_SLAB } from './slab.js';

export class PeerRecords {
  readonly #host: PipeHost;
  readonly #from: Side;
  /**
   * Frames of the chunk being relayed whose records wait, linked through their own state: an
   * array per read grew by copies as a read's frames came in (a hundred on a busy session).
   */
  #first: Current | null = null;
  #last: Current | null = null;
  /** Payload bytes per frame the observers read (at most --max-preview), as of this read. */
  preview: number;
  /** Whether an observer reads plain one-frame messages, as of this read (preview-demand.ts). */
  #plain = true;

  constructor(host: PipeHost, from: Side) {
    this.#host = host;
    this.#from = from;
    this.preview = host.limits.maxPreview;
  }

  /** A socket read begins: what the observers attached now read. */
  read(): void {
    const bus = this.#host.bus;
    this.preview = previewBytes(bus, this.#host.limits.maxPreview);
    this.#plain = plainMessagesWanted(bus);
  }

  /**
   * A frame whose record waits for its chunk's write (see record for the arguments), kept on its
   * own state rather than in an object of its own.
   */
  hold(cur: Current, preview: Uint8Array, close: FrameRecord['close'], msg: Message | null, last: boolean, time: number, length: number): void {
    cur.shown = preview;
    cur.close = close;
    cur.msg = msg;
    cur.last = last;
    cur.endTime = time;
    cur.shownLength = length;
    if (this.#last === null) this.#first = cur;
    else this.#last.nextHeld = cur;
    this.#last = cur;
  }

  /**
   * A peer frame's record, and its message's bookkeeping. `time`: when the frame's last bytes
   * arrived (its message ends then, if it is the last frame); `length`: the payload's length as
   * observers count it (inflated, for a compressed frame).
   */
  record(cur: Current, preview: Uint8Array, close: FrameRecord['close'], msg: Message | null, last: boolean, time: number, length: number): void {
    // A preview still in the slab gets its Buffer only when an observer asks the frame's record, or
    // its message's, for the payload (pipe-records.ts); the two then share it.
    const lazy = preview === IN_SLAB ? cur.slabMemory : null;
    const truncated = length > (lazy === null ? preview.length : cur.previewLen);
    const frame = emitFrame(this.#host, this.#from, cur, preview, truncated, close, 'peer', cur.message?.compressed ?? false, lazy, cur.slabAt, cur.previewLen);
    for (const v of cur.violations) this.report(v, cur.id);
    if (msg !== null) account(this.#host, this.#from, this.preview, msg, frame, length, last, time, this.#plain);
  }

  /** Emits the records held for the chunk being relayed: whatever goes on the bus next comes after them. */
  release(): void {
    let c = this.#first;
    if (c === null) return;
    // Taken before any record goes out: an observer's reaction may come back here.
    this.#first = null;
    this.#last = null;
    while (c !== null) {
      const next: Current | null = c.nextHeld;
      c.nextHeld = null;
      this.record(c, c.shown, c.close, c.msg, c.last, c.endTime, c.shownLength);
      c = next;
    }
  }

  report(v: Violation, frame: number | null): void {
    this.release();
    this.#host.violation(v, frame);
  }

  log(text: string): void {
    this.release();
    this.#host.bus.emit('log', { session: this.#host.session, time: this.#host.now(), source: 'proxy', level: 'info', text });
  }
}
