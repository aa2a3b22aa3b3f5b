/**
 * The relay at the byte level, between raw TCP peers that write hand-made heads and frames and
 * record exactly what reaches them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Opcode } from '../../src/protocol/constants.js';
import { KEY_A, KEY_B, buildFrame, maskedFrame, patternBytes, unmaskedFrame } from '../helpers/frames.js';
import { startProxy, type HarnessOptions, type ProxyHarness } from '../helpers/proxy-harness.js';
import { RawServer, acceptFor, deadPort, destroyAllRaw, headerValue, rawConnect, rawHandshake, requestHead, switchingHead } from '../helpers/raw-peer.js';

/** Runs `body` with a raw target and a proxy in front of it, tearing both down after. */
async function withRaw(
  options: HarnessOptions,
  body: (ctx: { server: RawServer; h: ProxyHarness }) => Promise<void>,
  serverOptions: Parameters<typeof RawServer.start>[0] = {},
): Promise<void> {
  const server = await RawServer.start(serverOptions);
  const h = await startProxy(server.port, options);
  try {
    await body({ server, h });
    assert.deepEqual(h.errors.map((e) => e.message), [], 'no internal errors on the bus');
  } finally {
    destroyAllRaw();
    await h.close();
    await server.close();
  }
}

describe('relay at the byte level', { timeout: 60_000 }, () => {
  test('the server receives exactly the frames the client sent, re-masked with a different key', { timeout: 10_000 }, () =>
    withRaw({}, async ({ server, h }) => {
      const { client } = await rawHandshake(h.port);
      const conn = await server.connection();
      const sent = [
        buildFrame({ opcode: Opcode.Text, payload: 'hello', maskKey: KEY_A }),
        buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(0), maskKey: KEY_B }),
        buildFrame({ opcode: Opcode.Binary, fin: false, payload: patternBytes(126, 3), maskKey: KEY_A }),
        buildFrame({ opcode: Opcode.Ping, payload: 'ping!', maskKey: KEY_B }),
        buildFrame({ opcode: Opcode.Continuation, payload: patternBytes(70_000, 4), maskKey: KEY_A }),
        buildFrame({ opcode: Opcode.Pong, payload: Buffer.alloc(0), maskKey: KEY_A }),
        buildFrame({ opcode: Opcode.Text, payload: 'x'.repeat(200), maskKey: KEY_B, lengthBits: 16 }),
      ];
      await client.write(Buffer.concat(sent));
      const got = await conn.waitFrames(sent.length);
      assert.equal(got.length, sent.length, 'no extra frames');
      const keys = [KEY_A, KEY_B, KEY_A, KEY_B, KEY_A, KEY_A, KEY_B];
      const expected = [
        [Opcode.Text, true, Buffer.from('hello')],
        [Opcode.Binary, true, Buffer.alloc(0)],
        [Opcode.Binary, false, patternBytes(126, 3)],
        [Opcode.Ping, true, Buffer.from('ping!')],
        [Opcode.Continuation, true, patternBytes(70_000, 4)],
        [Opcode.Pong, true, Buffer.alloc(0)],
        [Opcode.Text, true, Buffer.from('x'.repeat(200))],
      ] as const;
      got.forEach((f, i) => {
        const [opcode, fin, payload] = expected[i]!;
        assert.equal(f.opcode, opcode, `frame ${i} opcode`);
        assert.equal(f.fin, fin, `frame ${i} fin`);
        assert.deepEqual([f.rsv1, f.rsv2, f.rsv3], [false, false, false]);
        assert.ok(f.payload.equals(payload), `frame ${i} payload`);
        assert.notEqual(f.maskKey, null, `frame ${i} is masked`);
        assert.notEqual(f.maskKey, Buffer.from(keys[i]!).toString('hex'), `frame ${i} has a fresh mask key`);
        // Same header bits and length encoding as sent; only the key differs.
        const sentHeader = sent[i]!.subarray(0, f.headerLength).toString('hex');
        assert.equal(f.raw.slice(0, -8), sentHeader.slice(0, -8), `frame ${i} header`);
        assert.equal(f.violations.length, 0);
      });
      // The bus shows the peer's own key, not the proxy's.
      const open = h.opens[0]!;
      const records = h.frames.filter((f) => f.session === open.session && f.from === 'client');
      assert.deepEqual(records.map((r) => Buffer.from(r.maskKey!).toString('hex')), keys.map((k) => Buffer.from(k).toString('hex')));
      client.destroy();
    }));

  test('the client receives the server frames byte for byte', { timeout: 10_000 }, () =>
    withRaw({}, async ({ server, h }) => {
      const { client } = await rawHandshake(h.port);
      const conn = await server.connection();
      const sent = Buffer.concat([
        unmaskedFrame(Opcode.Text, 'from the server'),
        unmaskedFrame(Opcode.Binary, patternBytes(65_536, 9)),
        buildFrame({ opcode: Opcode.Text, fin: false, payload: 'part 1 ' }),
        unmaskedFrame(Opcode.Ping, 'hb'),
        buildFrame({ opcode: Opcode.Continuation, payload: 'part 2' }),
        unmaskedFrame(Opcode.Close, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])),
      ]);
      await conn.write(sent);
      await client.waitBytes(client.head!.length + sent.length);
      assert.ok(client.after().equals(sent), 'server→client bytes identical');
      client.destroy();
    }));

  test('request head and first frame in one TCP write', { timeout: 10_000 }, () =>
    withRaw({}, async ({ server, h }) => {
      const first = maskedFrame(Opcode.Text, 'riding with the head', KEY_A);
      const { client, head } = await rawHandshake(h.port, { firstBytes: first, host: '127.0.0.1:1', path: '/coalesced' });
      const conn = await server.connection();
      const [frame] = await conn.waitFrames(1);
      assert.equal(frame!.payload.toString(), 'riding with the head');
      assert.equal(frame!.opcode, Opcode.Text);
      assert.match(conn.head!.toString('latin1'), /^GET \/coalesced HTTP\/1\.1\r\n/);
      assert.equal(conn.head!.length, head.length - 'Host: 127.0.0.1:1'.length + `Host: 127.0.0.1:${server.port}`.length);
      client.destroy();
    }));

  test('101 response and first frame in one TCP write', { timeout: 10_000 }, async () => {
    const first = unmaskedFrame(Opcode.Text, 'hello before you asked');
    await withRaw(
      {},
      async ({ h }) => {
        const { client, key } = await rawHandshake(h.port);
        assert.ok(client.head!.equals(switchingHead(key)));
        await client.waitBytes(client.head!.length + first.length);
        assert.ok(client.after().equals(first));
        const record = await h.waitFor(h.frames, (f) => f.from === 'server');
        assert.equal(Buffer.from(record.payload).toString(), 'hello before you asked');
        client.destroy();
      },
      { respond: (req) => Buffer.concat([switchingHead(headerValue(req, 'sec-websocket-key')!), first]) },
    );
  });

  test('handshakes and frames trickled one byte at a time, both ways', { timeout: 20_000 }, async () => {
    await withRaw(
      {},
      async ({ server, h }) => {
        const client = await rawConnect(h.port);
        const { head, key } = requestHead({ path: '/trickle' });
        await client.trickle(head);
        const conn = await server.connection();
        assert.equal(conn.head!.length, head.length - 'Host: example.test:80'.length + `Host: 127.0.0.1:${server.port}`.length);
        const response = switchingHead(key, [['X-Slow', 'yes']]);
        const serverFrames = Buffer.concat([unmaskedFrame(Opcode.Text, 'and back'), unmaskedFrame(Opcode.Binary, patternBytes(300, 5))]);
        await conn.trickle(Buffer.concat([response, serverFrames]));
        await client.waitBytes(response.length + serverFrames.length);
        assert.ok(client.head!.equals(response), '101 head byte for byte');
        assert.ok(client.after().equals(serverFrames), 'server frames byte for byte');
        await client.trickle(Buffer.concat([maskedFrame(Opcode.Text, 'slowly', KEY_A), maskedFrame(Opcode.Binary, patternBytes(130, 2), KEY_B)]));
        const got = await conn.waitFrames(2);
        assert.equal(got[0]!.payload.toString(), 'slowly');
        assert.ok(got[1]!.payload.equals(patternBytes(130, 2)));
        const open = h.opens[0]!;
        assert.equal(open.status, 101);
        assert.equal(h.violations.length, 0);
        assert.deepEqual(h.frames.map((f) => [f.from, f.kind, f.length]), [['server', 'text', 8], ['server', 'binary', 300], ['client', 'text', 6], ['client', 'binary', 130]]);
      },
      { respond: () => null },
    );
  });

  test('the 101 head reaches the client byte for byte (case, order, spacing)', { timeout: 10_000 }, async () => {
    let response = Buffer.alloc(0);
    await withRaw(
      {},
      async ({ h }) => {
        const { client } = await rawHandshake(h.port);
        assert.ok(client.head!.equals(response), `got ${JSON.stringify(client.head!.toString('latin1'))}`);
        const open = h.opens[0]!;
        assert.equal(open.acceptValid, true);
        assert.equal(open.protocol, null);
        assert.ok(Buffer.from(open.response.raw).equals(response));
        client.destroy();
      },
      {
        respond: (req) => {
          const accept = acceptFor(headerValue(req, 'sec-websocket-key')!);
          response = Buffer.from(
            `HTTP/1.1 101 Web Socket Protocol Handshake\r\nX-Powered-By:  odd-server/1.0 \r\nconnection: UPGRADE\r\nsec-websocket-accept:${accept}\r\nUPGRADE: WebSocket\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n`,
            'latin1',
          );
          return response;
        },
      },
    );
  });

  test('a 401 with a body is relayed byte for byte and the connection ends', { timeout: 10_000 }, async () => {
    const refusal = Buffer.from('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="ws"\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nlog in first.\n', 'latin1');
    await withRaw(
      {},
      async ({ server, h }) => {
        const client = await rawConnect(h.port);
        await client.write(requestHead({ path: '/private' }).head);
        const conn = await server.connection();
        conn.socket.end();
        await client.waitEnd();
        assert.ok(client.received.equals(refusal), `got ${JSON.stringify(client.received.toString('latin1'))}`);
        const open = await h.waitFor(h.opens, (s) => s.path === '/private');
        assert.equal(open.status, 401);
        // The client closes its side too, as any HTTP client does after "Connection: close".
        client.socket.end();
        await conn.waitEnd();
        const close = await h.waitClose(open.session);
        assert.equal(close.code, null);
        assert.equal(close.clean, false);
        assert.equal(h.frames.length, 0, 'no frames are parsed from a refused handshake');
        client.destroy();
      },
      { respond: () => refusal },
    );
  });

  test('Host is rewritten to the target by default; every other byte of the head is kept', { timeout: 10_000 }, () =>
    withRaw({}, async ({ server, h }) => {
      const { client, head } = await rawHandshake(h.port, { host: 'app.example:8443', headers: [['x-Trace', ' a  b ']] });
      const conn = await server.connection();
      const expected = head.toString('latin1').replace('Host: app.example:8443', `Host: 127.0.0.1:${server.port}`);
      assert.equal(conn.head!.toString('latin1'), expected);
      client.destroy();
    }));

  test('keepHost leaves the head untouched', { timeout: 10_000 }, () =>
    withRaw({ keepHost: true }, async ({ server, h }) => {
      const { client, head } = await rawHandshake(h.port, { host: 'app.example:8443' });
      const conn = await server.connection();
      assert.ok(conn.head!.equals(head));
      client.destroy();
    }));

  test('Origin, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions pass through unchanged', { timeout: 10_000 }, async () => {
    const offer = 'permessage-deflate; client_max_window_bits, x-custom; a=1; b="two words"';
    await withRaw(
      {},
      async ({ server, h }) => {
        const { client } = await rawHandshake(h.port, {
          headers: [
            ['Origin', 'http://app.example'],
            ['Sec-WebSocket-Protocol', 'chat.v2, superchat'],
            ['Sec-WebSocket-Extensions', offer],
          ],
        });
        const conn = await server.connection();
        assert.equal(headerValue(conn.head!, 'origin'), 'http://app.example');
        assert.equal(headerValue(conn.head!, 'sec-websocket-protocol'), 'chat.v2, superchat');
        assert.equal(headerValue(conn.head!, 'sec-websocket-extensions'), offer);
        assert.equal(headerValue(client.head!, 'sec-websocket-protocol'), 'chat.v2');
        const open = h.opens[0]!;
        assert.equal(open.protocol, 'chat.v2');
        assert.equal(open.extensions, null);
        client.destroy();
      },
      { respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Protocol', 'chat.v2']]) },
    );
  });

  test('deflate:false strips permessage-deflate from the offer', { timeout: 10_000 }, () =>
    withRaw({ deflate: false }, async ({ server, h }) => {
      const a = await rawHandshake(h.port, { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits, x-custom; a=1']] });
      const first = await server.connection(0);
      assert.equal(headerValue(first.head!, 'sec-websocket-extensions'), 'x-custom; a=1');
      const b = await rawHandshake(h.port, { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits']] });
      const second = await server.connection(1);
      assert.equal(headerValue(second.head!, 'sec-websocket-extensions'), undefined, 'the header goes when nothing is left');
      a.client.destroy();
      b.client.destroy();
    }));

  test('plain HTTP is served by the target through the proxy', { timeout: 10_000 }, async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const web = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'text/plain', 'x-from': 'target' });
      res.end(`you asked for ${req.method} ${req.url}`);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const webPort = (web.address() as net.AddressInfo).port;
    const h = await startProxy(webPort);
    try {
      const res = await get(`http://127.0.0.1:${h.port}/page?x=1`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-from'], 'target');
      assert.equal(res.body, 'you asked for GET /page?x=1');
      assert.equal(seen[0]!.host, `127.0.0.1:${webPort}`);
      assert.equal(h.opens.length, 0, 'not a WebSocket session');
    } finally {
      await h.close();
      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
    }
  });

  test('plain HTTP to a dead target gets 502', { timeout: 10_000 }, async () => {
    const h = await startProxy(await deadPort());
    try {
      const res = await get(`http://127.0.0.1:${h.port}/`);
      assert.equal(res.status, 502);
      assert.match(res.body, /^502 Bad Gateway: .*ECONNREFUSED/);
    } finally {
      await h.close();
    }
  });
});

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}
