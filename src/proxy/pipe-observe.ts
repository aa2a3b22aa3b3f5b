/**
 * What a DirectionPipe keeps for its observers of the peer's frames and messages as they stream:
 * the capped payload preview of a frame, a message's running length and preview, and the
 * message record once its last frame is in.
 */
import { maskInto, unmaskRange } from '../protocol/mask.js';
import { violation } from '../protocol/violations.js';
import type { FrameRecord, Side } from './events.js';
import { concat, emitFrameMessage, emitMessage, payloadLengthOf, type RecordSink } from './pipe-records.js';
import { NO_PARTS, addViolation, type Current, type Message } from './pipe-state.js';

/** A preview shorter than this is copied rather than kept as a view of what arrived. */
const VIEW_FROM = 1024;

/**
 * Keeps the first `cur.previewCap` payload bytes for observers, from a piece of the payload at
 * `offset`: `data` as on the wire, `plain` its unmasked copy (null when none was made).
 */
export function takePreview(cur: Current, data: Uint8Array, plain: Uint8Array | null, key: Uint8Array | null, offset: number): void {
  const room = cur.previewCap - cur.previewLen;
  if (room <= 0) return;
  const n = Math.min(room, data.length);
  const view = plain ?? (key === null ? data : null);
  // The whole preview is in this piece: keep a view instead of a copy when that holds no more
  // memory than a copy would (our own unmasked copy of just this piece, or most of the memory
  // behind it). The wire bytes of an unmasked frame are never changed in place.
  const own = plain !== null && plain !== data && n === plain.length;
  // (`.buffer` is a call into the runtime: only asked when the copy it may save is large.)
  if (cur.previewLen === 0 && n === room && view !== null && (own || (n >= VIEW_FROM && n * 2 >= view.buffer.byteLength))) {
    cur.preview = n === view.length ? view : view.subarray(0, n);
  } else {
    cur.preview ??= Buffer.allocUnsafe(cur.previewCap);
    if (view !== null) cur.preview.set(n === view.length ? view : view.subarray(0, n), cur.previewLen);
    else maskInto(data.subarray(0, n), key!, offset, cur.preview.subarray(cur.previewLen, cur.previewLen + n));
  }
  cur.previewLen += n;
}

/**
 * takePreview for a frame read where it lies: chunk[start, end) as on the wire, `offset` its place
 * in the payload. Returns how many bytes it took (they end at cur.previewLen).
 */
export function takePreviewRange(cur: Current, chunk: Uint8Array, start: number, end: number, offset: number): number {
  const room = cur.previewCap - cur.previewLen;
  if (room <= 0) return 0;
  const n = Math.min(room, end - start);
  const h = cur.header;
  // A large preview of an unmasked frame that fills most of its chunk: a view holds no more memory.
  if (!h.masked && cur.previewLen === 0 && n === room && n >= VIEW_FROM && n * 2 >= chunk.buffer.byteLength) {
    cur.preview = chunk.subarray(start, start + n);
  } else {
    const preview = (cur.preview ??= Buffer.allocUnsafe(cur.previewCap));
    if (h.masked) unmaskRange(chunk, start, start + n, h.key, offset, preview, cur.previewLen);
    else if (n < 64) for (let i = 0, at = cur.previewLen; i < n; i++) preview[at + i] = chunk[start + i]!;
    else preview.set(chunk.subarray(start, start + n), cur.previewLen);
  }
  cur.previewLen += n;
  return n;
}

/** Violations found by inflating a frame: zlib's error, and text not UTF-8 at its message's end (§8.1). */
export function inflatedViolations(cur: Current, error: Error | null, badUtf8: boolean): void {
  if (error !== null) addViolation(cur, violation('invalid-deflate', error.message));
  if (badUtf8) addViolation(cur, violation('invalid-utf8'));
}

/**
 * Whether the message gets a record at this frame (`last`) or later: not a one-frame message passed
 * on as it came while no observer reads such messages (`plain`, preview-demand.ts).
 */
export function messageRecorded(msg: Message, last: boolean, plain: boolean): boolean {
  return plain || !last || msg.frames !== 1 || msg.held !== null || msg.fate !== 'forwarded';
}

/**
 * Message bookkeeping for observers (`preview`: payload bytes they read) as `frame`, the record of
 * one of its frames, goes out; at the last frame the message record goes out, unless the message
 * is held (it gets its record once decided). The frame's payload is read only when the message's
 * record cannot share it (a peer frame's may still lie in the slab: pipe-records.ts).
 */
export function account(sink: RecordSink, from: Side, preview: number, msg: Message, frame: FrameRecord, length: number, last: boolean, time: number, plain: boolean): void {
  msg.length += length;
  if (!messageRecorded(msg, last, plain)) {
    // No record, only its numbers for the session's statistics.
    sink.stats?.countMessage(from, time, msg.length, msg.compressed);
    return;
  }
  const room = preview - msg.previewLen;
  const n = payloadLengthOf(frame);
  const kind = msg.kind === 'text' ? 'text' : 'binary';
  if (last && msg.held === null && msg.previewLen === 0 && n <= Math.max(room, 0)) {
    // Nothing before this frame's preview, and all of it in the message's: the same payload.
    emitFrameMessage(sink, from, { id: msg.id, time, kind, length: msg.length, truncated: msg.length > n, frames: msg.frames, compressed: msg.compressed, fate: msg.fate }, frame);
    return;
  }
  if (room > 0 && n > 0) {
    const payload = frame.payload;
    const part = payload.length > room ? payload.subarray(0, room) : payload;
    if (msg.preview === NO_PARTS) msg.preview = [part];
    else msg.preview.push(part);
    msg.previewLen += part.length;
  }
  if (last && msg.held === null) {
    const p = concat(msg.preview);
    emitMessage(sink, from, { id: msg.id, time, kind, length: msg.length, payload: p, truncated: msg.length > p.length, frames: msg.frames, compressed: msg.compressed, fate: msg.fate, by: null });
  }
}
