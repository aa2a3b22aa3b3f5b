/**
 * The relay between real `ws` peers: messages of every size class, fragmentation with a control
 * frame in between, both close handshakes, and many sessions at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { Opcode } from '../../src/protocol/constants.js';
import { patternBytes } from '../helpers/frames.js';
import { closed, echo, nextMessage, openWs, startProxy, startWsEcho, type ProxyHarness, type WsTarget } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';

describe('relay between ws peers', { timeout: 60_000 }, () => {
  let target: WsTarget;
  let h: ProxyHarness;
  before(async () => {
    target = await startWsEcho();
    h = await startProxy(target.port);
  });
  after(async () => {
    await h.close();
    await target.close();
  });

  test('text and binary round trip, and the session is recorded', { timeout: 10_000 }, async () => {
    const ws = await openWs(h.url + '/chat?room=1');
    try {
      const text = await echo(ws, 'héllo, wörld ✓');
      assert.equal(text.isBinary, false);
      assert.equal(text.data.toString('utf8'), 'héllo, wörld ✓');
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);
      const bin = await echo(ws, bytes);
      assert.equal(bin.isBinary, true);
      assert.deepEqual(bin.data, bytes);
      const open = await h.waitFor(h.opens, (s) => s.path === '/chat?room=1');
      assert.equal(open.status, 101);
      assert.equal(open.acceptValid, true);
      assert.equal(open.extensions, null);
      const fromClient = h.frames.filter((f) => f.session === open.session && f.from === 'client');
      assert.deepEqual(
        fromClient.map((f) => [f.kind, f.masked, Buffer.from(f.payload).toString('hex')]),
        [
          ['text', true, Buffer.from('héllo, wörld ✓').toString('hex')],
          ['binary', true, bytes.toString('hex')],
        ],
      );
      await h.waitFor(h.frames, (f) => f.session === open.session && f.from === 'server' && f.kind === 'binary');
      const fromServer = h.frames.filter((f) => f.session === open.session && f.from === 'server');
      assert.deepEqual(fromServer.map((f) => [f.kind, f.masked]), [['text', false], ['binary', false]]);
      assert.equal(h.violations.filter((v) => v.session === open.session).length, 0);
    } finally {
      ws.terminate();
    }
  });

  for (const size of [0, 125, 126, 65535, 65536, 16 * 1024 * 1024]) {
    test(`a ${size}-byte binary message echoes intact`, { timeout: 20_000 }, async () => {
      const ws = await openWs(h.url + `/size-${size}`, { maxPayload: 64 * 1024 * 1024 });
      try {
        const payload = patternBytes(size, size + 7);
        const reply = await echo(ws, payload, 15_000);
        assert.equal(reply.isBinary, true);
        assert.equal(reply.data.length, size);
        assert.ok(reply.data.equals(payload), 'echoed bytes differ');
        const open = await h.waitFor(h.opens, (s) => s.path === `/size-${size}`);
        // Both directions reported one whole message of that length; previews are capped.
        for (const from of ['client', 'server'] as const) {
          const m = await h.waitFor(h.messages, (r) => r.session === open.session && r.from === from, 5000, `${from} message`);
          assert.equal(m.length, size);
          assert.equal(m.frames, 1);
          assert.equal(m.payload.length, Math.min(size, 64 * 1024));
          assert.equal(m.truncated, size > 64 * 1024);
          assert.ok(Buffer.from(m.payload).equals(payload.subarray(0, m.payload.length)));
          const f = h.frames.find((r) => r.session === open.session && r.from === from && r.kind === 'binary')!;
          assert.equal(f.length, size);
        }
      } finally {
        ws.terminate();
      }
    });
  }

  test('a fragmented message with a ping between fragments', { timeout: 10_000 }, async () => {
    const ws = await openWs(h.url + '/fragments');
    try {
      const reply = nextMessage(ws);
      const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
      ws.send('one,', { fin: false });
      ws.ping(Buffer.from('between'));
      ws.send('two,', { fin: false });
      ws.send('three', { fin: true });
      assert.equal((await reply).data.toString(), 'one,two,three');
      assert.equal((await pong).toString(), 'between');
      const open = await h.waitFor(h.opens, (s) => s.path === '/fragments');
      await h.waitFor(h.messages, (m) => m.session === open.session && m.from === 'client');
      const frames = h.frames.filter((f) => f.session === open.session && f.from === 'client');
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.fin, Buffer.from(f.payload).toString()]),
        [
          [Opcode.Text, false, 'one,'],
          [Opcode.Ping, true, 'between'],
          [Opcode.Continuation, false, 'two,'],
          [Opcode.Continuation, true, 'three'],
        ],
      );
      const message = h.messages.find((m) => m.session === open.session && m.from === 'client')!;
      assert.equal(message.kind, 'text');
      assert.equal(message.frames, 3);
      assert.equal(Buffer.from(message.payload).toString(), 'one,two,three');
      assert.equal(h.violations.filter((v) => v.session === open.session).length, 0);
    } finally {
      ws.terminate();
    }
  });

  test('close handshake started by the client', { timeout: 10_000 }, async () => {
    const ws = await openWs(h.url + '/close-by-client');
    const server = await until(() => target.sockets.at(-1), 3000, 'server socket');
    const serverClosed = closed(server);
    const clientClosed = closed(ws);
    ws.close(4001, 'client says bye');
    assert.deepEqual(await serverClosed, { code: 4001, reason: 'client says bye' });
    // ws echoes the code of the close it received.
    assert.equal((await clientClosed).code, 4001);
    const open = await h.waitFor(h.opens, (s) => s.path === '/close-by-client');
    const record = await h.waitClose(open.session);
    assert.deepEqual({ by: record.by, code: record.code, reason: record.reason, clean: record.clean }, { by: 'client', code: 4001, reason: 'client says bye', clean: true });
    const closes = h.frames.filter((f) => f.session === open.session && f.kind === 'close');
    assert.deepEqual(closes.map((f) => [f.from, f.close?.code]), [['client', 4001], ['server', 4001]]);
  });

  test('close handshake started by the server', { timeout: 10_000 }, async () => {
    const ws = await openWs(h.url + '/close-by-server');
    const server = await until(() => target.sockets.at(-1), 3000, 'server socket');
    const clientClosed = closed(ws);
    const serverClosed = closed(server);
    server.close(1001, 'server going away');
    assert.deepEqual(await clientClosed, { code: 1001, reason: 'server going away' });
    assert.equal((await serverClosed).code, 1001);
    const open = await h.waitFor(h.opens, (s) => s.path === '/close-by-server');
    const record = await h.waitClose(open.session);
    assert.deepEqual({ by: record.by, code: record.code, reason: record.reason, clean: record.clean }, { by: 'server', code: 1001, reason: 'server going away', clean: true });
  });

  test('close started by the proxy: each peer answers, and the close is recorded clean', { timeout: 10_000 }, async () => {
    const ws = await openWs(h.url + '/close-by-proxy');
    const server = await until(() => target.sockets.at(-1), 3000, 'server socket');
    const clientClosed = closed(ws);
    const serverClosed = closed(server);
    const open = await h.waitFor(h.opens, (s) => s.path === '/close-by-proxy');
    h.proxy.session(open.session)!.close(1000, 'bye from proxy');
    assert.deepEqual(await clientClosed, { code: 1000, reason: 'bye from proxy' });
    assert.deepEqual(await serverClosed, { code: 1000, reason: 'bye from proxy' });
    const record = await h.waitClose(open.session);
    assert.deepEqual({ by: record.by, code: record.code, reason: record.reason, clean: record.clean }, { by: 'proxy', code: 1000, reason: 'bye from proxy', clean: true });
    // The answers are not relayed (each peer got the proxy's own close), so the log says them.
    const said = h.logs.filter((l) => l.session === open.session).map((l) => l.text);
    assert.deepEqual(said.sort(), ['the client answered the proxy\'s close: 1000 Normal Closure "bye from proxy"', 'the server answered the proxy\'s close: 1000 Normal Closure "bye from proxy"']);
    const closes = h.frames.filter((f) => f.session === open.session && f.kind === 'close');
    assert.deepEqual(closes.map((f) => [f.from, f.origin, f.close?.code]).sort(), [['client', 'injected', 1000], ['server', 'injected', 1000]]);
  });

  test('200 concurrent sessions all echo their own messages', { timeout: 30_000 }, async () => {
    const started = Date.now();
    const n = 200;
    const sockets = await Promise.all(Array.from({ length: n }, (_, i) => openWs(h.url + `/many/${i}`, {}, 15_000)));
    try {
      const replies = await Promise.all(
        sockets.map(async (ws, i) => {
          const text = await echo(ws, `session ${i}: ${'x'.repeat(i)}`, 15_000);
          const bin = await echo(ws, patternBytes(1000 + i, i + 1), 15_000);
          return { text: text.data.toString(), bin: bin.data };
        }),
      );
      replies.forEach((r, i) => {
        assert.equal(r.text, `session ${i}: ${'x'.repeat(i)}`);
        assert.ok(r.bin.equals(patternBytes(1000 + i, i + 1)), `binary echo of session ${i}`);
      });
      await Promise.all(sockets.map((ws) => {
        const done = closed(ws, 10_000);
        ws.close(1000);
        return done;
      }));
      const ids = new Set(h.opens.filter((s) => s.path.startsWith('/many/')).map((s) => s.session));
      assert.equal(ids.size, n);
      await until(() => [...ids].every((id) => h.closes.some((c) => c.session === id && c.clean)), 10_000, 'every session closed cleanly');
      assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    } finally {
      for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    }
  });

  test('no internal errors on the bus', () => {
    assert.deepEqual(h.errors.map((e) => e.message), []);
  });
});
