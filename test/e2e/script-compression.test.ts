/**
 * Compression after rewrites, with a real browser: Chromium and a `ws` server negotiate
 * permessage-deflate (with context takeover) through the proxy, a script rewrites some messages
 * in both directions, splits others and leaves the rest alone, and both ends keep decoding
 * everything correctly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CHROMIUM, NO_CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { startLive, startTarget, until } from '../script/live.js';

if (NO_CHROMIUM) console.warn(`\n*** SKIPPING the Chromium compression test: ${CHROMIUM} is not installed ***\n`);

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-chromium-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = join(dir, 'rewrite.ts');
writeFileSync(
  SCRIPT,
  `import { defineScript } from 'wsproxy';
export default defineScript({
  onMessage(msg, ctx) {
    if (msg.kind === 'binary') return msg.from === 'server' ? Buffer.concat([msg.data, Buffer.from([0xff])]) : undefined;
    const data = msg.json();
    if (msg.from === 'client') {
      if (data.n % 2 === 0) return JSON.stringify({ ...data, via: 'proxy' });   // every other one changed
      return;                                                                    // the rest untouched
    }
    if (data.split) return [JSON.stringify({ part: 1, n: data.n }), { json: { part: 2, n: data.n } }];
    if (msg.text.includes('s3cr3t')) return msg.text.replaceAll('s3cr3t', 'public');
    if (data.drop) return ctx.drop();
  },
});
`,
);

const PAGE = (port: number, count: number): string => `<!doctype html><meta charset="utf-8"><title>wsproxy</title>
<script>
window.results = { received: [], binary: [], closed: null, error: false, extensions: null, protocol: null };
const ws = new WebSocket('ws://127.0.0.1:${port}/live', ['v1.test']);
ws.binaryType = 'arraybuffer';
ws.onopen = () => {
  window.results.extensions = ws.extensions;
  window.results.protocol = ws.protocol;
  for (let n = 0; n < ${count}; n++) ws.send(JSON.stringify({ n, body: 'hello compression '.repeat(40) + n }));
  ws.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
};
ws.onmessage = (e) => {
  if (typeof e.data === 'string') window.results.received.push(e.data);
  else window.results.binary.push(Array.from(new Uint8Array(e.data)));
};
ws.onclose = (e) => { window.results.closed = { code: e.code, reason: e.reason }; };
ws.onerror = () => { window.results.error = true; };
window.sendMore = (from, count) => { for (let n = from; n < from + count; n++) ws.send(JSON.stringify({ n, body: 'again '.repeat(60) + n })); };
</script>`;

test('Chromium ⇄ proxy ⇄ ws with permessage-deflate keep working after rewrites, splits and drops', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  // The server answers every message; some answers carry a secret, some ask to be split or dropped.
  const target = await startTarget(
    { perMessageDeflate: { threshold: 0 }, handleProtocols: (protocols) => (protocols.has('v1.test') ? 'v1.test' : false) },
    (ws) => {
      ws.on('message', (raw, binary) => {
        if (binary) return ws.send(raw, { binary: true });
        const { n } = JSON.parse(raw.toString());
        if (n % 10 === 3) return ws.send(JSON.stringify({ n, split: true }));
        if (n % 10 === 7) return ws.send(JSON.stringify({ n, drop: true }));
        ws.send(JSON.stringify({ n, secret: n % 3 === 0 ? 's3cr3t' : 'none', pad: 'server padding text '.repeat(30) }));
      });
    },
  );
  const live = await startLive(target.port, { script: { path: SCRIPT } });
  const page = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE(live.proxy.port, 40));
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', () => resolve()));
  const pagePort = (page.address() as { port: number }).port;
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${pagePort}/`);
    // 40 answers: 4 split in two, 4 dropped → 40 + 4 - 4 text messages, and 1 binary.
    await tab.waitForFunction(() => (globalThis as any).results.received.length >= 40 && (globalThis as any).results.binary.length >= 1, undefined, { timeout: 20_000 });
    const first = await tab.evaluate(() => (globalThis as any).results);
    assert.match(first.extensions, /permessage-deflate/, 'compression was negotiated end to end');
    assert.equal(first.protocol, 'v1.test');
    assert.equal(first.error, false);
    assert.equal(first.closed, null);
    const expected: string[] = [];
    for (let n = 0; n < 40; n++) {
      if (n % 10 === 3) expected.push(JSON.stringify({ part: 1, n }), JSON.stringify({ part: 2, n }));
      else if (n % 10 === 7) continue;
      else expected.push(JSON.stringify({ n, secret: n % 3 === 0 ? 'public' : 'none', pad: 'server padding text '.repeat(30) }));
    }
    assert.deepEqual(first.received, expected);
    assert.deepEqual(first.binary, [[1, 2, 3, 4, 5, 6, 7, 8, 0xff]]);

    // The server decoded the browser's messages, changed and unchanged alike, in order.
    const atServer = target.peers[0]!.inbox.all.filter((m) => !m.binary).map((m) => JSON.parse(m.text));
    assert.equal(atServer.length, 40);
    atServer.forEach((m, n) => {
      assert.equal(m.n, n);
      assert.equal(m.body, 'hello compression '.repeat(40) + n);
      assert.equal(m.via, n % 2 === 0 ? 'proxy' : undefined);
    });

    // Keep going after the rewrites: the compression contexts are still in step.
    await tab.evaluate(() => (globalThis as any).sendMore(40, 20));
    const want = expected.length + 20;
    await tab.waitForFunction((n) => (globalThis as any).results.received.length >= n, want, { timeout: 20_000 }).catch(() => undefined);
    const second = await tab.evaluate(() => (globalThis as any).results);
    const more: string[] = [];
    for (let n = 40; n < 60; n++) {
      if (n % 10 === 3) more.push(JSON.stringify({ part: 1, n }), JSON.stringify({ part: 2, n }));
      else if (n % 10 === 7) continue;
      else more.push(JSON.stringify({ n, secret: n % 3 === 0 ? 'public' : 'none', pad: 'server padding text '.repeat(30) }));
    }
    assert.deepEqual(second.received.slice(expected.length), more);
    assert.equal(second.closed, null);
    await until(() => target.peers[0]!.inbox.all.length === 61);

    // What the proxy recorded: compressed messages, rewritten by the script, no protocol trouble.
    const session = live.messages[0]!.session;
    assert.ok(live.messages.every((m) => m.session === session));
    const fromClient = live.messages.filter((m) => m.from === 'client' && m.kind === 'text');
    assert.ok(fromClient.every((m) => m.compressed), 'Chromium compressed every message');
    assert.equal(fromClient.filter((m) => m.fate === 'modified' && m.by === 'script').length, 30);
    assert.equal(live.messages.filter((m) => m.from === 'server' && m.fate === 'dropped').length, 6);
    const violations = live.frames.flatMap((f) => f.violations);
    assert.deepEqual(violations, []);
    assert.equal(live.logText('error'), '');
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => page.close(() => resolve()));
    await live.close();
    await target.close();
  }
});
