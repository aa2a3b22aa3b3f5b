/**
 * The intercept lists every held message, not only the first: messages waiting behind a held one
 * in the same direction are listed as soon as they are complete, can be decided early, and still
 * leave in the order they came. Real relay, real `ws` peers, compressed and not.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { INTERCEPTOR_ORDER } from '../../src/proxy/control.js';
import { InterceptQueue } from '../../src/tui/intercept-queue.js';
import { parseFilter } from '../../src/tui/filter.js';
import { openWs, startProxy, startWsEcho, toBuffer, type ProxyHarness, type WsTarget } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';

const text = (data: Uint8Array): string => Buffer.from(data).toString('utf8');

describe('intercept: every held message is listed', { timeout: 30_000 }, () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  /** A proxy in front of a `ws` echo target, with an intercept on for `filterText`. */
  async function holding(filterText: string, deflate: boolean): Promise<{ target: WsTarget; h: ProxyHarness; queue: InterceptQueue }> {
    const target = await startWsEcho(deflate);
    cleanup.push(() => target.close());
    const h = await startProxy(target.port);
    cleanup.push(() => h.close());
    const filter = parseFilter(filterText);
    assert.ok(filter.ok);
    const queue = new InterceptQueue({ filter: filter.filter });
    queue.setEnabled(true);
    cleanup.push(h.proxy.use(queue, INTERCEPTOR_ORDER.intercept));
    return { target, h, queue };
  }

  it('holding many messages of one session raises no listener-leak warning', async () => {
    const { h, queue } = await holding('from:client', false);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const client: WebSocket = await openWs(`${h.url}/many-held`);
      cleanup.push(() => client.terminate());
      // A browser app sends this many within seconds while one is being edited.
      for (let i = 0; i < 15; i++) client.send(`held ${i}`);
      await until(() => (queue.size === 15 ? true : undefined), 3000, '15 held messages');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, []);
      queue.forwardAll();
    } finally {
      process.off('warning', onWarning);
    }
  });

  for (const deflate of [false, true]) {
    it(`lists messages waiting behind the first, takes early decisions, keeps the order${deflate ? ' (permessage-deflate)' : ''}`, async () => {
      // Client messages only: the echoes would be held too.
      const { target, h, queue } = await holding('from:client kind:text', deflate);
      const client: WebSocket = await openWs(`${h.url}/held`, { perMessageDeflate: deflate });
      cleanup.push(() => client.terminate());
      const atServer: string[] = [];
      const server = await until(() => target.sockets[0], 3000, 'the target socket');
      server.on('message', (d) => atServer.push(toBuffer(d).toString()));

      for (let i = 0; i < 4; i++) client.send(`held ${i}`);
      const listed = await until(() => (queue.size === 4 ? queue.held : undefined), 3000, `4 held messages (listed: ${queue.held.map((e) => text(e.message.data)).join(', ')})`);
      assert.deepEqual(
        listed.map((e) => text(e.message.data)),
        ['held 0', 'held 1', 'held 2', 'held 3'],
      );
      assert.deepEqual(atServer, [], 'nothing passes while held');

      // Decide the waiting ones first: drop "held 2", edit "held 1"; then forward the head.
      assert.ok(queue.drop(listed[2]!.seq));
      assert.ok(queue.replace(listed[1]!.seq, Buffer.from('EDITED 1')));
      assert.deepEqual(queue.held.map((e) => text(e.message.data)), ['held 0', 'held 3']);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(atServer, [], 'an early decision waits for the message ahead');
      assert.ok(queue.forward(listed[0]!.seq));
      await until(() => queue.size === 1 && atServer.length === 2, 3000, 'the first two at the server');
      assert.deepEqual(atServer, ['held 0', 'EDITED 1']);
      queue.forwardAll();
      await until(() => atServer.length === 3, 3000, 'the last at the server');
      assert.deepEqual(atServer, ['held 0', 'EDITED 1', 'held 3']);
      const dropped = await h.waitFor(h.messages, (m) => m.fate === 'dropped', 3000, 'the dropped message record');
      assert.equal(text(dropped.payload), 'held 2');
      assert.equal(dropped.id, listed[2]!.message.id, 'the listed id is the record id');
    });
  }
});
