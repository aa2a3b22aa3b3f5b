/**
 * pcapng by hand (the format is small, and no maintained npm writer exists): Section Header,
 * Interface Description and Enhanced Packet blocks, little-endian, with comments; and the
 * synthetic Ethernet / IPv4 or IPv6 / TCP packets that carry a leg's bytes. Pure: bytes in, bytes
 * out. Block layouts: draft-ietf-opsawg-pcapng §4.1 (SHB), §4.2 (IDB), §4.3 (EPB).
 */

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;

const pad4 = (n: number): number => (n + 3) & ~3;

interface Option {
  readonly code: number;
  readonly value: Buffer;
}

function optionsLength(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  let n = 4; // opt_endofopt
  for (const o of options) n += 4 + pad4(o.value.length);
  return n;
}

function writeOptions(buf: Buffer, at: number, options: readonly Option[]): number {
  if (options.length === 0) return at;
  for (const o of options) {
    buf.writeUInt16LE(o.code, at);
    buf.writeUInt16LE(o.value.length, at + 2);
    o.value.copy(buf, at + 4);
    buf.fill(0, at + 4 + o.value.length, at + 4 + pad4(o.value.length));
    at += 4 + pad4(o.value.length);
  }
  buf.writeUInt32LE(OPT_ENDOFOPT, at);
  return at + 4;
}

const text = (code: number, value: string): Option => ({ code, value: Buffer.from(value, 'utf8') });

export function sectionHeader(application: string): Buffer {
  const options = [text(SHB_USERAPPL, application)];
  const length = 28 + optionsLength(options);
  const buf = Buffer.alloc(length);
  buf.writeUInt32LE(SHB, 0);
  buf.writeUInt32LE(length, 4);
  buf.writeUInt32LE(BYTE_ORDER_MAGIC, 8);
  buf.writeUInt16LE(1, 12);
  buf.writeUInt16LE(0, 14);
  // Section length unknown (-1): the file is written as it happens.
  buf.writeInt32LE(-1, 16);
  buf.writeInt32LE(-1, 20);
  writeOptions(buf, 24, options);
  buf.writeUInt32LE(length, length - 4);
  return buf;
}

/** An Ethernet interface with microsecond timestamps (the default if_tsresol). */
export function interfaceDescription(name: string, description: string): Buffer {
  const options = [text(IF_NAME, name), text(IF_DESCRIPTION, description)];
  const length = 20 + optionsLength(options);
  const buf = Buffer.alloc(length);
  buf.writeUInt32LE(IDB, 0);
  buf.writeUInt32LE(length, 4);
  buf.writeUInt16LE(LINKTYPE_ETHERNET, 8);
  buf.writeUInt16LE(0, 10);
  buf.writeUInt32LE(0, 12); // snaplen 0: no limit
  writeOptions(buf, 16, options);
  buf.writeUInt32LE(length, length - 4);
  return buf;
}

// ---- synthetic packets --------------------------------------------------------------------

export interface Endpoint {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  readonly ip: Buffer;
  readonly port: number;
  readonly mac: Buffer;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface Segment {
  readonly interfaceId: number;
  /** Microseconds since the epoch. */
  readonly micros: number;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly payload: readonly Uint8Array[];
  readonly payloadLength: number;
  readonly comment: string | null;
}

const ETH = 14;
const TCP = 20;

/**
 * One Enhanced Packet Block holding an Ethernet frame with an IP packet with a TCP segment, all
 * checksums computed. The buffer is laid out so the TCP segment starts 4-byte aligned, which lets
 * the checksum read 32-bit words.
 */
export function packetBlock(s: Segment): Buffer {
  const v6 = s.src.ip.length === 16;
  const ipLen = v6 ? 40 : 20;
  const frameLen = ETH + ipLen + TCP + s.payloadLength;
  const options = s.comment === null ? [] : [text(OPT_COMMENT, s.comment)];
  const blockLen = 28 + pad4(frameLen) + optionsLength(options) + 4;
  // EPB header (28) + Ethernet (14) + IP: the TCP segment begins at 62 (v4) or 82 (v6); 2 bytes
  // of lead make that a multiple of 4.
  const lead = 2;
  const raw = Buffer.allocUnsafeSlow(lead + blockLen);
  const b = raw.subarray(lead);
  b.writeUInt32LE(EPB, 0);
  b.writeUInt32LE(blockLen, 4);
  b.writeUInt32LE(s.interfaceId, 8);
  b.writeUInt32LE(Math.floor(s.micros / 0x100000000), 12);
  b.writeUInt32LE(s.micros % 0x100000000 >>> 0, 16);
  b.writeUInt32LE(frameLen, 20);
  b.writeUInt32LE(frameLen, 24);
  let at = 28;
  s.dst.mac.copy(b, at);
  s.src.mac.copy(b, at + 6);
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, at + 12);
  at += ETH;
  const tcpLen = TCP + s.payloadLength;
  if (v6) {
    b.writeUInt32BE(0x60000000, at);
    b.writeUInt16BE(tcpLen, at + 4);
    b[at + 6] = 6; // next header: TCP
    b[at + 7] = 64;
    s.src.ip.copy(b, at + 8);
    s.dst.ip.copy(b, at + 24);
  } else {
    b[at] = 0x45;
    b[at + 1] = 0;
    b.writeUInt16BE(ipLen + tcpLen, at + 2);
    b.writeUInt16BE(s.seq & 0xffff, at + 4); // identification: anything will do
    b.writeUInt16BE(0x4000, at + 6); // don't fragment
    b[at + 8] = 64;
    b[at + 9] = 6;
    b.writeUInt16BE(0, at + 10);
    s.src.ip.copy(b, at + 12);
    s.dst.ip.copy(b, at + 16);
    b.writeUInt16BE(finish(sum16(b, at, 20)), at + 10);
  }
  at += ipLen;
  const tcp = at;
  b.writeUInt16BE(s.src.port, at);
  b.writeUInt16BE(s.dst.port, at + 2);
  b.writeUInt32BE(s.seq >>> 0, at + 4);
  b.writeUInt32BE(s.ack >>> 0, at + 8);
  b[at + 12] = 5 << 4;
  b[at + 13] = s.flags;
  b.writeUInt16BE(0xffff, at + 14);
  b.writeUInt32BE(0, at + 16); // checksum, urgent pointer
  at += TCP;
  for (const p of s.payload) {
    b.set(p, at);
    at += p.length;
  }
  b.fill(0, at, 28 + pad4(frameLen));
  // RFC 793 §3.1: the checksum covers a pseudo header of addresses, protocol and length.
  let sum = sum16(b, tcp, tcpLen) + sum16(s.src.ip, 0, s.src.ip.length) + sum16(s.dst.ip, 0, s.dst.ip.length) + 6 + tcpLen;
  sum = finish(sum);
  b.writeUInt16BE(sum, tcp + 16);
  at = writeOptions(b, 28 + pad4(frameLen), options);
  b.writeUInt32LE(blockLen, at);
  return b;
}

/**
 * The one's complement sum of big-endian 16-bit words (RFC 1071), not yet folded. Words are read
 * 32 bits at a time where the bytes are aligned: summing wider words and folding gives the same
 * result (RFC 1071 §2(C)).
 */
export function sum16(buf: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  let i = offset;
  const end = offset + length;
  const abs = buf.byteOffset + i;
  if ((abs & 3) === 0 && length >= 64) {
    const words = length >>> 2;
    const view = new Uint32Array(buf.buffer, abs, words);
    // The words are little-endian on the machines Node runs on: a byte-swapped sum, swapped back below.
    let le = 0;
    for (let w = 0; w < words; w++) {
      le += view[w]!;
      // Stays exact: congruent mod 0xffff, far below 2^53.
      if (le > 0x1fffffffffff) le = (le % 0x10000) + Math.floor(le / 0x10000);
    }
    le = fold(le);
    sum += ((le & 0xff) << 8) | (le >>> 8);
    i += words * 4;
  }
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds a sum of 16-bit words to 16 bits with end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}
