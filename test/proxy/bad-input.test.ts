/**
 * Peers that break the rules. For each: the violation is on the bus (and on the frame's record),
 * by default the frame still goes through where it can be framed, with strict both peers get a
 * close frame with the RFC code and the connection ends; and the proxy goes on serving.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Opcode } from '../../src/protocol/constants.js';
import type { ViolationCode } from '../../src/protocol/violations.js';
import type { Side } from '../../src/proxy/events.js';
import { KEY_A, KEY_B, buildFrame, maskedFrame, unmaskedFrame, type ParsedFrame } from '../helpers/frames.js';
import { startProxy, type HarnessOptions, type ProxyHarness } from '../helpers/proxy-harness.js';
import { RawServer, deadPort, destroyAllRaw, rawConnect, rawHandshake, requestHead, sleep, type RawConnection } from '../helpers/raw-peer.js';

interface Ctx {
  readonly server: RawServer;
  readonly h: ProxyHarness;
  readonly client: RawConnection;
  readonly conn: RawConnection;
  /** The raw end that plays `side`. */
  peer(side: Side): RawConnection;
}

/** Raw target + proxy + one open session; everything torn down after `body`. */
async function withSession(options: HarnessOptions, body: (ctx: Ctx) => Promise<void>): Promise<void> {
  const server = await RawServer.start();
  const h = await startProxy(server.port, options);
  try {
    const { client } = await rawHandshake(h.port, { path: '/bad' });
    const conn = await server.connection(0);
    await body({ server, h, client, conn, peer: (side) => (side === 'client' ? client : conn) });
    await healthy(h, server);
    assert.deepEqual(h.errors.map((e) => e.message), [], 'no internal errors on the bus');
  } finally {
    destroyAllRaw();
    await h.close();
    await server.close();
  }
}

/** A second session on the same proxy works both ways (the first may still be open). */
async function healthy(h: ProxyHarness, server: RawServer): Promise<void> {
  const n = server.connections.length;
  const { client } = await rawHandshake(h.port, { path: '/healthy' });
  const conn = await server.connection(n);
  await client.write(maskedFrame(Opcode.Text, 'are you there?', KEY_B));
  const [up] = await conn.waitFrames(1);
  assert.equal(up!.payload.toString(), 'are you there?');
  await conn.write(unmaskedFrame(Opcode.Text, 'yes'));
  const [down] = await client.waitFrames(1);
  assert.equal(down!.payload.toString(), 'yes');
  const session = h.opens.find((s) => s.path === '/healthy')!.session;
  assert.deepEqual(h.violations.filter((v) => v.session === session), [], 'the healthy session has no violations');
  client.destroy();
}

/** Asserts the violation is on the bus, tied to a frame record that lists it; returns that record's id. */
async function assertReported(h: ProxyHarness, code: ViolationCode, from: Side): Promise<number> {
  const v = await h.waitFor(h.violations, (r) => r.violation.code === code, 3000, `violation ${code}`);
  assert.equal(v.from, from);
  assert.notEqual(v.frame, null, `${code} names its frame`);
  const frame = h.frames.find((f) => f.id === v.frame);
  assert.ok(frame, `frame ${v.frame} was recorded`);
  assert.equal(frame.from, from);
  assert.ok(frame.violations.some((x) => x.code === code), `frame ${frame.id} lists ${code}`);
  return frame.id;
}

/** Both peers got a close frame with `code` as their last frame, and both connections ended. */
async function assertFailed(ctx: Ctx, code: number, firstClose?: { by: Side; code: number | null }): Promise<void> {
  for (const side of ['client', 'server'] as const) {
    const peer = ctx.peer(side);
    const frames = await peer.waitFrames(1);
    const last = await waitLastClose(peer, frames);
    assert.equal(last.opcode, Opcode.Close, `${side} got a close frame last`);
    assert.equal(last.payload.readUInt16BE(0), code, `${side} got close ${code}`);
    // The proxy masks toward the server, never toward the client.
    assert.equal(last.maskKey !== null, side === 'server', `${side}'s close frame masking`);
    await peer.waitEnd(2000);
  }
  // Each peer hangs up in turn, as a real endpoint does after the close.
  for (const side of ['client', 'server'] as const) ctx.peer(side).socket.end();
  const close = await ctx.h.waitClose(ctx.h.opens[0]!.session);
  if (firstClose === undefined) {
    assert.equal(close.by, 'proxy');
    assert.equal(close.code, code);
  } else {
    // The peer's own (invalid) close frame came first: the record names it.
    assert.equal(close.by, firstClose.by);
    assert.equal(close.code, firstClose.code);
  }
}

async function waitLastClose(peer: RawConnection, initial: ParsedFrame[]): Promise<ParsedFrame> {
  let frames = initial;
  const deadline = Date.now() + 3000;
  while (frames.at(-1)?.opcode !== Opcode.Close && Date.now() < deadline) {
    await sleep(5);
    frames = peer.completeFrames();
  }
  return frames.at(-1)!;
}

interface Case {
  readonly name: string;
  /** The peer that misbehaves. */
  readonly from: Side;
  readonly bytes: Buffer;
  readonly code: ViolationCode;
  readonly closeCode: 1002 | 1007;
  /** What the other peer receives by default. */
  readonly check: (f: ParsedFrame) => void;
  /** Send a valid text frame after it (not after a close frame). */
  readonly trailer?: boolean;
  /** For a close frame: the code the session's close record reports (its first close frame). */
  readonly peerClose?: number | null;
}

const cases: Case[] = [
  {
    name: 'an unmasked client frame',
    from: 'client',
    bytes: unmaskedFrame(Opcode.Text, 'naked'),
    code: 'unmasked-client-frame',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Text);
      assert.equal(f.payload.toString(), 'naked');
    },
  },
  {
    name: 'a masked server frame',
    from: 'server',
    bytes: maskedFrame(Opcode.Text, 'in disguise', KEY_A),
    code: 'masked-server-frame',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Text);
      assert.equal(f.payload.toString(), 'in disguise');
      assert.notEqual(f.maskKey, null, 'still masked (the proxy forwards what it got)');
    },
  },
  {
    name: 'a reserved data opcode',
    from: 'client',
    bytes: maskedFrame(0x3, 'op three', KEY_A),
    code: 'reserved-opcode',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, 0x3);
      assert.equal(f.payload.toString(), 'op three');
    },
  },
  {
    name: 'a reserved control opcode from the server',
    from: 'server',
    bytes: unmaskedFrame(0xb, 'op eleven'),
    code: 'reserved-opcode',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, 0xb);
      assert.equal(f.payload.toString(), 'op eleven');
    },
  },
  {
    name: 'RSV bits with no extension negotiated',
    from: 'client',
    bytes: buildFrame({ opcode: Opcode.Text, rsv1: true, rsv3: true, payload: 'rsv', maskKey: KEY_A }),
    code: 'unexpected-rsv',
    closeCode: 1002,
    check: (f) => {
      assert.deepEqual([f.rsv1, f.rsv2, f.rsv3], [true, false, true]);
      assert.equal(f.payload.toString(), 'rsv');
    },
  },
  {
    name: 'a control frame over 125 bytes',
    from: 'server',
    bytes: unmaskedFrame(Opcode.Ping, 'p'.repeat(126)),
    code: 'control-too-long',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Ping);
      assert.equal(f.payloadLength, 126);
    },
  },
  {
    name: 'a fragmented control frame',
    from: 'client',
    bytes: buildFrame({ opcode: Opcode.Ping, fin: false, payload: 'half a ping', maskKey: KEY_A }),
    code: 'control-fragmented',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Ping);
      assert.equal(f.fin, false);
    },
  },
  {
    name: 'invalid UTF-8 in a text message',
    from: 'client',
    bytes: maskedFrame(Opcode.Text, Buffer.from([0x68, 0x69, 0xff, 0xfe, 0xc3]), KEY_A),
    code: 'invalid-utf8',
    closeCode: 1007,
    check: (f) => assert.deepEqual([...f.payload], [0x68, 0x69, 0xff, 0xfe, 0xc3]),
  },
  {
    name: 'invalid UTF-8 from the server',
    from: 'server',
    bytes: unmaskedFrame(Opcode.Text, Buffer.from([0xed, 0xa0, 0x80])),
    code: 'invalid-utf8',
    closeCode: 1007,
    check: (f) => assert.deepEqual([...f.payload], [0xed, 0xa0, 0x80]),
  },
  {
    name: 'a length not minimally encoded',
    from: 'server',
    bytes: buildFrame({ opcode: Opcode.Text, payload: 'tiny', lengthBits: 64 }),
    code: 'non-minimal-length',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.payload.toString(), 'tiny');
      assert.equal(f.headerLength, 10, 'the 64-bit length encoding is kept');
    },
  },
  {
    name: 'a continuation with no message in progress',
    from: 'client',
    bytes: maskedFrame(Opcode.Continuation, 'orphan', KEY_A),
    code: 'unexpected-continuation',
    closeCode: 1002,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Continuation);
      assert.equal(f.payload.toString(), 'orphan');
    },
  },
  {
    name: 'a close frame with a one-byte body',
    from: 'server',
    bytes: unmaskedFrame(Opcode.Close, Buffer.from([0x03])),
    code: 'close-one-byte',
    closeCode: 1002,
    trailer: false,
    peerClose: null,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Close);
      assert.deepEqual([...f.payload], [0x03]);
    },
  },
  {
    name: 'a close reason that is not UTF-8',
    from: 'client',
    bytes: maskedFrame(Opcode.Close, Buffer.from([0x03, 0xe8, 0xc0, 0xaf]), KEY_A),
    code: 'invalid-close-reason',
    closeCode: 1007,
    trailer: false,
    peerClose: 1000,
    check: (f) => assert.deepEqual([...f.payload], [0x03, 0xe8, 0xc0, 0xaf]),
  },
  {
    name: 'a close frame with code 1005',
    from: 'client',
    bytes: maskedFrame(Opcode.Close, Buffer.from([0x03, 0xed]), KEY_A),
    code: 'invalid-close-code',
    closeCode: 1002,
    trailer: false,
    peerClose: 1005,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Close);
      assert.equal(f.payload.readUInt16BE(0), 1005);
    },
  },
  {
    name: 'a close frame with code 999',
    from: 'server',
    bytes: unmaskedFrame(Opcode.Close, Buffer.from([0x03, 0xe7, 0x78])),
    code: 'invalid-close-code',
    closeCode: 1002,
    trailer: false,
    peerClose: 999,
    check: (f) => {
      assert.equal(f.opcode, Opcode.Close);
      assert.equal(f.payload.readUInt16BE(0), 999);
    },
  },
];

function trailerFrom(side: Side): Buffer {
  return side === 'client' ? maskedFrame(Opcode.Text, 'after', KEY_B) : unmaskedFrame(Opcode.Text, 'after');
}

describe('protocol violations', { timeout: 120_000 }, () => {
  for (const c of cases) {
    test(`${c.name}: reported and forwarded by default`, { timeout: 10_000 }, () =>
      withSession({}, async (ctx) => {
        const sender = ctx.peer(c.from);
        const receiver = ctx.peer(c.from === 'client' ? 'server' : 'client');
        const trailer = c.trailer ?? true;
        await sender.write(trailer ? Buffer.concat([c.bytes, trailerFrom(c.from)]) : c.bytes);
        const got = await receiver.waitFrames(trailer ? 2 : 1);
        c.check(got[0]!);
        if (trailer) assert.equal(got[1]!.payload.toString(), 'after', 'framing goes on after it');
        await assertReported(ctx.h, c.code, c.from);
        assert.equal(ctx.h.violations.filter((v) => v.violation.code !== c.code).length, 0, 'nothing else reported');
        await sleep(50);
        assert.equal(receiver.ended || receiver.closed, false, 'the connection stays open');
        assert.equal(ctx.h.closes.length, 0);
      }));

    test(`${c.name}: with strict, both peers get close ${c.closeCode}`, { timeout: 10_000 }, () =>
      withSession({ strict: true }, async (ctx) => {
        await ctx.peer(c.from).write(c.bytes);
        await assertReported(ctx.h, c.code, c.from);
        await assertFailed(ctx, c.closeCode, c.peerClose === undefined ? undefined : { by: c.from, code: c.peerClose });
        // As a conforming endpoint would, the proxy fails the connection instead of passing the frame on.
        const receiver = ctx.peer(c.from === 'client' ? 'server' : 'client');
        assert.deepEqual(receiver.completeFrames(true).map((f) => f.opcode), [Opcode.Close], "only the proxy's close reached the other peer");
      }));
  }

  for (const strict of [false, true]) {
    test(`a 64-bit length with the top bit set: both sides get close 1002${strict ? ' (strict)' : ''}`, { timeout: 10_000 }, () =>
      withSession({ strict }, async (ctx) => {
        const header = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 5, ...KEY_A]);
        await ctx.client.write(Buffer.concat([header, Buffer.from('hello')]));
        const v = await ctx.h.waitFor(ctx.h.violations, (r) => r.violation.code === 'length-msb-set');
        assert.equal(v.from, 'client');
        await assertFailed(ctx, 1002);
        // Nothing of the unframeable frame reached the server: its only frame is the proxy's close.
        assert.equal(ctx.conn.completeFrames().length, 1);
      }));
  }

  test('a truncated frame, then EOF: reported, and the other side is closed', { timeout: 10_000 }, () =>
    withSession({}, async (ctx) => {
      const whole = maskedFrame(Opcode.Binary, Buffer.from('0123456789'), KEY_A);
      await ctx.client.write(whole.subarray(0, whole.length - 7));
      ctx.client.socket.end();
      const v = await ctx.h.waitFor(ctx.h.violations, (r) => r.violation.code === 'truncated-frame');
      assert.equal(v.from, 'client');
      assert.equal(v.frame, null);
      await ctx.conn.waitEnd(2000);
      // The server keeps its side open: the proxy cuts the session a second later all the same.
      const close = await ctx.h.waitClose(ctx.h.opens[0]!.session, 2500);
      assert.equal(close.by, 'client');
      assert.equal(close.clean, false);
      await ctx.conn.waitEnd(100);
      assert.ok(ctx.conn.closed || ctx.conn.ended);
    }));

  test('a truncated frame from the server, then EOF', { timeout: 10_000 }, () =>
    withSession({}, async (ctx) => {
      await ctx.conn.write(Buffer.from([0x81, 0x7e, 0x01]));
      ctx.conn.socket.end();
      const v = await ctx.h.waitFor(ctx.h.violations, (r) => r.violation.code === 'truncated-frame');
      assert.equal(v.from, 'server');
      await ctx.client.waitEnd(2000);
    }));

  for (const side of ['client', 'server'] as const) {
    for (const how of ['destroy', 'reset'] as const) {
      test(`the ${side} vanishes (${how}): the other side is closed within a second`, { timeout: 10_000 }, () =>
        withSession({}, async (ctx) => {
          const gone = ctx.peer(side);
          const other = ctx.peer(side === 'client' ? 'server' : 'client');
          const started = Date.now();
          if (how === 'destroy') gone.socket.destroy();
          else gone.socket.resetAndDestroy();
          await other.waitEnd(1500);
          const took = Date.now() - started;
          assert.ok(took < 1000, `closed after ${took} ms`);
          const close = await ctx.h.waitClose(ctx.h.opens[0]!.session);
          assert.equal(close.by, side);
          assert.equal(close.code, null);
          assert.equal(close.clean, false);
        }));
    }
  }
});

describe('bad handshakes', { timeout: 60_000 }, () => {
  for (const [name, garbage] of [
    ['TLS bytes', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])],
    ['a line that is not a request line', Buffer.from('HELLO THERE\r\n\r\n')],
    ['a malformed header line', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')],
  ] as const) {
    test(`garbage instead of a handshake (${name}) gets 400 and an invalid-handshake violation`, { timeout: 10_000 }, async () => {
      const server = await RawServer.start();
      const h = await startProxy(server.port);
      try {
        const client = await rawConnect(h.port);
        await client.write(garbage);
        await client.waitEnd(2000);
        assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 400 Bad Request\r\n/);
        const v = await h.waitFor(h.violations, (r) => r.violation.code === 'invalid-handshake');
        assert.equal(v.from, 'client');
        // A TLS client on a plain port is told apart from garbage: the operator learns what to do.
        if (name === 'TLS bytes') assert.match(v.violation.message, /a TLS handshake on a plain port: the client speaks https:\/\/ or wss:\/\/ \(start wsproxy with --tls for it\)/);
        assert.equal(server.connections.length, 0, 'nothing reached the target');
        await healthy(h, server);
        assert.deepEqual(h.errors, []);
      } finally {
        destroyAllRaw();
        await h.close();
        await server.close();
      }
    });
  }

  test('a request line over 8 KiB gets 414 however it arrives: in one write or in two', { timeout: 10_000 }, async () => {
    const server = await RawServer.start();
    const h = await startProxy(server.port);
    try {
      const head = Buffer.from(`GET /${'a'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      for (const cuts of [[], [4096]]) {
        const client = await rawConnect(h.port);
        let at = 0;
        for (const cut of [...cuts, head.length]) {
          await client.write(head.subarray(at, cut));
          at = cut;
          await sleep(20);
        }
        await client.waitEnd(2000);
        assert.match(client.received.toString('latin1'), /^HTTP\/1\.1 414 URI Too Long\r\n/, `in ${cuts.length + 1} write(s)`);
      }
      assert.equal(server.connections.length, 0, 'nothing reached the target');
    } finally {
      destroyAllRaw();
      await h.close();
      await server.close();
    }
  });

  test('an upgrade to a target that is down gets a quick 502 with a one-line reason', { timeout: 10_000 }, async () => {
    const h = await startProxy(await deadPort());
    try {
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const client = await rawConnect(h.port);
        await client.write(requestHead().head);
        await client.waitEnd(2000);
        assert.ok(Date.now() - started < 1000, `answered after ${Date.now() - started} ms`);
        const text = client.received.toString('latin1');
        assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        assert.match(body, /^502 Bad Gateway: target 127\.0\.0\.1:\d+: ECONNREFUSED\n$/, 'one line');
        client.destroy();
      }
      assert.deepEqual(h.errors, []);
    } finally {
      destroyAllRaw();
      await h.close();
    }
  });

  test('a target that accepts and hangs up without answering gives 502', { timeout: 10_000 }, async () => {
    const rude = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    const h = await startProxy((rude.address() as net.AddressInfo).port);
    try {
      const client = await rawConnect(h.port);
      await client.write(requestHead().head);
      await client.waitEnd(2000);
      const text = client.received.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
      assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4).split('\n').filter((l) => l !== '').length, 1, 'one-line reason');
    } finally {
      destroyAllRaw();
      await h.close();
      await new Promise<void>((resolve) => rude.close(() => resolve()));
    }
  });
});
