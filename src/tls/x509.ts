/**
 * Loads @peculiar/x509 on first use, so a proxy that never issues a certificate does not load it.
 * Its dependency injection (tsyringe) needs the Reflect metadata API, which `reflect-metadata`
 * (the polyfill tsyringe documents) installs when it is imported.
 */
import { webcrypto } from 'node:crypto';

type X509 = typeof import('@peculiar/x509');

let loaded: Promise<X509> | null = null;

export function loadX509(): Promise<X509> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<X509['cryptoProvider']['set']>[0]);
    return x509;
  })();
  return loaded;
}

/** ECDSA P-256 with SHA-256: small keys, fast signatures, accepted by every TLS stack. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
