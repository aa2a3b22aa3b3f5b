/**
 * The export commands as a user runs them (built CLI): --har and --log-file on a proxy, then
 * `wsproxy har` and `wsproxy stats` on the log.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Har } from 'har-format';
import { playSession, startSlowPongEcho } from '../export/peers.js';
import { assertChromeImportable, assertValidHar } from '../export/har-check.js';
import { ROOT, skipUnlessBuilt, wsproxy } from '../export/cli-process.js';
import { spawn } from 'node:child_process';
import { openWs } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';
import { messages } from '../export/peers.js';
import { HAVE_TSHARK } from '../export/tshark.js';
import { startProxy } from '../helpers/proxy-harness.js';
import { attachJsonl } from '../../src/output/jsonl.js';
import { deadPort } from '../helpers/raw-peer.js';

describe('export commands', { timeout: 120_000 }, () => {
  test('--har and --log-file, then `wsproxy har` and `wsproxy stats` on the log', { timeout: 40_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const server = await startSlowPongEcho({ pongDelayMs: 50, deflate: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-export-cli-'));
    const log = path.join(dir, 'log.jsonl');
    const har = path.join(dir, 'live.har');
    const proxy = wsproxy(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${server.port}`, '--headless', '--log-file', log, '--har', har, '--har-control']);
    try {
      const port = await proxy.port();
      const { sent } = await playSession(`ws://127.0.0.1:${port}/cli`, { deflate: true });
      const exit = await proxy.stop();
      assert.equal(exit.code, 0, exit.stderr);
      const live = JSON.parse(readFileSync(har, 'utf8')) as Har;
      assertValidHar(live);
      assertChromeImportable(live);
      const sends = live.log.entries[0]!._webSocketMessages!.filter((m) => m.type === 'send' && m.opcode <= 2);
      assert.deepEqual(sends.map((m) => m.data), sent.map((m) => (typeof m === 'string' ? m : m.toString('base64'))));

      const converted = path.join(dir, 'converted.har');
      const conv = await wsproxy(['har', log, '-o', converted, '--control']).exited;
      assert.equal(conv.code, 0, conv.stderr);
      const fromLog = JSON.parse(readFileSync(converted, 'utf8')) as Har;
      assertValidHar(fromLog);
      assert.deepEqual(fromLog.log.entries[0]!._webSocketMessages, live.log.entries[0]!._webSocketMessages);

      const toStdout = await wsproxy(['har', log]).exited;
      assert.equal(toStdout.code, 0);
      assert.deepEqual((JSON.parse(toStdout.stdout.toString()) as Har).log.entries[0]!._webSocketMessages!.length, sends.length * 2);

      const stats = await wsproxy(['stats', log, '--json']).exited;
      assert.equal(stats.code, 0, stats.stderr);
      const [line] = stats.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { session: number; stats: { client: { rtt: { count: number; minMs: number } } } });
      const closeRecord = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; stats?: unknown }).find((r) => r.type === 'close')!;
      assert.deepEqual(line!.stats, closeRecord.stats);
      assert.equal(line!.stats.client.rtt.count, 2);
      assert.ok(line!.stats.client.rtt.minMs >= 50);

      const table = await wsproxy(['stats', log]).exited;
      assert.match(table.stdout.toString(), /^#1 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ \/cli$/m);
      assert.match(table.stdout.toString(), /ping RTT +2 · min \d+/);

      const missing = await wsproxy(['stats', path.join(dir, 'nope.jsonl')]).exited;
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^wsproxy: .*nope\.jsonl: ENOENT/);
    } finally {
      proxy.kill();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--pcap - streams a capture `tshark -r -` reads while the session is still open', { timeout: 40_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    if (!HAVE_TSHARK) return t.skip('tshark is not installed');
    const server = await startSlowPongEcho();
    // A shell pipeline, as a user types it: tshark reads a real pipe (it refuses a socket).
    const line = `exec node bin/wsproxy.js --listen 127.0.0.1:0 --target 127.0.0.1:${server.port} --headless --pcap - | tshark -l -r - -Y websocket -T fields -e frame.interface_id -e websocket.opcode -e websocket.payload.text 2>/dev/null`;
    const sh = spawn('sh', ['-c', line], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let decoded = '';
    let stderr = '';
    sh.stdout.setEncoding('utf8').on('data', (s: string) => (decoded += s));
    sh.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise((resolve) => sh.once('close', resolve));
    const group = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-sh.pid!, signal);
      } catch {
        // already gone
      }
    };
    try {
      const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 10_000, 'the listening line'))[1]);
      const ws = await openWs(`ws://127.0.0.1:${port}/live`);
      const got = messages(ws, 1);
      ws.send('live hello');
      await got;
      // The session is open: tshark has already decoded the message on both legs, both ways.
      await until(() => decoded.split('\n').filter((l) => l.endsWith('\t1\tlive hello')).length === 4, 10_000, `tshark to decode the message (so far ${JSON.stringify(decoded)})`);
      assert.equal(ws.readyState, ws.OPEN);
      // The headless lines went to stderr, not into the capture.
      await until(() => stderr.includes('"live hello"'), 5000, 'the frame line on stderr');
      ws.close(1000);
      group('SIGINT');
      await exited;
    } finally {
      group('SIGKILL');
      await server.close();
    }
  });

  test('wsproxy replay: exit 0 against the same server, 1 with the changed field in the diff, 0 with --ignore, 2 on errors', { timeout: 60_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-replay-cli-'));
    const same = await startSlowPongEcho({ pongDelayMs: 5 });
    const changed = await startSlowPongEcho({ transform: (text) => JSON.stringify({ ...(JSON.parse(text) as object), ts: 12345 }) });
    const h = await startProxy(same.port);
    const log = path.join(dir, 'rec.jsonl');
    const jsonl = await attachJsonl(h.proxy.bus, log);
    try {
      await playSession(`${h.url}/replay-me`);
      await h.waitClose(1);
      await jsonl.close();
      const run = (args: string[]) => wsproxy(['replay', log, ...args]).exited;
      const ok = await run(['--target', `ws://127.0.0.1:${same.port}`, '--speed', '0']);
      assert.equal(ok.code, 0, ok.stdout.toString() + ok.stderr);
      assert.match(ok.stdout.toString(), /all 3 server messages match/);
      const bad = await run(['--target', `ws://127.0.0.1:${changed.port}`, '--speed', 'wait']);
      assert.equal(bad.code, 1, bad.stdout.toString() + bad.stderr);
      assert.match(bad.stdout.toString(), /server message 1 .*: differs\n {4}\$\.ts: expected 1, actual 12345/);
      const ignored = await run(['--target', `ws://127.0.0.1:${changed.port}`, '--speed', '0', '--ignore', '$.ts']);
      assert.equal(ignored.code, 0, ignored.stdout.toString());
      const dead = await run(['--target', `ws://127.0.0.1:${await deadPort()}`]);
      assert.equal(dead.code, 2);
      assert.match(dead.stderr, /^wsproxy replay: ws:\/\/127\.0\.0\.1:\d+\/replay-me: connect ECONNREFUSED/);
      const usage = await run(['--target', `ws://127.0.0.1:${same.port}`, '--speed', 'fast']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--speed: expected 1, 0 or wait/);
      const noSession = await run(['--target', `ws://127.0.0.1:${same.port}`, '--session', '9']);
      assert.equal(noSession.code, 2);
      assert.match(noSession.stderr, /no session 9 \(there are: 1\)/);
    } finally {
      await h.close();
      await same.close();
      await changed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
