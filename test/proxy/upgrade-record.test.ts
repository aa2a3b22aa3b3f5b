/**
 * Every upgrade attempt is a session on the record, with its true cause (issue items 2, 3, 4): a
 * dead, silent or refusing target each gets an open record (status, who answered, why) and a
 * close record; the Accept check applies to a 101 only; the open record carries the request head
 * as the target received it next to the one the client sent.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy } from '../helpers/proxy-harness.js';
import { RawServer, deadPort, destroyAllRaw, rawConnect, requestHead, switchingHead, headerValue, until } from '../helpers/raw-peer.js';

async function silentServer(): Promise<{ port: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('every upgrade attempt is a session', { timeout: 60_000 }, () => {
  test('a dead target: 502, an open record with the status and reason, a close by the proxy', { timeout: 10_000 }, async () => {
    const h = await startProxy(await deadPort());
    try {
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/dead' }).head);
      await client.waitEnd(2000);
      assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
      const open = await h.waitFor(h.opens, (s) => s.path === '/dead', 2000, 'the open record of the failed attempt');
      assert.equal(open.status, 502);
      assert.equal(open.answeredBy, 'proxy');
      assert.match(open.failure ?? '', /ECONNREFUSED/);
      assert.equal(open.acceptValid, null, 'no Accept check without a 101');
      assert.match(open.response.startLine, /^HTTP\/1\.1 502 /, 'the response is what the client got');
      const close = await h.waitClose(open.session);
      assert.equal(close.by, 'proxy');
      assert.match(close.reason, /ECONNREFUSED/);
      assert.equal(close.code, null);
    } finally {
      destroyAllRaw();
      await h.close();
    }
  });

  test('a target that sends interim answers (100) again and again still gets 504 within the one upstream time-out', { timeout: 10_000 }, async () => {
    const interim = await silentServer();
    const h = await startProxy(interim.port, { connectTimeoutMs: 400 });
    const timers: NodeJS.Timeout[] = [];
    interim.sockets.length = 0;
    try {
      const started = Date.now();
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/interim' }).head);
      // Every 100 ms an interim answer, never the real one.
      await new Promise<void>((resolve) => {
        const wait = setInterval(() => {
          const s = interim.sockets[0];
          if (s === undefined) return;
          clearInterval(wait);
          timers.push(setInterval(() => s.writable && s.write('HTTP/1.1 100 Continue\r\n\r\n'), 100));
          resolve();
        }, 5);
      });
      await client.waitEnd(3000);
      const took = Date.now() - started;
      assert.ok(took >= 380 && took < 2000, `answered after ${took} ms`);
      const text = client.received.toString('latin1');
      assert.match(text, /HTTP\/1\.1 504 Gateway Timeout\r\n[^]*did not answer within 400 ms\n$/);
      assert.match(text, /^HTTP\/1\.1 100 Continue\r\n/, 'the interim answers reached the client first');
    } finally {
      for (const t of timers) clearInterval(t);
      destroyAllRaw();
      await h.close();
      await interim.close();
    }
  });

  test('a refusal whose body stops coming ends both connections after the upstream time-out, on the record', { timeout: 10_000 }, async () => {
    const stalling = await silentServer();
    const h = await startProxy(stalling.port, { connectTimeoutMs: 400 });
    try {
      const started = Date.now();
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/stall' }).head);
      await until(() => stalling.sockets[0], 2000, 'the target connection');
      // 100 bytes promised, 10 sent, then nothing.
      stalling.sockets[0]!.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\nten bytes!');
      await client.waitEnd(3000);
      const took = Date.now() - started;
      assert.ok(took >= 380 && took < 2500, `ended after ${took} ms`);
      assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 403 Forbidden\r\n[^]*ten bytes!$/);
      const open = await h.waitFor(h.opens, (s) => s.path === '/stall');
      assert.equal(open.status, 403);
      const close = await h.waitClose(open.session);
      assert.equal(close.by, 'proxy');
      assert.match(close.reason, /handshake refused: 403 Forbidden; its body stalled for 400 ms/);
    } finally {
      destroyAllRaw();
      await h.close();
      await stalling.close();
    }
  });

  test('a target that accepts and never answers: 504 after the upstream time-out, on the record', { timeout: 10_000 }, async () => {
    const silent = await silentServer();
    const h = await startProxy(silent.port, { connectTimeoutMs: 300 });
    try {
      const started = Date.now();
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/silent' }).head);
      await client.waitEnd(3000);
      const took = Date.now() - started;
      assert.ok(took >= 280 && took < 2000, `answered after ${took} ms`);
      const text = client.received.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
      assert.match(text, /did not answer within 300 ms\n$/);
      const open = await h.waitFor(h.opens, (s) => s.path === '/silent');
      assert.equal(open.status, 504);
      assert.equal(open.answeredBy, 'proxy');
      const close = await h.waitClose(open.session);
      assert.equal(close.by, 'proxy');
      assert.match(close.reason, /did not answer within 300 ms/);
    } finally {
      destroyAllRaw();
      await h.close();
      await silent.close();
    }
  });

  test('a target that answers bytes that are not HTTP: 502 at once, not after the time-out', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => Buffer.from('SSH-2.0-OpenSSH_9.6\r\n') });
    const h = await startProxy(server.port, { connectTimeoutMs: 3000 });
    try {
      const started = Date.now();
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/ssh' }).head);
      await client.waitEnd(2500);
      assert.ok(Date.now() - started < 1000, `answered after ${Date.now() - started} ms`);
      assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*not HTTP/);
      const open = await h.waitFor(h.opens, (s) => s.path === '/ssh');
      assert.equal(open.status, 502);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a 403 is "handshake refused: 403 Forbidden" with its body, closed by the server, no Accept verdict', { timeout: 10_000 }, async () => {
    const refusal = Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nConnection: close\r\n\r\ngo away: token expired', 'latin1');
    const server = await RawServer.start({ respond: () => refusal });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/private' }).head);
      await client.waitEnd(2000);
      assert.ok(client.received.equals(refusal), 'the refusal reaches the client byte for byte');
      const open = await h.waitFor(h.opens, (s) => s.path === '/private');
      assert.equal(open.status, 403);
      assert.equal(open.answeredBy, 'server');
      assert.equal(open.failure, 'handshake refused: 403 Forbidden');
      assert.equal(Buffer.from(open.body).toString(), 'go away: token expired');
      assert.equal(open.acceptValid, null, 'the Accept check applies to a 101 only');
      const close = await h.waitClose(open.session);
      assert.equal(close.by, 'server');
      assert.equal(close.reason, 'handshake refused: 403 Forbidden');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a 101 with a wrong Accept is still a session, marked invalid', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => switchingHead('not the key that was sent') });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/wrong-accept' }).head);
      const open = await h.waitFor(h.opens, (s) => s.path === '/wrong-accept');
      assert.equal(open.status, 101);
      assert.equal(open.acceptValid, false);
      assert.equal(open.failure, null);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a 101 a conforming client would refuse (an extension and a subprotocol it did not offer) is relayed, and the log says why', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({
      respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Extensions', 'permessage-deflate'], ['Sec-WebSocket-Protocol', 'admin-protocol']]),
    });
    const h = await startProxy(server.port);
    const order: string[] = [];
    h.proxy.bus.on('session-open', () => order.push('open'));
    h.proxy.bus.on('log', (l) => order.push(l.text));
    try {
      const client = await rawConnect(h.port);
      await client.write(requestHead({ path: '/unoffered' }).head);
      await client.waitBytes(100);
      assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 101 [^]*admin-protocol/, 'relayed as it came');
      const open = await h.waitFor(h.opens, (s) => s.path === '/unoffered');
      await until(() => h.logs.filter((l) => l.session === open.session).length === 2 || undefined, 3000, 'two warnings');
      assert.deepEqual(order, [
        'open',
        'the server accepted the extension permessage-deflate, which the client did not offer (RFC 6455 §4.1): a conforming client fails the connection',
        'the server chose the subprotocol admin-protocol, which the client did not offer (RFC 6455 §4.1): a conforming client fails the connection',
      ]);
      assert.ok(h.logs.every((l) => l.level === 'warn'));
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('the open record has the head the target received (Host, base path, --no-deflate) and the one the client sent', { timeout: 10_000 }, async () => {
    const server = await RawServer.start();
    const h = await startProxy(server.port, { deflate: false, target: { host: '127.0.0.1', port: server.port, basePath: '/base' } });
    try {
      const client = await rawConnect(h.port);
      const { head } = requestHead({ path: '/chat?room=1', host: 'app.example:8443', headers: [['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits']] });
      await client.write(head);
      const conn = await server.connection(0);
      const open = await h.waitFor(h.opens, (s) => s.path === '/chat?room=1');
      assert.ok(Buffer.from(open.sent.raw).equals(conn.head!), 'sent is byte for byte what the target received');
      assert.ok(Buffer.from(open.request.raw).equals(head), 'request is what the client sent');
      assert.equal(open.sent.startLine, 'GET /base/chat?room=1 HTTP/1.1');
      assert.equal(headerValue(Buffer.from(open.sent.raw), 'host'), `127.0.0.1:${server.port}`);
      assert.equal(headerValue(Buffer.from(open.sent.raw), 'sec-websocket-extensions'), undefined);
      assert.equal(open.acceptValid, true, 'the Accept is checked against the key the target received');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });
});
