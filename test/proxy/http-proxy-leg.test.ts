/**
 * The upstream leg of plain requests is http-proxy's (docs/architecture.md, "Plain HTTP: the
 * client leg framed by the proxy, the upstream leg by http-proxy"): its events fire for every
 * request, the head the target gets is the client's with only the asked-for rewrites, interim
 * answers and a switch to h2c come through, and a target that is down, cuts its answer or loses
 * its client is handled without anything hanging.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type http from 'node:http';
import httpProxy from 'http-proxy';
import { startProxy } from '../helpers/proxy-harness.js';
import { RawServer, deadPort, destroyAllRaw, rawConnect, until } from '../helpers/raw-peer.js';

/** Records http-proxy's own events, on every instance, while `run` runs. */
async function spyHttpProxy<T>(run: (seen: { event: string; status: number | null }[]) => Promise<T>): Promise<T> {
  const seen: { event: string; status: number | null }[] = [];
  const proto = httpProxy.prototype as unknown as { emit(event: string, ...args: unknown[]): boolean };
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string, ...args: unknown[]): boolean {
    seen.push({ event, status: event === 'proxyRes' ? ((args[0] as http.IncomingMessage).statusCode ?? null) : null });
    return emit.call(this, event, ...args);
  };
  try {
    return await run(seen);
  } finally {
    proto.emit = emit;
  }
}

describe('the upstream leg of plain HTTP is http-proxy', { timeout: 60_000 }, () => {
  test("http-proxy carries the request: its 'start' and 'proxyRes' fire with the target's status", { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => Buffer.from('HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade') });
    const h = await startProxy(server.port);
    try {
      await spyHttpProxy(async (seen) => {
        const client = await rawConnect(h.port);
        await client.write('GET /thing HTTP/1.1\r\nHost: x\r\n\r\n');
        await until(() => client.received.toString().endsWith('made'), 3000, 'the answer');
        assert.deepEqual(
          seen.filter((s) => s.event === 'start' || s.event === 'proxyRes'),
          [
            { event: 'start', status: null },
            { event: 'proxyRes', status: 201 },
          ],
        );
      });
      const record = await h.waitFor(h.https, (r) => r.url === '/thing');
      assert.equal(record.status, 201);
      assert.equal(record.answeredBy, 'server');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('the target gets the head as sent: names, values, path and duplicate lines kept, nothing added; the client gets duplicates and trailers', { timeout: 10_000 }, async () => {
    const answer = 'HTTP/1.1 200 OK\r\nX-Dup: 1\r\nContent-Type: text/plain\r\nx-dup: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 42\r\n\r\n';
    const server = await RawServer.start({ respond: () => Buffer.from(answer) });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('POST //a//b?x=1 HTTP/1.1\r\nHost: x\r\nX-Foo: 1\r\nuser-AGENT: probe\r\nx-foo: 2\r\nContent-Length: 3\r\n\r\nxyz');
      await until(() => client.received.toString().endsWith('\r\n0\r\nX-Checksum: 42\r\n\r\n'), 3000, 'the answer with its trailer');
      const upstream = await server.connection(0);
      await until(() => upstream.received.toString().endsWith('xyz'), 3000, 'the body at the target');
      // Lines of one name go together, in their first place and spelling; nothing else moves.
      assert.equal(upstream.received.toString(), `POST //a//b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Foo: 1\r\nX-Foo: 2\r\nuser-AGENT: probe\r\nContent-Length: 3\r\n\r\nxyz`);
      const text = client.received.toString();
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(head, /\r\nX-Dup: 1\r\nX-Dup: 2\r\n/, 'both lines, in the first spelling');
      assert.match(head, /\r\nContent-Type: text\/plain\r\n/);
      assert.doesNotMatch(head, /\r\ndate:/i, 'no Date added');
      assert.ok(text.endsWith('\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 42\r\n\r\n'));
      assert.equal((await h.waitFor(h.https, (r) => r.method === 'POST')).responseBytes, client.received.length);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a target that is down: 502 with the dialer’s reason', { timeout: 10_000 }, async () => {
    const h = await startProxy(await deadPort());
    try {
      const client = await rawConnect(h.port);
      await client.write('GET /down HTTP/1.1\r\nHost: x\r\n\r\n');
      await client.waitEnd(2000);
      assert.match(client.received.toString(), /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*\r\n\r\n502 Bad Gateway: target 127\.0\.0\.1:\d+: ECONNREFUSED\n$/);
      const record = await h.waitFor(h.https, (r) => r.url === '/down');
      assert.equal(record.status, 502);
      assert.equal(record.answeredBy, 'proxy');
      assert.deepEqual(h.errors, []);
    } finally {
      destroyAllRaw();
      await h.close();
    }
  });

  test("Expect: 100-continue: the target's own 100 reaches the client, then the body goes on, then the answer", { timeout: 10_000 }, async () => {
    const target = net.createServer((socket) => {
      let got = '';
      socket.on('data', (chunk: Buffer) => {
        const before = got;
        got += chunk.toString('latin1');
        if (!before.includes('\r\n\r\n') && got.includes('\r\n\r\n')) socket.write('HTTP/1.1 100 Continue\r\nX-From: target\r\n\r\n');
        if (got.endsWith('\r\n\r\nhello')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ngot it!\n');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const h = await startProxy((target.address() as net.AddressInfo).port);
    try {
      const client = await rawConnect(h.port);
      await client.write('PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
      await until(() => client.received.toString().includes('\r\n\r\n'), 3000, 'the interim answer');
      assert.equal(client.received.toString(), 'HTTP/1.1 100 Continue\r\nX-From: target\r\n\r\n', "the target's interim answer, before the body was sent");
      await client.write('hello');
      await until(() => client.received.toString().endsWith('got it!\n'), 3000, 'the final answer');
      assert.match(client.received.toString(), /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      const record = await h.waitFor(h.https, (r) => r.url === '/up');
      assert.equal(record.status, 200);
      assert.equal(record.responseBytes, client.received.length);
    } finally {
      destroyAllRaw();
      await h.close();
      target.close();
    }
  });

  test('a 101 to Upgrade: h2c is relayed as opaque bytes both ways, and the log says so', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({
      respond: (_req, conn) => {
        conn.socket.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('PING')) conn.socket.write('PONG');
        });
        return Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nFIRST');
      },
    });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('GET /h2 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
      await until(() => client.received.toString().endsWith('FIRST'), 3000, 'the 101 and the bytes after it');
      assert.equal(client.received.toString(), 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nFIRST');
      await client.write('PING');
      await until(() => client.received.toString().endsWith('PONG'), 3000, 'bytes through the tunnel');
      await h.waitFor(h.logs, (l) => /GET \/h2: the target switched to h2c \(HTTP\/1\.1 101 Switching Protocols\); relayed as opaque bytes/.test(l.text));
      const record = await h.waitFor(h.https, (r) => r.url === '/h2');
      assert.equal(record.status, 101);
      assert.equal(h.opens.length, 0, 'not a WebSocket session');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a target that cuts its answer short: the client connection ends, the record says why', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({
      respond: (_req, conn) => {
        setImmediate(() => conn.socket.end());
        return Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
      },
    });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('GET /cut HTTP/1.1\r\nHost: x\r\n\r\n');
      await client.waitEnd(3000);
      assert.ok(client.received.toString().endsWith('only part'));
      const record = await h.waitFor(h.https, (r) => r.url === '/cut');
      assert.equal(record.status, 200);
      assert.match(record.error ?? '', /ended its answer in the middle of the body/);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a client that stops in the middle of its upload: 400 at once, and the target connection is closed', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => null });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('PUT /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nfirst');
      const upstream = await server.connection(0);
      await until(() => upstream.received.toString().endsWith('first'), 3000, 'the first body bytes at the target');
      client.socket.end();
      await until(() => upstream.closed || upstream.ended, 2000, 'the target connection closed');
      await client.waitEnd(2000);
      assert.match(client.received.toString(), /^HTTP\/1\.1 400 Bad Request\r\n[^]*the connection ended in the middle of a body\n$/);
      const record = await h.waitFor(h.https, (r) => r.url === '/gone');
      assert.equal(record.status, 400);
      assert.equal(record.answeredBy, 'proxy');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a client that goes away while the target thinks: the target connection is closed and the record says so', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => null });
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('PUT /vanished HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nfirst');
      const upstream = await server.connection(0);
      await until(() => upstream.received.toString().endsWith('first'), 3000, 'the first body bytes at the target');
      client.socket.resetAndDestroy();
      await until(() => upstream.closed || upstream.ended, 2000, 'the target connection closed');
      const record = await h.waitFor(h.https, (r) => r.url === '/vanished');
      assert.equal(record.status, null);
      assert.match(record.error ?? '', /client closed the connection/);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });
});
