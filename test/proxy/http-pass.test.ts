/**
 * Plain HTTP pass-through is bounded and on the record (issue item 8): a silent target gets 504
 * after the upstream time-out, one answering something that is not HTTP 502 at once; too many
 * header lines get 431; every request is one `http` record with its numbers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startProxy } from '../helpers/proxy-harness.js';
import { RawServer, destroyAllRaw, rawConnect, requestHead, until } from '../helpers/raw-peer.js';

async function webServer(handler: http.RequestListener): Promise<{ port: number; requests: http.IncomingMessage[]; close(): Promise<void> }> {
  const requests: http.IncomingMessage[] = [];
  const web = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  return {
    port: (web.address() as net.AddressInfo).port,
    requests,
    close: async () => {
      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
    },
  };
}

/** Many tiny header lines, as a hostile client would send. */
function manyHeaders(n: number): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`x${i}`, 'y'] as [string, string]);
}

/** Sends `request` raw and waits (at most `waitMs`) for the proxy to end the connection: what came, and when. */
async function answerTo(port: number, request: string, waitMs: number): Promise<{ text: string; took: number }> {
  const started = Date.now();
  const client = await rawConnect(port);
  await client.write(request);
  await client.waitEnd(waitMs);
  return { text: client.received.toString(), took: Date.now() - started };
}

describe('plain HTTP pass-through', { timeout: 60_000 }, () => {
  test('a target that accepts and never answers: 504 after the upstream time-out, with the reason', { timeout: 10_000 }, async () => {
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const h = await startProxy((silent.address() as net.AddressInfo).port, { connectTimeoutMs: 300 });
    try {
      const { text, took } = await answerTo(h.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
      assert.ok(took >= 280 && took < 2000, `answered after ${took} ms`);
      assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n[^]*did not answer within 300 ms\n$/);
      const record = await h.waitFor(h.https, (r) => r.url === '/slow');
      assert.equal(record.status, 504);
      assert.equal(record.answeredBy, 'proxy');
      assert.match(record.error ?? '', /did not answer within 300 ms/);
    } finally {
      destroyAllRaw();
      await h.close();
      silent.close();
    }
  });

  test('a target that trickles its answer head a byte at a time: 504 within the one upstream time-out', { timeout: 10_000 }, async () => {
    const timers: NodeJS.Timeout[] = [];
    const trickler = net.createServer((s) => {
      s.on('error', () => undefined);
      // A byte every 50 ms of a head that would take seconds: each byte restarts an idle timer.
      const head = Buffer.from(`HTTP/1.1 200 OK\r\n${'X-Slow: y\r\n'.repeat(20)}\r\n`);
      let i = 0;
      s.once('data', () => timers.push(setInterval(() => i < head.length && s.writable && s.write(head.subarray(i, ++i)), 50)));
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    const h = await startProxy((trickler.address() as net.AddressInfo).port, { connectTimeoutMs: 400 });
    try {
      const { text, took } = await answerTo(h.port, 'GET /trickle HTTP/1.1\r\nHost: x\r\n\r\n', 4000);
      assert.ok(took >= 380 && took < 2500, `answered after ${took} ms`);
      assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n[^]*did not answer within 400 ms\n$/);
      const record = await h.waitFor(h.https, (r) => r.url === '/trickle');
      assert.equal(record.status, 504);
    } finally {
      for (const t of timers) clearInterval(t);
      destroyAllRaw();
      await h.close();
      trickler.close();
    }
  });

  test('a client that stops in the middle of its request body gets 408 on its own account, not a 504 blamed on the target', { timeout: 10_000 }, async () => {
    // The target reads the whole body before it answers, as most do.
    const web = await webServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('got it'));
    });
    const h = await startProxy(web.port, { connectTimeoutMs: 400 });
    try {
      const { text, took } = await answerTo(h.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes!', 4000);
      assert.ok(took >= 380 && took < 2500, `answered after ${took} ms`);
      assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*the client's request body stopped before its end: nothing more came for 400 ms\n$/);
      const record = await h.waitFor(h.https, (r) => r.url === '/upload');
      assert.equal(record.status, 408);
      assert.equal(record.answeredBy, 'proxy');
      assert.match(record.error ?? '', /client's request body stopped/);
    } finally {
      destroyAllRaw();
      await h.close();
      await web.close();
    }
  });

  test('a target answering bytes that cannot start a status line: 502 at once', { timeout: 10_000 }, async () => {
    const server = await RawServer.start({ respond: () => Buffer.from('\x00\x01garbage without a line end') });
    const h = await startProxy(server.port, { connectTimeoutMs: 3000 });
    try {
      const { text, took } = await answerTo(h.port, 'GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n', 2500);
      assert.ok(took < 1000, `answered after ${took} ms`);
      assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n[^]*not HTTP/);
      assert.equal((await h.waitFor(h.https, (r) => r.url === '/garbage')).status, 502);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  for (const kind of ['plain request', 'upgrade'] as const) {
    test(`a ${kind} with 10,000 header lines gets 431 and nothing reaches the target`, { timeout: 10_000 }, async () => {
      const server = await RawServer.start();
      const h = await startProxy(server.port);
      try {
        const client = await rawConnect(h.port);
        const head = kind === 'upgrade' ? requestHead({ headers: manyHeaders(10_000) }).head : Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${manyHeaders(10_000).map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`);
        client.socket.write(head);
        await client.waitEnd(2000);
        assert.match(client.received.toString(), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
        assert.equal(server.connections.length, 0);
      } finally {
        destroyAllRaw();
        await h.close();
        await server.close();
      }
    });
  }

  test('each request is one http record: method, URL, status, duration and bytes each way', { timeout: 10_000 }, async () => {
    const web = await webServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`;
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    const h = await startProxy(web.port);
    try {
      const client = await rawConnect(h.port);
      const get = 'GET /page?x=1 HTTP/1.1\r\nHost: x\r\n\r\n';
      await client.write(get);
      await until(() => client.received.toString().endsWith('GET /page?x=1 '), 3000, 'the first answer');
      const firstAnswer = client.received.length;
      // A chunked upload on the same (keep-alive) connection.
      const post = 'POST /missing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
      await client.write(post);
      await until(() => client.received.toString().endsWith('POST /missing hello'), 3000, 'the second answer');
      const [first, second] = await until(() => (h.https.length >= 2 ? h.https : undefined), 2000, 'two http records');
      assert.equal(first!.method, 'GET');
      assert.equal(first!.url, '/page?x=1');
      assert.equal(first!.status, 200);
      assert.equal(first!.requestBytes, Buffer.byteLength(get));
      assert.equal(first!.responseBytes, firstAnswer);
      assert.equal(first!.answeredBy, 'server');
      assert.equal(first!.error, null);
      assert.ok(first!.duration >= 0 && first!.duration < 3000);
      assert.equal(first!.target, `127.0.0.1:${web.port}`);
      assert.equal(second!.method, 'POST');
      assert.equal(second!.status, 404);
      assert.equal(second!.requestBytes, Buffer.byteLength(post));
      assert.equal(second!.responseBytes, client.received.length - firstAnswer);
      assert.equal(web.requests[0]!.headers.host, `127.0.0.1:${web.port}`, 'Host names the target');
    } finally {
      destroyAllRaw();
      await h.close();
      await web.close();
    }
  });

  test('a request with both Transfer-Encoding and Content-Length is refused (request smuggling)', { timeout: 10_000 }, async () => {
    const server = await RawServer.start();
    const h = await startProxy(server.port);
    try {
      const client = await rawConnect(h.port);
      await client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n');
      await client.waitEnd(2000);
      assert.match(client.received.toString(), /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.equal(server.connections.length, 0);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });
});
