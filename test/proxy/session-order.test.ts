/**
 * Records of one session reach the bus in the order their frames arrived at the proxy, across
 * both directions, compressed or not, with ids increasing in that order. Inflation is made slow
 * on purpose, so a direction whose records wait for zlib cannot be overtaken by the other one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { WebSocket } from 'ws';
import { LaterInflater } from '../../src/proxy/later-inflater.js';
import type { FrameRecord } from '../../src/proxy/events.js';
import { nextMessage, openWs, startProxy, startWsEcho } from '../helpers/proxy-harness.js';
import { Opcode } from '../../src/protocol/constants.js';
import { KEY_A, buildFrame } from '../helpers/frames.js';
import { RawServer, destroyAllRaw, headerValue, rawHandshake, switchingHead, until } from '../helpers/raw-peer.js';

/**
 * Every chunk's inflation (after its write, later-inflater.ts) runs `ms` late. Returns what undoes
 * it, which checks that it was slowed at least `times` times (a test that slows nothing would
 * prove nothing).
 */
function slowInflation(ms: number): (times: number) => void {
  const original = LaterInflater.prototype.written;
  let slowed = 0;
  LaterInflater.prototype.written = function (this: LaterInflater) {
    slowed++;
    setTimeout(() => original.call(this), ms);
  };
  return (times) => {
    LaterInflater.prototype.written = original;
    assert.ok(slowed >= times, `inflation was slowed ${slowed} times, expected ${times} at least`);
  };
}

async function roundTrips(ws: WebSocket, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const reply = nextMessage(ws);
    ws.send(JSON.stringify({ seq: i, op: 'ping', pad: 'x'.repeat(i * 10) }));
    await reply;
  }
}

/** Each server reply comes after the client message it answers, and ids rise in bus order. */
function assertCausal(frames: readonly FrameRecord[], count: number): void {
  const data = frames.filter((f) => f.kind === 'text');
  assert.equal(data.length, count * 2, 'every message both ways has its frame record');
  assert.deepEqual(
    data.map((f) => f.from),
    Array.from({ length: count * 2 }, (_, i) => (i % 2 === 0 ? 'client' : 'server')),
    'each reply follows the message it answers',
  );
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.id > frames[i - 1]!.id, `ids rise in bus order (${frames[i - 1]!.id} then ${frames[i]!.id})`);
  for (let i = 0; i < data.length; i += 2) assert.equal(Buffer.from(data[i]!.payload).toString(), Buffer.from(data[i + 1]!.payload).toString(), 'the reply echoes its message');
}

test('a compressed message slow to inflate still comes before the uncompressed reply to it', { timeout: 30_000 }, async () => {
  const restore = slowInflation(40);
  // The server negotiates permessage-deflate but sends small messages uncompressed (threshold):
  // its replies need no zlib at all, the client's messages do.
  const target = await startWsEcho({ threshold: 0 }, undefined, { compress: false });
  const h = await startProxy(target.port);
  try {
    const ws = await openWs(h.url + '/order', { perMessageDeflate: { threshold: 0 } });
    const open = await h.waitFor(h.opens, (s) => s.path === '/order');
    assert.notEqual(open.deflate, null);
    await roundTrips(ws, 5);
    ws.close();
    await h.waitClose(open.session, 5000);
    const frames = h.frames.filter((f) => f.session === open.session);
    assert.ok(frames.filter((f) => f.from === 'client' && f.kind === 'text').every((f) => f.compressed));
    assert.ok(frames.filter((f) => f.from === 'server' && f.kind === 'text').every((f) => !f.compressed));
    assertCausal(frames, 5);
    // Message records keep the same order.
    const messages = h.messages.filter((m) => m.session === open.session);
    assert.deepEqual(messages.map((m) => m.from), Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'client' : 'server')));
    // The close record is the session's last.
    assert.ok(h.closes.some((c) => c.session === open.session));
  } finally {
    restore(5);
    await h.close();
    await target.close();
  }
});

test('both directions compressed and slow to inflate: records in arrival order', { timeout: 30_000 }, async () => {
  const restore = slowInflation(25);
  const target = await startWsEcho({ threshold: 0 });
  const h = await startProxy(target.port);
  try {
    const ws = await openWs(h.url + '/both', { perMessageDeflate: { threshold: 0 } });
    const open = await h.waitFor(h.opens, (s) => s.path === '/both');
    await roundTrips(ws, 5);
    ws.close();
    await h.waitClose(open.session, 5000);
    const frames = await until(() => {
      const f = h.frames.filter((r) => r.session === open.session);
      return f.filter((r) => r.kind === 'text').length >= 10 ? f : undefined;
    }, 5000, 'ten text frames');
    assert.ok(frames.filter((f) => f.kind === 'text').every((f) => f.compressed));
    assertCausal(frames, 5);
  } finally {
    restore(10);
    await h.close();
    await target.close();
  }
});

test('a reply that arrives while a large compressed message is still inflating over later turns is recorded after it', { timeout: 30_000 }, async () => {
  const server = await RawServer.start({
    respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Extensions', 'permessage-deflate']]),
  });
  const h = await startProxy(server.port);
  try {
    // 48 MiB of JSON-like text in about 50 KiB: inflating it takes the proxy many turns.
    const size = 48 * 1024 * 1024;
    const big = zlib.deflateRawSync(Buffer.alloc(size, '{"k":1},'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const { client } = await rawHandshake(h.port, { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate']] });
    const conn = await server.connection();
    await client.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: big, maskKey: KEY_A }));
    // The server answers as soon as the compressed bytes are through, uncompressed.
    await conn.waitFrames(1, 5000, true);
    await conn.write(buildFrame({ opcode: Opcode.Text, payload: Buffer.from('got it') }));
    await client.waitFrames(1, 5000, true);
    const frames = await until(() => {
      const f = h.frames.filter((r) => r.kind === 'text');
      return f.length >= 2 ? f : undefined;
    }, 10_000, 'both text frames on the bus');
    assert.deepEqual(frames.map((f) => [f.from, f.compressed]), [['client', true], ['server', false]], 'the reply comes after the message it answers');
    assert.ok(frames[1]!.id > frames[0]!.id);
    const messages = h.messages.filter((m) => m.kind === 'text');
    assert.deepEqual(messages.map((m) => [m.from, m.length]), [['client', size], ['server', 6]]);
    assert.deepEqual(h.violations, []);
  } finally {
    destroyAllRaw();
    await h.close();
    await server.close();
  }
});
