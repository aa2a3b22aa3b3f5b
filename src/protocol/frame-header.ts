import {
  FIN_BIT,
  LENGTH_MASK,
  MASK_BIT,
  OPCODE_MASK,
  PAYLOAD_LEN_16,
  PAYLOAD_LEN_64,
  RSV1_BIT,
  RSV2_BIT,
  RSV3_BIT,
  opcodeName,
} from './constants.js';

/** One decoded frame header (RFC 6455 §5.2). */
export interface FrameHeader {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  /** 0..15; reserved values are reported, not rejected. */
  readonly opcode: number;
  /** null = unmasked. */
  readonly maskKey: Uint8Array | null;
  readonly payloadLength: number;
  /** 2..14 bytes on the wire. */
  readonly headerLength: number;
}

/**
 * A header as the parser decoded it from the wire. The key and the raw bytes are kept as numbers
 * and made into byte arrays only when someone asks: a typed array costs about as much as all the
 * rest of a small frame's relay, and most frames are never looked at byte by byte.
 */
export class WireHeader implements FrameHeader {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  readonly payloadLength: number;
  readonly headerLength: number;
  readonly masked: boolean;
  /** The mask key as a 32-bit word, its first byte most significant (0 when unmasked). */
  readonly key: number;
  /** The first header byte, and the 7-bit length field as sent (126/127 select the extended forms). */
  readonly #b0: number;
  readonly #len7: number;
  #maskKey: Uint8Array | null | undefined = undefined;
  #raw: Uint8Array | undefined = undefined;

  constructor(b0: number, len7: number, payloadLength: number, headerLength: number, masked: boolean, key: number) {
    this.#b0 = b0;
    this.#len7 = len7;
    this.fin = (b0 & FIN_BIT) !== 0;
    this.rsv1 = (b0 & RSV1_BIT) !== 0;
    this.rsv2 = (b0 & RSV2_BIT) !== 0;
    this.rsv3 = (b0 & RSV3_BIT) !== 0;
    this.opcode = b0 & OPCODE_MASK;
    this.payloadLength = payloadLength;
    this.headerLength = headerLength;
    this.masked = masked;
    this.key = key;
  }

  get maskKey(): Uint8Array | null {
    if (this.#maskKey === undefined) this.#maskKey = this.masked ? keyBytes(this.key) : null;
    return this.#maskKey;
  }

  /** The header bytes exactly as received (the length in the encoding the peer chose). */
  get raw(): Uint8Array {
    if (this.#raw !== undefined) return this.#raw;
    const out = new Uint8Array(this.headerLength);
    out[0] = this.#b0;
    out[1] = (this.masked ? MASK_BIT : 0) | this.#len7;
    let at = 2;
    const n = this.payloadLength;
    if (this.#len7 === PAYLOAD_LEN_16) {
      out[2] = n >>> 8;
      out[3] = n & 0xff;
      at = 4;
    } else if (this.#len7 === PAYLOAD_LEN_64) {
      const hi = Math.floor(n / 0x1_0000_0000);
      for (let i = 0; i < 4; i++) out[2 + i] = (hi >>> (24 - 8 * i)) & 0xff;
      for (let i = 0; i < 4; i++) out[6 + i] = (n >>> (24 - 8 * i)) & 0xff;
      at = 10;
    }
    if (this.masked) for (let i = 0; i < 4; i++) out[at + i] = (this.key >>> (24 - 8 * i)) & 0xff;
    this.#raw = out;
    return out;
  }
}

/** A key word (first byte most significant) as its 4 bytes. */
export function keyBytes(word: number): Uint8Array {
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = (word >>> (24 - 8 * i)) & 0xff;
  return out;
}

/** 4 key bytes as a word, first byte most significant. */
export function keyWord(key: Uint8Array): number {
  return ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
}

/** What a writer needs to produce a header; lengths and mask bit follow from the rest. */
export interface HeaderFields {
  readonly fin: boolean;
  readonly rsv1?: boolean;
  readonly rsv2?: boolean;
  readonly rsv3?: boolean;
  readonly opcode: number;
  readonly maskKey?: Uint8Array | null;
  readonly payloadLength: number;
}

/** Header size for a payload length and mask flag, using the minimal length encoding. */
export function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < PAYLOAD_LEN_16 ? 2 : payloadLength <= 0xffff ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Encodes a header with the minimal length encoding (§5.2: "the minimal number of bytes MUST be
 * used to encode the length"). Throws on bad arguments: this is our own code calling, not a peer.
 */
export function encodeHeader(fields: HeaderFields): Buffer {
  const { payloadLength, opcode } = fields;
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 0) {
    throw new RangeError(`payload length must be a safe non-negative integer, got ${payloadLength}`);
  }
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 15) {
    throw new RangeError(`opcode must be 0..15, got ${opcode}`);
  }
  const maskKey = fields.maskKey ?? null;
  if (maskKey !== null && maskKey.length !== 4) throw new RangeError('mask key must be 4 bytes');
  const out = Buffer.allocUnsafe(headerLength(payloadLength, maskKey !== null));
  out[0] =
    (fields.fin ? FIN_BIT : 0) |
    (fields.rsv1 ? RSV1_BIT : 0) |
    (fields.rsv2 ? RSV2_BIT : 0) |
    (fields.rsv3 ? RSV3_BIT : 0) |
    opcode;
  const maskBit = maskKey !== null ? MASK_BIT : 0;
  let offset: number;
  if (payloadLength < PAYLOAD_LEN_16) {
    out[1] = maskBit | payloadLength;
    offset = 2;
  } else if (payloadLength <= 0xffff) {
    out[1] = maskBit | PAYLOAD_LEN_16;
    out.writeUInt16BE(payloadLength, 2);
    offset = 4;
  } else {
    out[1] = maskBit | PAYLOAD_LEN_64;
    out.writeUInt32BE(Math.floor(payloadLength / 0x1_0000_0000), 2);
    out.writeUInt32BE(payloadLength >>> 0, 6);
    offset = 10;
  }
  if (maskKey !== null) out.set(maskKey, offset);
  return out;
}

/** Copy of a header with a different mask key, keeping every other bit and the length encoding as received. */
export function rewriteMaskKey(rawHeader: Uint8Array, maskKey: Uint8Array): Buffer {
  const out = Buffer.from(rawHeader);
  out.set(maskKey, out.length - 4);
  return out;
}

function bits(byte: number, mask: number): string {
  let out = '';
  for (let bit = 7; bit >= 0; bit--) {
    const on = (mask >> bit) & 1;
    out += on ? String((byte >> bit) & 1) : '.';
    if (bit === 4) out += ' ';
  }
  return out;
}

/**
 * The header decoded bit by bit, the way Wireshark prints it:
 * `1... .... = Fin: True`, `.... 0001 = Opcode: Text (1)`, and so on. RSV1 is "Per-Message
 * Compressed" only on a session that negotiated permessage-deflate (RFC 7692 §6); elsewhere it is
 * one of the reserved bits (RFC 6455 §5.2).
 */
export function describeHeaderBits(raw: Uint8Array, header: FrameHeader, deflate = false): string[] {
  const b0 = raw[0] ?? 0;
  const b1 = raw[1] ?? 0;
  const yes = (v: boolean): string => (v ? 'True' : 'False');
  const len7 = b1 & LENGTH_MASK;
  const lines = [
    `${bits(b0, FIN_BIT)} = Fin: ${yes(header.fin)}`,
    `${bits(b0, RSV1_BIT | RSV2_BIT | RSV3_BIT)} = Reserved: 0x${((b0 >> 4) & 0x7).toString(16)}`,
    `${bits(b0, RSV1_BIT)} = ${deflate ? 'Per-Message Compressed' : 'Reserved'} (RSV1): ${yes(header.rsv1)}`,
    `${bits(b0, OPCODE_MASK)} = Opcode: ${opcodeName(header.opcode)} (${header.opcode})`,
    `${bits(b1, MASK_BIT)} = Mask: ${yes(header.maskKey !== null)}`,
  ];
  if (len7 === PAYLOAD_LEN_16) {
    lines.push(`${bits(b1, LENGTH_MASK)} = Payload length: 126 Extended Payload Length (16 bits)`);
    lines.push(`Extended Payload length (16 bits): ${header.payloadLength}`);
  } else if (len7 === PAYLOAD_LEN_64) {
    lines.push(`${bits(b1, LENGTH_MASK)} = Payload length: 127 Extended Payload Length (64 bits)`);
    lines.push(`Extended Payload length (64 bits): ${header.payloadLength}`);
  } else {
    lines.push(`${bits(b1, LENGTH_MASK)} = Payload length: ${len7}`);
  }
  if (header.maskKey !== null) lines.push(`Masking-Key: ${Buffer.from(header.maskKey).toString('hex')}`);
  return lines;
}
