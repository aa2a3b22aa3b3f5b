/**
 * A real browser through the proxy: headless Chromium opens a WebSocket to the proxy, which
 * relays to a `ws` echo server with permessage-deflate. Skipped, with a message, when
 * /usr/bin/chromium is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { NO_CHROMIUM, PAGE_OPEN_WS, launchChromium, servePage } from '../helpers/chromium.js';
import { startProxy, startWsEcho } from '../helpers/proxy-harness.js';

/**
 * The page's script, plain JavaScript served with the page (a function from this file would carry
 * the TypeScript loader's helpers into the browser). talk(url) sends a few messages through the
 * proxy and returns what came back.
 */
const SCRIPT = `${PAGE_OPEN_WS}
async function talk(url) {
  const { ws, next } = await openWs(url, 'arraybuffer');
  ws.send('hello from chromium \u2713');
  const text = await next();
  ws.send(new Uint8Array(256).map((_, i) => 255 - i));
  const binary = Array.from(new Uint8Array(await next()));
  let big = '';
  for (let i = 0; big.length < 1024 * 1024; i++) big += '{"seq":' + i + ',"value":' + ((i * 7919) % 10007) + '},';
  big = big.slice(0, 1024 * 1024);
  ws.send(big);
  const back = await next();
  const closeCode = await new Promise((resolve) => { ws.onclose = (e) => resolve(e.code); ws.close(1000, 'done'); });
  return { text, binary, bigLength: back.length, bigSame: back === big, closeCode };
}`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>wsproxy e2e</title><script>${SCRIPT}</script></head><body>e2e</body></html>`;

interface TalkResult {
  readonly text: string;
  readonly binary: number[];
  readonly bigLength: number;
  readonly bigSame: boolean;
  readonly closeCode: number;
}

test('Chromium through the proxy with permessage-deflate', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const page = await servePage(PAGE);
  const pagePort = page.port;
  const target = await startWsEcho({ threshold: 0 });
  const origins: (string | undefined)[] = [];
  target.wss.on('connection', (_ws, req) => origins.push(req.headers.origin));
  const h = await startProxy(target.port);
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${pagePort}/`, { timeout: 10_000 });
    const result = (await tab.evaluate(`talk(${JSON.stringify(`ws://127.0.0.1:${h.port}/browser`)})`)) as TalkResult;

    assert.equal(result.text, 'hello from chromium ✓');
    assert.deepEqual(result.binary, Array.from({ length: 256 }, (_, i) => 255 - i));
    assert.equal(result.bigLength, 1024 * 1024);
    assert.ok(result.bigSame, 'the 1 MiB message came back intact');
    assert.equal(result.closeCode, 1000);
    assert.deepEqual(origins, [`http://127.0.0.1:${pagePort}`], 'Origin reached the server unchanged');

    const open = h.opens.find((s) => s.path === '/browser');
    assert.ok(open, 'the session was recorded');
    assert.match(open.extensions ?? '', /permessage-deflate/);
    assert.notEqual(open.deflate, null);
    assert.equal(open.acceptValid, true);
    assert.match(open.request.headers.find(([n]) => n.toLowerCase() === 'user-agent')?.[1] ?? '', /Chrome/);

    await h.waitClose(open.session, 5000);
    const frames = h.frames.filter((f) => f.session === open.session);
    // The server compresses everything (threshold 0); the bus shows it inflated.
    const serverText = frames.find((f) => f.from === 'server' && f.kind === 'text');
    assert.ok(serverText);
    assert.equal(serverText.compressed, true);
    assert.equal(serverText.rsv1, true);
    assert.equal(Buffer.from(serverText.payload).toString(), 'hello from chromium ✓');
    // Chromium compresses its messages too.
    const clientText = frames.find((f) => f.from === 'client' && f.kind === 'text');
    assert.ok(clientText);
    assert.equal(clientText.masked, true);
    assert.equal(clientText.compressed, true);
    assert.equal(Buffer.from(clientText.payload).toString(), 'hello from chromium ✓');
    const session = open.session;
    for (const from of ['client', 'server'] as const) {
      const messages = h.messages.filter((m) => m.session === session && m.from === from);
      assert.deepEqual(messages.map((m) => [m.kind, m.length, m.compressed]), [
        ['text', Buffer.byteLength('hello from chromium ✓'), true],
        ['binary', 256, true],
        ['text', 1024 * 1024, true],
      ]);
      assert.equal(messages[2]!.payload.length, 64 * 1024, 'preview capped');
      assert.equal(messages[2]!.truncated, true);
      assert.match(Buffer.from(messages[2]!.payload).toString(), /^\{"seq":0,"value":0\},\{"seq":1,"value":7919\},/);
    }
    const close = h.closes.find((c) => c.session === open.session)!;
    assert.deepEqual([close.by, close.code, close.clean], ['client', 1000, true]);
    assert.deepEqual(h.violations, []);
    assert.deepEqual(h.errors, []);
  } finally {
    await browser?.close();
    await h.close();
    await target.close();
    await page.close();
  }
});
