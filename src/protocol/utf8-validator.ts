/**
 * Incremental UTF-8 validation for text messages that arrive in pieces (§8.1: "the receiving
 * endpoint MUST _Fail the WebSocket Connection_" on invalid UTF-8). A sequence cut at a chunk
 * boundary is carried to the next push; the bulk of each chunk is checked by Node's native isUtf8.
 */
import { isUtf8 } from 'node:buffer';

function sequenceLength(lead: number): number {
  if (lead >= 0xc0 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  return 0;
}

/** Where an unfinished multi-byte sequence at the end of `bytes` starts, or bytes.length if none. */
function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = sequenceLength(b);
    return need > back ? n - back : n;
  }
  return n;
}

const EMPTY = new Uint8Array(0);

const ASCII_SCAN = 256;

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

export class Utf8Validator {
  #carry: Uint8Array = EMPTY;
  #valid = true;

  get valid(): boolean {
    return this.#valid;
  }

  /** Feeds the next piece; returns false once the text is known to be invalid. */
  push(chunk: Uint8Array): boolean {
    if (!this.#valid || chunk.length === 0) return this.#valid;
    // Short ASCII, the common case of chat-sized text, costs less to scan here than a native call.
    if (this.#carry.length === 0 && chunk.length <= ASCII_SCAN && isAscii(chunk)) return true;
    let bytes = chunk;
    if (this.#carry.length > 0) {
      bytes = new Uint8Array(this.#carry.length + chunk.length);
      bytes.set(this.#carry);
      bytes.set(chunk, this.#carry.length);
    }
    const cut = incompleteTail(bytes);
    if (!isUtf8(cut === bytes.length ? bytes : bytes.subarray(0, cut))) this.#valid = false;
    // A copy (Buffer#slice would be a view): the tail is at most 3 bytes, and the caller may reuse
    // its buffer (zlib's output buffer, a scratch buffer) before the next piece.
    this.#carry = cut === bytes.length ? EMPTY : new Uint8Array(bytes.subarray(cut));
    return this.#valid;
  }

  /** push(bytes[from, to)), without making a view when the range is short ASCII. */
  pushRange(bytes: Uint8Array, from: number, to: number): boolean {
    if (!this.#valid || from === to) return this.#valid;
    if (this.#carry.length === 0 && to - from <= ASCII_SCAN) {
      let ascii = true;
      for (let i = from; i < to; i++) {
        if (bytes[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return true;
    }
    return this.push(bytes.subarray(from, to));
  }

  /** A piece the caller saw to be all ASCII: valid, unless a sequence was left unfinished before it. */
  pushAscii(): boolean {
    if (this.#carry.length > 0) this.#valid = false;
    return this.#valid;
  }

  /** End of message: an unfinished sequence is invalid. Resets for the next message. */
  end(): boolean {
    const ok = this.#valid && (this.#carry.length === 0 || isUtf8(this.#carry));
    this.reset();
    return ok;
  }

  /** Ready for a new message; returns itself. */
  reset(): this {
    if (this.#carry.length > 0) this.#carry = EMPTY;
    this.#valid = true;
    return this;
  }
}

/** Whether view[start, end) is all ASCII, four bytes a read (a DataView read is cheaper than a byte's index here). */
export function asciiWords(view: DataView, start: number, end: number): boolean {
  let high = 0;
  let i = start;
  for (const stop = end - 3; i < stop; i += 4) high |= view.getUint32(i);
  for (; i < end; i++) high |= view.getUint8(i);
  return (high & 0x80808080) === 0;
}
