/**
 * Order across directions with a real browser: Chromium compresses its messages
 * (permessage-deflate), the server answers each one uncompressed at once, and the proxy's
 * inflation is made slow on purpose. Every answer must still reach the bus after the message it
 * answers, with ids rising in that order. Skipped, with a message, when /usr/bin/chromium is not
 * installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { NO_CHROMIUM, PAGE_OPEN_WS, launchChromium, servePage } from '../helpers/chromium.js';
import { LaterInflater } from '../../src/proxy/later-inflater.js';
import { startProxy, startWsEcho } from '../helpers/proxy-harness.js';

const ROUNDS = 6;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>order</title><script>${PAGE_OPEN_WS}
async function talk(url, rounds) {
  const { ws, next } = await openWs(url);
  const back = [];
  for (let i = 0; i < rounds; i++) {
    ws.send(JSON.stringify({ seq: i, op: 'subscribe', topic: 'quotes/' + i }));
    back.push(await next());
  }
  await new Promise((resolve) => { ws.onclose = resolve; ws.close(1000, 'done'); });
  return { extensions: ws.extensions, back };
}
</script></head><body>order</body></html>`;

test('Chromium with permessage-deflate: each reply reaches the bus after the message it answers, inflation slowed on purpose', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  // The compressed frames' records wait for their inflation, which runs after each chunk's write
  // (later-inflater.ts): 30 ms later here, while the uncompressed replies need none.
  const original = LaterInflater.prototype.written;
  let slowed = 0;
  LaterInflater.prototype.written = function (this: LaterInflater) {
    slowed++;
    setTimeout(() => original.call(this), 30);
  };
  const page = await servePage(PAGE);
  const pagePort = page.port;
  // Deflate negotiated, the replies sent uncompressed: they need no inflation at all.
  const target = await startWsEcho({ threshold: 0 }, undefined, { compress: false });
  const h = await startProxy(target.port);
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${pagePort}/`, { timeout: 10_000 });
    const result = (await tab.evaluate(`talk(${JSON.stringify(`ws://127.0.0.1:${h.port}/order`)}, ${ROUNDS})`)) as { extensions: string; back: string[] };
    assert.match(result.extensions, /permessage-deflate/);
    assert.deepEqual(result.back.map((s) => (JSON.parse(s) as { seq: number }).seq), Array.from({ length: ROUNDS }, (_, i) => i));

    const open = h.opens.find((s) => s.path === '/order')!;
    await h.waitClose(open.session, 5000);
    const frames = h.frames.filter((f) => f.session === open.session);
    const text = frames.filter((f) => f.kind === 'text');
    assert.deepEqual(
      text.map((f) => [f.from, f.compressed]),
      Array.from({ length: ROUNDS * 2 }, (_, i) => (i % 2 === 0 ? ['client', true] : ['server', false])),
      'each reply follows the compressed message it answers',
    );
    for (let i = 0; i < text.length; i += 2) assert.equal(Buffer.from(text[i]!.payload).toString(), Buffer.from(text[i + 1]!.payload).toString());
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.id > frames[i - 1]!.id, 'ids rise in bus order');
    assert.deepEqual(h.violations, []);
    assert.ok(slowed >= ROUNDS, `inflation was slowed ${slowed} times`);
  } finally {
    LaterInflater.prototype.written = original;
    await browser?.close();
    await h.close();
    await target.close();
    await page.close();
  }
});
