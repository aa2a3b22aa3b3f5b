/**
 * Upgrade faults through the admission hook: handshake refusals and delays, and reconnect storms
 * with clients that reconnect with and without backoff; the reconnect report tells them apart.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { FaultEngine } from '../../src/fault/engine.js';
import type { FaultRecord, ReconnectRecord } from '../../src/proxy/events.js';
import { openWs, startProxy, startWsEcho } from '../helpers/proxy-harness.js';
import { destroyAllRaw, headerValue, rawHandshake, sleep, until } from '../helpers/raw-peer.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  destroyAllRaw();
});

async function setup(rules: readonly string[]) {
  const target = await startWsEcho();
  cleanups.push(() => target.close());
  let dialled = 0;
  target.wss.on('connection', () => dialled++);
  const engine = new FaultEngine(3);
  const h = await startProxy(target.port, { admit: engine.admit });
  cleanups.push(() => h.close());
  const faults: FaultRecord[] = [];
  const reports: ReconnectRecord[] = [];
  h.proxy.bus.on('fault', (f) => faults.push(f));
  h.proxy.bus.on('reconnects', (r) => reports.push(r));
  for (const r of rules) engine.add(r, 'test');
  engine.attach(h.proxy);
  cleanups.push(() => engine.close());
  return { h, engine, faults, reports, dialled: () => dialled };
}

test('handshake 503 retry-after 5: the client gets 503 with Retry-After, the target is never dialled', async () => {
  const { h, faults, dialled } = await setup(['handshake 503 retry-after 5 match path:/chat']);
  const { client } = await rawHandshake(h.port, { path: '/chat/room' });
  const head = client.head!;
  assert.match(head.toString('latin1'), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.equal(headerValue(head, 'retry-after'), '5');
  await client.waitEnd();
  assert.equal(dialled(), 0);
  assert.equal(faults[0]!.action, 'handshake');
  const open = await h.waitFor(h.opens, (o) => o.status === 503);
  assert.equal(open.answeredBy, 'proxy');
  // Another path is not refused.
  const ws = await openWs(`${h.url}/other`);
  ws.terminate();
  assert.equal(dialled(), 1);
});

test('handshake delay 300ms: the upgrade is answered late', async () => {
  const { h } = await setup(['handshake delay 300ms']);
  const started = Date.now();
  const ws = await openWs(h.url);
  ws.terminate();
  assert.ok(Date.now() - started >= 290, `opened after ${Date.now() - started} ms`);
});

/** Reconnects after every close or refusal, waiting `delay(n)` before attempt n (0-based). */
function reconnectingClient(url: string, delay: (n: number) => number): { opens: number; stop(): void } {
  let stopped = false;
  let n = 0;
  let current: WebSocket | null = null;
  const state = { opens: 0, stop: () => ((stopped = true), current?.terminate()) };
  const connect = (): void => {
    if (stopped) return;
    const ws = new WebSocket(url);
    current = ws;
    ws.on('open', () => {
      state.opens++;
      n = 0;
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!stopped) setTimeout(connect, delay(n++));
    });
  };
  connect();
  return state;
}

test('storm: kill all refuse 2s; the report shows attempts, intervals, and who backs off', async (t) => {
  const { h, engine, faults, reports } = await setup([]);
  let rand = 0.123;
  const jittered = (): number => ((rand = (rand * 9301 + 0.49297) % 1), rand);
  const fixed = reconnectingClient(`${h.url}/fixed`, () => 40);
  const backoff = reconnectingClient(`${h.url}/backoff`, (n) => 50 * 2 ** n);
  const jitter = reconnectingClient(`${h.url}/jitter`, (n) => 50 * 2 ** n * (0.5 + jittered()));
  cleanups.push(() => (fixed.stop(), backoff.stop(), jitter.stop()));
  await until(() => fixed.opens === 1 && backoff.opens === 1 && jitter.opens === 1, 3000, 'three clients open');
  const rule = engine.add('storm: kill all refuse 2s', 'test');
  assert.equal(faults.filter((f) => f.action === 'kill').length, 1);
  assert.match(faults.find((f) => f.action === 'kill')!.detail, /3 session\(s\) cut/);
  await until(() => fixed.opens === 2 && backoff.opens === 2 && jitter.opens === 2, 10_000, 'all three back after the refusal window');
  const report = engine.reconnects();
  const by = (path: string): ReconnectRecord => report.find((r) => r.path === path)!;
  const f = by('/fixed');
  const b = by('/backoff');
  const j = by('/jitter');
  for (const r of [f, b, j]) t.diagnostic(`${r.path}: ${r.attempts} attempts, intervals ${r.intervals.join(',')}, backoff ${r.backoff}, jitter ${r.jitter}`);
  assert.equal(f.client, '127.0.0.1');
  assert.ok(f.attempts >= 6, `the fixed client hammers: ${f.attempts} attempts`);
  assert.equal(f.refused, f.attempts - 1);
  assert.equal(f.backoff, false);
  assert.equal(f.histogram.reduce((x, y) => x + y, 0), f.intervals.length);
  assert.ok(b.attempts >= 4 && b.attempts < f.attempts, `backoff attempts ${b.attempts}`);
  assert.equal(b.backoff, true);
  assert.equal(b.jitter, false);
  assert.equal(j.backoff, true);
  assert.equal(j.jitter, true);
  for (const r of [f, b, j]) assert.equal(r.intervals.length, r.attempts);
  // The report goes on the bus (and so into the JSONL log) when the engine stops.
  engine.remove(rule.id);
  engine.close();
  assert.deepEqual(new Set(reports.map((r) => r.path)), new Set(['/fixed', '/backoff', '/jitter']));
  await sleep(10);
});

test('storm: kill all every 300ms with a close code closes sessions with it, repeatedly', async () => {
  const { h, faults } = await setup(['storm: kill all 1012 "restart" every 300ms']);
  const codes: number[] = [];
  const client = reconnectingClient(`${h.url}/x`, () => 20);
  cleanups.push(() => client.stop());
  await until(() => client.opens >= 3, 3000, 'three sessions');
  await until(() => h.closes.length >= 2, 3000, 'two closes');
  for (const c of h.closes) codes.push(c.code ?? 0);
  assert.ok(codes.slice(0, 2).every((c) => c === 1012), `codes ${codes}`);
  assert.ok(faults.filter((f) => f.action === 'kill').length >= 2);
});
