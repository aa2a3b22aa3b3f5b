/**
 * The JSONL log's frame and message lines encoded straight into bytes: the same text as
 * `jsonLine(frameJson(f))` and `jsonLine(messageJson(m))` (jsonl.ts), byte for byte, without the
 * object, the spreads, JSON.stringify and the escape scan per frame. At small-message rates the
 * log writes two lines per frame; built through objects and strings they cost more than relaying
 * the frame did. The fixed text between the values is copied from precomputed byte runs (a native
 * copy of a run costs a fifth of a loop over its characters), one run per combination of the
 * flags around it. Strings a peer chose (close reasons, violation messages, non-ASCII payloads)
 * still go through JSON.stringify and escapeJsonText, so their escaping is the documented one by
 * construction; only short ASCII payloads are escaped here, the same way.
 */
import { isUtf8 } from 'node:buffer';
import { frameKind } from '../protocol/constants.js';
import type { FrameRecord, MessageRecord } from '../proxy/events.js';
import { escapeJsonText } from './terminal-text.js';
import { digitCount, digitsBefore, grown, takeBatch } from './line-bytes.js';

const HEX = Buffer.from('0123456789abcdef');

/**
 * Payloads up to this many bytes are checked and escaped byte by byte; longer ones go through the
 * native string functions, which win once the run is long.
 */
const BYTE_LOOP_MAX = 256;

const run = (s: string): Buffer => Buffer.from(s, 'latin1');
const b = (v: boolean): string => (v ? 'true' : 'false');
const BOOLS = [false, true] as const;

const FRAME_ID = run('{"type":"frame","id":');
const MESSAGE_ID = run('{"type":"message","id":');
const SESSION = run(',"session":');
const TIME = run(',"time":"');
/** `","from":…,"fin":…,"rsv1":…,"rsv2":…,"rsv3":…,"opcode":`, by fromServer<<4 | fin<<3 | rsv1<<2 | rsv2<<1 | rsv3. */
const FROM_BITS: Buffer[] = [];
for (const from of ['client', 'server'])
  for (const fin of BOOLS)
    for (const r1 of BOOLS)
      for (const r2 of BOOLS) for (const r3 of BOOLS) FROM_BITS.push(run(`","from":"${from}","fin":${b(fin)},"rsv1":${b(r1)},"rsv2":${b(r2)},"rsv3":${b(r3)},"opcode":`));
/** `,"kind":"…","masked":…,"maskKey":`, by kind, then masked. */
const KIND_MASKED = new Map<string, readonly [Buffer, Buffer]>();
for (const kind of ['text', 'binary', 'continuation', 'close', 'ping', 'pong', 'reserved']) {
  KIND_MASKED.set(kind, [run(`,"kind":"${kind}","masked":false,"maskKey":`), run(`,"kind":"${kind}","masked":true,"maskKey":`)]);
}
const NULL = run('null');
const LENGTH = run(',"length":');
const HEADER_LENGTH = run(',"headerLength":');
const PAYLOAD = run(',"payload":"');
/** `","encoding":…,"truncated":…,"compressed":…`, by base64<<2 | truncated<<1 | compressed. */
const FRAME_ENCODING: Buffer[] = [];
for (const enc of ['utf8', 'base64'])
  for (const t of BOOLS) for (const c of BOOLS) FRAME_ENCODING.push(run(`","encoding":"${enc}","truncated":${b(t)},"compressed":${b(c)}`));
/** `,"modified":…,"injected":…,"violations":[`, by origin; `]}` ends the line. */
const ORIGIN = new Map<string, Buffer>([
  ['peer', run(',"modified":false,"injected":false,"violations":[')],
  ['modified', run(',"modified":true,"injected":false,"violations":[')],
  ['injected', run(',"modified":false,"injected":true,"violations":[')],
]);
const FRAME_END = run(']}');
const ORIGINS = ['peer', 'modified', 'injected'] as const;

/**
 * From the time's closing quote to the mask key: `","from":…,"fin":…,"rsv1":…,"rsv2":…,"rsv3":…,
 * "opcode":…,"kind":…,"masked":…,"maskKey":`, by from, the bits, the opcode and masked; made
 * when first needed (most runs see a handful).
 */
const FRAME_MIDDLE: (Buffer | undefined)[] = new Array<Buffer | undefined>(1024).fill(undefined);
function frameMiddle(key: number): Buffer {
  let r = FRAME_MIDDLE[key];
  if (r === undefined) {
    const opcode = (key >> 5) & 15;
    r = Buffer.concat([FROM_BITS[key & 31]!, run(String(opcode)), KIND_MASKED.get(frameKind(opcode))![key >> 9]!]);
    FRAME_MIDDLE[key] = r;
  }
  return r;
}
/** `,"headerLength":N,"payload":"`, by N (2 to 14). */
const HEADER_PAYLOAD = Array.from({ length: 15 }, (_, n) => run(`,"headerLength":${n},"payload":"`));
/** The end of a frame line without close fields or violations, newline included, by base64, truncated, compressed, origin. */
const FRAME_TAIL: Buffer[] = [];
for (let i = 0; i < 8; i++) for (const origin of ORIGINS) FRAME_TAIL.push(Buffer.concat([FRAME_ENCODING[i]!, ORIGIN.get(origin)!, FRAME_END, run('\n')]));
const MESSAGE_END = run('}');
/** `","from":…,"kind":…,"length":`, by fromServer<<1 | binary. */
const MESSAGE_FROM_KIND: Buffer[] = [];
for (const from of ['client', 'server']) for (const kind of ['text', 'binary']) MESSAGE_FROM_KIND.push(run(`","from":"${from}","kind":"${kind}","length":`));
/** `","encoding":…,"truncated":…,"frames":`, by base64<<1 | truncated. */
const MESSAGE_ENCODING: Buffer[] = [];
for (const enc of ['utf8', 'base64']) for (const t of BOOLS) MESSAGE_ENCODING.push(run(`","encoding":"${enc}","truncated":${b(t)},"frames":`));
/** `,"compressed":…,"fate":…,"modified":…,"dropped":…,"injected":…,"by":`, by compressed, then fate; and the same with `null}` and the newline. */
const MESSAGE_FATE = new Map<string, readonly [Buffer, Buffer]>();
const MESSAGE_FATE_NULL = new Map<string, readonly [Buffer, Buffer]>();
for (const fate of ['forwarded', 'modified', 'dropped', 'injected', 'streamed']) {
  const rest = `,"fate":"${fate}","modified":${b(fate === 'modified')},"dropped":${b(fate === 'dropped')},"injected":${b(fate === 'injected')},"by":`;
  MESSAGE_FATE.set(fate, [run(`,"compressed":false${rest}`), run(`,"compressed":true${rest}`)]);
  MESSAGE_FATE_NULL.set(fate, [run(`,"compressed":false${rest}null}\n`), run(`,"compressed":true${rest}null}\n`)]);
}

/**
 * Lines encoded into one growing batch of bytes, each ended by a newline; the writer takes the
 * batch every few milliseconds (jsonl.ts).
 */
export class JsonlBatch {
  #buf: Buffer;
  #pos = 0;
  /** The last time written and its ISO text: the frames of one socket read share one clock reading. */
  #lastMs = NaN;
  #lastIso = Buffer.alloc(0);
  /**
   * The payload of the last frame line, where its text is in the batch and how it was encoded: a
   * one-frame message's record carries the very same preview, and its line copies that text.
   */
  #lastPayload: Uint8Array | null = null;
  #lastTextLike = false;
  #lastStart = 0;
  #lastEnd = 0;
  #lastBase64 = false;

  constructor(size = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** The bytes so far, and an empty batch to go on with. */
  take(): Buffer {
    this.#lastPayload = null;
    const [out, next] = takeBatch(this.#buf, this.#pos);
    this.#pos = 0;
    this.#buf = next;
    return out;
  }

  /**
   * Hands the bytes so far to `write`, which must be done with them when it returns, and goes on
   * in the same memory (a writer that writes synchronously: no new buffer, no page faults, per batch).
   */
  drain(write: (bytes: Buffer) => void): void {
    this.#lastPayload = null;
    const n = this.#pos;
    this.#pos = 0;
    write(this.#buf.subarray(0, n));
    // Grown for one huge line (a script's log of many megabytes): not kept for ever.
    if (this.#buf.length > 16 * 1024 * 1024) this.#buf = Buffer.allocUnsafe(1024 * 1024);
  }

  /** A line of text (any other record, already JSON), as UTF-8. */
  text(line: string): void {
    this.#text(line).#newline();
  }

  /** A line already JSON and already UTF-8 (without its newline). */
  line(bytes: Uint8Array): void {
    this.#run(bytes).#newline();
  }

  /** The frame's line: `jsonLine(frameJson(f))` and a newline. */
  frame(f: FrameRecord): void {
    const start = this.#pos;
    try {
      this.#frame(f);
    } catch (error) {
      // No half line is left in the batch.
      this.#pos = start;
      this.#lastPayload = null;
      throw error;
    }
  }

  /** The message's line: `jsonLine(messageJson(m))` and a newline. */
  message(m: MessageRecord): void {
    const start = this.#pos;
    try {
      this.#message(m);
    } catch (error) {
      this.#pos = start;
      throw error;
    }
  }

  #frame(f: FrameRecord): void {
    this.#run(FRAME_ID).#number(f.id).#run(SESSION).#number(f.session).#run(TIME).#time(f.time);
    const bits = (f.from === 'server' ? 16 : 0) | (f.fin ? 8 : 0) | (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0);
    if (f.opcode >= 0 && f.opcode <= 15 && f.kind === frameKind(f.opcode)) this.#run(frameMiddle(bits | (f.opcode << 5) | (f.masked ? 512 : 0)));
    else {
      this.#run(FROM_BITS[bits]!).#number(f.opcode);
      const kind = KIND_MASKED.get(f.kind);
      if (kind !== undefined) this.#run(kind[f.masked ? 1 : 0]);
      else this.#text(`,"kind":${JSON.stringify(f.kind)},"masked":${b(f.masked)},"maskKey":`);
    }
    if (f.maskKey === null) this.#run(NULL);
    else this.#maskKey(f.maskKey);
    this.#run(LENGTH).#number(f.length);
    if (f.headerLength < HEADER_PAYLOAD.length) this.#run(HEADER_PAYLOAD[f.headerLength]!);
    else this.#run(HEADER_LENGTH).#number(f.headerLength).#run(PAYLOAD);
    const textLike = f.kind === 'text' || f.kind === 'continuation' || f.kind === 'ping' || f.kind === 'pong';
    const payloadStart = this.#pos;
    const base64 = this.#payload(f.payload, textLike);
    this.#lastPayload = f.payload;
    this.#lastTextLike = textLike;
    this.#lastBase64 = base64;
    this.#lastStart = payloadStart;
    this.#lastEnd = this.#pos;
    const encoding = (base64 ? 4 : 0) | (f.truncated ? 2 : 0) | (f.compressed ? 1 : 0);
    if (f.close === null && f.violations.length === 0 && (f.origin === 'peer' || f.origin === 'modified' || f.origin === 'injected')) {
      this.#run(FRAME_TAIL[encoding * 3 + ORIGINS.indexOf(f.origin)]!);
      return;
    }
    this.#run(FRAME_ENCODING[encoding]!);
    if (f.close !== null) {
      this.#text(',"closeCode":');
      if (f.close.code === null) this.#run(NULL);
      else this.#number(f.close.code);
      this.#text(',"closeReason":').#string(f.close.reason);
    }
    this.#run(ORIGIN.get(f.origin)!);
    const vs = f.violations;
    for (let i = 0; i < vs.length; i++) {
      this.#text(i === 0 ? '{"code":' : ',{"code":')
        .#string(vs[i]!.code)
        .#text(',"message":')
        .#string(vs[i]!.message)
        .#text('}');
    }
    this.#run(FRAME_END).#newline();
  }

  #message(m: MessageRecord): void {
    this.#run(MESSAGE_ID).#number(m.id).#run(SESSION).#number(m.session).#run(TIME).#time(m.time);
    if (m.kind === 'text' || m.kind === 'binary') this.#run(MESSAGE_FROM_KIND[(m.from === 'server' ? 2 : 0) | (m.kind === 'binary' ? 1 : 0)]!);
    else this.#text(`","from":${JSON.stringify(m.from)},"kind":${JSON.stringify(m.kind)},"length":`);
    this.#number(m.length).#run(PAYLOAD);
    const textLike = m.kind === 'text';
    let base64: boolean;
    if (m.payload === this.#lastPayload && textLike === this.#lastTextLike) {
      // The same bytes, encoded the same way, are in the frame's line just written.
      const n = this.#lastEnd - this.#lastStart;
      this.#room(n);
      this.#buf.copyWithin(this.#pos, this.#lastStart, this.#lastEnd);
      this.#pos += n;
      base64 = this.#lastBase64;
    } else base64 = this.#payload(m.payload, textLike);
    this.#run(MESSAGE_ENCODING[(base64 ? 2 : 0) | (m.truncated ? 1 : 0)]!).#number(m.frames);
    if (m.by === null) {
      const end = MESSAGE_FATE_NULL.get(m.fate);
      if (end !== undefined) {
        this.#run(end[m.compressed ? 1 : 0]);
        return;
      }
    }
    const fate = MESSAGE_FATE.get(m.fate);
    if (fate !== undefined) this.#run(fate[m.compressed ? 1 : 0]);
    else this.#text(`,"compressed":${b(m.compressed)},"fate":${JSON.stringify(m.fate)},"modified":false,"dropped":false,"injected":false,"by":`);
    if (m.by === null) this.#run(NULL);
    else this.#string(m.by);
    this.#run(MESSAGE_END).#newline();
  }

  #newline(): this {
    this.#room(1);
    this.#buf[this.#pos++] = 0x0a;
    return this;
  }

  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) this.#buf = grown(this.#buf, this.#pos, n);
  }

  #run(bytes: Uint8Array): this {
    const n = bytes.length;
    this.#room(n);
    // A native copy costs a call; the short runs between two values are cheaper copied here.
    if (n <= 16) {
      const buf = this.#buf;
      let pos = this.#pos;
      for (let i = 0; i < n; i++) buf[pos++] = bytes[i]!;
      this.#pos = pos;
    } else {
      this.#buf.set(bytes, this.#pos);
      this.#pos += n;
    }
    return this;
  }

  /** Any text, as UTF-8. */
  #text(s: string): this {
    this.#room(s.length * 3);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
    return this;
  }

  /** A JSON string as JSON.stringify writes it, made safe to print as escapeJsonText makes it. */
  #string(s: string): this {
    return this.#text(escapeJsonText(JSON.stringify(s)));
  }

  /** A number as JSON.stringify writes it (non-negative integers digit by digit). */
  #number(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) return this.#text(JSON.stringify(n));
    const digits = digitCount(n);
    this.#room(digits);
    this.#pos += digits;
    digitsBefore(this.#buf, this.#pos, n);
    return this;
  }

  #time(ms: number): this {
    if (ms !== this.#lastMs) {
      this.#lastIso = Buffer.from(new Date(ms).toISOString(), 'latin1');
      this.#lastMs = ms;
    }
    return this.#run(this.#lastIso);
  }

  #maskKey(key: Uint8Array): void {
    this.#room(key.length * 2 + 2);
    const buf = this.#buf;
    let pos = this.#pos;
    buf[pos++] = 0x22;
    for (let i = 0; i < key.length; i++) {
      buf[pos++] = HEX[key[i]! >> 4]!;
      buf[pos++] = HEX[key[i]! & 15]!;
    }
    buf[pos++] = 0x22;
    this.#pos = pos;
  }

  /**
   * The inside of `"payload":"…"`, as encodePayload (jsonl.ts) decides it: UTF-8 text for a
   * text-like payload that is valid UTF-8, else base64. Returns whether it wrote base64.
   */
  #payload(payload: Uint8Array, textLike: boolean): boolean {
    if (textLike && this.#asciiInside(payload)) return false;
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    if (textLike && isUtf8(buf)) {
      // Inside the quotes JSON.stringify wrote: the quotes are ASCII, the escapes unchanged.
      const quoted = escapeJsonText(JSON.stringify(buf.toString('utf8')));
      this.#text(quoted.slice(1, -1));
      return false;
    }
    // Base64 is ASCII: one byte per character.
    this.#room(Math.ceil(buf.length / 3) * 4);
    this.#pos += this.#buf.write(buf.toString('base64'), this.#pos, 'latin1');
    return true;
  }

  /**
   * `bytes` as the inside of a JSON string when they are short ASCII: `"` and `\` escaped, C0
   * controls as JSON.stringify writes them, DEL as `\u007f` (escapeJsonText). Returns false,
   * having written nothing, for anything else (longer, or a byte above DEL).
   */
  #asciiInside(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (n > BYTE_LOOP_MAX) return false;
    this.#room(n * 6);
    const buf = this.#buf;
    let pos = this.#pos;
    // One pass: copied as it is checked; nothing counts as written until the end.
    for (let i = 0; i < n; i++) {
      const c = bytes[i]!;
      if (c >= 0x20 && c < 0x7f) {
        if (c === 0x22 || c === 0x5c) buf[pos++] = 0x5c;
        buf[pos++] = c;
        continue;
      }
      if (c > 0x7f) return false;
      buf[pos++] = 0x5c;
      const short = c === 0x08 ? 0x62 : c === 0x09 ? 0x74 : c === 0x0a ? 0x6e : c === 0x0c ? 0x66 : c === 0x0d ? 0x72 : 0;
      if (short !== 0) buf[pos++] = short;
      else {
        // \u00XX, lower-case hex as JSON.stringify and escapeJsonText write it (DEL too).
        buf[pos++] = 0x75;
        buf[pos++] = 0x30;
        buf[pos++] = 0x30;
        buf[pos++] = HEX[c >> 4]!;
        buf[pos++] = HEX[c & 15]!;
      }
    }
    this.#pos = pos;
    return true;
  }
}
