/**
 * Per-session stats against real peers: RTTs of pings answered after 50 ms, unanswered pings,
 * deflate sizes, and every count equal to the sum over the session's frames and messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProxy } from '../helpers/proxy-harness.js';
import { attachJsonl } from '../../src/output/jsonl.js';
import { readLog } from '../../src/export/log-reader.js';
import { statsFromRecords, SessionStatsBuilder } from '../../src/export/stats.js';
import { formatStatsTable } from '../../src/export/stats-text.js';
import { MAX_WAITING, PingTracker, RTT_WINDOW } from '../../src/export/ping-tracker.js';
import { formatCloseLine } from '../../src/output/format.js';
import type { FrameRecord, MessageRecord, Side } from '../../src/proxy/events.js';
import { playSession, startSlowPongEcho } from './peers.js';

function sums(frames: readonly FrameRecord[], messages: readonly MessageRecord[], from: Side) {
  const f = frames.filter((x) => x.from === from);
  const m = messages.filter((x) => x.from === from);
  const payload = f.reduce((n, x) => n + x.length, 0);
  const header = f.reduce((n, x) => n + x.header.length, 0);
  return {
    frames: f.length,
    messages: m.length,
    payloadBytes: payload,
    headerBytes: header,
    wireBytes: payload + header,
    maskBytes: f.filter((x) => x.masked).length * 4,
    compressedBytes: f.filter((x) => x.compressed).reduce((n, x) => n + x.length, 0),
    inflatedBytes: m.filter((x) => x.compressed).reduce((n, x) => n + x.length, 0),
    pings: f.filter((x) => x.kind === 'ping').length,
    pongs: f.filter((x) => x.kind === 'pong').length,
  };
}

for (const deflate of [false, true]) {
  test(`stats of a session equal the sums over its frames, with RTTs of pings answered after 50 ms (deflate ${deflate})`, async () => {
    const server = await startSlowPongEcho({ pongDelayMs: 50, deflate });
    const h = await startProxy(server.port);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-stats-'));
    const logPath = path.join(dir, 'log.jsonl');
    const log = await attachJsonl(h.proxy.bus, logPath);
    try {
      await playSession(h.url, { deflate });
      const close = await h.waitClose(1);
      const stats = close.stats!;
      assert.ok(stats, 'the close record carries stats');
      for (const side of ['client', 'server'] as const) {
        const expected = sums(h.frames.filter((f) => f.session === 1), h.messages.filter((m) => m.session === 1), side);
        const d = stats[side];
        for (const [key, value] of Object.entries(expected)) assert.equal(d[key as keyof typeof d], value, `${side} ${key}`);
        assert.equal(d.overhead, d.headerBytes / d.payloadBytes);
      }
      assert.equal(stats.client.messages, 3);
      assert.equal(stats.client.pings, 3);
      assert.equal(stats.server.pongs, 2);
      assert.equal(stats.client.unansweredPings, 1);
      const rtt = stats.client.rtt!;
      assert.equal(rtt.count, 2);
      // Both ends of an RTT are millisecond clock reads, and a 50 ms timer may fire a millisecond early.
      assert.ok(rtt.minMs >= 48 && rtt.minMs < 1000, `min RTT ${rtt.minMs}`);
      assert.ok(rtt.minMs <= rtt.medianMs && rtt.medianMs <= rtt.maxMs);
      assert.equal(stats.server.rtt, null);
      if (deflate) {
        assert.ok(stats.client.compressedBytes > 0 && stats.client.inflatedBytes > 0);
        assert.equal(stats.client.deflateRatio, stats.client.compressedBytes / stats.client.inflatedBytes);
      } else assert.equal(stats.client.deflateRatio, null);
      // Client masks every frame: 4 mask bytes per frame.
      assert.equal(stats.client.maskBytes, stats.client.frames * 4);
      assert.equal(stats.server.maskBytes, 0);
      assert.ok(stats.client.firstMessageMs !== null && stats.client.firstMessageMs >= 0);
      assert.ok(stats.server.firstMessageMs! >= stats.client.firstMessageMs);
      assert.deepEqual([stats.close.by, stats.close.code, stats.close.clean], ['client', 4001, true]);
      assert.ok(stats.close.replyMs !== null && stats.close.replyMs >= 0);
      assert.ok(stats.close.handshakeMs! >= stats.close.replyMs);
      assert.equal(stats.durationMs, close.time - h.opens[0]!.time);

      // The JSONL close record carries them, and a log read back gives the same numbers.
      await log.close();
      const [recorded] = await readLog(logPath);
      assert.deepEqual(recorded!.close!.stats, JSON.parse(JSON.stringify(stats)));
      const rebuilt = statsFromRecords(recorded!.time, recorded!.frames, recorded!.messages, recorded!.close);
      assert.deepEqual(rebuilt, stats);

      // The headless close line and the table say it too.
      const line = formatCloseLine(close, { color: false });
      assert.match(line, new RegExp(`C→S 3 msg ${stats.client.frames} fr ${stats.client.wireBytes} B wire`));
      const table = formatStatsTable(stats).join('\n');
      assert.match(table, /ping RTT +2 · min \d/);
      assert.match(table, /closed by client, 4001/);
    } finally {
      await log.close().catch(() => undefined);
      await h.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Feeds unmasked, uncompressed frames with 2-byte headers into a stats builder. */
function framesInto(b: SessionStatsBuilder): (time: number, from: Side, kind: string, payload: Uint8Array | string) => void {
  return (time, from, kind, payload) => {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    b.frame({ time, from, kind, length: bytes.length, headerLength: 2, masked: false, compressed: false, payload: bytes });
  };
}

test('a pong matches the ping with the same payload, not the latest one', () => {
  const b = new SessionStatsBuilder(0);
  const frame = framesInto(b);
  frame(10, 'server', 'ping', 'a');
  frame(20, 'server', 'ping', 'b');
  frame(25, 'client', 'pong', 'b');
  frame(100, 'client', 'pong', 'a');
  frame(120, 'client', 'pong', 'zzz');
  const s = b.snapshot(200);
  assert.deepEqual(s.server.rtt, { count: 2, minMs: 5, medianMs: 47.5, maxMs: 90, lastMs: 90 });
  assert.equal(s.server.unansweredPings, 0);
  assert.equal(s.client.pongs, 3);
  assert.equal(s.durationMs, 200);
});

test('pings waiting one at a time and several at once are matched alike, oldest first, and counted when unanswered', () => {
  const b = new SessionStatsBuilder(0);
  const bytes = (payload: string): Uint8Array => Buffer.from(payload);
  const frame = framesInto(b);
  // One waiting at a time; the payload is a view the caller reuses, so the builder must keep its own copy.
  const reused = bytes('p1');
  frame(0, 'client', 'ping', reused);
  reused[1] = 0x39;
  frame(3, 'server', 'pong', bytes('p9'));
  frame(4, 'server', 'pong', bytes('p1'));
  frame(10, 'client', 'ping', bytes('x'));
  frame(12, 'server', 'pong', bytes('y'));
  // A second ping while one waits, then a third like the first: matched oldest first by payload.
  frame(20, 'client', 'ping', bytes('z'));
  frame(30, 'client', 'ping', bytes('x'));
  frame(31, 'server', 'pong', bytes('x'));
  frame(35, 'server', 'pong', bytes('x'));
  frame(36, 'server', 'pong', bytes('x'));
  frame(40, 'client', 'ping', bytes(''));
  frame(41, 'server', 'pong', bytes(''));
  let s = b.snapshot(50);
  assert.deepEqual(s.client.rtt, { count: 4, minMs: 1, medianMs: 4.5, maxMs: 21, lastMs: 1 });
  assert.equal(s.client.unansweredPings, 1);
  frame(60, 'client', 'ping', bytes('w'));
  s = b.snapshot(70);
  assert.equal(s.client.unansweredPings, 2);
  assert.equal(s.client.pings, 6);
  assert.equal(s.server.pongs, 7);
});

test('the RTT median covers the last 1,024 round trips, and count, min, max and last cover them all', () => {
  const b = new SessionStatsBuilder(0);
  const frame = framesInto(b);
  let t = 0;
  // 3,000 slow round trips, then RTT_WINDOW fast ones: a median over all would be the slow one.
  for (let i = 0; i < 3000 + RTT_WINDOW; i++) {
    const payload = Buffer.from(String(i));
    frame(t, 'client', 'ping', payload);
    t += i < 3000 ? 1000 : 1;
    frame(t, 'server', 'pong', payload);
  }
  assert.deepEqual(b.snapshot(t).client.rtt, { count: 3000 + RTT_WINDOW, minMs: 1, medianMs: 1, maxMs: 1000, lastMs: 1 });
});

test('a flood of pings nobody answers is counted exactly, while at most 1,024 are tracked by payload', () => {
  const b = new SessionStatsBuilder(0);
  const frame = framesInto(b);
  const payload = (i: number): Buffer => Buffer.from(`ping-${i}`);
  const n = 100_000;
  for (let i = 0; i < n; i++) frame(i, 'client', 'ping', payload(i));
  assert.equal(b.snapshot(n).client.unansweredPings, n);
  // The tracker on its own: what it holds stays bounded however many pings wait.
  const tracker = new PingTracker();
  for (let i = 0; i < n; i++) tracker.ping(payload(i), i);
  assert.equal(tracker.unanswered, n);
  assert.equal(tracker.tracked, MAX_WAITING);
  // Answered in order: the tracked ones with their round trips, the others counted off.
  for (let i = 0; i < n; i++) frame(n + i, 'server', 'pong', payload(i));
  const s = b.snapshot(2 * n);
  assert.equal(s.client.unansweredPings, 0);
  assert.deepEqual(s.client.rtt, { count: MAX_WAITING, minMs: n, medianMs: n, maxMs: n, lastMs: n });
  assert.equal(s.server.pongs, n);
});

test('within a pane, a row too wide for it gives each value a line under its label; the rest stay a table', () => {
  const b = new SessionStatsBuilder(0);
  const frame = framesInto(b);
  frame(10, 'server', 'ping', 'a');
  frame(12, 'client', 'pong', 'a');
  frame(20, 'client', 'text', 'hello');
  const s = b.snapshot(200);
  const wide = formatStatsTable(s);
  assert.ok(wide.some((l) => /^  ping RTT +- +1 · min 2 ms · median 2 ms · max 2 ms · last 2 ms$/.test(l)), wide.join('\n'));
  const pane = formatStatsTable(s, 60);
  // (The close line after the table is prose: the pane wraps it.)
  for (const l of pane.slice(0, -1)) assert.ok(l.length <= 60, `${JSON.stringify(l)} is wider than 60`);
  const at = pane.indexOf('  ping RTT');
  assert.deepEqual(pane.slice(at, at + 3), ['  ping RTT', '    C→S -', '    S→C 1 · min 2 ms · median 2 ms · max 2 ms · last 2 ms']);
  assert.ok(pane.some((l) => /^  frames +2 +1$/.test(l)), pane.join('\n'));
});
