/**
 * What a headless run loads: the relay and its printer, not the TUI (blessed), the demo's and
 * replay's WebSocket library (ws), the plain-HTTP leg (http-proxy), the fallback inflater
 * (minizlib), the fault engine (no rule can be made) or the JSONL log (no --log-file). Their code
 * would sit in the heap of every proxy, and a heap past V8's first marking threshold is collected
 * in full again and again during large transfers (docs/performance.md, rounds 8 and 9).
 * http-proxy is loaded by the first plain request, which it then serves.
 * Read from NODE_DEBUG=module,esm: Node names every CommonJS package and every module it loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');
const loaded = (stderr: string, pkg: string): boolean => stderr.includes(`node_modules/${pkg}/`);
const loadedOwn = (stderr: string, file: string): boolean => stderr.includes(`/dist/${file}`);

test('a headless run loads the UI, ws, http-proxy, minizlib, the fault engine and the JSONL log only when it uses them', { timeout: 60_000 }, async (t) => {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('dist/ is missing: run `npm run build` first');
  // One target for both kinds of request: WebSocket upgrades echo, plain requests get a body.
  const server = http.createServer((_req, res) => res.end('plain answer'));
  // permessage-deflate accepted, so the session's frames go through the proxy's own inflater.
  const wss = new WebSocketServer({ server, perMessageDeflate: { threshold: 0 } });
  wss.on('connection', (c) => c.on('message', (m, binary) => c.send(m, { binary })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const targetPort = (server.address() as { port: number }).port;
  const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${targetPort}`, '--headless', '--no-color'], {
    cwd: ROOT,
    env: { ...process.env, NODE_DEBUG: 'module,esm' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  try {
    const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 20_000, 'the listening line'))[1]);
    // A compressed WebSocket session through the proxy (ws's client offers permessage-deflate).
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { threshold: 0 } });
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    assert.match(client.extensions, /permessage-deflate/, 'the session is compressed');
    const echo = new Promise<string>((resolve) => client.once('message', (m) => resolve(String(m))));
    client.send('hello through the proxy');
    assert.equal(await echo, 'hello through the proxy');
    client.close();
    assert.ok(loaded(stderr, 'commander'), 'NODE_DEBUG=module names what is loaded (commander, for the command line)');
    for (const pkg of ['blessed', 'ws', 'http-proxy', 'follow-redirects', 'minizlib']) assert.equal(loaded(stderr, pkg), false, `${pkg} is not loaded by a headless WebSocket session`);
    assert.ok(loadedOwn(stderr, 'proxy/direction-pipe.js'), 'NODE_DEBUG=esm names the modules loaded (the relay)');
    for (const file of ['fault/engine.js', 'fault/rule.js', 'fault/control-api.js', 'output/jsonl.js', 'output/jsonl-thread.js', 'export/log-reader.js', 'tls/browser.js']) {
      assert.equal(loadedOwn(stderr, file), false, `${file} is not loaded by a headless run that cannot use it`);
    }
    // The first plain request loads http-proxy, and is answered through it.
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/page' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => (text += s)).on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(body, 'plain answer');
    assert.ok(loaded(stderr, 'http-proxy'), 'http-proxy is loaded once a plain request comes');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    wss.close();
    server.close();
  }
});
