/**
 * The local CA: created on first need with safe file modes, reloaded as it is, one-line errors
 * for a corrupt file or an unwritable directory, and leaves that a TLS client accepts for the
 * name it asked for (DNS or IP), issued fast from one shared key and cached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import net from 'node:net';
import { CaError, defaultCaDir, openCa } from '../../src/tls/ca.js';
import { createLeafIssuer } from '../../src/tls/leaf-issuer.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'wsproxy-ca-'));

test('first use creates ca.pem and ca-key.pem, key 0600 in a 0700 directory; the second use loads the same CA', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'home');
    const ca = await openCa(dir);
    assert.equal(ca.created, true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(ca.keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(ca.certPath).mode & 0o077 & 0o022, 0, 'ca.pem is not group/world writable');
    const cert = new X509Certificate(readFileSync(ca.certPath));
    assert.equal(cert.ca, true);
    assert.equal(ca.fingerprint256, cert.fingerprint256);
    assert.equal(ca.spkiSha256, createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64'));
    assert.equal(ca.keyModeWarning, null);
    const again = await openCa(dir);
    assert.equal(again.created, false);
    assert.equal(again.fingerprint256, ca.fingerprint256);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('WSPROXY_HOME names the default directory, else ~/.wsproxy', () => {
  assert.equal(defaultCaDir({ WSPROXY_HOME: '/x/y' }), '/x/y');
  assert.match(defaultCaDir({}), /\.wsproxy$/);
});

test('a corrupt ca.pem is a one-line error naming the file', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'ca-key.pem'), 'x', { mode: 0o600 });
    await assert.rejects(openCa(dir), (e: Error) => e instanceof CaError && e.message.startsWith(join(dir, 'ca.pem')) && !e.message.includes('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key that does not match the certificate, or a missing key, is refused naming the file', async () => {
  const a = tmp();
  const b = tmp();
  try {
    await openCa(a);
    await openCa(b);
    writeFileSync(join(a, 'ca-key.pem'), readFileSync(join(b, 'ca-key.pem')));
    await assert.rejects(openCa(a), (e: Error) => e instanceof CaError && e.message.includes(join(a, 'ca-key.pem')) && e.message.includes('does not match'));
    rmSync(join(b, 'ca-key.pem'));
    await assert.rejects(openCa(b), (e: Error) => e instanceof CaError && e.message.includes(join(b, 'ca-key.pem')) && e.message.includes('missing'));
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('a directory that cannot be created is a one-line error naming it', async () => {
  const dir = tmp();
  try {
    // A regular file where a directory should be: fails even for root.
    writeFileSync(join(dir, 'file'), '');
    const bad = join(dir, 'file', 'ca');
    await assert.rejects(openCa(bad), (e: Error) => e instanceof CaError && e.message.startsWith(`cannot create the CA directory ${bad}: ENOTDIR`) && !e.message.includes('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key file readable by others is reported', async () => {
  const dir = tmp();
  try {
    const ca = await openCa(dir);
    chmodSync(ca.keyPath, 0o644);
    const again = await openCa(dir);
    assert.match(again.keyModeWarning ?? '', /readable by others \(mode 0644\); run chmod 600/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Completes a TLS handshake against `context`, trusting only the CA, with the given SNI (or none). */
async function handshake(context: tls.SecureContext, caPem: string, name: string, sni: boolean): Promise<{ authorized: boolean; error: string | null; cert: tls.PeerCertificate }> {
  const server = net.createServer((raw) => {
    const s = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    return await new Promise((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, ca: caPem, ...(sni ? { servername: name } : {}), checkServerIdentity: (_h, cert) => tls.checkServerIdentity(name, cert) });
      c.once('secureConnect', () => {
        resolve({ authorized: c.authorized, error: c.authorizationError === null ? null : String(c.authorizationError), cert: c.getPeerCertificate() });
        c.destroy();
      });
      c.once('error', reject);
    });
  } finally {
    server.close();
  }
}

test('leaves for DNS names and IP literals are accepted by a client trusting only the CA', async () => {
  const dir = tmp();
  try {
    const ca = await openCa(dir);
    const issuer = await createLeafIssuer(ca);
    const dns = await handshake(await issuer.context(['App.Test.']), ca.certPem, 'app.test', true);
    assert.equal(dns.authorized, true, dns.error ?? '');
    assert.equal(dns.cert.subjectaltname, 'DNS:app.test');
    const ip = await handshake(await issuer.context(['127.0.0.1']), ca.certPem, '127.0.0.1', false);
    assert.equal(ip.authorized, true, ip.error ?? '');
    assert.equal(ip.cert.subjectaltname, 'IP Address:127.0.0.1');
    const v6 = await handshake(await issuer.context(['[::1]', 'localhost']), ca.certPem, '::1', false);
    assert.equal(v6.authorized, true, v6.error ?? '');
    // A leaf for another name is refused by the name check.
    await assert.rejects(handshake(await issuer.context(['other.test']), ca.certPem, 'app.test', true), /altnames/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('leaves share one key, are cached per name, and the cache is bounded', async () => {
  const dir = tmp();
  try {
    const ca = await openCa(dir);
    const issuer = await createLeafIssuer(ca, 3);
    const a = new X509Certificate(await issuer.certificate(['a.test']));
    const b = new X509Certificate(await issuer.certificate(['b.test']));
    assert.ok(a.publicKey.equals(b.publicKey), 'one shared leaf key');
    assert.ok(a.checkIssued(new X509Certificate(ca.certPem)));
    assert.ok(a.verify(new X509Certificate(ca.certPem).publicKey));
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.equal(await issuer.context(['a.test']), await issuer.context(['a.test']), 'same name, same cached context');
    assert.equal(await issuer.certificate(['a.test']), await issuer.certificate(['A.TEST']));
    await Promise.all(['c', 'd', 'e', 'f'].map((n) => issuer.context([`${n}.test`])));
    assert.equal(issuer.cached(), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
