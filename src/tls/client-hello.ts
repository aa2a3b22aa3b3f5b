/**
 * Reads the server name (SNI, RFC 6066 §3) and ALPN offer (RFC 7301 §3.1) out of a TLS
 * ClientHello (RFC 8446 §4.1.2) without consuming it: the bytes are handed on to the real TLS
 * stack untouched. Pure: bytes in, a value out. A ClientHello may be split over several
 * handshake records (RFC 8446 §5.1), so fragments are joined first.
 */

export type ClientHelloResult =
  | { readonly state: 'incomplete' }
  | { readonly state: 'invalid'; readonly reason: string }
  | { readonly state: 'ok'; readonly sni: string | null; readonly alpn: readonly string[] };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
/** Past this the bytes are not a ClientHello anyone sends. */
const MAX_HELLO = 64 * 1024;

export function parseClientHello(bytes: Uint8Array): ClientHelloResult {
  // Join the handshake fragments of consecutive records.
  const parts: Uint8Array[] = [];
  let have = 0;
  let need = -1;
  let at = 0;
  while (need < 0 || have < need) {
    if (bytes.length < at + 5) return { state: 'incomplete' };
    if (bytes[at] !== HANDSHAKE) return { state: 'invalid', reason: 'not a TLS handshake record' };
    if (bytes[at + 1] !== 0x03) return { state: 'invalid', reason: 'not a TLS record version' };
    const length = (bytes[at + 3]! << 8) | bytes[at + 4]!;
    if (length === 0) return { state: 'invalid', reason: 'empty TLS record' };
    if (bytes.length < at + 5 + length) return { state: 'incomplete' };
    parts.push(bytes.subarray(at + 5, at + 5 + length));
    have += length;
    at += 5 + length;
    if (need < 0) {
      const first = concat(parts, have);
      if (first.length < 4) continue;
      if (first[0] !== CLIENT_HELLO) return { state: 'invalid', reason: 'first handshake message is not a ClientHello' };
      need = 4 + ((first[1]! << 16) | (first[2]! << 8) | first[3]!);
      if (need > MAX_HELLO) return { state: 'invalid', reason: 'ClientHello too large' };
    }
  }
  return readHello(concat(parts, have).subarray(4, need));
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class Reader {
  at = 0;
  constructor(readonly b: Uint8Array) {}
  need(n: number): boolean {
    return this.at + n <= this.b.length;
  }
  u8(): number {
    return this.b[this.at++]!;
  }
  u16(): number {
    const v = (this.b[this.at]! << 8) | this.b[this.at + 1]!;
    this.at += 2;
    return v;
  }
  bytes(n: number): Uint8Array {
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
}

function readHello(body: Uint8Array): ClientHelloResult {
  const r = new Reader(body);
  const bad = (what: string): ClientHelloResult => ({ state: 'invalid', reason: `ClientHello truncated at ${what}` });
  if (!r.need(2 + 32 + 1)) return bad('random');
  r.at += 2 + 32; // legacy_version, random
  const sessionId = r.u8();
  if (!r.need(sessionId + 2)) return bad('session id');
  r.at += sessionId;
  const suites = r.u16();
  if (!r.need(suites + 1)) return bad('cipher suites');
  r.at += suites;
  const compression = r.u8();
  if (!r.need(compression)) return bad('compression methods');
  r.at += compression;
  // A ClientHello without extensions (TLS 1.0-era) has no SNI and no ALPN.
  if (!r.need(2)) return { state: 'ok', sni: null, alpn: [] };
  const end = r.at + 2 + r.u16();
  if (end > body.length) return bad('extensions');
  let sni: string | null = null;
  let alpn: string[] = [];
  while (r.at + 4 <= end) {
    const type = r.u16();
    const length = r.u16();
    if (r.at + length > end) return bad('an extension');
    const data = new Reader(r.bytes(length));
    if (type === EXT_SERVER_NAME && data.need(2)) {
      const listEnd = 2 + data.u16();
      while (data.at + 3 <= Math.min(listEnd, data.b.length)) {
        const nameType = data.u8();
        const n = data.u16();
        if (!data.need(n)) return bad('server name');
        const name = data.bytes(n);
        // host_name (0) is the only type defined; it is ASCII (RFC 6066 §3).
        if (nameType === 0 && sni === null) sni = Buffer.from(name).toString('latin1');
      }
    } else if (type === EXT_ALPN && data.need(2)) {
      const listEnd = 2 + data.u16();
      alpn = [];
      while (data.at + 1 <= Math.min(listEnd, data.b.length)) {
        const n = data.u8();
        if (!data.need(n)) return bad('ALPN');
        alpn.push(Buffer.from(data.bytes(n)).toString('latin1'));
      }
    }
  }
  return { state: 'ok', sni, alpn };
}
