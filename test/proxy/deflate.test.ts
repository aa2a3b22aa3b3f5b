/**
 * permessage-deflate through the relay: compressed bytes pass as they are, the bus sees them
 * inflated, every negotiated variant keeps inflating correctly, and a zlib bomb costs no memory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import zlib from 'node:zlib';
import type { PerMessageDeflateOptions } from 'ws';
import { Opcode } from '../../src/protocol/constants.js';
import { KEY_A, KEY_B, buildFrame, patternBytes } from '../helpers/frames.js';
import { echo, nextMessage, openWs, startProxy, startWsEcho, type ProxyHarness } from '../helpers/proxy-harness.js';
import { RawServer, destroyAllRaw, headerValue, rawHandshake, sleep, switchingHead, until } from '../helpers/raw-peer.js';

// A full collection on demand, without needing --expose-gc on the command line.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapAndBuffers = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);

const texts = [
  'hello, compressed world',
  'hello, compressed world', // the same again: with context takeover this is mostly a back-reference
  JSON.stringify({ type: 'update', items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `item ${i}` })) }),
  '',
  'ünïcödé ✓ '.repeat(300),
];

/** Runs a ws echo target with `serverDeflate` and a proxy, and a ws client with `clientDeflate`. */
async function withDeflate(serverDeflate: PerMessageDeflateOptions, clientDeflate: PerMessageDeflateOptions, body: (h: ProxyHarness, session: number) => Promise<void>, path = '/deflate'): Promise<void> {
  const target = await startWsEcho({ threshold: 0, ...serverDeflate });
  const h = await startProxy(target.port);
  try {
    const ws = await openWs(h.url + path, { perMessageDeflate: { threshold: 0, ...clientDeflate } });
    try {
      const open = await h.waitFor(h.opens, (s) => s.path === path);
      assert.notEqual(open.deflate, null, 'permessage-deflate negotiated');
      assert.match(open.extensions ?? '', /^permessage-deflate/);
      // Text both ways, binary both ways, and a fragmented text message.
      for (const text of texts) assert.equal((await echo(ws, text)).data.toString(), text);
      const bin = patternBytes(100_000, 42);
      assert.ok((await echo(ws, bin)).data.equals(bin));
      const reply = nextMessage(ws);
      ws.send('first half, ', { fin: false });
      ws.send('second half', { fin: true });
      assert.equal((await reply).data.toString(), 'first half, second half');
      await body(h, open.session);
      // Every data message both ways was compressed and the bus saw it inflated.
      const expected = [...texts.map((t) => Buffer.from(t)), bin, Buffer.from('first half, second half')];
      for (const from of ['client', 'server'] as const) {
        const messages = await until(() => {
          const m = h.messages.filter((r) => r.session === open.session && r.from === from);
          return m.length >= expected.length ? m : undefined;
        }, 5000, `${expected.length} ${from} messages`);
        assert.equal(messages.length, expected.length);
        messages.forEach((m, i) => {
          assert.equal(m.compressed, true, `${from} message ${i} compressed`);
          assert.equal(m.length, expected[i]!.length, `${from} message ${i} length`);
          // Previews are capped at maxPreview (64 KiB here).
          assert.ok(Buffer.from(m.payload).equals(expected[i]!.subarray(0, 64 * 1024)), `${from} message ${i} inflated`);
          assert.equal(m.truncated, expected[i]!.length > 64 * 1024);
        });
        const frames = h.frames.filter((f) => f.session === open.session && f.from === from && (f.kind === 'text' || f.kind === 'binary' || f.kind === 'continuation'));
        assert.ok(frames.every((f) => f.compressed), `${from} data frames are marked compressed`);
        // A single-frame message: the record's payload is the inflated text, its length the wire length.
        const first = frames[0]!;
        assert.equal(first.rsv1, true);
        assert.equal(Buffer.from(first.payload).toString(), texts[0]);
        assert.notEqual(first.length, Buffer.byteLength(texts[0]!), 'length is the compressed length on the wire');
        // The fragmented message (the echo comes back whole): RSV1 on the first frame only, and
        // the frame payloads add up to the message.
        if (from === 'server') continue;
        const last = frames.slice(-2);
        assert.deepEqual(last.map((f) => [f.kind, f.fin, f.rsv1]), [['text', false, true], ['continuation', true, false]]);
        assert.equal(last.map((f) => Buffer.from(f.payload).toString()).join(''), 'first half, second half');
      }
      assert.deepEqual(h.violations, []);
      assert.deepEqual(h.errors, []);
    } finally {
      ws.terminate();
    }
  } finally {
    await h.close();
    await target.close();
  }
}

describe('permessage-deflate', { timeout: 60_000 }, () => {
  test('with context takeover (the default)', { timeout: 10_000 }, () =>
    withDeflate({}, {}, async (h, session) => {
      const open = h.opens.find((s) => s.session === session)!;
      assert.deepEqual(open.deflate, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });
    }));

  test('with server_no_context_takeover and client_no_context_takeover', { timeout: 10_000 }, () =>
    withDeflate({ serverNoContextTakeover: true, clientNoContextTakeover: true }, {}, async (h, session) => {
      const open = h.opens.find((s) => s.session === session)!;
      assert.equal(open.deflate?.serverNoContextTakeover, true);
      assert.equal(open.deflate?.clientNoContextTakeover, true);
      assert.match(open.extensions!, /server_no_context_takeover/);
      assert.match(open.extensions!, /client_no_context_takeover/);
    }));

  test('with only server_no_context_takeover', { timeout: 10_000 }, () =>
    withDeflate({ serverNoContextTakeover: true }, {}, async (h, session) => {
      const open = h.opens.find((s) => s.session === session)!;
      assert.deepEqual([open.deflate?.serverNoContextTakeover, open.deflate?.clientNoContextTakeover], [true, false]);
    }));

  for (let bits = 9; bits <= 15; bits++) {
    test(`with window bits ${bits} both ways`, { timeout: 10_000 }, () =>
      withDeflate({ serverMaxWindowBits: bits, clientMaxWindowBits: bits }, {}, async (h, session) => {
        const open = h.opens.find((s) => s.session === session)!;
        assert.equal(open.deflate?.serverMaxWindowBits, bits);
        assert.equal(open.deflate?.clientMaxWindowBits, bits);
      }, `/bits-${bits}`));
  }

  for (const strict of [false, true]) {
    test(`messages that end with a final deflate block (BFINAL, RFC 7692 §7.2.3.4) are recorded, and so is the close${strict ? ' (strict)' : ''}`, { timeout: 10_000 }, async () => {
      const server = await RawServer.start({
        respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Extensions', 'permessage-deflate']]),
      });
      const h = await startProxy(server.port, { strict });
      try {
        const { client } = await rawHandshake(h.port, { path: '/bfinal', headers: [['Sec-WebSocket-Extensions', 'permessage-deflate']] });
        const conn = await server.connection();
        for (const [i, text] of ['hello', 'hello again'].entries()) await client.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: zlib.deflateRawSync(text), maskKey: i === 0 ? KEY_A : KEY_B }));
        await conn.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: zlib.deflateRawSync('from the server') }));
        const got = await conn.waitFrames(2, 3000, true);
        assert.deepEqual(got.map((f) => f.payload.equals(zlib.deflateRawSync(f === got[0] ? 'hello' : 'hello again'))), [true, true], 'relayed as they came');
        await client.waitFrames(1, 3000, true);
        const texts = await until(() => (h.messages.length === 3 ? h.messages.map((m) => `${m.from} ${Buffer.from(m.payload).toString()}`) : undefined), 3000, 'three message records');
        assert.deepEqual(texts, ['client hello', 'client hello again', 'server from the server']);
        client.socket.end();
        conn.socket.end();
        const open = h.opens.find((o) => o.path === '/bfinal')!;
        await h.waitClose(open.session);
        assert.deepEqual(h.violations, []);
      } finally {
        destroyAllRaw();
        await h.close();
        await server.close();
      }
    });

    test(`a compressed message that does not inflate${strict ? ' (strict: close 1007 both ways)' : ': reported and forwarded'}`, { timeout: 10_000 }, async () => {
      const server = await RawServer.start({
        respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Extensions', 'permessage-deflate']]),
      });
      const h = await startProxy(server.port, { strict });
      try {
        const { client } = await rawHandshake(h.port, { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate']] });
        const conn = await server.connection();
        const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x11]);
        // A valid message with no back-references, which decodes on a fresh context.
        const fresh = zlib.deflateRawSync('fine again', { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
        await client.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: garbage, maskKey: KEY_A }));
        const v = await h.waitFor(h.violations, (r) => r.violation.code === 'invalid-deflate');
        assert.equal(v.from, 'client');
        const frame = h.frames.find((f) => f.id === v.frame)!;
        assert.ok(frame.violations.some((x) => x.code === 'invalid-deflate'));
        if (!strict) {
          // Sent once the failure is known: a message queued on the broken stream before the error
          // surfaced would be reported as not inflating too (see the inflater).
          await client.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: fresh, maskKey: KEY_B }));
          const got = await conn.waitFrames(2, 3000, true);
          assert.ok(got[0]!.payload.equals(garbage), 'forwarded as it came');
          assert.equal(got[0]!.rsv1, true);
          const next = await h.waitFor(h.messages, (m) => m.from === 'client' && m.length === 10);
          assert.equal(Buffer.from(next.payload).toString(), 'fine again');
          assert.equal(h.violations.length, 1, 'the fresh message inflates without a violation');
        } else {
          for (const peer of [client, conn]) {
            await until(() => peer.completeFrames(true).some((f) => f.opcode === Opcode.Close), 3000, 'a close frame');
            const close = peer.completeFrames(true).find((f) => f.opcode === Opcode.Close)!;
            assert.equal(close.payload.readUInt16BE(0), 1007);
            await peer.waitEnd();
          }
          // Inflated when the frame ended, before its chunk was written: it never reached the server.
          assert.ok(!conn.completeFrames(true).some((f) => f.opcode === Opcode.Text), 'the frame that does not inflate is not relayed');
        }
        assert.deepEqual(h.errors, []);
      } finally {
        destroyAllRaw();
        await h.close();
        await server.close();
      }
    });
  }

  test('a large compressed message right before the connection ends is still recorded whole, before the close', { timeout: 20_000 }, async () => {
    const server = await RawServer.start({
      respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Extensions', 'permessage-deflate']]),
    });
    const h = await startProxy(server.port);
    const order: string[] = [];
    h.proxy.bus.on('message', (m) => order.push(`message ${m.length}`));
    h.proxy.bus.on('session-close', () => order.push('close'));
    try {
      const size = 32 * 1024 * 1024;
      const compressed = zlib.deflateRawSync(Buffer.alloc(size, 'a'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
      const { client } = await rawHandshake(h.port, { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate']] });
      const conn = await server.connection();
      // The message, a close frame and the end of the connection, all at once; the client goes too.
      await conn.write(Buffer.concat([buildFrame({ opcode: Opcode.Text, rsv1: true, payload: compressed }), buildFrame({ opcode: Opcode.Close, payload: Buffer.from([0x03, 0xe8]) })]));
      conn.destroy();
      await client.waitEnd();
      client.destroy();
      const close = await h.waitClose(h.opens[0]!.session, 10_000);
      assert.equal(close.by, 'server');
      assert.equal(close.code, 1000);
      const message = h.messages.find((m) => m.from === 'server')!;
      assert.equal(message.length, size, 'the whole message was inflated and counted');
      assert.equal(message.truncated, true);
      assert.ok(Buffer.from(message.payload).equals(Buffer.alloc(64 * 1024, 'a')));
      assert.deepEqual(order, [`message ${size}`, 'close'], 'the close record comes last');
      assert.deepEqual(h.violations, []);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('a zlib bomb costs no memory, is capped at maxPreview, and the relay keeps working', { timeout: 20_000 }, async () => {
    const maxPreview = 64 * 1024;
    const server = await RawServer.start({
      respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Extensions', 'permessage-deflate']]),
    });
    const h = await startProxy(server.port, { limits: { maxPreview, maxMessage: 1024 * 1024 } });
    try {
      // One compression context for the whole stream, as a client with context takeover has:
      // ~100 MB of zeros, then a message that may refer back into it.
      const bombSize = 100 * 1024 * 1024;
      const deflater = zlib.createDeflateRaw({ level: 9 });
      const out: Buffer[] = [];
      deflater.on('data', (c: Buffer) => out.push(c));
      const message = async (write: () => void): Promise<Buffer> => {
        out.length = 0;
        write();
        await new Promise<void>((resolve) => deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
        const all = Buffer.concat(out);
        assert.deepEqual([...all.subarray(-4)], [0, 0, 0xff, 0xff]);
        return all.subarray(0, -4); // RFC 7692 §7.2.1: the tail is not sent
      };
      const zeros = Buffer.alloc(1024 * 1024);
      const bomb = await message(() => {
        for (let i = 0; i < bombSize / zeros.length; i++) deflater.write(zeros);
      });
      const afterText = 'still here after the bomb';
      const after = await message(() => deflater.write(afterText));
      deflater.close();
      assert.ok(bomb.length < 200 * 1024, `bomb is ${bomb.length} bytes`);

      const { client } = await rawHandshake(h.port, { headers: [['Sec-WebSocket-Extensions', 'permessage-deflate']] });
      const conn = await server.connection();
      const open = h.opens[0]!;
      assert.notEqual(open.deflate, null);

      gc();
      await sleep(20);
      const base = process.memoryUsage();
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, heapAndBuffers() - (base.heapUsed + base.arrayBuffers));
      }, 2);
      try {
        await client.write(buildFrame({ opcode: Opcode.Binary, rsv1: true, payload: bomb, maskKey: KEY_A }));
        await client.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: after, maskKey: KEY_B }));
        const [m1, m2] = await until(() => {
          const m = h.messages.filter((r) => r.from === 'client');
          return m.length >= 2 ? m : undefined;
        }, 15_000, 'both messages on the bus');
        assert.equal(m1!.length, bombSize, 'the whole bomb was counted');
        assert.equal(m1!.payload.length, maxPreview);
        assert.equal(m1!.truncated, true);
        assert.equal(m2!.compressed, true);
        assert.equal(Buffer.from(m2!.payload).toString(), afterText, 'the context survived the bomb');
      } finally {
        clearInterval(sampler);
      }
      // Inflated output is dropped as it streams: garbage comes and goes, nothing near 100 MiB
      // is ever live, and nothing stays once collected.
      assert.ok(peak < 64 * 1024 * 1024, `memory peaked ${mib(peak)} MiB above the start while inflating 100 MiB`);
      // Buffers are swept concurrently after a collection: give the sweeper a moment.
      let retained = Infinity;
      for (let i = 0; i < 10 && retained >= 8 * 1024 * 1024; i++) {
        gc();
        await sleep(20);
        retained = heapAndBuffers() - (base.heapUsed + base.arrayBuffers);
      }
      assert.ok(retained < 8 * 1024 * 1024, `${mib(retained)} MiB retained after inflating 100 MiB`);

      const frame = h.frames.find((f) => f.from === 'client' && f.kind === 'binary')!;
      assert.equal(frame.compressed, true);
      assert.equal(frame.length, bomb.length);
      assert.equal(frame.payload.length, maxPreview);
      assert.equal(frame.truncated, true);
      assert.ok(Buffer.from(frame.payload).equals(Buffer.alloc(maxPreview)));
      // The compressed bytes reached the server as sent.
      const got = await conn.waitFrames(2, 5000, true);
      assert.ok(got[0]!.payload.equals(bomb));
      assert.equal(got[0]!.rsv1, true);
      assert.ok(got[1]!.payload.equals(after));
      // And the other direction still works.
      const reply = zlib.deflateRawSync('pong', { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
      await conn.write(buildFrame({ opcode: Opcode.Text, rsv1: true, payload: reply }));
      const [down] = await client.waitFrames(1, 3000, true);
      assert.ok(down!.payload.equals(reply));
      const record = await h.waitFor(h.messages, (r) => r.from === 'server');
      assert.equal(Buffer.from(record.payload).toString(), 'pong');
      assert.deepEqual(h.violations, []);
      assert.deepEqual(h.errors, []);
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });
});
