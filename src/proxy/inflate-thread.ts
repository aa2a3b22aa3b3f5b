/**
 * The transport of later-inflater.ts that runs the requests on a thread of its own
 * (inflate-worker.ts), one for every session, through two byte rings in shared memory
 * (byte-ring.ts), not messages. The relay's thread reads the answers when a socket read begins,
 * and when the thread says it has some while this one waits for them.
 */
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';
import { RingReader, RingSlot, RingWriter, ringMemory } from './byte-ring.js';
import { DONE_ERROR, DONE_HEAD, PIECE_HEAD, REQ_HEAD, Req, Res, type InflateThreadData } from './inflate-wire.js';
import type { InflaterOptions } from './inflater.js';
import { AnswerQueue, type InflateAnswer, type LaterInflater, type Target, type Transport } from './later-inflater.js';

const RING_BYTES = 4 * 1024 * 1024;
const decoder = new TextDecoder();
/** ES2024's Atomics.waitAsync (in Node since 16), not in this project's lib typings. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

export class InflateThread implements Transport {
  readonly #requests: RingWriter;
  readonly #results: RingReader;
  #nextId = 1;
  readonly #queue = new AnswerQueue();
  /** Requests that found the ring full, in order (copies), and the timer that retries them. */
  #overflow: Uint8Array[] = [];
  #retry: NodeJS.Timeout | null = null;
  #spilled = false;
  /** Where the request begun last is written. */
  readonly target: Target;
  #waiting = false;

  constructor() {
    const requests = ringMemory(RING_BYTES);
    const results = ringMemory(RING_BYTES);
    const data: InflateThreadData = { requests, results };
    this.#requests = new RingWriter(requests);
    this.#results = new RingReader(results);
    this.target = { bytes: this.#requests.bytes, view: this.#requests.view };
    const worker = new Worker(threadEntry(import.meta.url, 'inflate-worker'), { eval: true, workerData: data, name: 'wsproxy inflate' });
    worker.unref();
    worker.on('error', (error) => process.stderr.write(`wsproxy: the inflating thread stopped: ${error.message}\n`));
  }

  open(options: InflaterOptions): number {
    const id = this.#nextId++;
    const at = this.begin(REQ_HEAD + 2, Req.OPEN, id);
    this.target.bytes[at + REQ_HEAD] = options.windowBits;
    this.target.bytes[at + REQ_HEAD + 1] = options.noContextTakeover ? 1 : 0;
    this.commit();
    return id;
  }

  /** A frame ended: `answer` hears of it once the thread has inflated everything before it. */
  awaits(answer: InflateAnswer, owner: LaterInflater, bytes: number): void {
    this.#queue.push(answer, owner, bytes);
    this.#requests.wake();
    if (!this.#waiting) this.#wait();
  }

  turn(): void {
    this.poll();
  }

  written(): void {
    this.#requests.wake();
  }

  /** Reads the answers that are in: each goes to the frame at the head, in order. */
  poll(): void {
    const r = this.#results;
    for (let at = r.next(); at >= 0; at = r.next()) {
      const bytes = r.bytes;
      if (bytes[at] === Res.PIECE) {
        this.#queue.piece(bytes, r.view, at + PIECE_HEAD, at + r.length);
        r.done();
        continue;
      }
      const flags = bytes[at + 1]!;
      const length = r.view.getFloat64(at + 2, true);
      const error = (flags & DONE_ERROR) === 0 ? null : new Error(decoder.decode(bytes.slice(at + DONE_HEAD, at + r.length)));
      r.done();
      this.#queue.done(length, error, flags);
    }
    if (this.#overflow.length > 0) this.#drainOverflow();
  }

  /** Hears of answers while some are awaited: the thread wakes this one only while it waits. */
  #wait(): void {
    const control = this.#results.control;
    Atomics.store(control, RingSlot.SLEEPING, 1);
    const head = this.#results.head;
    this.poll();
    if (this.#queue.empty) {
      Atomics.store(control, RingSlot.SLEEPING, 0);
      return;
    }
    this.#waiting = true;
    const waited = waitAsync(control, RingSlot.HEAD, head);
    const go = (): void => {
      this.#waiting = false;
      Atomics.store(control, RingSlot.SLEEPING, 0);
      this.poll();
      if (!this.#queue.empty) this.#wait();
    };
    if (waited.async) void waited.value.then(go);
    else queueMicrotask(go);
  }

  // ---- writing requests: into the ring, or (ring full) into copies that wait for room --------

  /** Begins a request of n bytes in `target`; returns where it starts. */
  begin(n: number, type: number, id: number): number {
    let at = this.#overflow.length === 0 ? this.#requests.begin(n) : -1;
    const t = this.target;
    if (at < 0) {
      const copy = new Uint8Array(n);
      t.bytes = copy;
      t.view = new DataView(copy.buffer);
      this.#spilled = true;
      at = 0;
    }
    t.bytes[at] = type;
    t.view.setUint32(at + 1, id, true);
    return at;
  }

  commit(): void {
    if (!this.#spilled) return void this.#requests.commit();
    this.#spilled = false;
    this.#overflow.push(this.target.bytes);
    this.target.bytes = this.#requests.bytes;
    this.target.view = this.#requests.view;
    this.#retry ??= setTimeout(() => this.#drainOverflow(), 1);
  }

  #drainOverflow(): void {
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    const o = this.#overflow;
    let i = 0;
    for (; i < o.length; i++) {
      const at = this.#requests.begin(o[i]!.length);
      if (at < 0) break;
      this.#requests.bytes.set(o[i]!, at);
      this.#requests.commit();
    }
    if (i > 0) {
      this.#overflow = o.slice(i);
      this.#requests.wake();
    }
    if (this.#overflow.length > 0) this.#retry = setTimeout(() => this.#drainOverflow(), 1);
  }
}

