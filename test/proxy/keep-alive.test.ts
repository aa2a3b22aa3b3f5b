/**
 * No blind tunnels (issue item 5): every request on a connection is read as a head, so an upgrade
 * after a refused one on a keep-alive connection is decoded (frames on the record, deciders
 * applied); and an `Upgrade:` that is not websocket is plain HTTP, its body sent on at once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Opcode } from '../../src/protocol/constants.js';
import { INTERCEPTOR_ORDER } from '../../src/proxy/control.js';
import { replaceInterceptor } from '../../src/script/replace-rules.js';
import { KEY_A, maskedFrame } from '../helpers/frames.js';
import { startProxy } from '../helpers/proxy-harness.js';
import { RawServer, destroyAllRaw, headerValue, rawConnect, requestHead, switchingHead, until } from '../helpers/raw-peer.js';

describe('every request on a connection is read as a head', { timeout: 60_000 }, () => {
  test('after a 426 on a keep-alive connection, the next upgrade on it is decoded and --replace applies', { timeout: 10_000 }, async () => {
    const refusal = Buffer.from('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 12\r\n\r\ntry again!\r\n', 'latin1');
    let answered = 0;
    const server = await RawServer.start({ respond: (req) => (answered++ === 0 ? refusal : switchingHead(headerValue(req, 'sec-websocket-key')!)) });
    const h = await startProxy(server.port);
    h.proxy.use(replaceInterceptor(['client:/secret/[redacted]/']), INTERCEPTOR_ORDER.replace);
    try {
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/first' }).head);
      await client.waitBytes(refusal.length);
      assert.ok(client.received.equals(refusal), 'the refusal, body and all');
      assert.equal(client.ended, false, 'the connection stays open (keep-alive)');
      await client.write(requestHead({ path: '/second' }).head);
      await until(() => client.received.includes('101 Switching Protocols'), 3000, 'the 101 of the second upgrade');
      const upstream = await until(() => server.connections.find((c) => c.head?.includes('GET /second')), 3000, 'the second upgrade at the target');
      await client.write(maskedFrame(Opcode.Text, 'my secret', KEY_A));
      const [frame] = await upstream.waitFrames(1);
      assert.equal(frame!.payload.toString(), 'my [redacted]', 'the decider ran on the second session');
      const second = await h.waitFor(h.opens, (s) => s.path === '/second');
      assert.equal(second.status, 101);
      const first = await h.waitFor(h.opens, (s) => s.path === '/first');
      assert.equal(first.status, 426);
      await h.waitFor(h.frames, (f) => f.session === second.session && f.from === 'client', 2000, 'the frame on the record');
      await h.waitFor(h.messages, (m) => m.session === second.session && m.fate === 'modified' && m.by === 'replace', 2000, 'the modified message');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a plain request, then an upgrade on the same connection: both read as heads', { timeout: 10_000 }, async () => {
    let n = 0;
    const server = await RawServer.start({
      respond: (req) => (n++ === 0 ? Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') : switchingHead(headerValue(req, 'sec-websocket-key')!)),
    });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('GET /page HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => client.received.toString().endsWith('ok'), 3000, 'the page');
      await client.write(requestHead({ path: '/ws' }).head);
      await until(() => client.received.includes('101 Switching'), 3000, 'the 101');
      const open = await h.waitFor(h.opens, (s) => s.path === '/ws');
      assert.equal(open.status, 101);
      assert.equal(h.https.length, 1);
      assert.equal(h.https[0]!.url, '/page');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('an upgrade, a frame and the client\'s FIN in one go: the frame and the end reach the target after the 101', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => null });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      const { head, key } = requestHead({ path: '/half' });
      client.socket.end(Buffer.concat([head, maskedFrame(Opcode.Text, 'last words', KEY_A)]));
      const upstream = await server.connection(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await upstream.write(switchingHead(key));
      const [frame] = await upstream.waitFrames(1);
      assert.equal(frame!.payload.toString(), 'last words');
      await upstream.waitEnd(2000);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a client that leaves before the 101: the attempt is on the record and the target connection is cut', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => null });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      const { head, key } = requestHead({ path: '/gone' });
      await client.write(head);
      const upstream = await server.connection(0);
      client.socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await upstream.write(switchingHead(key));
      const open = await h.waitFor(h.opens, (s) => s.path === '/gone');
      const close = await h.waitClose(open.session);
      assert.equal(close.by, 'client');
      await upstream.waitEnd(2000);
      assert.equal(h.proxy.sessions().length, 0, 'no session is left behind');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('Upgrade: h2c with a body is plain HTTP: the body reaches the target at once', { timeout: 10_000 }, async () => {
    const web = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(`got ${Buffer.concat(chunks).toString()}`));
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const h = await startProxy((web.address() as net.AddressInfo).port, { connectTimeoutMs: 3000 });
    try {
      const started = Date.now();
      const client = await rawConnect(h.port);
      await client.write(
        'POST /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 11\r\n\r\nhello there',
      );
      await until(() => client.received.toString().endsWith('got hello there'), 2000, 'the answer to the h2c request');
      assert.ok(Date.now() - started < 1000, `answered after ${Date.now() - started} ms`);
      assert.match(client.received.toString(), /^HTTP\/1\.1 200 OK\r\n/);
      assert.equal(h.opens.length, 0, 'not a WebSocket session');
      assert.equal(h.https[0]?.method, 'POST');
    } finally {
      destroyAllRaw();
      await h.close();
      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
    }
  });
});
