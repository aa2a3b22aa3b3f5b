/**
 * Reading a frame's payload where it lies in the chunk, for the frame's observers and checks: its
 * preview, the UTF-8 check of text (§8.1), and zlib's input for a compressed message (RFC 7692).
 * Nothing is copied that nobody keeps: masked bytes beyond the preview are unmasked into one
 * reused scratch buffer, piece by piece.
 */
import { unmaskRange } from '../protocol/mask.js';
import type { Utf8Validator } from '../protocol/utf8-validator.js';
import type { Inflater } from './inflater.js';
import { takePreviewRange } from './pipe-observe.js';
import type { Current } from './pipe-state.js';

const SCRATCH = 16 * 1024;

export class PayloadReader {
  #scratch: Buffer | null = null;

  /** Preview and UTF-8 check of chunk[start, end), a frame written through (still masked as it came). */
  through(cur: Current, utf8: Utf8Validator | null, chunk: Uint8Array, start: number, end: number, offset: number): void {
    const h = cur.header;
    const took = cur.previewLen < cur.previewCap ? takePreviewRange(cur, chunk, start, end, offset) : 0;
    if (utf8 === null) return;
    if (!h.masked) utf8.pushRange(chunk, start, end);
    else if (took === end - start) utf8.pushRange(cur.preview!, cur.previewLen - took, cur.previewLen);
    else {
      const scratch = this.#buffer();
      for (let at = start; at < end && utf8.valid; at += SCRATCH) {
        const n = Math.min(SCRATCH, end - at);
        unmaskRange(chunk, at, at + n, h.key, offset + (at - start), scratch, 0);
        utf8.pushRange(scratch, 0, n);
      }
    }
  }

  /**
   * Compressed payload chunk[start, end) to zlib, unmasked. A message's last frame that is here
   * whole goes with the tail (RFC 7692 §7.2.2) in one call: the usual case of a small message.
   */
  inflate(inflater: Inflater, cur: Current, chunk: Uint8Array, start: number, end: number, offset: number): void {
    const h = cur.header;
    const n = end - start;
    const scratch = this.#buffer();
    if (h.fin && offset === 0 && n === h.payloadLength && n + 4 <= SCRATCH) {
      if (h.masked) unmaskRange(chunk, start, end, h.key, 0, scratch, 0);
      else for (let i = 0; i < n; i++) scratch[i] = chunk[start + i]!;
      scratch[n] = 0x00;
      scratch[n + 1] = 0x00;
      scratch[n + 2] = 0xff;
      scratch[n + 3] = 0xff;
      inflater.write(scratch, 0, n + 4, true);
      return;
    }
    if (!h.masked) return inflater.write(chunk, start, end);
    for (let at = start; at < end; at += SCRATCH) {
      const k = Math.min(SCRATCH, end - at);
      unmaskRange(chunk, at, at + k, h.key, offset + (at - start), scratch, 0);
      inflater.write(scratch, 0, k);
    }
  }

  #buffer(): Buffer {
    return (this.#scratch ??= Buffer.allocUnsafe(SCRATCH));
  }
}
