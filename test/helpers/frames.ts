/**
 * Helpers for hand-written RFC 6455 frames, shared by every test tier.
 *
 * The builder here is written independently of src/protocol (its own header layout and a naive
 * byte-loop XOR), so encoder tests compare two implementations instead of one with itself.
 */
import {
  FrameParser,
  type FrameParserOptions,
  type MessageContext,
  type ParseEvent,
  type ViolationCode,
} from '../../src/protocol/index.js';

/** "81 05 48 65" / "0x81 0x05" / "8105" → bytes. Whitespace, commas and 0x prefixes are ignored. */
export function hex(text: string): Buffer {
  const clean = text.replace(/0x/gi, '').replace(/[\s,]/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`not an even-length hex string: ${text}`);
  return Buffer.from(clean, 'hex');
}

/** Bytes → "81 05 48 65" (for readable assertion messages). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/** Fixed masking keys; KEY_RFC is the one used by the RFC 6455 §5.7 examples. */
export const KEY_RFC: Uint8Array = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
export const KEY_A: Uint8Array = Uint8Array.of(0x01, 0x02, 0x03, 0x04);
export const KEY_B: Uint8Array = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
export const KEY_ZERO: Uint8Array = Uint8Array.of(0, 0, 0, 0);

/** Naive §5.3 masking: octet i XOR key[(offset + i) mod 4]. The reference the fast path is checked against. */
export function xorMask(data: Uint8Array, key: Uint8Array, offset = 0): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[(offset + i) % 4]!;
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32), so big payloads need no fixtures. */
export function patternBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface RawFrame {
  /** Default true. */
  readonly fin?: boolean;
  readonly rsv1?: boolean;
  readonly rsv2?: boolean;
  readonly rsv3?: boolean;
  readonly opcode: number;
  /** Unmasked payload; a string is UTF-8 encoded. Default empty. */
  readonly payload?: Uint8Array | string;
  /** null/absent = unmasked frame. */
  readonly maskKey?: Uint8Array | null;
  /** Force a length encoding (default: the minimal one), e.g. to write a non-minimal length. */
  readonly lengthBits?: 7 | 16 | 64;
  /** Write this value in the length field instead of the payload's length (to lie about it). */
  readonly declaredLength?: number | bigint;
}

/** Builds one frame byte by byte (§5.2), masking the payload with the naive loop. */
export function buildFrame(f: RawFrame): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : Buffer.from(f.payload ?? []);
  const declared = BigInt(f.declaredLength ?? payload.length);
  const bits = f.lengthBits ?? (declared < 126n ? 7 : declared <= 0xffffn ? 16 : 64);
  const key = f.maskKey ?? null;
  const b0 =
    ((f.fin ?? true) ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | (f.opcode & 0x0f);
  const maskBit = key !== null ? 0x80 : 0;
  const head: number[] = [b0];
  if (bits === 7) head.push(maskBit | Number(declared));
  else if (bits === 16) head.push(maskBit | 126, Number(declared >> 8n) & 0xff, Number(declared) & 0xff);
  else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((declared >> shift) & 0xffn));
  }
  if (key !== null) head.push(...key);
  const body = key !== null ? xorMask(payload, key) : payload;
  return Buffer.concat([Buffer.from(head), body]);
}

/** A masked frame (what a client sends). */
export function maskedFrame(opcode: number, payload: Uint8Array | string, key: Uint8Array = KEY_A, fin = true): Buffer {
  return buildFrame({ opcode, payload, maskKey: key, fin });
}

/** An unmasked frame (what a server sends). */
export function unmaskedFrame(opcode: number, payload: Uint8Array | string, fin = true): Buffer {
  return buildFrame({ opcode, payload, fin });
}

/** One frame as the parser saw it, in a shape `assert.deepStrictEqual` compares well. */
export interface ParsedFrame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  /** Hex of the mask key, null when unmasked. */
  readonly maskKey: string | null;
  readonly payloadLength: number;
  readonly headerLength: number;
  /** Hex of the header bytes as received. */
  readonly raw: string;
  readonly message: MessageContext | null;
  readonly violations: ViolationCode[];
  /** Every payload slice concatenated and unmasked. */
  readonly payload: Buffer;
  /** frame-end was seen. */
  readonly complete: boolean;
}

export interface ParseResult {
  readonly frames: ParsedFrame[];
  /** Violations not tied to a header (truncated-frame, length-msb-set, length-too-large), in order. */
  readonly violations: ViolationCode[];
  readonly failed: boolean;
}

interface OpenFrame {
  readonly frame: Omit<ParsedFrame, 'payload' | 'complete'>;
  readonly key: Uint8Array | null;
  readonly chunks: Buffer[];
  received: number;
}

/**
 * Folds parser events into ParsedFrames. It also checks the event stream is coherent (payload
 * offsets contiguous, no payload outside a frame, frame-end after exactly payloadLength bytes) and
 * throws if not, so every test that collects also checks those invariants.
 */
export class FrameCollector {
  readonly #frames: ParsedFrame[] = [];
  readonly #violations: ViolationCode[] = [];
  #open: OpenFrame | null = null;

  add(events: readonly ParseEvent[]): this {
    for (const e of events) {
      switch (e.type) {
        case 'header': {
          if (this.#open !== null) throw new Error('header event inside an unfinished frame');
          const h = e.header;
          this.#open = {
            frame: {
              fin: h.fin,
              rsv1: h.rsv1,
              rsv2: h.rsv2,
              rsv3: h.rsv3,
              opcode: h.opcode,
              maskKey: h.maskKey === null ? null : Buffer.from(h.maskKey).toString('hex'),
              payloadLength: h.payloadLength,
              headerLength: h.headerLength,
              raw: Buffer.from(e.raw).toString('hex'),
              message: e.message === null ? null : { ...e.message },
              violations: e.violations.map((v) => v.code),
            },
            key: h.maskKey,
            chunks: [],
            received: 0,
          };
          break;
        }
        case 'payload': {
          const open = this.#open;
          if (open === null) throw new Error('payload event outside a frame');
          if (e.offset !== open.received) throw new Error(`payload offset ${e.offset}, expected ${open.received}`);
          if (e.data.length === 0) throw new Error('empty payload event');
          open.chunks.push(open.key === null ? Buffer.from(e.data) : xorMask(e.data, open.key, e.offset));
          open.received += e.data.length;
          if (open.received > open.frame.payloadLength) throw new Error('more payload than the header announced');
          break;
        }
        case 'frame-end': {
          const open = this.#open;
          if (open === null) throw new Error('frame-end outside a frame');
          if (open.received !== open.frame.payloadLength) {
            throw new Error(`frame-end after ${open.received} of ${open.frame.payloadLength} bytes`);
          }
          this.#frames.push({ ...open.frame, payload: Buffer.concat(open.chunks), complete: true });
          this.#open = null;
          break;
        }
        case 'violation':
          this.#violations.push(e.violation.code);
          break;
      }
    }
    return this;
  }

  /** Frames so far; an unfinished frame is included with complete: false. */
  get frames(): ParsedFrame[] {
    const open = this.#open;
    if (open === null) return [...this.#frames];
    return [...this.#frames, { ...open.frame, payload: Buffer.concat(open.chunks), complete: false }];
  }

  get violations(): ViolationCode[] {
    return [...this.#violations];
  }
}

export interface ParseOptions extends Partial<FrameParserOptions> {
  /** Call finish() after the last chunk (reports truncated-frame). Default false. */
  readonly finish?: boolean;
}

/** Pushes chunks into a fresh parser (default: from server, no RSV1) and collects the result. */
export function parseChunks(chunks: readonly Uint8Array[], options: ParseOptions = {}): ParseResult {
  const parser = new FrameParser({ from: options.from ?? 'server', rsv1Allowed: options.rsv1Allowed ?? false });
  const collector = new FrameCollector();
  for (const chunk of chunks) collector.add(parser.push(chunk));
  if (options.finish === true) collector.add(parser.finish());
  return { frames: collector.frames, violations: collector.violations, failed: parser.failed };
}

/** parseChunks with the whole input in one push. */
export function parseBytes(bytes: Uint8Array, options: ParseOptions = {}): ParseResult {
  return parseChunks([bytes], options);
}

/** Splits bytes at the given offsets (sorted, deduplicated, clamped); views, not copies. */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.map((o) => Math.max(0, Math.min(bytes.length, o))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    out.push(bytes.subarray(start, cut));
    start = cut;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** One chunk per byte. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}

/** Only the violation codes of a result, frame by frame, then the stream-level ones. */
export function violationCodes(result: ParseResult): ViolationCode[] {
  return [...result.frames.flatMap((f) => f.violations), ...result.violations];
}
