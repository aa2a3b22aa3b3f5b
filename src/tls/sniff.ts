/**
 * What the first bytes of a connection (or of a CONNECT tunnel) are, the way httpolyglot and
 * mitmproxy's next-layer decide: a TLS handshake record starts with 0x16 (RFC 8446 §5.1), an
 * HTTP/2 prior-knowledge connection with its preface (RFC 9113 §3.4), HTTP/1.x with a method
 * token (RFC 9112 §3); anything else is opaque bytes. Pure.
 */

export type FirstBytes = 'tls' | 'h2c' | 'http' | 'opaque' | 'incomplete';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function sniffFirstBytes(bytes: Uint8Array): FirstBytes {
  if (bytes.length === 0) return 'incomplete';
  const first = bytes[0]!;
  // 0x16 handshake, then record version 3.x.
  if (first === 0x16) return bytes.length < 2 ? 'incomplete' : bytes[1] === 0x03 ? 'tls' : 'opaque';
  const n = Math.min(bytes.length, H2_PREFACE.length);
  if (Buffer.from(bytes.buffer, bytes.byteOffset, n).equals(H2_PREFACE.subarray(0, n))) return n === H2_PREFACE.length ? 'h2c' : 'incomplete';
  // A method is an upper-case token followed by a space; look at the first 16 bytes at most.
  for (let i = 0; i < Math.min(bytes.length, 16); i++) {
    const c = bytes[i]!;
    if (c === 0x20) return i > 0 ? 'http' : 'opaque';
    if (c === 0x2d && i > 0) continue; // M-SEARCH, ...
    if (c < 0x41 || c > 0x5a) return 'opaque';
  }
  return bytes.length < 16 ? 'incomplete' : 'opaque';
}
