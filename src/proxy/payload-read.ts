/**
 * Reading a frame's payload where it lies in the chunk, for the frame's observers and checks: its
 * preview, the UTF-8 check of text (§8.1), and zlib's input for a compressed message (RFC 7692).
 * Nothing is copied that nobody keeps: masked bytes beyond the preview are unmasked into one
 * reused scratch buffer, piece by piece.
 */
import { Opcode } from '../protocol/constants.js';
import { unmaskRange, unmaskWords, xorRange } from '../protocol/mask.js';
import type { Utf8Validator } from '../protocol/utf8-validator.js';
import type { LaterInflater } from './later-inflater.js';
import { takePreviewRange } from './pipe-observe.js';
import { SLAB_PIECE, slab } from './slab.js';
import type { Current } from './pipe-state.js';

const SCRATCH = 16 * 1024;
/** Below this many bytes a DataView does the re-keying; from it, the native mask (see mask.ts). */
const NATIVE_FROM = 256;

export class PayloadReader {
  #scratch: Buffer | null = null;
  #scratchView: DataView | null = null;
  /** The chunk being read, and a DataView of it (made on first use in a chunk). */
  #chunk: Uint8Array | null = null;
  #chunkView: DataView | null = null;

  /** The chunk is done with: no reference to it stays. */
  end(): void {
    this.#chunk = null;
    this.#chunkView = null;
  }

  /**
   * Preview and UTF-8 check of chunk[start, end), a frame written through (still masked as it
   * came); then, for a masked frame, its re-keying in place (§5.3: a fresh key for every frame).
   */
  through(cur: Current, utf8: Utf8Validator | null, chunk: Uint8Array, start: number, end: number, offset: number): void {
    this.#read(cur, utf8, chunk, start, end, offset);
    this.#rekey(cur, chunk, start, end, offset);
  }

  /** A masked frame's bytes chunk[start, end) re-keyed in place (§5.3: a fresh key for every frame). */
  #rekey(cur: Current, chunk: Uint8Array, start: number, end: number, offset: number): void {
    if (!cur.header.masked) return;
    // (data ^ old) ^ new = wire ^ (old ^ new): one pass, in place (a socket's chunk is ours alone).
    if (end - start >= NATIVE_FROM) xorRange(chunk, start, end, cur.rekey, offset);
    else {
      const view = this.#view(chunk);
      unmaskWords(view, start, end, cur.rekey, offset, view, start);
    }
  }

  #read(cur: Current, utf8: Utf8Validator | null, chunk: Uint8Array, start: number, end: number, offset: number): void {
    const h = cur.header;
    const room = cur.previewCap - cur.previewLen;
    const n = end - start;
    if (cur.previewLen === 0 && n <= room && room <= SLAB_PIECE && n > 0) {
      // The common small frame: its whole preview in one piece, unmasked a word at a time, and
      // seen to be ASCII on the way.
      const at = slab.take(room);
      const ascii = unmaskWords(this.#view(chunk), start, end, h.masked ? h.key : 0, offset, slab.view, at);
      cur.previewLen = n;
      // Whole here, and not a close (its body is read as it ends): left in the slab (IN_SLAB).
      if (n === room && h.opcode !== Opcode.Close) {
        cur.slabMemory = slab.memory;
        cur.slabAt = at;
      } else cur.preview = slab.piece(at, room);
      if (utf8 !== null) {
        if (ascii) utf8.pushAscii();
        else utf8.pushRange(cur.preview ?? slab.piece(at, n), 0, n);
      }
      return;
    }
    const took = cur.previewLen < cur.previewCap ? takePreviewRange(cur, chunk, start, end, offset) : 0;
    if (utf8 === null) return;
    if (took === 0 && n < NATIVE_FROM) {
      // Text nobody previews, short: unmasked into scratch a word at a time, for the check alone.
      const scratch = this.#buffer();
      if (unmaskWords(this.#view(chunk), start, end, h.masked ? h.key : 0, offset, this.#scratchView!, 0)) utf8.pushAscii();
      else utf8.pushRange(scratch, 0, n);
      return;
    }
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
   * Compressed payload chunk[start, end) to zlib, unmasked; then, like `through`, re-keyed. A
   * message's last frame that is here whole goes with the tail (RFC 7692 §7.2.2) in one zlib call:
   * the usual case of a small message.
   */
  inflate(inflater: LaterInflater, cur: Current, chunk: Uint8Array, start: number, end: number, offset: number): void {
    this.#inflate(inflater, cur, chunk, start, end, offset);
    this.#rekey(cur, chunk, start, end, offset);
  }

  #inflate(inflater: LaterInflater, cur: Current, chunk: Uint8Array, start: number, end: number, offset: number): void {
    const h = cur.header;
    const n = end - start;
    if (h.fin && offset === 0 && n === h.payloadLength && n + 4 <= SCRATCH) {
      // Unmasked straight into the request, with the tail: no copy between.
      const at = inflater.reserveInput(n + 4, true);
      if (n >= NATIVE_FROM) unmaskRange(chunk, start, end, h.masked ? h.key : 0, 0, inflater.input, at);
      else unmaskWords(this.#view(chunk), start, end, h.masked ? h.key : 0, 0, inflater.inputView, at);
      inflater.inputView.setUint32(at + n, 0x0000ffff);
      inflater.commitInput();
      return;
    }
    if (!h.masked) return inflater.write(chunk, start, end);
    const scratch = this.#buffer();
    for (let at = start; at < end; at += SCRATCH) {
      const k = Math.min(SCRATCH, end - at);
      unmaskRange(chunk, at, at + k, h.key, offset + (at - start), scratch, 0);
      inflater.write(scratch, 0, k);
    }
  }

  #view(chunk: Uint8Array): DataView {
    if (this.#chunk !== chunk || this.#chunkView === null) {
      this.#chunk = chunk;
      this.#chunkView = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
    }
    return this.#chunkView;
  }

  #buffer(): Buffer {
    if (this.#scratch === null) {
      this.#scratch = Buffer.allocUnsafe(SCRATCH);
      this.#scratchView = new DataView(this.#scratch.buffer, this.#scratch.byteOffset, SCRATCH);
    }
    return this.#scratch;
  }
}
