/**
 * The records the relay's thread and the inflating thread exchange (inflate-thread.ts,
 * inflate-worker.ts), each in a byte ring (byte-ring.ts). Every request names its context, one per
 * direction of a session that negotiated permessage-deflate (RFC 7692). Answers come in the order
 * of the frames ended (FRAME with F_END), one frame after another: PIECEs of the frame's kept
 * output, then its DONE.
 */

/** Requests, byte 0; bytes 1-4 the context (u32, little-endian). */
export const Req = {
  /** + windowBits (u8), no_context_takeover (u8). */
  OPEN: 1,
  /**
   * Compressed bytes of a frame: + flags (u8, F_*); with F_BEGIN, + bytes to keep (f64); then the
   * bytes. The usual small frame is one FRAME: F_BEGIN | F_END | F_LAST | F_TAIL.
   */
  FRAME: 2,
  CLOSE: 3,
} as const;

/** A message begins with this frame (its cap follows; F_TEXT: check it is UTF-8, §8.1). */
export const F_BEGIN = 1;
export const F_TEXT = 2;
/** The frame ends here: answer it. */
export const F_END = 4;
/** It is its message's last frame. */
export const F_LAST = 8;
/** Its bytes end with the RFC 7692 §7.2.2 tail already. */
export const F_TAIL = 16;

/** Answers, byte 0. */
export const Res = {
  /** Kept output of the frame at the head of the queue: + the bytes. */
  PIECE: 1,
  /** The frame at the head is done: + flags (u8, DONE_*), inflated length (f64), error text (UTF-8). */
  DONE: 2,
} as const;

/** zlib failed in this message (the error text follows). */
export const DONE_ERROR = 1;
/** The message's last frame, text, and not valid UTF-8 (RFC 6455 §8.1). */
export const DONE_BAD_UTF8 = 2;

/** Bytes of a request before what its type adds. */
export const REQ_HEAD = 5;
/** Bytes of a PIECE before its output. */
export const PIECE_HEAD = 1;
/** Bytes of a DONE before its error text. */
export const DONE_HEAD = 10;

/** What the inflating thread starts with (workerData). */
export interface InflateThreadData {
  readonly requests: { readonly data: SharedArrayBuffer; readonly control: SharedArrayBuffer };
  readonly results: { readonly data: SharedArrayBuffer; readonly control: SharedArrayBuffer };
}
