/**
 * One side's pings waiting for their pong, and the round trips of those answered (RFC 6455 §5.5.3:
 * a pong carries the ping's application data). Bounded whatever the peers send: a session may
 * live for days with a keepalive, or be flooded with pings nobody answers, and the tracker must
 * not grow with it. Count, min, max and last cover every round trip; the median, the most recent
 * RTT_WINDOW. At most MAX_WAITING pings are matched by payload at once; past that, pings are only
 * counted, and a pong that matches none of the tracked ones is taken to answer one of those.
 */
import type { RttStats } from './stats.js';

/** Round trips behind the median: the most recent ones. */
export const RTT_WINDOW = 1024;
/** Unanswered pings matched by payload at once. */
export const MAX_WAITING = 1024;

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class PingTracker {
  /**
   * The usual case, one ping waiting at a time, without a hex key or a map: its payload (a copy)
   * and time. A second ping while it waits moves it into `#waiting`.
   */
  #lone: Uint8Array | null = null;
  #loneTime = 0;
  /** Pings waiting, by payload (hex): their times, oldest first; `#tracked` in all (lone included). */
  #waiting: Map<string, number[]> | null = null;
  #tracked = 0;
  /** Pings past MAX_WAITING: counted as waiting, not matched. */
  #untracked = 0;
  /** Every round trip's count, min, max and last; the most recent RTT_WINDOW for the median (a ring once full). */
  #count = 0;
  #min = Infinity;
  #max = -Infinity;
  #last = 0;
  readonly #recent: number[] = [];

  /** Pings matched by payload now (at most MAX_WAITING). */
  get tracked(): number {
    return this.#tracked;
  }

  get unanswered(): number {
    return this.#tracked + this.#untracked;
  }

  ping(payload: Uint8Array, time: number): void {
    if (this.#tracked === 0) {
      // A copy (Buffer#slice would be a view): the caller may reuse its bytes.
      this.#lone = new Uint8Array(payload);
      this.#loneTime = time;
      this.#tracked = 1;
      return;
    }
    if (this.#tracked >= MAX_WAITING) {
      this.#untracked++;
      return;
    }
    const waiting = (this.#waiting ??= new Map());
    if (this.#lone !== null) {
      waiting.set(hexOf(this.#lone), [this.#loneTime]);
      this.#lone = null;
    }
    const key = hexOf(payload);
    const times = waiting.get(key);
    if (times === undefined) waiting.set(key, [time]);
    else times.push(time);
    this.#tracked++;
  }

  /** A pong from the other side at `time`: the round trip of the oldest ping it answers, if any. */
  pong(payload: Uint8Array, time: number): void {
    const sent = this.#answer(payload);
    if (sent === null) {
      if (this.#untracked > 0) this.#untracked--;
      return;
    }
    this.#tracked--;
    const ms = time - sent;
    this.#recent[this.#count % RTT_WINDOW] = ms;
    this.#count++;
    this.#min = Math.min(this.#min, ms);
    this.#max = Math.max(this.#max, ms);
    this.#last = ms;
  }

  /** The time of the oldest tracked ping with this payload (forgotten), or null. */
  #answer(payload: Uint8Array): number | null {
    const lone = this.#lone;
    if (lone !== null) {
      if (!sameBytes(lone, payload)) return null;
      this.#lone = null;
      return this.#loneTime;
    }
    const waiting = this.#waiting;
    if (waiting === null || waiting.size === 0) return null;
    const key = hexOf(payload);
    const times = waiting.get(key);
    if (times === undefined) return null;
    const sent = times.shift()!;
    if (times.length === 0) waiting.delete(key);
    return sent;
  }

  rtt(): RttStats | null {
    if (this.#count === 0) return null;
    const sorted = [...this.#recent].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return { count: this.#count, minMs: this.#min, medianMs: median, maxMs: this.#max, lastMs: this.#last };
  }
}
