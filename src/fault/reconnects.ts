/**
 * The reconnect report: after a storm kills every session, how each client (by IP address and
 * path) comes back. Attempts, the intervals between them, a histogram of those intervals, and
 * whether they back off and are jittered: a client that hammers the server shows a tall first
 * bucket and `backoff: false`.
 */
import type { ReconnectRecord } from '../proxy/events.js';

/** Upper bounds (ms) of the histogram buckets; the last catches everything above. */
export const INTERVAL_BUCKETS: readonly number[] = [10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, Infinity];

interface Track {
  readonly client: string;
  readonly path: string;
  /** The first MAX_TIMES attempts' times; `attempts` counts them all. */
  readonly times: number[];
  attempts: number;
  refused: number;
}

/**
 * Bounds on what a storm's window keeps, whatever clients send until the next storm: client and
 * path pairs tracked one by one (later pairs share one track, client and path "*"), attempts
 * whose times are kept per pair (later ones are counted), and the characters of a path kept.
 */
export const MAX_TRACKS = 1024;
export const MAX_TIMES = 256;
const MAX_PATH = 512;

/** The IP address of "ip:port" or "[v6]:port". */
export function addressOf(peer: string): string {
  const m = /^\[?(.*?)\]?:\d+$/.exec(peer);
  return m === null ? peer : m[1]!;
}

/** The path without its query: reconnects often add a token or a counter there. */
function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Intervals → histogram, backoff and jitter verdicts. */
export function summarise(intervals: readonly number[]): Pick<ReconnectRecord, 'buckets' | 'histogram' | 'backoff' | 'jitter'> {
  const histogram = INTERVAL_BUCKETS.map(() => 0);
  for (const v of intervals) histogram[INTERVAL_BUCKETS.findIndex((b) => v < b)]! += 1;
  // The first interval runs from the kill, not from an attempt: backoff is judged between attempts.
  const gaps = intervals.slice(1).map((v) => Math.max(v, 1));
  const ratios = gaps.slice(1).map((v, i) => v / gaps[i]!);
  // At least three ratios (five attempts): fewer cannot tell growth from timer noise.
  const backoff = ratios.length >= 3 && median(ratios) >= 1.5;
  let jitter = false;
  if (ratios.length >= 2) {
    // Exact backoff (or a fixed interval) repeats one ratio, give or take timer noise (tens of
    // ms on a busy machine); randomised delays (0.5-1.5x, or "full jitter") spread far wider.
    const logs = ratios.map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length);
    jitter = sd > 0.25;
  }
  return { buckets: INTERVAL_BUCKETS.map((b) => (Number.isFinite(b) ? b : -1)), histogram, backoff, jitter };
}

export class ReconnectTracker {
  #since: number | null = null;
  readonly #tracks = new Map<string, Track>();

  /** A storm killed every session at `time`: a new report window starts. Returns the old window's report. */
  storm(time: number): ReconnectRecord[] {
    const report = this.report(time);
    this.#since = time;
    this.#tracks.clear();
    return report;
  }

  get active(): boolean {
    return this.#since !== null;
  }

  /** An upgrade attempt (refused by the storm or not). */
  attempt(peer: string, target: string, time: number, refused: boolean): void {
    if (this.#since === null) return;
    let client = addressOf(peer);
    let path = pathOf(target).slice(0, MAX_PATH);
    let key = `${client} ${path}`;
    if (!this.#tracks.has(key) && this.#tracks.size >= MAX_TRACKS) {
      client = '*';
      path = '*';
      key = '*';
    }
    let track = this.#tracks.get(key);
    if (track === undefined) {
      track = { client, path, times: [], attempts: 0, refused: 0 };
      this.#tracks.set(key, track);
    }
    track.attempts++;
    if (track.times.length < MAX_TIMES) track.times.push(time);
    if (refused) track.refused++;
  }

  /** The report of the current window so far (empty before any storm). */
  report(time: number): ReconnectRecord[] {
    const since = this.#since;
    if (since === null) return [];
    return [...this.#tracks.values()].map((t) => {
      const intervals = t.times.map((v, i) => v - (i === 0 ? since : t.times[i - 1]!));
      return { time, client: t.client, path: t.path, since, attempts: t.attempts, refused: t.refused, intervals, ...summarise(intervals) };
    });
  }
}
