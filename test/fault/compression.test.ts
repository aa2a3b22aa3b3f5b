/**
 * Faults on compressed sessions (permessage-deflate with context takeover): dropping,
 * duplicating and re-fragmenting compressed messages must leave both ends decoding everything,
 * which needs the re-compressing direction. With `ws` peers, and with Chromium.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { NO_CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { WebSocketServer, type RawData } from 'ws';
import { FaultEngine } from '../../src/fault/engine.js';
import { openWs, startProxy, toBuffer, type ProxyHarness } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const RULES = [
  'server: drop match /"n":(3|13|23)[,}]/',
  'server: duplicate match /"n":(5|15)[,}]/',
  'server: fragment 7 match /"n":(7|17)[,}]/',
  'client: fragment 10 with ping match /"n":2\\d[,}]/',
  'client: drop match /"n":9[,}]/',
];

/** What the client should receive back for messages 0..count-1 under RULES. */
function expected(count: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    if (n === 9 || n === 3 || n === 13 || n === 23) continue;
    out.push(n);
    if (n === 5 || n === 15) out.push(n);
  }
  return out;
}

const body = (n: number): string => JSON.stringify({ n, body: 'compress me please '.repeat(20) + n });

async function setup(): Promise<{ h: ProxyHarness; serverGot: number[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const serverGot: number[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (d: RawData) => {
      const m = JSON.parse(toBuffer(d).toString()) as { n: number; body: string };
      assert.equal(m.body, 'compress me please '.repeat(20) + m.n);
      serverGot.push(m.n);
      ws.send(toBuffer(d).toString());
    });
    ws.on('error', () => undefined);
  });
  const h = await startProxy((wss.address() as { port: number }).port);
  const engine = new FaultEngine(5);
  for (const r of RULES) engine.add(r, 'test');
  engine.attach(h.proxy);
  const close = async (): Promise<void> => {
    engine.close();
    await h.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
  return { h, serverGot, close };
}

function assertClean(h: ProxyHarness): void {
  assert.deepEqual(h.violations.map((v) => v.violation.code), []);
  assert.ok(h.messages.some((m) => m.compressed), 'messages were compressed');
  assert.ok(h.logs.some((l) => /re-compressing this direction/.test(l.text)), 'the proxy took over compression');
  assert.deepEqual(h.closes, []);
}

test('ws peers with permessage-deflate: drop, duplicate and fragment keep both ends decoding', async () => {
  const s = await setup();
  cleanups.push(() => s.close());
  const ws = await openWs(s.h.url, { perMessageDeflate: { threshold: 0 } });
  cleanups.push(() => ws.terminate());
  assert.match(String(ws.extensions), /permessage-deflate/);
  const got: number[] = [];
  ws.on('message', (d: RawData) => got.push((JSON.parse(toBuffer(d).toString()) as { n: number }).n));
  for (let n = 0; n < 40; n++) ws.send(body(n));
  const want = expected(40);
  await until(() => got.length >= want.length, 10_000, `${want.length} echoes`);
  assert.deepEqual(got, want);
  assert.deepEqual(s.serverGot, Array.from({ length: 40 }, (_, n) => n).filter((n) => n !== 9));
  assertClean(s.h);
  // Fragments of the compressed bytes: RSV1 on the first only.
  const frags = s.h.frames.filter((f) => f.origin === 'modified' && f.from === 'server' && (f.kind === 'text' || f.kind === 'continuation'));
  assert.ok(frags.some((f) => f.kind === 'continuation' && !f.rsv1));
  assert.ok(frags.filter((f) => f.length <= 7).length >= 4);
});

test('Chromium with permessage-deflate: drop, duplicate and fragment keep both ends decoding', { skip: NO_CHROMIUM, timeout: 90_000 }, async () => {
  const s = await setup();
  cleanups.push(() => s.close());
  const page = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><meta charset="utf-8"><script>
window.results = { got: [], closed: null, extensions: null };
const ws = new WebSocket('ws://127.0.0.1:${s.h.port}/chromium');
ws.onopen = () => { window.results.extensions = ws.extensions; for (let n = 0; n < 40; n++) ws.send(JSON.stringify({ n, body: 'compress me please '.repeat(20) + n })); };
ws.onmessage = (e) => window.results.got.push(JSON.parse(e.data).n);
ws.onclose = (e) => { window.results.closed = e.code; };
</script>`);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => page.close(() => resolve())));
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  const tab = await browser.newPage();
  await tab.goto(`http://127.0.0.1:${(page.address() as { port: number }).port}/`);
  const want = expected(40);
  await tab.waitForFunction((n) => (globalThis as unknown as { results: { got: unknown[] } }).results.got.length >= n, want.length, { timeout: 20_000 });
  const results = await tab.evaluate(() => (globalThis as unknown as { results: { got: number[]; closed: number | null; extensions: string } }).results);
  assert.match(results.extensions, /permessage-deflate/);
  assert.deepEqual(results.got, want);
  assert.equal(results.closed, null);
  assert.deepEqual(s.serverGot, Array.from({ length: 40 }, (_, n) => n).filter((n) => n !== 9));
  assertClean(s.h);
});
