/**
 * A close the proxy injects into one side of a session (the TUI's send form, a script, the
 * control API): that peer answers it, its answer goes on to the other peer, and the other peer's
 * answer is not relayed back: the first peer already got its close, and a second one is a
 * protocol error to it (RFC 6455 §5.5.1; a browser reports 1006, "Close received after close").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode } from '../../src/protocol/constants.js';
import { startProxy } from '../helpers/proxy-harness.js';
import { RawServer, destroyAllRaw, rawHandshake } from '../helpers/raw-peer.js';
import { KEY_A, maskedFrame, unmaskedFrame } from '../helpers/frames.js';

const body = (code: number, reason: string): Buffer => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

describe('a close injected into one side', { timeout: 20_000 }, () => {
  for (const to of ['client', 'server'] as const) {
    test(`to the ${to}: it gets one close, both handshakes complete, and the record says the proxy began it`, async () => {
      const server = await RawServer.start();
      const h = await startProxy(server.port);
      try {
        const { client } = await rawHandshake(h.port, { path: '/inject-close' });
        const conn = await server.connection();
        const open = await h.waitFor(h.opens, (s) => s.path === '/inject-close');
        h.proxy.session(open.session)!.send({ to, kind: 'close', code: 4001, reason: 'from the proxy' });
        const [first, second] = to === 'client' ? [client, conn] : [conn, client];
        const firstMasked = to === 'server';
        // The peer that got the injected close answers it; the proxy relays the answer.
        await first.waitFrames(1);
        await first.write(firstMasked ? unmaskedFrame(Opcode.Close, body(4001, 'from the proxy')) : maskedFrame(Opcode.Close, body(4001, 'from the proxy'), KEY_A));
        await second.waitFrames(1);
        assert.equal(second.completeFrames()[0]!.opcode, Opcode.Close);
        // The other peer answers that; its answer is not relayed back to the first.
        await second.write(firstMasked ? maskedFrame(Opcode.Close, body(4001, 'from the proxy'), KEY_A) : unmaskedFrame(Opcode.Close, body(4001, 'from the proxy')));
        const log = await h.waitFor(h.logs, (l) => / close frame \d+ not relayed: the \w+ was sent a close already \(RFC 6455 §5\.5\.1\)$/.test(l.text), 3000, 'the not-relayed line');
        assert.ok(log.text.startsWith(to === 'client' ? 'server close frame' : 'client close frame'), log.text);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(first.completeFrames().map((f) => f.opcode), [Opcode.Close], 'exactly one close reached the first peer');
        client.socket.end();
        conn.socket.end();
        const close = await h.waitClose(open.session);
        assert.deepEqual([close.by, close.code, close.reason, close.clean], ['proxy', 4001, 'from the proxy', true]);
      } finally {
        destroyAllRaw();
        await h.close();
        await server.close();
      }
    });
  }
});
