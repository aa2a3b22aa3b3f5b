/**
 * ClientHello parsing and first-byte sniffing, on real ClientHellos written by Node's TLS stack
 * (with and without SNI, and split over records as a large hello may be).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello } from '../../src/tls/client-hello.js';
import { sniffFirstBytes } from '../../src/tls/sniff.js';

/** The first bytes a TLS client sends, captured by a plain TCP server. */
async function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  let got: Buffer = Buffer.alloc(0);
  const done = new Promise<Buffer>((resolve) => {
    const server = net.createServer((s) => {
      s.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        const r = parseClientHello(got);
        if (r.state !== 'incomplete') {
          resolve(got);
          s.destroy();
          server.close();
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ...options });
      c.on('error', () => undefined);
    });
  });
  return done;
}

test('SNI and ALPN are read from a real ClientHello', async () => {
  const hello = await captureHello({ servername: 'app.test', ALPNProtocols: ['http/1.1', 'h2'] });
  assert.equal(sniffFirstBytes(hello), 'tls');
  assert.deepEqual(parseClientHello(hello), { state: 'ok', sni: 'app.test', alpn: ['http/1.1', 'h2'] });
  // Every prefix is incomplete, never invalid or wrong.
  for (let n = 0; n < hello.length; n++) assert.equal(parseClientHello(hello.subarray(0, n)).state, 'incomplete', `prefix ${n}`);
});

test('a ClientHello without SNI parses with sni null', async () => {
  // An IP literal as host: Node sends no server_name (RFC 6066 §3).
  const hello = await captureHello({});
  assert.deepEqual(parseClientHello(hello), { state: 'ok', sni: null, alpn: [] });
});

test('a ClientHello split over two handshake records is joined', async () => {
  const hello = await captureHello({ servername: 'split.test' });
  const body = hello.subarray(5);
  const cut = 40;
  const record = (part: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  const split = Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
  assert.deepEqual(parseClientHello(split), { state: 'ok', sni: 'split.test', alpn: [] });
  assert.equal(parseClientHello(split.subarray(0, 5 + cut + 3)).state, 'incomplete');
});

test('not a ClientHello is invalid, not a crash', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).state, 'invalid');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])).state, 'invalid');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03])).state, 'invalid');
});

test('first bytes: TLS, HTTP, h2c preface, opaque', () => {
  assert.equal(sniffFirstBytes(Buffer.from('GET /x HTTP/1.1\r\n')), 'http');
  assert.equal(sniffFirstBytes(Buffer.from('CONNECT a:443 HTTP/1.1\r\n')), 'http');
  assert.equal(sniffFirstBytes(Buffer.from('M-SEARCH * HTTP/1.1\r\n')), 'http');
  assert.equal(sniffFirstBytes(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2c');
  assert.equal(sniffFirstBytes(Buffer.from('PRI * HT')), 'incomplete');
  assert.equal(sniffFirstBytes(Buffer.from('GE')), 'incomplete');
  assert.equal(sniffFirstBytes(Buffer.from([0x16])), 'incomplete');
  assert.equal(sniffFirstBytes(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')), 'opaque');
  assert.equal(sniffFirstBytes(Buffer.from([0x00, 0x01, 0x02])), 'opaque');
  assert.equal(sniffFirstBytes(Buffer.from(' GET')), 'opaque');
  assert.equal(sniffFirstBytes(Buffer.from([0x16, 0x01])), 'opaque');
});
