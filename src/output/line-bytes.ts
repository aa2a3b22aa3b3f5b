/**
 * Text encoded straight into a growing byte buffer. The printer writes a line per frame on the
 * relay's own thread; building each line as a string, joining the strings and encoding them again
 * cost it more than relaying the frame did.
 */
const SPACE = 0x20;
const NEWLINE = 0x0a;
const HEX = Buffer.from('0123456789abcdef');
/** How a quoted preview writes each byte: as it is, after a backslash (`"`, `\`), or not at all. */
const PLAIN = 0;
const ESCAPED = 1;
const OTHER = 2;
/**
 * Four bytes (a big-endian word) that a quoted preview writes as they are: each in 0x20..0x7e and
 * none a `"` or `\`. Bit tricks on the whole word: a byte below 0x20 borrows, one above 0x7e
 * carries into its top bit, and an equal byte is a zero after the XOR.
 */
function plainWord(x: number): boolean {
  const q = x ^ 0x22222222;
  const b = x ^ 0x5c5c5c5c;
  return ((((x - 0x20202020) & ~x) | (x + 0x01010101) | x | ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b)) & 0x80808080) === 0;
}
const PRINTABLE = Uint8Array.from({ length: 256 }, (_, c) => (c < 0x20 || c > 0x7e ? OTHER : c === 0x22 || c === 0x5c ? ESCAPED : PLAIN));

/** A buffer with room for `pos + n` bytes, its first `pos` bytes copied (twice the size at least). */
export function grown(buf: Buffer, pos: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(out, 0, 0, pos);
  return out;
}

/** How many decimal digits a non-negative safe integer has. */
export function digitCount(n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  return digits;
}

/** Writes the decimal digits of a non-negative safe integer to end just before `end`; returns where they begin. */
export function digitsBefore(buf: Uint8Array, end: number, n: number): number {
  let at = end;
  let v = n;
  do {
    const q = v < 0x8000_0000 ? (v / 10) | 0 : Math.floor(v / 10);
    buf[--at] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  return at;
}

/**
 * A batch's first `n` bytes to hand over, and the buffer to go on with. A short batch is copied and
 * the buffer kept; a full one is handed over whole. A consumer that holds many batches (a slow
 * stream) must not hold a large buffer behind each small one.
 */
export function takeBatch(buf: Buffer, n: number): readonly [Buffer, Buffer] {
  if (n * 2 < buf.length) return [Buffer.from(buf.subarray(0, n)), buf];
  return [buf.subarray(0, n), Buffer.allocUnsafe(buf.length)];
}

export class LineBytes {
  #buf: Buffer;
  #pos = 0;
  /** A DataView of #buf, made when a word-wise write first needs it. */
  #view: DataView | null = null;

  constructor(size = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** Cuts back to `length` bytes (to undo a partly written line). */
  truncate(length: number): void {
    this.#pos = Math.min(this.#pos, length);
  }

  /** Text known to be ASCII, byte per character (a short loop beats an encoder call). */
  ascii(s: string): this {
    const n = s.length;
    this.#room(n);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    this.#pos = pos;
    return this;
  }

  /** ASCII text padded with spaces to `width` on the right. */
  asciiPadded(s: string, width: number): this {
    this.ascii(s);
    return this.spaces(width - s.length);
  }

  /** Any text, as UTF-8. */
  text(s: string): this {
    this.#room(s.length * 3);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
    return this;
  }

  bytes(b: Uint8Array, start = 0, end = b.length): this {
    const n = end - start;
    this.#room(n);
    const buf = this.#buf;
    let pos = this.#pos;
    // Lines carry short runs (a preview of 80 bytes at most): a loop costs less than a call into set().
    if (n <= 128) for (let i = start; i < end; i++) buf[pos++] = b[i]!;
    else {
      buf.set(b.subarray(start, end), pos);
      pos += n;
    }
    this.#pos = pos;
    return this;
  }

  byte(c: number): this {
    this.#room(1);
    this.#buf[this.#pos++] = c;
    return this;
  }

  spaces(n: number): this {
    if (n <= 0) return this;
    this.#room(n);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) buf[pos++] = SPACE;
    this.#pos = pos;
    return this;
  }

  /**
   * Printable ASCII b[start, end) as a quoted preview shows it: `"` and `\` escaped as `\"` and
   * `\\` (what escapeForTerminal writes with `quoted`), at most `max` characters, never half an
   * escape. Returns how many bytes of `b` were written; -1, having written nothing, at any other
   * byte before the cut (JSON text is the common case: every field name is quoted).
   */
  quotedAscii(b: Uint8Array, start: number, end: number, max: number, view: DataView | null = null): number {
    this.#room(max);
    const buf = this.#buf;
    let o = this.#pos;
    let i = start;
    const stop = o + max;
    if (view !== null) {
      // Four bytes a read when the caller has a DataView of b: a word with nothing to escape
      // (plain text) is written whole, while it fits.
      const out = this.#dataView();
      for (const last = end - 3; i < last && o + 4 <= stop; i += 4) {
        const x = view.getUint32(i);
        if (!plainWord(x)) break;
        out.setUint32(o, x);
        o += 4;
      }
    }
    // One table read a byte instead of four comparisons; and when even a run of escapes fits, no
    // check of the room at all (a preview of a small frame, the common case).
    if ((end - i) * 2 <= stop - o) {
      for (; i < end; i++) {
        const c = b[i]!;
        const k = PRINTABLE[c]!;
        if (k === PLAIN) buf[o++] = c;
        else if (k === ESCAPED) {
          buf[o++] = 0x5c;
          buf[o++] = c;
        } else return -1;
      }
    } else {
      for (; i < end; i++) {
        const c = b[i]!;
        const k = PRINTABLE[c]!;
        if (k === OTHER) return -1;
        if (k === ESCAPED) {
          if (o + 2 > stop) break;
          buf[o++] = 0x5c;
          buf[o++] = c;
        } else {
          if (o === stop) break;
          buf[o++] = c;
        }
      }
    }
    this.#pos = o;
    return i - start;
  }

  /** A copy of the bytes written since `from` (to write them again later). */
  copyOut(from: number): Buffer {
    return Buffer.from(this.#buf.subarray(from, this.#pos));
  }

  /** view[0, n): a piece kept in a buffer of its own (a DataView of it), copied four bytes a read. */
  words(view: DataView, n: number): this {
    this.#room(n + 3);
    const out = this.#dataView();
    let o = this.#pos;
    // Whole words, the last one past n as well (the room allows it; what is past n is overwritten next).
    for (let i = 0; i < n; i += 4, o += 4) out.setUint32(o, view.getUint32(i));
    this.#pos += n;
    return this;
  }

  /** Copies the bytes written since `from` to dst[0...]; returns how many, or -1 when dst is too short (nothing copied). */
  copyTo(from: number, dst: Uint8Array, at = 0): number {
    const n = this.#pos - from;
    if (at + n > dst.length) return -1;
    const buf = this.#buf;
    for (let i = 0; i < n; i++) dst[at + i] = buf[from + i]!;
    return n;
  }

  newline(): this {
    return this.byte(NEWLINE);
  }

  /** A non-negative integer, right-aligned in `width` with `pad` (a space, or '0' as 0x30). */
  int(n: number, width = 0, pad = SPACE): this {
    if (!Number.isSafeInteger(n) || n < 0) return this.asciiPadStart(String(n), width);
    const total = Math.max(digitCount(n), width);
    this.#room(total);
    const buf = this.#buf;
    const start = this.#pos;
    let at = digitsBefore(buf, start + total, n);
    while (at > start) buf[--at] = pad;
    this.#pos = start + total;
    return this;
  }

  /** b[start, start + n) as hex pairs separated by spaces: "de ad be ef". */
  hex(b: Uint8Array, start: number, n: number): this {
    if (n <= 0) return this;
    this.#room(n * 3);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) {
      if (i > 0) buf[pos++] = SPACE;
      const v = b[start + i]!;
      buf[pos++] = HEX[v >> 4]!;
      buf[pos++] = HEX[v & 15]!;
    }
    this.#pos = pos;
    return this;
  }

  /** The bytes so far, valid until the next write (for a caller that writes them out at once). */
  written(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  /** The bytes so far, and an empty buffer to go on with. */
  take(): Buffer {
    const [out, next] = takeBatch(this.#buf, this.#pos);
    this.#pos = 0;
    this.#buf = next;
    this.#view = null;
    return out;
  }

  toString(): string {
    return this.#buf.toString('utf8', 0, this.#pos);
  }

  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      this.#buf = grown(this.#buf, this.#pos, n);
      this.#view = null;
    }
  }

  #dataView(): DataView {
    return (this.#view ??= new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length));
  }

  asciiPadStart(s: string, width: number): this {
    return this.spaces(width - s.length).ascii(s);
  }
}
