/**
 * A HAR of a real browser session: headless Chromium talks through the proxy (permessage-deflate
 * both ways) with --har on; the file validates against the HAR schema and Chrome's importer checks,
 * and its messages are exactly what the page sent and received. Skipped, with a message, when
 * /usr/bin/chromium is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { NO_CHROMIUM, PAGE_OPEN_WS, launchChromium, servePage } from '../helpers/chromium.js';
import type { Har } from 'har-format';
import { startProxy, startWsEcho } from '../helpers/proxy-harness.js';
import { attachHar } from '../../src/export/har-writer.js';
import { assertChromeImportable, assertValidHar } from '../export/har-check.js';

const SCRIPT = `${PAGE_OPEN_WS}
async function talk(url) {
  const { ws, next } = await openWs(url, 'arraybuffer');
  const received = [];
  ws.send('h\\u00e9llo from chromium \\u2713');
  received.push(await next());
  ws.send(new Uint8Array([0, 1, 2, 253, 254, 255]));
  received.push(Array.from(new Uint8Array(await next())));
  ws.send(JSON.stringify({ kind: 'json', items: [1, 2, 3], text: 'repeat repeat repeat repeat' }));
  received.push(await next());
  await new Promise((resolve) => { ws.onclose = resolve; ws.close(1000, 'bye'); });
  return received;
}`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><script>${SCRIPT}</script></head><body>har</body></html>`;

test('Chromium session with permessage-deflate → --har: valid, importable, the messages the page sent and received', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const page = await servePage(PAGE);
  const pagePort = page.port;
  const target = await startWsEcho({ threshold: 0 });
  const h = await startProxy(target.port);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-chromium-har-'));
  const file = path.join(dir, 'browser.har');
  const har = await attachHar(h.proxy.bus, { path: file, control: false, version: '0' });
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${pagePort}/`, { timeout: 10_000 });
    const received = (await tab.evaluate(`talk(${JSON.stringify(`ws://127.0.0.1:${h.port}/browser?room=7`)})`)) as [string, number[], string];
    const open = h.opens.find((s) => s.path === '/browser?room=7')!;
    assert.match(open.extensions ?? '', /permessage-deflate/);
    await h.waitClose(open.session, 5000);
    await har.close();

    const doc = JSON.parse(readFileSync(file, 'utf8')) as Har;
    assertValidHar(doc);
    assertChromeImportable(doc);
    const entry = doc.log.entries.find((e) => e.request.url.endsWith('/browser?room=7'))!;
    assert.match(entry.request.headers.find((x) => x.name.toLowerCase() === 'user-agent')!.value, /Chrome/);
    assert.equal(entry.response.status, 101);
    const json = JSON.stringify({ kind: 'json', items: [1, 2, 3], text: 'repeat repeat repeat repeat' });
    const sent = [
      { opcode: 1, data: 'héllo from chromium ✓' },
      { opcode: 2, data: Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64') },
      { opcode: 1, data: json },
    ];
    const messages = entry._webSocketMessages!;
    assert.deepEqual(messages.filter((m) => m.type === 'send').map((m) => ({ opcode: m.opcode, data: m.data })), sent);
    // What the page received, as the page saw it.
    const got = messages.filter((m) => m.type === 'receive');
    assert.equal(got[0]!.data, received[0]);
    assert.deepEqual([...Buffer.from(got[1]!.data, 'base64')], received[1]);
    assert.equal(got[2]!.data, received[2]);
    // Both sides compressed (the server with threshold 0, Chromium by default).
    for (const m of messages) assert.equal((m as Record<string, unknown>)['_compressed'], true);
  } finally {
    await browser?.close();
    await har.close();
    await h.close();
    await target.close();
    await page.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
