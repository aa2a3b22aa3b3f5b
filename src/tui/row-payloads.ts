/**
 * What a TUI row keeps of its record's payload: the bytes themselves when that pins no large
 * buffer, else a copy cut to the cap; and, once the ring's payload budget is spent, the first
 * TRIMMED_PAYLOAD bytes of the oldest rows.
 */
import type { FrameRecord, MessageRecord } from '../proxy/events.js';
import { plainFrame } from '../proxy/pipe-records.js';

/** What an old frame keeps of its payload once the budget is spent: enough for its row and a look. */
export const TRIMMED_PAYLOAD = 1024;

const EMPTY = new Uint8Array(0);

/** A backing store this small is a pool slab (Buffer.poolSize) or smaller: not worth a copy to unpin. */
const SMALL_BACKING = 8 * 1024;

/**
 * A copy when the view would pin a much larger buffer (a socket chunk), or when it is over the cap;
 * otherwise the record's own bytes. Small slabs are kept: a copy would land in a slab just the same.
 */
function keep(bytes: Uint8Array, cap = Infinity): Uint8Array {
  if (bytes.length === 0) return EMPTY;
  const n = Math.min(bytes.length, cap);
  const backing = bytes.buffer.byteLength;
  if (n === bytes.length && (backing <= SMALL_BACKING || backing <= bytes.length * 2 + 64)) return bytes;
  // Buffer.from copies small views into the shared pool: cheaper than a fresh ArrayBuffer each.
  return Buffer.from(bytes.subarray(0, n));
}

/** The record itself when its payload can be kept as it is (the common case); else a copy with the payload cut. */
export function compactFrame(r: FrameRecord, cap: number): FrameRecord {
  const payload = keep(r.payload, cap);
  // Headers and mask keys are small arrays of their own (or views of a pool slab): kept as they are.
  if (payload === r.payload || r.payload.length === 0) return r;
  // (Only a frame whose payload is cut gets here; a peer frame's header bytes and key are getters,
  // which a spread would drop: plainFrame copies them.)
  return { ...plainFrame(r), payload, truncated: r.truncated || r.payload.length > cap };
}

/** The record with its payload cut to TRIMMED_PAYLOAD bytes (copied, so the large buffer can go). */
export function trimFrame(r: FrameRecord): FrameRecord {
  // Not a spread: a peer frame's header bytes and key are getters, which a spread would drop.
  return { ...plainFrame(r), payload: Buffer.from(r.payload.subarray(0, TRIMMED_PAYLOAD)), truncated: true };
}

export function trimMessage(r: MessageRecord): MessageRecord {
  return r.payload.length <= TRIMMED_PAYLOAD ? r : { ...r, payload: Buffer.from(r.payload.subarray(0, TRIMMED_PAYLOAD)), truncated: true };
}

export function compactMessage(record: MessageRecord, cap: number): MessageRecord {
  const over = record.payload.length > cap;
  return { ...record, payload: keep(record.payload, cap), truncated: record.truncated || over };
}
