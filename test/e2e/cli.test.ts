/**
 * The built command line (bin/wsproxy.js → dist/), run as a user runs it. Needs `npm run build`
 * first (npm test does that); skipped, with a message, when dist/ is missing.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { closed, echo, openWs, startWsEcho } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');
const BUILT = path.join(ROOT, 'dist/cli/main.js');

function skipUnlessBuilt(t: TestContext): boolean {
  if (existsSync(BUILT)) return false;
  t.skip('dist/ is missing: run `npm run build` first (npm test does)');
  return true;
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running CLI process whose output is collected as it comes. */
class Cli {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Run>;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, limitMs = 20_000) {
    this.child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    // No run may outlive its test.
    const killer = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** The address from "wsproxy: listening on HOST:PORT, …" (headless mode). */
  async port(ms = 10_000): Promise<number> {
    const m = await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(this.stderr), ms, `the listening line (stderr so far: ${JSON.stringify(this.stderr)})`);
    return Number(m[1]);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function wsproxy(args: readonly string[], env: NodeJS.ProcessEnv = {}, limitMs?: number): Cli {
  return new Cli(process.execPath, [BIN, ...args], env, limitMs);
}

const noStack = (text: string): void => assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace in ${JSON.stringify(text)}`);

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('wsproxy command line', { timeout: 120_000 }, () => {
  test('--help lists the flags and examples and exits 0', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const run = await wsproxy(['--help']).exited;
    assert.equal(run.code, 0);
    for (const flag of ['--listen', '--target', '--headless', '--log-file', '--max-preview', '--max-message', '--history', '--ui-memory', '--no-deflate', '--keep-host', '--strict', '--no-color', '--script', '--replace']) {
      assert.ok(run.stdout.includes(flag), `--help mentions ${flag}`);
    }
    assert.match(run.stdout, /^Usage: wsproxy /m);
    assert.match(run.stdout, /^Examples:$/m);
    assert.match(run.stdout, /\$ wsproxy --listen 9000 --target localhost:12345/);
    assert.match(run.stdout, /\$ wsproxy demo/);
    assert.equal(run.stderr, '');
  });

  test('a reader that closes early (wsproxy --help | head): exit 0, no stack trace', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    // The read end of stdout is gone before the help is written, as when `head` has exited.
    const child = spawn(process.execPath, [BIN, '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(killer);
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  test('an unknown flag: a one-line error, exit 2, no stack trace', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const run = await wsproxy(['--bogus', '--target', '127.0.0.1:1']).exited;
    assert.equal(run.code, 2);
    assert.deepEqual(lines(run.stderr), ["wsproxy: unknown option '--bogus' (see wsproxy --help)"]);
    noStack(run.stderr);
    assert.equal(run.stdout, '');
  });

  for (const [args, pattern] of [
    [['--listen', 'nowhere', '--target', '127.0.0.1:1'], /^wsproxy: --listen: expected PORT or HOST:PORT, got "nowhere"$/],
    [['--listen', '127.0.0.1:0', '--target', 'ftp://example.test/'], /^wsproxy: --target: only ws:\/\/, wss:\/\/, http:\/\/ and https:\/\/ targets are supported/],
    [['--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--tls', '--cert', 'c.pem'], /^wsproxy: --cert and --key go together$/],
    [['--listen', '127.0.0.1:0', '--ignore-hosts', '(('], /^wsproxy: --ignore-hosts: invalid regular expression/],
    [['--listen', '127.0.0.1:0', '--resolve', 'app.test'], /^wsproxy: --resolve: expected HOST:ADDRESS/],
    [['--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--target-ca', '/nonexistent/ca.pem'], /^wsproxy: --target-ca \/nonexistent\/ca.pem: cannot read \(ENOENT\)$/],
    [['--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--max-preview', 'lots'], /^wsproxy: --max-preview: expected a size/],
    [['--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--ui-memory', 'plenty'], /^wsproxy: --ui-memory: expected a size/],
  ] as const) {
    test(`a bad value (${args.join(' ')}): one line, exit 2`, { timeout: 15_000 }, async (t) => {
      if (skipUnlessBuilt(t)) return;
      const run = await wsproxy([...args, '--headless']).exited;
      assert.equal(run.code, 2);
      assert.equal(lines(run.stderr).length, 1, JSON.stringify(run.stderr));
      assert.match(run.stderr.trim(), pattern);
      noStack(run.stderr);
    });
  }

  test('an address in use: a one-line error', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const run = await wsproxy(['--listen', `127.0.0.1:${port}`, '--target', '127.0.0.1:1', '--headless']).exited;
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `wsproxy: cannot listen on 127.0.0.1:${port}: address already in use\n`);
      assert.equal(run.stdout, '');
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  test('--version prints the package version and exits 0; --help documents the exit codes', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const run = await wsproxy(['--version']).exited;
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${version}\n`);
    const help = await wsproxy(['--help']).exited;
    assert.match(help.stdout, /Exit status:\n\s+0 .+\n\s+1 .+address is in use.+target is unreachable[^]+\n\s+2 .+usage error/);
  });

  test('a usage error of the demo command exits 2 too', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const run = await wsproxy(['demo', '--rounds']).exited;
    assert.equal(run.code, 2);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
  });

  test('a target that refuses connections at start: one line, exit 1', { timeout: 15_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    // A port that was just free: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const run = await wsproxy(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${port}`, '--headless']).exited;
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `wsproxy: target 127.0.0.1:${port} is unreachable: connection refused (is the server running?)\n`);
    assert.equal(run.stdout, '');
  });

  test('bin/wsproxy.js without a build: one line saying so, exit 1, no stack trace', { timeout: 15_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-unbuilt-'));
    try {
      const bin = path.join(dir, 'bin/wsproxy.js');
      mkdirSync(path.dirname(bin));
      copyFileSync(BIN, bin);
      const run = await new Cli(process.execPath, [bin, '--help']).exited;
      assert.equal(run.code, 1);
      assert.equal(lines(run.stderr).length, 1, run.stderr);
      assert.match(run.stderr, /^wsproxy: dist\/ is missing: .*npm run build/);
      noStack(run.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('demo --rounds 1 prints open, frame and close lines and exits 0', { timeout: 20_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const run = await wsproxy(['demo', '--rounds', '1', '--listen', '127.0.0.1:0', '--headless'], { NO_COLOR: '' }, 15_000).exited;
    assert.equal(run.code, 0, run.stderr);
    const out = lines(run.stdout);
    assert.match(out[0]!, / #1 open 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ \/demo 101 ext=permessage-deflate$/);
    assert.ok(out.some((l) => / #1 C→S text +FIN 1\.\. +\d+ \[deflate\] "hello from the demo client, round 1"$/.test(l)), run.stdout);
    assert.ok(out.some((l) => / #1 S→C text +FIN 1\.\. +\d+ \[deflate\] "hello from the demo client, round 1"$/.test(l)), run.stdout);
    assert.ok(out.some((l) => / #1 C→S binary .* de ad be ef 01$/.test(l)));
    assert.ok(out.some((l) => / #1 C→S ping .* "ping 1"$/.test(l)));
    assert.ok(out.some((l) => / #1 S→C pong .* "ping 1"$/.test(l)));
    assert.ok(out.some((l) => / #1 C→S message \d+ text 3 frames 33 B "fragmented message in three parts"$/.test(l)));
    assert.match(out.at(-1)!, / #1 closed by client: 1000 Normal Closure "demo done" \(clean\) C→S 4 msg \d+ fr \d+ B wire .* · S→C 4 msg .* ms$/);
    assert.doesNotMatch(run.stdout, /violation/);
    assert.match(run.stderr, /^wsproxy: listening on 127\.0\.0\.1:\d+, relaying to 127\.0\.0\.1:\d+\n$/);
  });

  test('--log-file writes JSONL open/frame/message/close lines with the documented fields', { timeout: 20_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-log-'));
    const file = path.join(dir, 'frames.jsonl');
    const target = await startWsEcho({ threshold: 0 });
    const cli = wsproxy(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--log-file', file]);
    try {
      const port = await cli.port();
      const ws = await openWs(`ws://127.0.0.1:${port}/logged?x=1`, { perMessageDeflate: { threshold: 0 } });
      assert.equal((await echo(ws, 'hello log')).data.toString(), 'hello log');
      assert.deepEqual([...(await echo(ws, Buffer.from([1, 2, 3]))).data], [1, 2, 3]);
      const done = closed(ws);
      ws.close(1000, 'bye');
      await done;
      await until(() => cli.stdout.includes('closed by client'), 5000, 'the close line');
      cli.child.kill('SIGINT');
      const run = await cli.exited;
      assert.equal(run.code, 0, run.stderr);

      const records = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
      for (const r of records) assert.match(String(r['time']), iso, `ISO time in ${JSON.stringify(r)}`);
      assert.deepEqual([...new Set(records.map((r) => r['type']))].sort(), ['close', 'frame', 'message', 'open']);

      const open = records.find((r) => r['type'] === 'open')!;
      for (const key of ['session', 'client', 'target', 'path', 'status', 'requestHeaders', 'responseHeaders', 'protocol', 'extensions', 'acceptValid']) assert.ok(key in open, `open has ${key}`);
      assert.equal(open['path'], '/logged?x=1');
      assert.equal(open['status'], 101);
      assert.equal(open['target'], `127.0.0.1:${target.port}`);
      assert.equal(open['acceptValid'], true);
      assert.match(String(open['extensions']), /^permessage-deflate/);

      const frames = records.filter((r) => r['type'] === 'frame');
      const documented = ['type', 'id', 'session', 'time', 'from', 'fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'kind', 'masked', 'maskKey', 'length', 'payload', 'encoding', 'truncated', 'compressed', 'modified', 'injected', 'violations'];
      for (const f of frames) for (const key of documented) assert.ok(key in f, `frame ${String(f['id'])} has ${key}`);
      const clientText = frames.find((f) => f['from'] === 'client' && f['kind'] === 'text')!;
      assert.deepEqual(
        { fin: clientText['fin'], rsv1: clientText['rsv1'], rsv2: clientText['rsv2'], rsv3: clientText['rsv3'], opcode: clientText['opcode'], masked: clientText['masked'], payload: clientText['payload'], encoding: clientText['encoding'], truncated: clientText['truncated'], compressed: clientText['compressed'], violations: clientText['violations'] },
        { fin: true, rsv1: true, rsv2: false, rsv3: false, opcode: 1, masked: true, payload: 'hello log', encoding: 'utf8', truncated: false, compressed: true, violations: [] },
      );
      assert.match(String(clientText['maskKey']), /^[0-9a-f]{8}$/);
      assert.equal(typeof clientText['length'], 'number');
      const serverText = frames.find((f) => f['from'] === 'server' && f['kind'] === 'text')!;
      assert.equal(serverText['maskKey'], null);
      assert.equal(serverText['masked'], false);
      assert.equal(serverText['payload'], 'hello log');
      const clientBinary = frames.find((f) => f['from'] === 'client' && f['kind'] === 'binary')!;
      assert.deepEqual([clientBinary['payload'], clientBinary['encoding']], [Buffer.from([1, 2, 3]).toString('base64'), 'base64']);
      const closeFrame = frames.find((f) => f['from'] === 'client' && f['kind'] === 'close')!;
      assert.deepEqual([closeFrame['closeCode'], closeFrame['closeReason']], [1000, 'bye']);

      const messages = records.filter((r) => r['type'] === 'message');
      assert.equal(messages.length, 4);
      for (const m of messages) for (const key of ['id', 'session', 'from', 'kind', 'length', 'payload', 'encoding', 'truncated', 'frames', 'compressed', 'fate', 'by']) assert.ok(key in m, `message has ${key}`);
      assert.deepEqual(messages.map((m) => [m['from'], m['kind'], m['payload'], m['fate']]).sort(), [
        ['client', 'binary', 'AQID', 'forwarded'],
        ['client', 'text', 'hello log', 'forwarded'],
        ['server', 'binary', 'AQID', 'forwarded'],
        ['server', 'text', 'hello log', 'forwarded'],
      ]);

      const close = records.find((r) => r['type'] === 'close')!;
      assert.deepEqual({ code: close['code'], reason: close['reason'], by: close['by'], clean: close['clean'] }, { code: 1000, reason: 'bye', by: 'client', clean: true });
    } finally {
      cli.kill();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGINT with an open session: close 1001 to both ends, exit 0', { timeout: 20_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    const target = await startWsEcho();
    const cli = wsproxy(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless']);
    let ws: WebSocket | null = null;
    try {
      const port = await cli.port();
      ws = await openWs(`ws://127.0.0.1:${port}/`);
      assert.equal((await echo(ws, 'before the signal')).data.toString(), 'before the signal');
      const server = await until(() => target.sockets[0], 3000, 'the server socket');
      const clientSaw = closed(ws);
      const serverSaw = closed(server);
      cli.child.kill('SIGINT');
      assert.equal((await clientSaw).code, 1001);
      assert.equal((await serverSaw).code, 1001);
      const run = await cli.exited;
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, / #1 closed by proxy: 1001 Going Away/);
    } finally {
      ws?.terminate();
      cli.kill();
      await target.close();
    }
  });

  test('colour on a terminal, none with NO_COLOR or --no-color', { timeout: 45_000 }, async (t) => {
    if (skipUnlessBuilt(t)) return;
    if (!existsSync('/usr/bin/script')) {
      t.skip('util-linux script(1) is needed to give the CLI a terminal');
      return;
    }
    // script(1) runs the command on a pseudo-terminal, so stdout.isTTY is true as for a user.
    const inTerminal = (extra: string, env: NodeJS.ProcessEnv): Promise<Run> => {
      const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} demo --rounds 1 --listen 127.0.0.1:0 --headless${extra}`;
      return new Cli('/usr/bin/script', ['-qec', command, '/dev/null'], env, 15_000).exited;
    };
    const ESC = '\x1b[';
    const coloured = await inTerminal('', { NO_COLOR: '' });
    assert.equal(coloured.code, 0, coloured.stdout);
    assert.ok(coloured.stdout.includes(`${ESC}32m101${ESC}0m`), `colour escapes on a terminal: ${JSON.stringify(coloured.stdout.slice(0, 300))}`);
    const plain = await inTerminal('', { NO_COLOR: '1' });
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, / #1 open /);
    assert.ok(!plain.stdout.includes('\x1b'), `no escapes with NO_COLOR: ${JSON.stringify(plain.stdout.slice(0, 300))}`);
    const flag = await inTerminal(' --no-color', { NO_COLOR: '' });
    assert.equal(flag.code, 0, flag.stdout);
    assert.match(flag.stdout, / #1 closed by client/);
    assert.ok(!flag.stdout.includes('\x1b'), 'no escapes with --no-color');
  });
});
