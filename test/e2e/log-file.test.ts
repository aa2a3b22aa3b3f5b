/**
 * --log-file from the built command line, written by the log's own thread: under a flood every
 * record is in the file, in order; SIGINT and SIGTERM leave a complete file (no half line, every
 * echo a client saw is there); and a log nobody reads for a while holds the relay back instead of
 * losing records, and says so.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWs, startWsEcho, type WsTarget } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

interface Line {
  readonly type: string;
  readonly id?: number;
  readonly from?: string;
  readonly payload?: string;
  readonly encoding?: string;
  readonly opcode?: number;
  readonly waits?: number;
  readonly waitedMs?: number;
}

/** The CLI, headless, logging to `log`; resolves its port once it listens. */
async function cli(t: TestContext, target: WsTarget, log: string, extra: readonly string[] = []): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--no-color', '--log-file', log, ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (clearTimeout(killer), resolve(code))));
  t.after(() => child.kill('SIGKILL'));
  const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 20_000, 'the listening line'))[1]);
  return { child, port, exited };
}

/** Every line of the file parsed; the file must end with a whole line. */
function readLines(file: string): Line[] {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
  return text.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Line);
}

/** The data frames of one side, in file order. */
const dataFrames = (lines: readonly Line[], from: string): Line[] => lines.filter((l) => l.type === 'frame' && l.from === from && (l.opcode === 1 || l.opcode === 2));

const skip = (t: TestContext): boolean => {
  if (existsSync(path.join(ROOT, 'dist/cli/main.js'))) return false;
  t.skip('dist/ is missing: run `npm run build` first');
  return true;
};

describe('--log-file from its own thread', { timeout: 180_000 }, () => {
  let dir = '';
  let target: WsTarget;
  test.before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-log-file-'));
    target = await startWsEcho(false);
  });
  test.after(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--log-buffer below 1M: one line, exit 2', { timeout: 15_000 }, async (t) => {
    if (skip(t)) return;
    const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--target', '127.0.0.1:1', '--log-file', path.join(dir, 'x.jsonl'), '--log-buffer', '64k'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /^wsproxy: --log-buffer: at least 1M, got "64k"\n$/);
  });

  test('20,000 echoes at once, then SIGINT: every frame and message, in order, and the close', { timeout: 60_000 }, async (t) => {
    if (skip(t)) return;
    const file = path.join(dir, 'flood.jsonl');
    const run = await cli(t, target, file);
    const ws = await openWs(`ws://127.0.0.1:${run.port}/`);
    const n = 20_000;
    let echoed = 0;
    const all = new Promise<void>((resolve) => ws.on('message', () => ++echoed === n && resolve()));
    for (let i = 0; i < n; i++) ws.send(`m${i} ${'x'.repeat(i % 50)}`);
    await until(() => echoed === n || undefined, 30_000, `all echoes (${echoed})`);
    await all;
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0);
    const lines = readLines(file);
    assert.equal(lines[0]!.type, 'open');
    for (const from of ['client', 'server']) {
      const frames = dataFrames(lines, from);
      const messages = lines.filter((l) => l.type === 'message' && l.from === from);
      assert.equal(frames.length, n, `${from} frames`);
      assert.equal(messages.length, n, `${from} messages`);
      for (let i = 0; i < n; i++) {
        const want = `m${i} ${'x'.repeat(i % 50)}`;
        assert.equal(frames[i]!.payload, want);
        assert.equal(messages[i]!.payload, want);
      }
    }
    // Frame and message ids share one counter, in bus order.
    const ids = lines.filter((l) => l.id !== undefined).map((l) => l.id!);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids rise at line ${i}`);
    // Ctrl-C closes the session with 1001 both ways; its close record is the last line.
    assert.equal(lines.filter((l) => l.type === 'frame' && l.opcode === 8).length, 2);
    assert.equal(lines.at(-1)!.type, 'close');
    ws.terminate();
  });

  test('SIGTERM in the middle of a flood: a whole last line, and every echo the client saw is in the file', { timeout: 60_000 }, async (t) => {
    if (skip(t)) return;
    const file = path.join(dir, 'term.jsonl');
    const run = await cli(t, target, file);
    const ws = await openWs(`ws://127.0.0.1:${run.port}/`);
    let echoed = 0;
    ws.on('message', () => echoed++);
    ws.on('error', () => undefined);
    for (let i = 0; i < 200_000; i++) ws.send(`m${i}`);
    await until(() => echoed >= 20_000 || undefined, 30_000, `20,000 echoes (${echoed})`);
    run.child.kill('SIGTERM');
    const seen = echoed;
    assert.equal(await run.exited, 0);
    const lines = readLines(file);
    const echoes = dataFrames(lines, 'server');
    assert.ok(echoes.length >= seen, `${echoes.length} echoes logged, ${seen} seen by the client`);
    echoes.forEach((f, i) => assert.equal(f.payload, `m${i}`));
    const sent = dataFrames(lines, 'client');
    assert.ok(sent.length >= echoes.length);
    sent.forEach((f, i) => assert.equal(f.payload, `m${i}`));
    ws.terminate();
  });

  test('the process exits on its own (its stdout reader went away): the log is still complete', { timeout: 60_000 }, async (t) => {
    if (skip(t)) return;
    const file = path.join(dir, 'epipe.jsonl');
    const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--no-color', '--log-file', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 20_000, 'the listening line'))[1]);
    const ws = await openWs(`ws://127.0.0.1:${port}/`);
    let echoed = 0;
    ws.on('message', () => echoed++);
    ws.on('error', () => undefined);
    for (let i = 0; i < 100_000; i++) ws.send(`m${i}`);
    await until(() => echoed >= 10_000 || undefined, 30_000, `10,000 echoes (${echoed})`);
    // The printer's next write fails with EPIPE, and the program ends quietly, with exit 0.
    child.stdout!.destroy();
    const seen = echoed;
    assert.equal(await exited, 0);
    const lines = readLines(file);
    const echoes = dataFrames(lines, 'server');
    assert.ok(echoes.length >= seen, `${echoes.length} echoes logged, ${seen} seen by the client`);
    echoes.forEach((f, i) => assert.equal(f.payload, `m${i}`));
    ws.terminate();
  });

  test('a log not read for two seconds holds the relay back; afterwards every record is there, and the wait is said', { timeout: 90_000 }, async (t) => {
    if (skip(t)) return;
    const fifo = path.join(dir, 'log.fifo');
    const copy = path.join(dir, 'slow.jsonl');
    execFileSync('mkfifo', [fifo]);
    // The reader opens the pipe at once and reads nothing until two seconds after the messages
    // are sent (`go`: the proxy's start may itself take a second or more on a loaded machine).
    const go = path.join(dir, 'go');
    const reader = spawn('sh', ['-c', 'exec 3<"$1"; while [ ! -e "$3" ]; do sleep 0.02; done; sleep 2; exec cat <&3 >"$2"', 'sh', fifo, copy, go], { stdio: 'ignore' });
    t.after(() => reader.kill('SIGKILL'));
    const readerDone = new Promise((resolve) => reader.once('exit', resolve));
    // The smallest buffer the flag allows: 1 MiB of records waiting for the log.
    const run = await cli(t, target, fifo, ['--log-buffer', '1m']);
    const ws = await openWs(`ws://127.0.0.1:${run.port}/`);
    // 64 KiB text messages: each frame is 64 KiB of the log's batches, and 100 echoes are 200
    // frames, far more than the batches and the pipe hold.
    const n = 100;
    const payload = (i: number): string => `${i}:`.padEnd(64 * 1024, String.fromCharCode(97 + (i % 26)));
    let echoed = 0;
    ws.on('message', () => echoed++);
    writeFileSync(go, '');
    for (let i = 0; i < n; i++) ws.send(payload(i));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(echoed < n, `the relay waited for the log (${echoed} of ${n} echoed while it was not read)`);
    await until(() => echoed === n || undefined, 60_000, `every echo once the log is read (${echoed})`);
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0);
    await readerDone;
    const lines = readLines(copy);
    for (const from of ['client', 'server']) {
      const frames = dataFrames(lines, from);
      assert.equal(frames.length, n);
      frames.forEach((f, i) => assert.ok(f.payload === payload(i), `${from} frame ${i}`));
      assert.equal(lines.filter((l) => l.type === 'message' && l.from === from).length, n);
    }
    const notes = lines.filter((l) => l.type === 'backpressure');
    assert.ok(notes.length >= 1, 'a backpressure record');
    assert.ok(notes.reduce((a, l) => a + l.waitedMs!, 0) >= 300, `the waits add up (${JSON.stringify(notes)})`);
    ws.terminate();
  });
});
