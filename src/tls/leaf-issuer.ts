/**
 * Leaf certificates on demand, one per name the client asked for (SNI, or the CONNECT host), signed
 * by the local CA. One P-256 key pair made at start serves every leaf, so issuing is one ECDSA
 * signature (a few ms) instead of a key generation; the secure contexts are kept in a bounded
 * cache (least recently used goes first), and concurrent requests for one name share one issuance.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import { webcrypto } from 'node:crypto';
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import type { LocalCa } from './ca.js';
import { serial } from './ca.js';
import { EC_P256, loadX509, toPem } from './x509.js';

export interface LeafIssuer {
  /** A server context whose certificate covers `names` (the first is the subject's CN). */
  context(names: readonly string[]): Promise<tls.SecureContext>;
  /** The PEM of the certificate for `names`, as `context` would serve it (for tests and `wsproxy ca`). */
  certificate(names: readonly string[]): Promise<string>;
  readonly cached: () => number;
}

export const DEFAULT_LEAF_CACHE = 1000;
const LEAF_DAYS = 90;

/** Lower-case, no brackets, no trailing dot: the form a SAN is written in. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

export async function createLeafIssuer(ca: LocalCa, cacheSize = DEFAULT_LEAF_CACHE): Promise<LeafIssuer> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const keyPem = toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const caCert = new x509.X509Certificate(ca.certPem);
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
  const cache = new Map<string, Promise<{ pem: string; context: tls.SecureContext }>>();

  const issue = async (names: readonly string[]): Promise<{ pem: string; context: tls.SecureContext }> => {
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: [{ CN: [names[0]!] }],
      issuer: caCert.subject,
      notBefore: new Date(now - 24 * 3600_000),
      notAfter: new Date(now + LEAF_DAYS * 24 * 3600_000),
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) !== 0 ? { type: 'ip', value: n } : { type: 'dns', value: n }))),
        authorityKeyId,
      ],
    });
    const pem = cert.toString('pem') + '\n';
    // The CA goes in the chain too: clients that trust by its key hash (Chromium's
    // --ignore-certificate-errors-spki-list) must see it among the certificates presented.
    const context = tls.createSecureContext({ cert: pem + ca.certPem, key: keyPem, minVersion: 'TLSv1.2' });
    return { pem, context };
  };

  const get = (names: readonly string[]): Promise<{ pem: string; context: tls.SecureContext }> => {
    const list = [...new Set(names.map(normalizeName).filter((n) => n !== ''))];
    if (list.length === 0) return Promise.reject(new Error('no name to issue a certificate for'));
    const key = list.join(',');
    let entry = cache.get(key);
    if (entry !== undefined) {
      cache.delete(key);
      cache.set(key, entry);
      return entry;
    }
    entry = issue(list);
    cache.set(key, entry);
    entry.catch(() => cache.delete(key));
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return entry;
  };

  return {
    context: async (names) => (await get(names)).context,
    certificate: async (names) => (await get(names)).pem,
    cached: () => cache.size,
  };
}
