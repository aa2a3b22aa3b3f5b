/**
 * Peers that try to reach the operator's terminal through the proxy: the built CLI runs headless
 * with a JSONL log; a raw client and a raw target send a request path, subprotocol, extensions,
 * payloads, close reasons and a malformed request carrying OSC title sequences, CSI sequences, C1
 * controls and bidi overrides. Neither the printed lines nor the log may carry one raw, and the
 * records must still say what was sent (escaped).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFrame, KEY_A, unmaskedFrame } from '../helpers/frames.js';
import { destroyAllRaw, headerValue, rawConnect, rawHandshake, RawServer, switchingHead, until } from '../helpers/raw-peer.js';
import { assertTerminalSafe } from '../helpers/terminal-safe.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

/** Retitles an xterm-like terminal; the test looks for its escaped form in the output. */
const TITLE = '\x1b]0;PWNED\x07';
/** Latin-1 bytes of a head: ESC, BEL, a one-byte CSI (0x9b) and NEL (0x85). */
const HEAD_EVIL = `${TITLE}\x1b[2J\x9b31m\x85`;
/** UTF-8 text: the same plus bidi overrides and isolates, zero-width space, and a quote to fake a field. */
const TEXT_EVIL = `${TITLE}\x1b[2J\u009b31m\u0085\u202eevil\u2066x\u2069\u200b" [injected] "`;

describe('a hostile peer cannot reach the terminal through the headless printer or the log', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-hostile-'));
  after(() => {
    destroyAllRaw();
    rmSync(dir, { recursive: true, force: true });
  });

  test('path, subprotocol, extensions, payloads, close reason and a malformed request are printed and logged escaped', async (t) => {
    if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
      t.skip('dist/ is missing: run `npm run build` first (npm test does)');
      return;
    }
    const target = await RawServer.start({
      respond: (request) =>
        switchingHead(headerValue(request, 'sec-websocket-key') ?? '', [
          ['Sec-WebSocket-Protocol', headerValue(request, 'sec-websocket-protocol') ?? ''],
          ['Sec-WebSocket-Extensions', `x-evil; p=${HEAD_EVIL}`],
          ['X-Evil', HEAD_EVIL],
        ]),
    });
    const log = path.join(dir, 'log.jsonl');
    const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--no-color', '--log-file', log], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 10_000, 'the listening line'))[1]);

      const { client } = await rawHandshake(port, { path: `/room${HEAD_EVIL}`, headers: [['Sec-WebSocket-Protocol', `chat${HEAD_EVIL}`]] });
      // The CLI checks the target is reachable at start: that first connection carries no request.
      const server = await until(() => target.connections.find((c) => c.head !== null), 3000, 'the relayed request at the target');
      // Client → server: a text frame, a fragmented text message, a ping; server → client: text and close.
      await client.write(buildFrame({ opcode: 1, payload: `c${TEXT_EVIL}`, maskKey: KEY_A }));
      await client.write(Buffer.concat([buildFrame({ opcode: 1, fin: false, payload: `frag${TEXT_EVIL}`, maskKey: KEY_A }), buildFrame({ opcode: 0, payload: `end${TEXT_EVIL}`, maskKey: KEY_A })]));
      await client.write(buildFrame({ opcode: 9, payload: `p${TITLE}`, maskKey: KEY_A }));
      await server.waitFrames(4);
      await server.write(unmaskedFrame(1, `s${TEXT_EVIL}`));
      const reason = Buffer.concat([Buffer.of(0x0f, 0xa0), Buffer.from(`bye${TITLE}\u202e`)]);
      await server.write(unmaskedFrame(8, reason));
      await client.waitFrames(2);
      await client.write(buildFrame({ opcode: 8, payload: reason, maskKey: KEY_A }));
      await server.waitFrames(5);
      server.socket.end();
      await client.waitEnd();

      // A request the proxy refuses (a control byte in a header name): its answer and log line.
      const bad = await rawConnect(port);
      await bad.write(Buffer.from(`GET /${HEAD_EVIL} HTTP/1.1\r\nHost: x\r\nBad${HEAD_EVIL}: 1\r\nUpgrade: websocket\r\n\r\n`, 'latin1'));
      await bad.waitEnd();

      await until(() => stdout.includes('closed by server'), 5000, 'the close line');
      await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('"type":"close"'), 5000, 'the close record in the log');
    } finally {
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
      await target.close();
    }

    assertTerminalSafe(stdout, 'headless output');
    assertTerminalSafe(stderr, 'stderr');
    assert.ok(!stdout.includes('\x1b') && !stderr.includes('\x1b'), 'no ESC at all with --no-color');
    // What was sent is on the record, escaped.
    const escapedTitle = '\\x1b]0;PWNED\\x07';
    const open = stdout.split('\n').find((l) => / open /.test(l)) ?? '';
    assert.ok(open.includes(`/room${escapedTitle}\\x1b[2J\\x9b31m\\x85`), `path in ${open}`);
    assert.ok(open.includes(`protocol=chat${escapedTitle}`), `subprotocol in ${open}`);
    assert.ok(open.includes(`ext=x-evil; p=${escapedTitle}`), `extensions in ${open}`);
    assert.match(stdout, /C→S text .* "c\\x1b\]0;PWNED\\x07\\x1b\[2J\\x9b31m\\x85\\u\{202e\}evil\\u\{2066\}x\\u\{2069\}\\u\{200b\}\\" \[/);
    assert.match(stdout, /S→C text .* "s\\x1b\]0;PWNED/);
    assert.match(stdout, /C→S ping .* 70 1b 5d 30 3b/, 'a ping with a control byte is shown as hex');
    assert.match(stdout, /violation invalid-handshake .*invalid header name "Bad\\u001b\]0;PWNED\\u0007\\u001b\[2J\\x9b31m\\x85"/);
    assert.match(stdout, /closed by server: 4000 .*"bye\\x1b\]0;PWNED\\x07\\u\{202e\}"/);

    const text = readFileSync(log, 'utf8');
    assertTerminalSafe(text, 'JSONL log');
    const records = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const opened = records.find((r) => r['type'] === 'open')!;
    assert.equal(opened['path'], `/room${HEAD_EVIL}`, 'the log keeps the exact value (escaped as JSON)');
    assert.equal(opened['protocol'], `chat${HEAD_EVIL}`);
    const frame = records.find((r) => r['type'] === 'frame' && r['from'] === 'server' && r['kind'] === 'text')!;
    assert.equal(frame['payload'], `s${TEXT_EVIL}`);
    assert.match(text, /\\u202eevil\\u2066x\\u2069\\u200b/);

    // The log gives back exactly what the peers sent; the commands that print from it escape again.
    for (const args of [['stats', log], ['stats', '--json', log], ['har', log]]) {
      const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
      assert.equal(run.status, 0, `${args.join(' ')}: ${run.stderr}`);
      assertTerminalSafe(run.stdout, `wsproxy ${args.join(' ')}`);
      assertTerminalSafe(run.stderr, `wsproxy ${args.join(' ')} (stderr)`);
      assert.ok(run.stdout.includes('PWNED'), `wsproxy ${args.join(' ')} shows the session`);
    }
  });
});
