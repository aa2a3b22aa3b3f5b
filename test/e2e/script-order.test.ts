/**
 * Order and isolation with async hooks, end to end: real `ws` peers through the real proxy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect, startLive, startTarget, until } from '../script/live.js';

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('messages of one direction leave in arrival order although each async hook takes a different time', async () => {
  const file = join(dir, 'jitter.ts');
  writeFileSync(
    file,
    `import { defineScript } from 'wsproxy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export default defineScript({
  async onMessage(msg) {
    const n = Number(msg.text.split(' ')[1]);
    await sleep((n * 37) % 23);           // later messages often finish first
    return msg.from === 'client' ? msg.text + ' c' : msg.text + ' s';
  },
});
`,
  );
  const target = await startTarget();
  const live = await startLive(target.port, { script: { path: file } });
  const client = await connect(live.url);
  try {
    const n = 60;
    for (let i = 0; i < n; i++) client.send(`m ${i}`);
    const got = await client.inbox.texts(n, 10_000);
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => `m ${i} c s`));
    assert.deepEqual(target.peers[0]!.inbox.all.map((m) => m.text), Array.from({ length: n }, (_, i) => `m ${i} c`));
    const modified = live.messages.filter((m) => m.fate === 'modified' && m.by === 'script');
    assert.equal(modified.length, 2 * n, 'every rewrite is recorded as modified by script');
  } finally {
    await client.close();
    await live.close();
    await target.close();
  }
});

test('a slow hook holds only its own direction of its own session', async () => {
  const file = join(dir, 'slow.ts');
  writeFileSync(
    file,
    `import { defineScript } from 'wsproxy';
export default defineScript({
  async onMessage(msg) {
    if (msg.text === 'slow') await new Promise((r) => setTimeout(r, 1500));
  },
});
`,
  );
  // The target echoes, and answers "push" with an unsolicited message as well.
  const target = await startTarget({}, (ws) => {
    ws.on('message', (data, binary) => {
      const text = data.toString();
      if (text.startsWith('push')) ws.send(`pushed ${text}`);
      else ws.send(data, { binary });
    });
  });
  const live = await startLive(target.port, { script: { path: file } });
  const a = await connect(live.url);
  const b = await connect(live.url);
  try {
    const t0 = Date.now();
    a.send('slow');
    a.send('after slow');
    await new Promise((r) => setTimeout(r, 50));
    b.send('fast');
    assert.equal((await b.inbox.next(1000)).text, 'fast');
    const otherSession = Date.now() - t0;
    assert.ok(otherSession < 800, `another session waited ${otherSession} ms`);

    // Session A, server→client: not held by A's slow client→server message.
    target.peers[0]!.ws.send('server speaks');
    assert.equal((await a.inbox.next(1000)).text, 'server speaks');
    assert.ok(Date.now() - t0 < 1000, 'the other direction of the same session went on');
    assert.equal(a.inbox.all.length, 1);

    // And A's client→server order holds once the slow hook is done.
    assert.deepEqual(await a.inbox.texts(2, 4000), ['slow', 'after slow']);
    assert.ok(Date.now() - t0 >= 1500);
    await until(() => target.peers[0]!.inbox.all.length === 2);
    assert.deepEqual(target.peers[0]!.inbox.all.map((m) => m.text), ['slow', 'after slow']);
  } finally {
    await a.close();
    await b.close();
    await live.close();
    await target.close();
  }
});
