/**
 * Replay against real servers: a recorded echo session replayed against the same server matches
 * (exit 0), against a server that changes one field differs with that field in the diff (exit 1)
 * until --ignore leaves it out; from a JSONL log and from a HAR; at each speed; through a running
 * wsproxy; and the structural diff itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { closed, openWs, startProxy } from '../helpers/proxy-harness.js';
import { deadPort } from '../helpers/raw-peer.js';
import { attachJsonl } from '../../src/output/jsonl.js';
import { attachHar } from '../../src/export/har-writer.js';
import { readRecording, type ReplayRecording } from '../../src/export/recording.js';
import { replay, ReplayError } from '../../src/export/replay.js';
import { formatPath, jsonDiff, parsePath, pathMatches } from '../../src/export/json-diff.js';
import { messages, playSession, startSlowPongEcho } from './peers.js';

/** Records one session of every kind through a proxy to an echo server: a JSONL log and a HAR. */
async function record(dir: string): Promise<{ log: string; har: string }> {
  const server = await startSlowPongEcho({ pongDelayMs: 5 });
  const h = await startProxy(server.port);
  const log = path.join(dir, 'rec.jsonl');
  const har = path.join(dir, 'rec.har');
  const l = await attachJsonl(h.proxy.bus, log);
  const hw = await attachHar(h.proxy.bus, { path: har, control: true, version: '0' });
  try {
    await playSession(`${h.url}/echo?v=1`);
    await h.waitClose(1);
  } finally {
    await l.close();
    await hw.close();
    await h.close();
    await server.close();
  }
  return { log, har };
}

const options = (target: string, extra: Partial<Parameters<typeof replay>[1]> = {}) => ({ target, speed: '0' as const, control: false, ignore: [], timeoutMs: 1500, ...extra });

test('replaying a recorded echo session: same server matches; a changed field differs, named in the diff, until --ignore', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-replay-'));
  const same = await startSlowPongEcho({ pongDelayMs: 5 });
  // Changes one field of every JSON message: ts becomes "now".
  const changed = await startSlowPongEcho({ transform: (t) => JSON.stringify({ ...(JSON.parse(t) as object), ts: Date.now() }) });
  try {
    const { log, har } = await record(dir);
    for (const file of [log, har]) {
      const [rec] = await readRecording(file);
      assert.equal(rec!.path, '/echo?v=1');
      assert.deepEqual(rec!.client.map((i) => i.kind), ['text', 'binary', 'text'].concat(file === har ? ['ping', 'ping', 'ping', 'close'] : ['ping', 'ping', 'ping', 'close']));
      for (const speed of ['0', 'wait', '1'] as const) {
        const ok = await replay(rec!, options(`ws://127.0.0.1:${same.port}`, { speed }));
        assert.equal(ok.ok, true, ok.report.join('\n'));
        assert.match(ok.report.at(-1)!, /^all 3 server messages match$/);
      }
      const bad = await replay(rec!, options(`ws://127.0.0.1:${changed.port}`));
      assert.equal(bad.ok, false);
      const text = bad.report.join('\n');
      assert.match(text, /server message 1 \(recorded \+\d+ ms, now \+\d+ ms\): differs\n {4}\$\.ts: expected 1, actual \d{13}/);
      assert.match(text, /server message 3 .*: differs\n {4}\$\.ts: expected 2, actual \d{13}/);
      assert.doesNotMatch(text, /server message 2/, 'the binary message is the same');
      assert.match(text, /2 of 3 server messages differ$/);
      const ignored = await replay(rec!, options(`ws://127.0.0.1:${changed.port}`, { ignore: ['$.ts'] }));
      assert.equal(ignored.ok, true, ignored.report.join('\n'));
    }
  } finally {
    await same.close();
    await changed.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A recorded session, and an echo server with late pongs to replay it against; both gone afterwards. */
async function withRecorded(run: (rec: ReplayRecording, target: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-replay-'));
  const server = await startSlowPongEcho({ pongDelayMs: 5 });
  try {
    const { log } = await record(dir);
    const [rec] = await readRecording(log);
    await run(rec!, `ws://127.0.0.1:${server.port}`);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('--control replays pings and the close, and compares the server\'s pongs and close', { timeout: 30_000 }, () =>
  withRecorded(async (rec, target) => {
    const result = await replay(rec, options(target, { control: true, speed: 'wait' }));
    // 3 echoes, 2 pongs (the third ping is never answered), the close reply.
    assert.equal(result.ok, true, result.report.join('\n'));
    assert.match(result.report[0]!, /sent 7, expected 6, received 6/);
  }));

test('--control on a recording without control frames compares the data messages, and says so', { timeout: 30_000 }, () =>
  withRecorded(async (full, target) => {
    // As read from a HAR written without --har-control: data messages only.
    const data = (items: typeof full.client) => items.filter((i) => i.kind === 'text' || i.kind === 'binary');
    const rec = { ...full, client: data(full.client), server: data(full.server) };
    const result = await replay(rec, options(target, { control: true, speed: 'wait' }));
    assert.equal(result.ok, true, result.report.join('\n'));
    assert.match(result.report[1]!, /--control: the recording has no ping, pong or close frames/);
    assert.match(result.report.at(-1)!, /^all 3 server messages match$/);
  }));

test('speed 1 keeps the recorded gaps; a replay through a running wsproxy shows on its bus', { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-replay-'));
  const server = await startSlowPongEcho();
  const h = await startProxy(server.port);
  const log = path.join(dir, 'gap.jsonl');
  const l = await attachJsonl(h.proxy.bus, log);
  try {
    const ws = await openWs(`${h.url}/gap`);
    for (const m of ['one', 'two']) {
      const got = messages(ws, 1);
      ws.send(m);
      await got;
      await new Promise((r) => setTimeout(r, 400));
    }
    const done = closed(ws);
    ws.close();
    await done;
    await h.waitClose(1);
    await l.close();
    const [rec] = await readRecording(log);
    const before = h.frames.length;
    const t0 = Date.now();
    const result = await replay(rec!, options(`ws://127.0.0.1:${h.port}`, { speed: '1' }));
    assert.equal(result.ok, true, result.report.join('\n'));
    assert.ok(Date.now() - t0 >= 400, 'the recorded gap was kept');
    // The proxy saw the replay as a second session, with the same path.
    const open = await h.waitFor(h.opens, (s) => s.session === 2);
    assert.equal(open.path, '/gap');
    const texts = h.frames.slice(before).filter((f) => f.session === 2 && f.from === 'client' && f.kind === 'text');
    assert.deepEqual(texts.map((f) => Buffer.from(f.payload).toString()), ['one', 'two']);
    assert.ok(texts[1]!.time - texts[0]!.time >= 350, `gap ${texts[1]!.time - texts[0]!.time} ms`);
  } finally {
    await h.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the recorded subprotocol and headers are offered again, less the key and hop-by-hop ones', { timeout: 30_000 }, async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => [...p][0] ?? false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const seen: Record<string, string | string[] | undefined>[] = [];
  wss.on('connection', (ws, req) => {
    seen.push(req.headers);
    ws.on('message', (d, b) => ws.send(d as Buffer, { binary: b }));
  });
  const port = (wss.address() as { port: number }).port;
  try {
    const rec = {
      session: 1,
      path: '/chat?room=9',
      headers: [['Host', 'old.example:80'], ['Sec-WebSocket-Key', 'AAAAAAAAAAAAAAAAAAAAAA=='], ['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Protocol', 'chat.v2, chat.v1'], ['X-Trace', 'abc'], ['Cookie', 'a=1']] as const,
      client: [{ at: 0, kind: 'text' as const, payload: Buffer.from('hi'), truncated: false, length: 2 }],
      server: [{ at: 1, kind: 'text' as const, payload: Buffer.from('hi'), truncated: false, length: 2 }],
    };
    const result = await replay(rec, options(`ws://127.0.0.1:${port}`));
    assert.equal(result.ok, true, result.report.join('\n'));
    assert.equal(seen[0]!['x-trace'], 'abc');
    assert.equal(seen[0]!['cookie'], 'a=1');
    assert.deepEqual(String(seen[0]!['sec-websocket-protocol']).split(/, */), ['chat.v2', 'chat.v1']);
    assert.notEqual(seen[0]!['sec-websocket-key'], 'AAAAAAAAAAAAAAAAAAAAAA==');
    assert.equal(seen[0]!['host'], `127.0.0.1:${port}`);
  } finally {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
});

test('a target that is not there is an error (exit 2 in the CLI), not a difference', async () => {
  const rec = { session: 1, path: '/', headers: [], client: [], server: [] };
  await assert.rejects(replay(rec, options(`ws://127.0.0.1:${await deadPort()}`)), ReplayError);
  await assert.rejects(replay(rec, options('http://127.0.0.1:1')), ReplayError);
});

test('the structural diff: paths, key order, arrays, and ignore patterns', () => {
  const diff = (a: unknown, b: unknown, ignore: string[] = []) => jsonDiff(a, b, ignore.map(parsePath)).map((d) => `${formatPath(d.path)} ${JSON.stringify(d.expected)}→${JSON.stringify(d.actual)}`);
  assert.deepEqual(diff({ a: 1, b: 2 }, { b: 2, a: 1 }), []);
  assert.deepEqual(diff({ a: { b: [1, 2] } }, { a: { b: [1, 3, 4] } }), ['$.a.b[1] 2→3', '$.a.b[2] undefined→4']);
  assert.deepEqual(diff({ 'odd key': 1 }, { 'odd key': 2 }), ['$["odd key"] 1→2']);
  assert.deepEqual(diff({ ts: 1, x: 1 }, { ts: 2, x: 1 }, ['$.ts']), []);
  assert.deepEqual(diff({ items: [{ id: 1, v: 1 }, { id: 2, v: 1 }] }, { items: [{ id: 9, v: 1 }, { id: 8, v: 2 }] }, ['$.items[*].id']), ['$.items[1].v 1→2']);
  assert.deepEqual(diff({ a: { b: { ts: 1 } }, ts: 1 }, { a: { b: { ts: 2 } }, ts: 3 }, ['$..ts']), []);
  assert.deepEqual(diff({ meta: { a: 1, b: 2 } }, { meta: { a: 2 } }, ['$.meta']), []);
  assert.deepEqual(diff({ list: [1, 2] }, { list: [1, 5] }, ['$.list[1]']), []);
  assert.equal(pathMatches(parsePath('$.a'), ['b']), false);
  assert.throws(() => parsePath('ts'), /starts with \$/);
  assert.throws(() => parsePath('$.[x'), /--ignore/);
});

test('what the server sends reaches the report escaped: no terminal control sequence gets through', { timeout: 30_000 }, async () => {
  const hostile = '\x1b]0;pwned\x07\u009b2J\u202eevil';
  const server = await startSlowPongEcho({ transform: () => hostile });
  try {
    const rec = {
      session: 1,
      path: '/x',
      headers: [],
      client: [{ at: 0, kind: 'text' as const, payload: Buffer.from('hi'), truncated: false, length: 2 }, { at: 1, kind: 'text' as const, payload: Buffer.from('{"a":1}'), truncated: false, length: 7 }],
      server: [{ at: 1, kind: 'text' as const, payload: Buffer.from('hi'), truncated: false, length: 2 }, { at: 2, kind: 'text' as const, payload: Buffer.from('{"a":1}'), truncated: false, length: 7 }],
    };
    const result = await replay(rec, options(`ws://127.0.0.1:${server.port}`));
    assert.equal(result.ok, false);
    const text = result.report.join('\n');
    assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/u);
    assert.match(text, /actual: {3}"\\u001b\]0;pwned\\u0007\\x9b2J\\u\{202e\}evil"/);
  } finally {
    await server.close();
  }
});
