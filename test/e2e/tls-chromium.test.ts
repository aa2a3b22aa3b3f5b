/**
 * A real browser through the forward proxy over TLS: the wsproxy CLI with no --target, headless
 * Chromium launched with --proxy-server and --ignore-certificate-errors-spki-list (the flags
 * `wsproxy browser` gives it), loading https://app.test:PORT/ whose page opens
 * wss://app.test:PORT/ws with permessage-deflate. Through a proxy the browser resolves no names,
 * so wsproxy gets --resolve app.test:127.0.0.1. The JSONL log must show the inflated text and the
 * TLS facts of both legs. Then `wsproxy browser` itself, launching the real Chromium (headless,
 * printing the page's DOM) through the proxy it started. Skipped, with a message, without
 * /usr/bin/chromium or openssl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { CHROMIUM, NO_CHROMIUM, PAGE_OPEN_WS, launchChromium } from '../helpers/chromium.js';
import { chromiumArgs } from '../../src/tls/browser.js';
import { openCa } from '../../src/tls/ca.js';
import { until } from '../helpers/raw-peer.js';
import { hasOpenssl, makeTestPki } from '../helpers/test-pki.js';
import { startTlsProxy, startWssEcho } from '../helpers/tls-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>wss through wsproxy</title><script>${PAGE_OPEN_WS}
async function talk() {
  const { ws, next } = await openWs('wss://' + location.host + '/ws');
  const sent = ['hello over wss \\u2713', JSON.stringify({ n: 1, text: 'x'.repeat(2000) }), 'third'];
  const got = [];
  for (const m of sent) { ws.send(m); got.push(await next()); }
  const code = await new Promise((resolve) => { ws.onclose = (e) => resolve(e.code); ws.close(1000, 'done'); });
  return { sent, got, code, extensions: ws.extensions };
}
</script></head><body>wss e2e</body></html>`;

interface Talk {
  readonly sent: string[];
  readonly got: string[];
  readonly code: number;
  readonly extensions: string;
}

test('Chromium → wsproxy forward mode → https page and wss with permessage-deflate, decoded in the JSONL log', { skip: NO_CHROMIUM, timeout: 90_000 }, async (t) => {
  if (!hasOpenssl()) return t.skip('openssl not installed');
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('not built (npm run build)');
  const pki = makeTestPki();
  const dir = mkdtempSync(path.join(tmpdir(), 'wsproxy-tls-e2e-'));
  const server = await startWssEcho(pki, ['DNS:app.test'], { threshold: 0 }, pki.server(['DNS:app.test']), PAGE);
  const log = path.join(dir, 'log.jsonl');
  const caDir = path.join(dir, 'ca');
  const proxy = spawn(process.execPath, ['bin/wsproxy.js', '--listen', '127.0.0.1:0', '--headless', '--log-file', log, '--ca-dir', caDir, '--target-ca', pki.caPath, '--resolve', 'app.test:127.0.0.1'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proxy.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proxy.stdout.resume();
  let browser: Browser | null = null;
  try {
    const listening = await until(() => /listening on (127\.0\.0\.1:\d+), a forward \(HTTP CONNECT\) proxy/.exec(stderr)?.[1], 15_000, `the startup line (stderr: ${stderr})`);
    const ca = await openCa(caDir);
    const args = chromiumArgs({ proxy: listening, spki: ca.spkiSha256, profileDir: '', url: null }).filter((a) => !a.startsWith('--user-data-dir'));
    browser = await launchChromium(args);
    const tab = await browser.newPage();
    const response = await tab.goto(`https://app.test:${server.port}/`, { timeout: 15_000 });
    assert.equal(response?.status(), 200);
    const result = (await tab.evaluate('talk()')) as Talk;
    assert.deepEqual(result.got, result.sent, 'every message came back intact');
    assert.equal(result.code, 1000);
    assert.match(result.extensions, /permessage-deflate/);

    const records: Record<string, unknown>[] = await until(
      () => {
        // The log is being written: only whole lines (with their newline) are read yet.
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        return lines.some((r) => r['type'] === 'close') ? lines : undefined;
      },
      10_000,
      'the close record in the log',
    );
    const open = records.find((r) => r['type'] === 'open' && r['path'] === '/ws') as { session: number; url: string; mode: string; target: string; tls: { client: Record<string, unknown>; server: Record<string, unknown> } } | undefined;
    assert.ok(open, 'the session was logged');
    assert.equal(open.url, `wss://app.test:${server.port}/ws`);
    assert.equal(open.mode, 'forward');
    assert.equal(open.target, `app.test:${server.port}`);
    assert.equal(open.tls.client['sni'], 'app.test');
    assert.equal(open.tls.client['alpn'], 'http/1.1', 'Chromium offered h2 too; ALPN never picks it');
    assert.match(String(open.tls.client['version']), /^TLSv1\.3$/);
    assert.equal(open.tls.server['verified'], true);
    assert.equal((open.tls.server['certificate'] as Record<string, unknown>)['issuer'], 'CN=wsproxy test CA');
    // Inflated text in the log, one message record per message each way, in order.
    for (const from of ['client', 'server']) {
      const messages: Record<string, unknown>[] = records.filter((r) => r['type'] === 'message' && r['session'] === open.session && r['from'] === from);
      assert.deepEqual(messages.map((m) => [m['encoding'], m['payload']]), result.sent.map((s) => ['utf8', s]), `${from} messages, inflated`);
      assert.ok(messages.every((m) => m['compressed'] === true), `${from} messages were compressed`);
      const frames: Record<string, unknown>[] = records.filter((r) => r['type'] === 'frame' && r['session'] === open.session && r['from'] === from && (r['kind'] === 'text' || r['kind'] === 'continuation'));
      assert.equal(frames.length, messages.length, `${from}: one frame per message, forwarded one for one`);
    }
    assert.ok(server.requests.includes('GET /'), 'the page itself came through the proxy too');
    const logs = records.filter((r) => r['type'] === 'log').map((r) => String(r['text']));
    // Chromium trusted the leaves: no connection of its was taken for a certificate rejection.
    assert.deepEqual(logs.filter((l) => /rejected the proxy's certificate/.test(l)), []);
  } finally {
    await browser?.close();
    proxy.kill('SIGTERM');
    await new Promise((resolve) => proxy.once('exit', resolve));
    await server.close();
    pki.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wsproxy browser with the real Chromium: the https page loads through the proxy, the CA trusted by key hash, and wsproxy stops with the browser', { skip: NO_CHROMIUM, timeout: 90_000 }, async (t) => {
  if (!hasOpenssl()) return t.skip('openssl not installed');
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('not built (npm run build)');
  const pki = makeTestPki();
  const dir = mkdtempSync(path.join(tmpdir(), 'wsproxy-browser-e2e-'));
  // The page's wss:// traffic through a real browser is the test above; this one is the command itself.
  const page = '<!doctype html><html><head><meta charset="utf-8"></head><body><p id="m">page through wsproxy</p></body></html>';
  const server = await startWssEcho(pki, ['DNS:app.test'], { threshold: 0 }, pki.server(['DNS:app.test']), page);
  const log = path.join(dir, 'log.jsonl');
  const dom = path.join(dir, 'dom.html');
  // The browser the command launches: headless, printing the page's DOM once it settled.
  const wrapper = path.join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${CHROMIUM} --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --virtual-time-budget=5000 --dump-dom "$@" > ${dom} 2>/dev/null\n`);
  chmodSync(wrapper, 0o755);
  try {
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/wsproxy.js', 'browser', `https://app.test:${server.port}/`, '--listen', '127.0.0.1:0', '--headless', '--log-file', log, '--ca-dir', path.join(dir, 'ca'), '--target-ca', pki.caPath, '--resolve', 'app.test:127.0.0.1', '--chromium', wrapper], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('close', (code) => {
        clearTimeout(killer);
        resolve({ code, stderr });
      });
    });
    assert.equal(run.code, 0, run.stderr);
    const html = readFileSync(dom, 'utf8');
    assert.match(html, /page through wsproxy/, 'the page loaded through the proxy, its certificate accepted');
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => r['type'] === 'http' && r['url'] === '/' && r['status'] === 200), 'the page request is on the record');
  } finally {
    await server.close();
    pki.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Chromium that does not trust the CA: the page fails with a certificate error and the proxy says the client rejected its certificate', { skip: NO_CHROMIUM, timeout: 90_000 }, async (t) => {
  if (!hasOpenssl()) return t.skip('openssl not installed');
  const pki = makeTestPki();
  const server = await startWssEcho(pki, ['DNS:app.test']);
  const h = await startTlsProxy(null, { targetCa: [pki.caPath], resolve: new Map([['app.test', '127.0.0.1']]) });
  let browser: Browser | null = null;
  try {
    browser = await launchChromium([`--proxy-server=http://127.0.0.1:${h.port}`, '--proxy-bypass-list=<-loopback>']);
    const tab = await browser.newPage();
    await assert.rejects(tab.goto(`https://app.test:${server.port}/`, { timeout: 15_000 }), /ERR_CERT_AUTHORITY_INVALID/);
    const log = await h.waitFor(h.logs, (l) => /client rejected the proxy's certificate for app\.test: trust the CA, see `wsproxy ca`/.test(l.text), 5000, 'the rejection line');
    assert.equal(log.level, 'warn');
    assert.deepEqual(server.requests, [], 'nothing reached the server');
  } finally {
    await browser?.close();
    await h.close();
    await server.close();
    pki.remove();
  }
});
