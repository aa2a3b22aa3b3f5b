/**
 * The headless printer's output when its reader falls behind: a pipe that is not read for a while
 * (a pager, a slow terminal) must neither stall the relay nor take the proxy down, and every line
 * must arrive once the reader goes on (or be counted as dropped past the printer's bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');
const MESSAGES = 20_000;

test('a stdout pipe that is not read for two seconds: the relay goes on, the proxy lives, every line arrives', { timeout: 60_000 }, async (t) => {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('dist/ is missing: run `npm run build` first');
  const target = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  target.on('connection', (c) => c.on('message', (m, binary) => c.send(m, { binary })));
  await new Promise((resolve) => target.once('listening', resolve));
  const targetPort = (target.address() as { port: number }).port;
  const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--headless', '--no-color'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 20_000, 'the listening line'))[1]);
    // Nobody reads stdout now: the pipe (64 KiB) fills within the first thousand lines.
    child.stdout.pause();
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    let echoed = 0;
    const all = new Promise<void>((resolve) => client.on('message', () => ++echoed === MESSAGES && resolve()));
    for (let i = 0; i < MESSAGES; i++) client.send(`message ${i} ${'x'.repeat(40)}`);
    // The relay does not wait for the reader: every echo comes back while stdout is still unread.
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`${echoed} of ${MESSAGES} echoed`)), 20_000))]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(exited, false, `the proxy is still running (stderr: ${stderr})`);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stdout.resume();
    client.close();
    const lines = (): string[] => stdout.split('\n');
    await until(() => lines().some((l) => / closed by /.test(l)), 20_000, 'the close line');
    const frameLines = lines().filter((l) => / text {9}FIN /.test(l));
    const frames = frameLines.length;
    const dropped = lines().filter((l) => /line\(s\) dropped/.test(l)).map((l) => Number(/… (\d+) line/.exec(l)![1]));
    // Each message shows twice, once each way: a line seen more often names what went wrong.
    const seen = new Map<string, number>();
    for (const l of frameLines) {
      const id = /"message (\d+) /.exec(l)?.[1] ?? l;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const twice = [...seen].filter(([, n]) => n > 2).map(([id, n]) => `message ${id}: ${n} lines`);
    assert.deepEqual(twice, [], 'no frame line printed more than once each way');
    // (On a mismatch the other lines say what else was printed, or counted in a note.)
    const others = lines().filter((l) => l !== '' && !/ text {9}FIN /.test(l)).map((l) => l.slice(0, 120));
    assert.equal(frames + dropped.reduce((a, b) => a + b, 0), 2 * MESSAGES, `every frame line arrived or was counted as dropped (notes: ${dropped.join(', ') || 'none'}; other lines: ${JSON.stringify(others)})`);
    assert.equal(exited, false);
  } finally {
    clearTimeout(killer);
    child.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve(undefined) : child.once('exit', resolve)));
    target.close();
  }
});
