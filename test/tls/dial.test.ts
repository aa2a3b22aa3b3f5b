/**
 * TLS toward the target: verification against the roots plus --target-ca, the reason for each
 * failure (expired, unknown issuer, self-signed, wrong name), --insecure, SNI only for names,
 * ALPN http/1.1 only, a handshake that never completes, and SSLKEYLOGFILE lines for the leg.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { describeTlsError, dialTls } from '../../src/tls/dial.js';
import { openKeyLog } from '../../src/tls/keylog.js';
import { loadTargetTrust, TrustError } from '../../src/tls/trust.js';
import { hasOpenssl, makeTestPki } from '../helpers/test-pki.js';
import { until } from '../helpers/raw-peer.js';

const skip = hasOpenssl() ? false : 'openssl not installed';
const pki = skip === false ? makeTestPki() : null;
after(() => pki?.remove());

interface TlsTarget {
  readonly port: number;
  readonly servernames: (string | false)[];
  close(): void;
}

async function tlsServer(cert: { cert: string; key: string }, alpn: string[] = ['http/1.1']): Promise<TlsTarget> {
  const servernames: (string | false)[] = [];
  const server = tls.createServer({ cert: cert.cert, key: cert.key, ALPNProtocols: alpn }, (s) => {
    servernames.push((s as tls.TLSSocket & { servername: string | false }).servername);
    s.on('error', () => undefined);
    s.end('hello');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, servernames, close: () => server.close() };
}

const base = { timeoutMs: 3000, keylog: null, address: '127.0.0.1' } as const;

test('verified against --target-ca added to the roots; facts name the certificate', { skip }, async () => {
  const server = await tlsServer(pki!.server(['DNS:localhost']));
  try {
    const trust = loadTargetTrust([pki!.caPath], false, {});
    assert.ok(trust.ca!.length > tls.rootCertificates.length, 'roots kept, test CA added');
    const r = await dialTls({ ...base, host: 'localhost', port: server.port, trust });
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.facts.verified, true);
    assert.equal(r.facts.verifyError, null);
    assert.equal(r.facts.sni, 'localhost');
    assert.equal(r.facts.alpn, 'http/1.1');
    assert.equal(r.facts.version, 'TLSv1.3');
    assert.match(r.facts.cipher ?? '', /^TLS_/);
    assert.equal(r.facts.certificate?.subject, 'CN=localhost');
    assert.equal(r.facts.certificate?.issuer, 'CN=wsproxy test CA');
    assert.match(r.facts.certificate?.fingerprint256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await until(() => server.servernames.length > 0 || undefined, 2000, 'the server side of the handshake');
    assert.deepEqual(server.servernames, ['localhost']);
    r.socket.destroy();
  } finally {
    server.close();
  }
});

test('each verification failure has its reason, and --insecure connects anyway saying why', { skip }, async () => {
  const cases: [string, { cert: string; key: string }, string, RegExp][] = [
    ['unknown issuer', pki!.server(['DNS:localhost']), 'localhost', /unable to verify the first certificate/],
    ['expired', pki!.server(['DNS:localhost'], { expired: true }), 'localhost', /certificate has expired/],
    ['self-signed', pki!.server(['DNS:localhost'], { selfSigned: true }), 'localhost', /self[- ]signed certificate/],
    ['wrong name', pki!.server(['DNS:other.test']), 'localhost', /certificate name mismatch: .*localhost.*other\.test/],
  ];
  for (const [what, cert, host, reason] of cases) {
    const server = await tlsServer(cert);
    try {
      // The test CA is trusted for all but the first case, so each fails for its own reason.
      const trust = loadTargetTrust(what === 'unknown issuer' ? [] : [pki!.caPath], false, {});
      const r = await dialTls({ ...base, host, port: server.port, trust });
      assert.equal(r.ok, false, what);
      assert.match(r.ok ? '' : r.reason, reason, what);
      assert.match(r.ok ? '' : r.reason, new RegExp(`^target ${host}:${server.port}: `));
      const insecure = await dialTls({ ...base, host, port: server.port, trust: { ...trust, insecure: true } });
      assert.ok(insecure.ok, what);
      assert.equal(insecure.facts.verified, false, what);
      assert.notEqual(insecure.facts.verifyError, null, what);
      insecure.socket.destroy();
    } finally {
      server.close();
    }
  }
});

test('an IP literal target gets no SNI but its certificate is still checked against IP SANs', { skip }, async () => {
  const server = await tlsServer(pki!.server(['IP:127.0.0.1']));
  try {
    const r = await dialTls({ ...base, host: '127.0.0.1', port: server.port, trust: loadTargetTrust([pki!.caPath], false, {}) });
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.facts.sni, null);
    assert.equal(r.facts.verified, true);
    await until(() => server.servernames.length > 0 || undefined, 2000, 'the server side of the handshake');
    assert.deepEqual(server.servernames, [false]);
    r.socket.destroy();
  } finally {
    server.close();
  }
});

test('ALPN offers http/1.1 only: a server that speaks only h2 cannot pick it', { skip }, async () => {
  const server = await tlsServer(pki!.server(['DNS:localhost']), ['h2']);
  try {
    const r = await dialTls({ ...base, host: 'localhost', port: server.port, trust: loadTargetTrust([pki!.caPath], false, {}) });
    // Either the handshake completes without ALPN (HTTP/1.1 by default) or the server refuses it: never h2.
    if (r.ok) {
      assert.notEqual(r.facts.alpn, 'h2');
      r.socket.destroy();
    } else assert.match(r.reason, /application protocol|alert/i);
  } finally {
    server.close();
  }
});

test('a target that does not speak TLS: the reason in one short line, no OpenSSL address or path', async () => {
  const plain = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  try {
    const r = await dialTls({ ...base, host: 'localhost', port: (plain.address() as net.AddressInfo).port, trust: { ca: null, insecure: false } });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /^target localhost:\d+: wrong version number: it does not speak TLS here \(a ws:\/\/ target\?\)$/);
  } finally {
    plain.close();
  }
});

test('OpenSSL error strings are cut to their reason', () => {
  const e = (message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code: 'ERR_SSL_X' });
  assert.equal(describeTlsError(e('80ECC1934A7F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48\n')), 'tlsv1 alert unknown ca');
  assert.equal(describeTlsError(e('error:05800074:x509 certificate routines::key values mismatch')), 'key values mismatch');
  assert.equal(describeTlsError(e('self-signed certificate')), 'self-signed certificate');
});

test('a target that never completes the handshake is timed out, not waited on', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const started = Date.now();
    const r = await dialTls({ ...base, timeoutMs: 300, host: 'localhost', port: (silent.address() as net.AddressInfo).port, trust: { ca: null, insecure: false } });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /TLS handshake did not complete within 300 ms/);
    assert.ok(Date.now() - started < 2000);
  } finally {
    silent.close();
  }
});

test('SSLKEYLOGFILE gets NSS key log lines for the leg, in a 0600 file', { skip }, async () => {
  const server = await tlsServer(pki!.server(['DNS:localhost']));
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-keylog-'));
  try {
    const path = join(dir, 'keys.log');
    const keylog = openKeyLog(path)!;
    const r = await dialTls({ ...base, keylog, host: 'localhost', port: server.port, trust: loadTargetTrust([pki!.caPath], false, {}) });
    assert.ok(r.ok);
    await new Promise((resolve) => r.socket.once('close', resolve).resume());
    await keylog.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    // TLS 1.3: handshake and traffic secrets, each "LABEL <client random hex> <secret hex>".
    for (const label of ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']) {
      assert.ok(lines.some((l) => new RegExp(`^${label} [0-9a-f]{64} [0-9a-f]{64,}$`).test(l)), label);
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--target-ca errors are one line naming the file', () => {
  assert.throws(() => loadTargetTrust(['/nonexistent/ca.pem'], false, {}), (e: Error) => e instanceof TrustError && /^--target-ca \/nonexistent\/ca.pem: cannot read \(ENOENT\)$/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-trust-'));
  try {
    const file = join(dir, 'empty.pem');
    writeFileSync(file, 'nothing here');
    assert.throws(() => loadTargetTrust([file], false, {}), /no PEM certificate in it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
