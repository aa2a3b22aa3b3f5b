/**
 * Through the built command line: a page load, a refused upgrade and an upgrade to a target that
 * has gone are each on the headless output and in the JSONL log with their cause (issue items 2,
 * 3, 8). Needs `npm run build` first (npm test does that).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyAllRaw, rawConnect, requestHead, until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

/** The built CLI, headless on a free port with `args`, its output gathered; killed after `ms` at the latest. */
function startCli(args: readonly string[], ms: number) {
  const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--headless', '--no-color', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = {
    child,
    stdout: '',
    stderr: '',
    killer: setTimeout(() => child.kill('SIGKILL'), ms),
    /** The port from the listening line. */
    port: async (): Promise<number> => Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(cli.stderr), 10_000, 'the listening line'))[1]),
  };
  child.stdout.setEncoding('utf8').on('data', (s: string) => (cli.stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (cli.stderr += s));
  return cli;
}

describe('every attempt on the record, through the CLI', { timeout: 60_000 }, () => {
  test('a page load, a 403 refusal and a dead target: headless lines and JSONL records', { timeout: 30_000 }, async (t) => {
    if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('dist/ is missing: run `npm run build` first');
    const web = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4 });
      res.end('page');
    });
    // Node's server hands upgrades to this listener: answer them 403, as an auth check would.
    web.on('upgrade', (_req, socket: net.Socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\ntoken expired'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const webPort = (web.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-attempts-'));
    const file = path.join(dir, 'log.jsonl');
    const cli = startCli(['--target', `127.0.0.1:${webPort}`, '--log-file', file], 25_000);
    const { child, killer } = cli;
    try {
      const port = await cli.port();
      const page = await rawConnect(port);
      await page.write('GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      await page.waitEnd(3000);
      assert.match(page.received.toString(), /^HTTP\/1\.1 200 OK\r\n[^]*page$/);

      const refused = await rawConnect(port);
      await refused.write(requestHead({ path: '/ws/private' }).head);
      await refused.waitEnd(3000);
      assert.match(refused.received.toString(), /^HTTP\/1\.1 403 Forbidden\r\n[^]*token expired$/);

      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
      const dead = await rawConnect(port);
      await dead.write(requestHead({ path: '/ws/gone' }).head);
      await dead.waitEnd(3000);
      assert.match(dead.received.toString(), /^HTTP\/1\.1 502 Bad Gateway\r\n/);

      await until(() => (cli.stdout.match(/ closed by /g) ?? []).length >= 2, 5000, `two close lines in ${JSON.stringify(cli.stdout)}`);
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('close', resolve));

      const { stdout } = cli;
      const out = stdout.split('\n');
      assert.ok(out.some((l) => /\d http 127\.0\.0\.1:\d+ GET \/index\.html → 200 \d+ ms ↑\d+ B ↓\d+ B$/.test(l)), stdout);
      assert.ok(out.some((l) => /#1 refused 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ \/ws\/private 403 handshake refused: 403 Forbidden "token expired"$/.test(l)), stdout);
      assert.ok(out.some((l) => /#1 closed by server: no status "handshake refused: 403 Forbidden"$/.test(l)), stdout);
      assert.ok(out.some((l) => /#2 failed .* \/ws\/gone 502 target 127\.0\.0\.1:\d+: ECONNREFUSED \(answered by the proxy\)$/.test(l)), stdout);
      assert.ok(out.some((l) => /#2 closed by proxy: no status "target 127\.0\.0\.1:\d+: ECONNREFUSED"$/.test(l)), stdout);

      const records = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const httpRecord = records.find((r) => r['type'] === 'http')!;
      assert.deepEqual([httpRecord['method'], httpRecord['url'], httpRecord['status'], httpRecord['answeredBy']], ['GET', '/index.html', 200, 'server']);
      assert.ok((httpRecord['requestBytes'] as number) > 0 && (httpRecord['responseBytes'] as number) > 0);
      const opens = records.filter((r) => r['type'] === 'open');
      assert.deepEqual(
        opens.map((o) => [o['path'], o['status'], o['answeredBy'], o['acceptValid']]),
        [
          ['/ws/private', 403, 'server', null],
          ['/ws/gone', 502, 'proxy', null],
        ],
      );
      assert.equal(opens[0]!['failure'], 'handshake refused: 403 Forbidden');
      assert.equal(opens[0]!['body'], 'token expired');
      const closes = records.filter((r) => r['type'] === 'close');
      assert.deepEqual(closes.map((c) => c['by']), ['server', 'proxy']);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
      destroyAllRaw();
      if (web.listening) {
        web.closeAllConnections();
        web.close();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a line longer than the printer takes at once, through the CLI', { timeout: 30_000 }, () => {
  test('is cut and says so, not lost', { timeout: 20_000 }, async (t) => {
    if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('dist/ is missing: run `npm run build` first');
    // A subprotocol of 15,000 ESC bytes: escaped, the open line runs past 60,000 characters.
    const { RawServer, headerValue, rawHandshake, switchingHead } = await import('../helpers/raw-peer.js');
    const target = await RawServer.start({ respond: (req) => switchingHead(headerValue(req, 'sec-websocket-key')!, [['Sec-WebSocket-Protocol', '\x1b'.repeat(15_000)]]) });
    const cli = startCli(['--target', `127.0.0.1:${target.port}`], 15_000);
    const { child, killer } = cli;
    try {
      await rawHandshake(await cli.port(), { path: '/long' });
      const line = await until(() => cli.stdout.split('\n').find((l) => / #1 open /.test(l)), 5000, `the open line in ${JSON.stringify(cli.stdout.slice(0, 200))}`);
      assert.match(line, / … \(line cut: \d+ more characters\)$/);
      assert.ok(line.length < 41_000, `${line.length} characters`);
      assert.ok(!line.includes('\x1b'), 'escaped, as every line');
    } finally {
      clearTimeout(killer);
      child.kill('SIGINT');
      destroyAllRaw();
      await target.close();
    }
  });
});
