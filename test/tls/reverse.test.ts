/**
 * Reverse mode with TLS: a ws client through the proxy to a `ws` server behind https (a test CA
 * made at test time): --target-ca makes it work, without it the client gets 502 with the reason,
 * --insecure connects and says so; the --tls listener, trusted through the wsproxy CA or with
 * --cert/--key; plain HTTP to a TLS port; the HTTP/2 preface.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { loadTargetTrust } from '../../src/tls/trust.js';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { echo, openWs } from '../helpers/proxy-harness.js';
import { hasOpenssl, makeTestPki } from '../helpers/test-pki.js';
import { startTlsProxy, startWssEcho } from '../helpers/tls-harness.js';
import { formatOpenLine } from '../../src/output/format.js';
import { openJson } from '../../src/output/jsonl.js';

const skip = hasOpenssl() ? false : 'openssl not installed';
const pki = skip === false ? makeTestPki() : null;
after(() => pki?.remove());

/** The status line and body a client gets for an upgrade through the proxy. */
function upgradeAnswer(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    setTimeout(() => reject(new Error(`no answer: ${got}`)), 8000).unref();
  });
}

test('ws client → proxy → wss target trusted with --target-ca: frames relayed, open record has url, mode and the server leg TLS facts', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:localhost']);
  const h = await startTlsProxy({ host: 'localhost', port: server.port, basePath: '', tls: true }, { targetCa: [pki!.caPath], resolve: new Map([['localhost', '127.0.0.1']]) });
  try {
    const ws = await openWs(`${h.url}/chat?x=1`);
    assert.equal((await echo(ws, 'over tls')).data.toString(), 'over tls');
    ws.close();
    const open = await h.waitFor(h.opens, () => true);
    assert.equal(open.status, 101);
    assert.equal(open.mode, 'reverse');
    assert.equal(open.url, `ws://127.0.0.1:${h.port}/chat?x=1`);
    assert.equal(open.tls.client, null);
    const s = open.tls.server!;
    assert.equal(s.verified, true);
    assert.equal(s.insecure, false);
    assert.equal(s.sni, 'localhost');
    assert.equal(s.alpn, 'http/1.1');
    assert.equal(s.certificate?.subject, 'CN=localhost');
    assert.equal(s.certificate?.issuer, 'CN=wsproxy test CA');
    const json = openJson(open) as { tls: { server: { verified: boolean } }; url: string; mode: string };
    assert.equal(json.tls.server.verified, true);
    assert.equal(json.mode, 'reverse');
    assert.ok(h.frames.some((f) => Buffer.from(f.payload).toString() === 'over tls' && f.from === 'server'));
  } finally {
    await h.close();
    await server.close();
  }
});

test('without --target-ca the client gets 502 with the reason, and the attempt is on the record', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:localhost']);
  const h = await startTlsProxy({ host: 'localhost', port: server.port, basePath: '', tls: true }, { resolve: new Map([['localhost', '127.0.0.1']]) });
  try {
    const answer = await upgradeAnswer(h.port);
    assert.match(answer, /^HTTP\/1.1 502 Bad Gateway\r\n/);
    assert.match(answer, /unable to verify the first certificate/);
    const open = await h.waitFor(h.opens, () => true);
    assert.equal(open.status, 502);
    assert.match(open.failure ?? '', /unable to verify the first certificate/);
    assert.equal(server.sockets.length, 0);
  } finally {
    await h.close();
    await server.close();
  }
});

test('an expired or wrong-name target certificate: 502 with the reason; --insecure connects and says so on the record', { skip }, async () => {
  for (const [cert, reason] of [
    [pki!.server(['DNS:localhost'], { expired: true }), /certificate has expired/],
    [pki!.server(['DNS:elsewhere.test']), /certificate name mismatch/],
  ] as const) {
    const server = await startWssEcho(pki!, [], false, cert);
    const target = { host: 'localhost', port: server.port, basePath: '', tls: true } as const;
    const resolve = new Map([['localhost', '127.0.0.1']]);
    const strict = await startTlsProxy(target, { targetCa: [pki!.caPath], resolve });
    const loose = await startTlsProxy(target, { targetCa: [pki!.caPath], resolve, insecure: true });
    try {
      assert.match(await upgradeAnswer(strict.port), reason);
      const ws = await openWs(`${loose.url}/`);
      assert.equal((await echo(ws, 'anyway')).data.toString(), 'anyway');
      ws.close();
      const open = await loose.waitFor(loose.opens, () => true);
      assert.equal(open.tls.server?.insecure, true);
      assert.equal(open.tls.server?.verified, false);
      assert.notEqual(open.tls.server?.verifyError, null);
      assert.match(formatOpenLine(open, { color: false } as never), /INSECURE \(/);
    } finally {
      await strict.close();
      await loose.close();
      await server.close();
    }
  }
});

test('https:// target: plain requests pass through over TLS', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:localhost']);
  const h = await startTlsProxy({ host: 'localhost', port: server.port, basePath: '', tls: true }, { targetCa: [pki!.caPath], resolve: new Map([['localhost', '127.0.0.1']]) });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const s = net.connect(h.port, '127.0.0.1', () => s.write('GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.match(body, /^HTTP\/1.1 200 OK/);
    assert.match(body, /hello over https/);
    assert.deepEqual(server.requests, ['GET /page']);
  } finally {
    await h.close();
    await server.close();
  }
});

test('--tls listener: a ws client trusting only the wsproxy CA connects with wss://; the client leg facts are recorded', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:localhost']);
  const h = await startTlsProxy({ host: 'localhost', port: server.port, basePath: '', tls: true }, { listen: true, targetCa: [pki!.caPath], resolve: new Map([['localhost', '127.0.0.1']]) });
  try {
    const ca = readFileSync(join(h.caDir, 'ca.pem'));
    const ws = await openWs(`wss://localhost:${h.port}/tls`, { ca, family: 4 } as never);
    assert.equal((await echo(ws, 'both legs')).data.toString(), 'both legs');
    ws.close();
    const open = await h.waitFor(h.opens, () => true);
    assert.equal(open.url, `wss://localhost:${h.port}/tls`);
    assert.equal(open.tls.client?.sni, 'localhost');
    // ws offers no ALPN.
    assert.equal(open.tls.client?.alpn, null);
    assert.match(open.tls.client?.version ?? '', /^TLSv1\.[23]$/);
    assert.equal(open.tls.server?.verified, true);
    // Without SNI (an IP literal), the leaf names 127.0.0.1 among the listener's names.
    const byIp = await openWs(`wss://127.0.0.1:${h.port}/ip`, { ca });
    byIp.close();
  } finally {
    await h.close();
    await server.close();
  }
});

test('--tls listener with --cert/--key; a client that does not trust it is reported as rejecting the certificate', { skip }, async () => {
  const target = await startWssEcho(pki!, ['DNS:localhost']);
  const own = pki!.server(['DNS:localhost']);
  const { writeFileSync } = await import('node:fs');
  const keyPath = join(pki!.dir, 'listener.key');
  writeFileSync(keyPath, own.key, { mode: 0o600 });
  const h = await startTlsProxy({ host: 'localhost', port: target.port, basePath: '', tls: true }, { listen: true, cert: own.certPath, key: keyPath, targetCa: [pki!.caPath], resolve: new Map([['localhost', '127.0.0.1']]) });
  try {
    const ws = await openWs(`wss://127.0.0.1:${h.port}/`, { ca: pki!.caPem, servername: 'localhost' } as never);
    ws.close();
    // A client with Node's default roots refuses the test CA.
    await assert.rejects(openWs(`wss://127.0.0.1:${h.port}/`, { servername: 'localhost' } as never));
    const log = await h.waitFor(h.logs, (l) => /client rejected the proxy's certificate for localhost: trust the CA, see `wsproxy ca`/.test(l.text), 3000, 'the rejection log line');
    assert.equal(log.level, 'warn');
    // A client that says why with an alert (openssl does; Node closes without one): the alert by
    // its name, not OpenSSL's whole error string (an address, codes, a source path).
    const { execFile } = await import('node:child_process');
    // (Not spawnSync: the proxy under test runs in this process.)
    await new Promise((resolve) => execFile('openssl', ['s_client', '-connect', `127.0.0.1:${h.port}`, '-servername', 'localhost', '-verify_return_error'], { timeout: 10_000 }, resolve).stdin?.end());
    const alert = await h.waitFor(h.logs, (l) => /\(TLS alert/.test(l.text), 3000, 'the alert log line');
    assert.match(alert.text, /client rejected the proxy's certificate for localhost: trust the CA, see `wsproxy ca` \(TLS alert unknown ca\)$/);
  } finally {
    await h.close();
    await target.close();
  }
});

test('--tls listener: a client that completes the handshake and then sends nothing gets 408 in the head time, as a plain one does', { skip }, async () => {
  const h = await startTlsProxy({ host: '127.0.0.1', port: 9, basePath: '' }, { listen: true }, { headTimeoutMs: 300 });
  try {
    const ca = readFileSync(join(h.caDir, 'ca.pem'));
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: h.port, ca, servername: 'localhost' });
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', reject);
      setTimeout(() => reject(new Error(`still open after 5 s: ${JSON.stringify(got)}`)), 5000).unref();
    });
    assert.match(answer, /^HTTP\/1.1 408 Request Timeout\r\n[\s\S]*no complete request head in time/);
    assert.ok(Date.now() - started >= 250, 'not before the head time');
  } finally {
    await h.close();
  }
});

test('plain HTTP to a --tls port gets 400 saying the port speaks TLS', { skip }, async () => {
  const h = await startTlsProxy({ host: '127.0.0.1', port: 9, basePath: '' }, { listen: true });
  try {
    const answer = await upgradeAnswer(h.port);
    assert.match(answer, /^HTTP\/1.1 400 Bad Request\r\n[\s\S]*this port speaks TLS: use https:\/\/ or wss:\/\//);
  } finally {
    await h.close();
  }
});

test('the HTTP/2 preface gets GOAWAY HTTP_1_1_REQUIRED with the reason, and a log record', async () => {
  const h = await startTlsProxy({ host: '127.0.0.1', port: 9, basePath: '' });
  try {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(h.port, '127.0.0.1', () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
    // SETTINGS (type 4, empty), then GOAWAY (type 7) with error code 0xd.
    assert.deepEqual([...got.subarray(0, 9)], [0, 0, 0, 4, 0, 0, 0, 0, 0]);
    assert.equal(got[9 + 3], 7);
    assert.equal(got.readUInt32BE(9 + 9 + 4), 0x0d);
    assert.match(got.subarray(9 + 9 + 8).toString(), /wsproxy relays WebSocket over HTTP\/1.1 only/);
    await h.waitFor(h.logs, (l) => /HTTP\/2 preface/.test(l.text) && l.level === 'warn');
  } finally {
    await h.close();
  }
});

test('NODE_EXTRA_CA_CERTS=ca.pem is all a Node client needs to trust the --tls listener', { skip }, async () => {
  const server = await startWssEcho(pki!, ['DNS:localhost']);
  const h = await startTlsProxy({ host: 'localhost', port: server.port, basePath: '', tls: true }, { listen: true, targetCa: [pki!.caPath], resolve: new Map([['localhost', '127.0.0.1']]) });
  try {
    const script = `require('https').get('https://127.0.0.1:${h.port}/node', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(r.statusCode, b)); }).on('error', (e) => { console.log('error', e.message); });`;
    const out = await new Promise<string>((resolve) =>
      execFile(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(h.caDir, 'ca.pem') }, timeout: 10_000 }, (_e, stdout) => resolve(stdout.trim())),
    );
    assert.equal(out, '200 hello over https');
  } finally {
    await h.close();
    await server.close();
  }
});

test('--target-ca adds to NODE_EXTRA_CA_CERTS and the roots', { skip }, () => {
  const other = makeTestPki();
  try {
    const trust = loadTargetTrust([pki!.caPath], false, { NODE_EXTRA_CA_CERTS: other.caPath });
    assert.equal(trust.ca!.length, tls.rootCertificates.length + 2);
    assert.ok(trust.ca!.includes(other.caPem.trim()));
    assert.ok(trust.ca!.includes(pki!.caPem.trim()));
  } finally {
    other.remove();
  }
});

void https;
void WebSocket;
