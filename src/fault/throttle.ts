/**
 * throttle and trickle: a write gate that lets bytes out at a rate. It holds at most a bounded
 * amount; past it the session pauses the sender's socket (TCP backpressure), so a 64 MiB message
 * through a slow throttle costs the proxy about `highWater` bytes, not 64 MiB.
 */
import type { GateSink, WriteGate } from '../proxy/write-gate.js';

/** The gate writes at most this many milliseconds' worth of bytes at once. */
const SLICE_MS = 20;
/**
 * Time a late timer may make up for: bytes owed for up to this long go out at once. Timers on a
 * busy machine fire late; without it a throttle runs slow by the lateness.
 */
const CATCH_UP_MS = 250;
/** The most a gate holds before it pauses the sender. */
export const HIGH_WATER_MAX = 4 * 1024 * 1024;

export interface ThrottleClock {
  now(): number;
}

interface Pace {
  /** Byte positions (counted from the gate's first byte) the pace covers: [from, until). */
  readonly from: number;
  readonly until: number;
  /** Bytes per second. */
  readonly rate: number;
}

export class Throttle implements WriteGate {
  /** Bytes per second; Infinity lets bytes through unpaced (a gate kept for trickle only). */
  #rate: number;
  readonly #sink: GateSink;
  readonly #queue: Uint8Array[] = [];
  #head = 0;
  #pending = 0;
  /** Bytes taken in and written out since the gate was set. */
  #in = 0;
  #out = 0;
  #paces: Pace[] = [];
  /** The pace in force, or null for the gate's own rate. */
  #regime: Pace | null = null;
  /** When the next byte may leave. */
  #free = 0;
  #timer: NodeJS.Timeout | null = null;
  #waitingDrain = false;
  #over = false;
  #detached = false;
  /** The most bytes held at once, for tests and the status of a rule. */
  peak = 0;

  constructor(sink: GateSink, rate: number) {
    this.#sink = sink;
    this.#rate = rate;
  }

  get pending(): number {
    return this.#pending;
  }

  get rate(): number {
    return this.#rate;
  }

  set rate(rate: number) {
    this.#rate = rate;
    this.#pump();
  }

  /**
   * Bytes held before the sender is paused: half a second at the rate (so a sender that is slow
   * to resume does not leave the gate dry), between 16 KiB and 4 MiB.
   */
  get #highWater(): number {
    const rate = this.#currentRate();
    return Number.isFinite(rate) ? Math.min(HIGH_WATER_MAX, Math.max(16 * 1024, rate / 2)) : HIGH_WATER_MAX;
  }

  /** The next `bytes` bytes taken in are spread over `ms` milliseconds (trickle). */
  pace(bytes: number, ms: number): void {
    if (bytes <= 0) return;
    this.#paces.push({ from: this.#in, until: this.#in + bytes, rate: (bytes * 1000) / Math.max(1, ms) });
  }

  write(segments: readonly Uint8Array[]): void {
    if (this.#detached) return;
    for (const s of segments) {
      if (s.length === 0) continue;
      this.#queue.push(s);
      this.#pending += s.length;
      this.#in += s.length;
    }
    if (this.#pending > this.peak) this.peak = this.#pending;
    this.#pump();
    // The pump may be waiting for its timer or a drain: the bound is checked on every write.
    this.#checkPressure();
  }

  detach(): Uint8Array[] {
    this.#detached = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const rest = this.#queue.slice(this.#head);
    this.#queue.length = 0;
    this.#head = 0;
    this.#pending = 0;
    return rest;
  }

  #currentRate(): number {
    while (this.#paces.length > 0 && this.#paces[0]!.until <= this.#out) this.#paces.shift();
    const p = this.#paces[0];
    const pace = p !== undefined && p.from <= this.#out ? p : null;
    if (pace !== this.#regime) {
      // A trickle starts from now: no catching up on time that passed before it.
      this.#regime = pace;
      this.#free = Math.max(this.#free, Date.now());
    }
    return pace !== null ? pace.rate : this.#rate;
  }

  #pump(): void {
    if (this.#detached || this.#waitingDrain || this.#timer !== null) return;
    const now = Date.now();
    while (this.#pending > 0) {
      const rate = this.#currentRate();
      if (Number.isFinite(rate)) {
        if (this.#free < now - CATCH_UP_MS) this.#free = now - CATCH_UP_MS;
        if (this.#free > now) {
          this.#timer = setTimeout(() => {
            this.#timer = null;
            this.#pump();
          }, Math.max(1, Math.ceil(this.#free - now)));
          break;
        }
      }
      // How much may leave now: a slice's worth at this rate, not past the end of a pace.
      let n = Number.isFinite(rate) ? Math.max(1, Math.floor((rate * SLICE_MS) / 1000)) : this.#pending;
      const p = this.#paces[0];
      if (p !== undefined && p.from > this.#out) n = Math.min(n, p.from - this.#out);
      else if (p !== undefined) n = Math.min(n, p.until - this.#out);
      const chunk = this.#take(n);
      this.#out += chunk.length;
      if (Number.isFinite(rate)) this.#free += (chunk.length * 1000) / rate;
      if (!this.#sink.write(chunk)) {
        this.#waitingDrain = true;
        this.#sink.onDrain(() => {
          this.#waitingDrain = false;
          this.#pump();
        });
        break;
      }
    }
    this.#checkPressure();
    if (this.#pending === 0) this.#sink.empty();
  }

  /** Over the high-water mark the sender is paused, and resumed below half of it (so it is not toggled per read). */
  #checkPressure(): void {
    const high = this.#highWater;
    const over = this.#over ? this.#pending > high / 2 : this.#pending > high;
    if (over !== this.#over) {
      this.#over = over;
      this.#sink.pressure(over);
    }
  }

  /** Up to `n` bytes from the front of the queue (a view, not a copy, when they lie in one segment). */
  #take(n: number): Uint8Array {
    const first = this.#queue[this.#head]!;
    let chunk: Uint8Array;
    if (first.length <= n) {
      chunk = first;
      this.#head++;
    } else {
      chunk = first.subarray(0, n);
      this.#queue[this.#head] = first.subarray(n);
    }
    this.#pending -= chunk.length;
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    return chunk;
  }
}
