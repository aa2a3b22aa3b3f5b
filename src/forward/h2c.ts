/**
 * The answer to an HTTP/2 connection preface (RFC 9113 §3.4), from a client with prior knowledge
 * (h2c) or one that ignored ALPN: wsproxy relays WebSocket over HTTP/1.1 only, so it says so in
 * HTTP/2's own words, an empty SETTINGS frame then GOAWAY with HTTP_1_1_REQUIRED (RFC 9113 §7),
 * whose debug data carries the sentence. Clients that know the code (curl) retry over HTTP/1.1.
 */

export const H2C_TEXT = 'wsproxy relays WebSocket over HTTP/1.1 only (RFC 6455); HTTP/2 is not supported';

const HTTP_1_1_REQUIRED = 0x0d;

function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  // flags 0, stream 0
  return Buffer.concat([head, payload]);
}

export function h2cRefusal(): Buffer {
  const goaway = Buffer.alloc(8);
  goaway.writeUInt32BE(0, 0); // last stream id
  goaway.writeUInt32BE(HTTP_1_1_REQUIRED, 4);
  return Buffer.concat([frame(0x4, Buffer.alloc(0)), frame(0x7, Buffer.concat([goaway, Buffer.from(H2C_TEXT, 'latin1')]))]);
}
