/**
 * What the proxy trusts when it dials a wss:// or https:// target: Node's bundled roots, plus
 * NODE_EXTRA_CA_CERTS, plus every --target-ca file (added to the roots, never replacing them).
 * Node applies NODE_EXTRA_CA_CERTS only to its default store, which a `ca` option replaces; so
 * when --target-ca is given the list is built here from all three.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

export interface TargetTrust {
  /** Certificates to verify against; null = Node's default store (roots + NODE_EXTRA_CA_CERTS). */
  readonly ca: readonly string[] | null;
  /** --insecure: connect whatever the certificate says, and say so on every record. */
  readonly insecure: boolean;
}

export class TrustError extends Error {
  override readonly name = 'TrustError';
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a file; a one-line error naming the file when there are none or one is broken. */
export function readPemCertificates(path: string, flag: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TrustError(`${flag} ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const certs = text.match(PEM_CERT) ?? [];
  if (certs.length === 0) throw new TrustError(`${flag} ${path}: no PEM certificate in it`);
  for (const pem of certs) {
    try {
      new X509Certificate(pem);
    } catch {
      throw new TrustError(`${flag} ${path}: a certificate in it cannot be parsed`);
    }
  }
  return certs;
}

export function loadTargetTrust(targetCa: readonly string[], insecure: boolean, env: NodeJS.ProcessEnv = process.env): TargetTrust {
  if (targetCa.length === 0) return { ca: null, insecure };
  const extra = env['NODE_EXTRA_CA_CERTS'];
  const ca = [
    ...tls.rootCertificates,
    ...(extra !== undefined && extra !== '' ? readPemCertificates(extra, 'NODE_EXTRA_CA_CERTS') : []),
    ...targetCa.flatMap((file) => readPemCertificates(file, '--target-ca')),
  ];
  return { ca, insecure };
}
