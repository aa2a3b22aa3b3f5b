/**
 * Faults from the built command line: --fault, --faults, --fault-seed, the seed line, fault lines
 * in the headless output and `fault` records in the JSONL log. Needs `npm run build` (npm test
 * does it); skipped with a message when dist/ is missing.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closed, openWs, startWsEcho } from '../helpers/proxy-harness.js';
import { sleep, until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

function skipUnlessBuilt(t: TestContext): boolean {
  if (existsSync(path.join(ROOT, 'dist/cli/main.js'))) return false;
  t.skip('dist/ is missing: run `npm run build` first (npm test does)');
  return true;
}

class Cli {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(args: readonly string[], limitMs = 20_000) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    const killer = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    this.exited = new Promise((resolve) => this.child.once('close', (code) => (clearTimeout(killer), resolve(code))));
  }
  async port(): Promise<number> {
    const m = await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(this.stderr), 10_000, 'the listening line');
    return Number(m[1]);
  }
}

describe('faults from the command line', { timeout: 60_000 }, () => {
  test('a bad rule: one line naming the word and the actions, exit 2', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const cli = new Cli(['-l', '127.0.0.1:0', '-t', '127.0.0.1:1', '--fault', 'server: dely 200ms']);
    assert.equal(await cli.exited, 2);
    assert.equal(cli.stderr, `wsproxy: --fault 'server: dely 200ms': unknown action "dely" (actions: delay, delay-pong, drop, duplicate, close, abort, halfclose, fragment, coalesce, throttle, trickle, handshake, kill all)\n`);
  });

  test('every fault applied is a line on stdout and a record in the JSONL log; the seed is printed', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const echo = await startWsEcho();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-fault-cli-'));
    const log = path.join(dir, 'log.jsonl');
    const file = path.join(dir, 'faults.json');
    writeFileSync(file, JSON.stringify(['client: fragment 8 match /long/', { direction: 'server', action: 'close', args: [1012], reason: 'restart', match: '/bye/' }]));
    const cli = new Cli(['-l', '127.0.0.1:0', '-t', `127.0.0.1:${echo.port}`, '--headless', '--no-color', '--log-file', log, '--fault', 'client: drop 50%', '--faults', file, '--fault-seed', '42']);
    try {
      const port = await cli.port();
      assert.match(cli.stderr, /3 fault rule\(s\), seed 42 \(replay with --fault-seed 42\)/);
      const ws = await openWs(`ws://127.0.0.1:${port}/x`);
      const echoes: string[] = [];
      ws.on('message', (d) => echoes.push(String(d)));
      for (let i = 0; i < 20; i++) ws.send(`m${i}`);
      ws.send('a long message, cut into frames of eight bytes');
      ws.send('bye');
      const c = await closed(ws, 5000).catch(() => null);
      await sleep(300);
      cli.child.kill('SIGTERM');
      await cli.exited;
      const records = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const faults = records.filter((r) => r['type'] === 'fault');
      const lines = cli.stdout.split('\n').filter((l) => l.includes('⚡ fault'));
      assert.ok(faults.length >= 3, `fault records: ${faults.length}`);
      assert.equal(lines.length, faults.length, 'one headless line per fault record');
      const drops = faults.filter((f) => f['action'] === 'drop').length;
      // Messages that were dropped never came back; the others did (the 2 last may be dropped too).
      assert.ok(drops > 0 && drops < 22, `drops ${drops}`);
      for (const f of faults) {
        assert.equal(typeof f['rule'], 'string');
        assert.equal(typeof f['ruleId'], 'number');
        if (f['action'] !== 'close') assert.equal(typeof f['frame'], 'number', 'names the frame');
      }
      const frameIds = new Set(records.filter((r) => r['type'] === 'frame').map((r) => r['id']));
      for (const f of faults) if (f['frame'] !== null) assert.ok(frameIds.has(f['frame']), `fault frame ${String(f['frame'])} is a logged frame`);
      if (c !== null && faults.some((f) => f['action'] === 'close')) assert.equal(c.code, 1012);
      // The close record's stats and `wsproxy stats` summarise the session's faults.
      const close = records.find((r) => r['type'] === 'close') as { stats?: { faults?: { total: number; byAction: Record<string, number> } } } | undefined;
      assert.equal(close?.stats?.faults?.total, faults.length);
      assert.equal(close?.stats?.faults?.byAction['drop'], drops);
      const stats = new Cli(['stats', log]);
      assert.equal(await stats.exited, 0);
      assert.match(stats.stdout, new RegExp(`faults: ${faults.length} \\(drop ${drops}`));
    } finally {
      cli.child.kill('SIGKILL');
      await echo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--control listens on 127.0.0.1 unless --control-host is given; --control-host alone is a usage error', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const echo = await startWsEcho();
    const cli = new Cli(['-l', '127.0.0.1:0', '-t', `127.0.0.1:${echo.port}`, '--headless', '--control', '0']);
    try {
      const m = await until(() => /control API on http:\/\/127\.0\.0\.1:(\d+)\/rules/.exec(cli.stderr), 10_000, 'the control line');
      const res = await fetch(`http://127.0.0.1:${m[1]}/rules`, { method: 'POST', body: 'client: drop', signal: AbortSignal.timeout(3000) });
      assert.equal(res.status, 201);
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${m[1]}/rules`, { signal: AbortSignal.timeout(3000) })).json(), [{ id: 1, rule: 'client: drop', enabled: true, hits: 0, source: 'control', session: null }]);
    } finally {
      cli.child.kill('SIGKILL');
      await echo.close();
    }
    const bad = new Cli(['-l', '127.0.0.1:0', '-t', '127.0.0.1:1', '--control-host', '0.0.0.0']);
    assert.equal(await bad.exited, 2);
    assert.equal(bad.stderr, 'wsproxy: --control-host needs --control PORT\n');
  });

  test('storm from the command line: reconnects records in the log and in wsproxy stats', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const echo = await startWsEcho();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-storm-cli-'));
    const log = path.join(dir, 'log.jsonl');
    const cli = new Cli(['-l', '127.0.0.1:0', '-t', `127.0.0.1:${echo.port}`, '--headless', '--no-color', '--log-file', log, '--fault', 'storm: kill all every 600ms refuse 300ms']);
    let stop = false;
    try {
      const port = await cli.port();
      // A client that reconnects every 50 ms, without backoff.
      const loop = async (): Promise<void> => {
        while (!stop) {
          await openWs(`ws://127.0.0.1:${port}/herd`, {}, 2000).then(
            (ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())),
            () => undefined,
          );
          await sleep(50);
        }
      };
      const running = loop();
      await until(() => /⚡ reconnects 127\.0\.0\.1 \/herd/.test(cli.stdout), 10_000, 'a reconnect report on stdout');
      stop = true;
      await running;
      cli.child.kill('SIGTERM');
      await cli.exited;
      const records = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const reports = records.filter((r) => r['type'] === 'reconnects');
      assert.ok(reports.length >= 1);
      assert.equal(reports[0]!['path'], '/herd');
      assert.ok((reports[0]!['attempts'] as number) >= 3);
      assert.ok((reports[0]!['refused'] as number) >= 1, 'some attempts fell in the refusal window');
      // (Whether it backs off is judged in test/fault/handshake-storm.test.ts; a 300 ms window on a
      // loaded machine may hold too few attempts to judge.)
      const stats = new Cli(['stats', log]);
      assert.equal(await stats.exited, 0);
      assert.match(stats.stdout, /reconnects after storms\n {2}127\.0\.0\.1 \/herd: \d+ attempt\(s\), \d+ refused; /);
    } finally {
      stop = true;
      cli.child.kill('SIGKILL');
      await echo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
