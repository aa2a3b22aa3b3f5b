/**
 * TLS toward the client: a leaf chosen for the name in the ClientHello, ALPN never h2, a client
 * that refuses the certificate reported as such, a handshake that never completes timed out, and
 * key log lines for this leg too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { acceptTls, type TlsAcceptResult } from '../../src/tls/accept.js';
import { openCa } from '../../src/tls/ca.js';
import { parseClientHello } from '../../src/tls/client-hello.js';
import { createLeafIssuer } from '../../src/tls/leaf-issuer.js';
import { openKeyLog, type KeyLog } from '../../src/tls/keylog.js';

interface Accepting {
  readonly port: number;
  readonly results: Promise<TlsAcceptResult>;
  close(): void;
}

/** A server that sniffs the ClientHello, issues a leaf for its SNI (else "localhost") and accepts. */
async function acceptor(dir: string, keylog: KeyLog | null, timeoutMs = 3000): Promise<Accepting & { readonly caPem: string }> {
  const ca = await openCa(dir);
  const issuer = await createLeafIssuer(ca);
  let resolveResult!: (r: TlsAcceptResult) => void;
  const results = new Promise<TlsAcceptResult>((r) => (resolveResult = r));
  const server = net.createServer((raw) => {
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const hello = parseClientHello(head);
      if (hello.state === 'incomplete') return;
      raw.off('data', onData);
      raw.pause();
      const sni = hello.state === 'ok' ? hello.sni : null;
      void issuer.context([sni ?? 'localhost']).then(async (context) => {
        const r = await acceptTls(raw, { context, keylog, timeoutMs, head });
        resolveResult(r);
        if (r.ok) r.socket.end('hi over tls');
      });
    };
    raw.on('data', onData);
    raw.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, results, caPem: ca.certPem, close: () => server.close() };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'wsproxy-accept-'));

test('a client trusting the CA completes the handshake for its SNI; facts and key log lines are there', async () => {
  const dir = tmp();
  const keylog = openKeyLog(join(dir, 'keys.log'))!;
  const a = await acceptor(dir, keylog);
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port: a.port, servername: 'app.test', ca: a.caPem, ALPNProtocols: ['h2', 'http/1.1'] });
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(text, 'hi over tls');
    const r = await a.results;
    assert.ok(r.ok);
    assert.equal(r.facts.sni, 'app.test');
    assert.equal(r.facts.alpn, 'http/1.1', 'h2 is never chosen');
    assert.equal(r.facts.version, 'TLSv1.3');
    await keylog.close();
    const lines = readFileSync(join(dir, 'keys.log'), 'utf8');
    assert.match(lines, /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]+$/m);
    assert.match(lines, /^SERVER_HANDSHAKE_TRAFFIC_SECRET_0? ?[0-9a-f ]+$|^SERVER_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$/m);
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client offering only h2 is not given h2', async () => {
  const dir = tmp();
  const a = await acceptor(dir, null);
  try {
    const alpn = await new Promise<string | false | null>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port: a.port, servername: 'app.test', ca: a.caPem, ALPNProtocols: ['h2'] });
      c.on('secureConnect', () => {
        resolve(c.alpnProtocol);
        c.destroy();
      });
      c.on('error', () => resolve(null));
    });
    assert.notEqual(alpn, 'h2');
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a client that does not trust the CA is reported as rejecting the certificate', async () => {
  const dir = tmp();
  const a = await acceptor(dir, null);
  try {
    const c = tls.connect({ host: '127.0.0.1', port: a.port, servername: 'app.test' });
    c.on('error', () => undefined);
    const r = await a.results;
    assert.equal(r.ok, false);
    assert.equal(r.ok ? null : r.rejectedCertificate, true, r.ok ? '' : r.reason);
    // Node's client hangs up without an alert; others send unknown_ca or bad_certificate.
    assert.match(r.ok ? '' : r.reason, /alert (unknown ca|bad certificate|certificate unknown)|closed the connection during the TLS handshake/i);
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a handshake that never completes is timed out', async () => {
  const dir = tmp();
  const a = await acceptor(dir, null, 300);
  try {
    const hello = await new Promise<Buffer>((resolve) => {
      // Capture a real ClientHello, then replay only it and say nothing more.
      const capture = net.createServer((s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); capture.close(); }));
      capture.listen(0, '127.0.0.1', () => tls.connect({ host: '127.0.0.1', port: (capture.address() as net.AddressInfo).port, servername: 'slow.test' }).on('error', () => undefined));
    });
    const raw = net.connect(a.port, '127.0.0.1', () => raw.write(hello));
    raw.on('error', () => undefined);
    const r = await a.results;
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /did not complete within 300 ms|closed the connection/);
    raw.destroy();
  } finally {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
