/**
 * Forward-proxy mode (no --target): CONNECT tunnels decided by their first bytes. A ws client
 * through https-proxy-agent to a wss server (intercepted with a leaf from the wsproxy CA); plain
 * ws in a tunnel; absolute-form requests; a ClientHello without SNI; an SNI that differs from the
 * CONNECT host; --ignore-hosts tunnels stay opaque; a refusing port gets 502; bytes that are
 * neither TLS nor HTTP are relayed opaque; the HTTP/2 preface; SSLKEYLOGFILE lines for both legs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { WebSocket } from 'ws';
import { echo, openWs, startWsEcho } from '../helpers/proxy-harness.js';
import { hasOpenssl, makeTestPki } from '../helpers/test-pki.js';
import { startTlsProxy, startWssEcho } from '../helpers/tls-harness.js';

const skip = hasOpenssl() ? false : 'openssl not installed';
const pki = skip === false ? makeTestPki() : null;
after(() => pki?.remove());

const APP = new Map([['app.test', '127.0.0.1']]);

/** Sends CONNECT and resolves with the socket once the proxy answered 200 (rejects with the answer otherwise). */
function connectTunnel(proxyPort: number, authority: string): Promise<{ socket: net.Socket; answer: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(proxyPort, '127.0.0.1', () => s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    let got = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      s.off('data', onData);
      const answer = got.subarray(0, end + 4).toString('latin1');
      if (!answer.startsWith('HTTP/1.1 200')) {
        s.on('data', (more: Buffer) => (got = Buffer.concat([got, more])));
        s.on('close', () => reject(new Error(got.toString('latin1'))));
        return;
      }
      if (got.length > end + 4) s.unshift(got.subarray(end + 4));
      resolve({ socket: s, answer });
    };
    s.on('data', onData);
    s.on('error', reject);
  });
}

test('ws client through https-proxy-agent to a wss server: intercepted, decoded, both legs on the record', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:app.test'], true);
  const h = await startTlsProxy(null, { targetCa: [pki!.caPath], resolve: APP });
  try {
    const ca = readFileSync(join(h.caDir, 'ca.pem'));
    const agent = new HttpsProxyAgent(`http://127.0.0.1:${h.port}`, { ca } as never);
    const ws = await openWs(`wss://app.test:${server.port}/ws`, { agent, ca, perMessageDeflate: true });
    assert.equal((await echo(ws, 'through the forward proxy')).data.toString(), 'through the forward proxy');
    ws.close();
    const open = await h.waitFor(h.opens, () => true);
    assert.equal(open.status, 101);
    assert.equal(open.mode, 'forward');
    assert.equal(open.url, `wss://app.test:${server.port}/ws`);
    assert.equal(open.target, `app.test:${server.port}`);
    assert.equal(open.tls.client?.sni, 'app.test');
    assert.equal(open.tls.server?.sni, 'app.test');
    assert.equal(open.tls.server?.verified, true);
    assert.notEqual(open.deflate, null);
    // Nothing rewritten: the client's Host already names the origin.
    assert.deepEqual(Buffer.from(open.sent.raw), Buffer.from(open.request.raw));
    // The inflated text is what the log shows.
    assert.ok(h.frames.some((f) => f.from === 'client' && f.compressed && Buffer.from(f.payload).toString() === 'through the forward proxy'));
  } finally {
    await h.close();
    await server.close();
  }
});

test('a plain ws:// upgrade inside a CONNECT tunnel is decoded; absolute-form requests work without CONNECT', async () => {
  const server = await startWsEcho();
  const h = await startTlsProxy(null, { resolve: APP });
  try {
    const agent = new HttpsProxyAgent(`http://127.0.0.1:${h.port}`);
    const ws = await openWs(`ws://app.test:${server.port}/plain`, { agent });
    assert.equal((await echo(ws, 'plain tunnel')).data.toString(), 'plain tunnel');
    ws.close();
    const first = await h.waitFor(h.opens, () => true);
    assert.equal(first.url, `ws://app.test:${server.port}/plain`);
    assert.equal(first.tls.client, null);
    // Absolute form: what a client configured with an HTTP proxy sends for ws:// without CONNECT.
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(h.port, '127.0.0.1', () =>
        s.write(`GET http://app.test:${server.port}/abs HTTP/1.1\r\nHost: app.test:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
      );
      s.once('data', (d: Buffer) => {
        resolve(d.toString('latin1'));
        s.destroy();
      });
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1.1 101 /);
    const abs = await h.waitFor(h.opens, (o) => o.path.endsWith('/abs'));
    assert.equal(abs.url, `ws://app.test:${server.port}/abs`);
    assert.equal(abs.target, `app.test:${server.port}`);
    // The target got the origin form.
    assert.match(Buffer.from(abs.sent.raw).toString('latin1'), /^GET \/abs HTTP\/1.1\r\n/);
  } finally {
    await h.close();
    await server.close();
  }
});

test('a ClientHello without SNI gets a leaf for the CONNECT host; an SNI that differs keeps the CONNECT host as upstream', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:app.test', 'IP:127.0.0.1']);
  const h = await startTlsProxy(null, { targetCa: [pki!.caPath], resolve: APP });
  try {
    const ca = readFileSync(join(h.caDir, 'ca.pem'));
    // No SNI: an IP literal CONNECT host, TLS without servername.
    const a = await connectTunnel(h.port, `127.0.0.1:${server.port}`);
    const ws = await openWs(`wss://127.0.0.1:${server.port}/nosni`, { ca, createConnection: () => tls.connect({ socket: a.socket, ca, host: '127.0.0.1' }) } as never);
    ws.close();
    const open = await h.waitFor(h.opens, (o) => o.path === '/nosni');
    assert.equal(open.tls.client?.sni, null);
    assert.equal(open.target, `127.0.0.1:${server.port}`);
    // SNI other.test through a CONNECT to app.test: the leaf is for other.test, the upstream app.test.
    const b = await connectTunnel(h.port, `app.test:${server.port}`);
    const ws2 = await openWs(`wss://other.test:${server.port}/differs`, { ca, createConnection: () => tls.connect({ socket: b.socket, ca, servername: 'other.test' }) } as never);
    assert.equal((await echo(ws2, 'x')).data.toString(), 'x');
    ws2.close();
    const open2 = await h.waitFor(h.opens, (o) => o.path === '/differs');
    assert.equal(open2.tls.client?.sni, 'other.test');
    assert.equal(open2.target, `app.test:${server.port}`);
  } finally {
    await h.close();
    await server.close();
  }
});

test('--ignore-hosts: the tunnel stays opaque (bytes identical, no frames), with a log line', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:app.test']);
  const h = await startTlsProxy(null, { resolve: APP, ignoreHosts: [/^app\.test$/] });
  try {
    // The client trusts the real server's CA: nothing was intercepted.
    const agent = new HttpsProxyAgent(`http://127.0.0.1:${h.port}`, { ca: pki!.caPem } as never);
    const ws = await openWs(`wss://app.test:${server.port}/opaque`, { agent, ca: pki!.caPem } as never);
    const big = Buffer.alloc(100_000, 7);
    assert.ok((await echo(ws, big)).data.equals(big));
    ws.close();
    await h.waitFor(h.logs, (l) => l.text === `tunnel to app.test:${server.port} relayed as opaque bytes (--ignore-hosts)`);
    assert.equal(h.frames.length, 0);
    assert.equal(h.opens.length, 0);
  } finally {
    await h.close();
    await server.close();
  }
});

test('--ignore-hosts matches the SNI too', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:app.test']);
  const h = await startTlsProxy(null, { resolve: new Map([['127.0.0.1', '127.0.0.1']]), ignoreHosts: [/app\.test/] });
  try {
    const t = await connectTunnel(h.port, `127.0.0.1:${server.port}`);
    const ws = await openWs(`wss://app.test:${server.port}/sni`, { createConnection: () => tls.connect({ socket: t.socket, ca: pki!.caPem, servername: 'app.test' }) } as never);
    ws.close();
    await h.waitFor(h.logs, (l) => /\(SNI app\.test\) relayed as opaque bytes \(--ignore-hosts\)/.test(l.text));
    assert.equal(h.opens.length, 0);
  } finally {
    await h.close();
    await server.close();
  }
});

test('a CONNECT to a port that refuses gets 502; bytes that are neither TLS nor HTTP are relayed opaque; the HTTP/2 preface is answered', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const raw = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const rawPort = (raw.address() as net.AddressInfo).port;
  const h = await startTlsProxy(null);
  try {
    await assert.rejects(connectTunnel(h.port, `127.0.0.1:${deadPort}`), /^Error: HTTP\/1.1 502 Bad Gateway[\s\S]*ECONNREFUSED/);
    const t = await connectTunnel(h.port, `127.0.0.1:${rawPort}`);
    const bytes = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x42, 0x13, 0x37]);
    t.socket.write(bytes);
    const back = await new Promise<Buffer>((resolve) => t.socket.once('data', resolve));
    assert.ok(back.equals(bytes));
    t.socket.destroy();
    await h.waitFor(h.logs, (l) => l.text === `tunnel to 127.0.0.1:${rawPort} carries neither TLS nor HTTP; relayed as opaque bytes, not decoded`);
    const h2 = await connectTunnel(h.port, `127.0.0.1:${rawPort}`);
    h2.socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const goaway = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      h2.socket.on('data', (d: Buffer) => chunks.push(d));
      h2.socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    assert.equal(goaway[9 + 3], 7);
    assert.match(goaway.toString('latin1'), /HTTP\/1.1 only/);
    assert.equal(h.opens.length, 0);
  } finally {
    await h.close();
    raw.close();
  }
});

test('SSLKEYLOGFILE: secrets of both legs (two handshakes) in NSS key log format', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:app.test']);
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-keylog-'));
  const path = join(dir, 'keys.log');
  const h = await startTlsProxy(null, { targetCa: [pki!.caPath], resolve: APP, keylogFile: path });
  try {
    const ca = readFileSync(join(h.caDir, 'ca.pem'));
    const ws = await openWs(`wss://app.test:${server.port}/k`, { agent: new HttpsProxyAgent(`http://127.0.0.1:${h.port}`, { ca } as never), ca } as never);
    await echo(ws, 'secret');
    ws.close();
    await h.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const randoms = new Set(lines.filter((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 ')).map((l) => l.split(' ')[1]));
    assert.equal(randoms.size, 2, 'one handshake per leg');
    for (const l of lines) assert.match(l, /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$/);
  } finally {
    await h.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('curl --cacert with the wsproxy CA through the forward proxy: an https page passes through, recorded', { skip: skip || (hasCurl() ? false : 'curl not installed') }, async () => {
  const server = await startWssEcho(pki!, ['DNS:app.test']);
  const h = await startTlsProxy(null, { targetCa: [pki!.caPath], resolve: APP });
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('curl', ['-sS', '-m', '10', '--proxy', `http://127.0.0.1:${h.port}`, '--cacert', join(h.caDir, 'ca.pem'), `https://app.test:${server.port}/page`], (error, stdout, stderr) =>
        error === null ? resolve(stdout) : reject(new Error(`${error.message} ${stderr}`)),
      ),
    );
    assert.equal(out, 'hello over https');
    assert.deepEqual(server.requests, ['GET /page']);
    const record = await h.waitFor(h.https, (r) => r.url === '/page');
    assert.equal(record.status, 200);
    assert.equal(record.target, `app.test:${server.port}`);
  } finally {
    await h.close();
    await server.close();
  }
});

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

void WebSocket;
