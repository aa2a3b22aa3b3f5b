/**
 * Loads @peculiar/x509 on first use. Its dependency injection (tsyringe) needs the three
 * `Reflect` metadata functions of the reflect-metadata proposal; only tsyringe's use of them is
 * provided here (own and inherited lookups, define), installed only where they are missing, so
 * the package is not pulled in for a proxy that never issues a certificate.
 */
import { webcrypto } from 'node:crypto';

type X509 = typeof import('@peculiar/x509');

interface ReflectMetadata {
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  getMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
}

function installReflectMetadata(): void {
  const r = Reflect as unknown as ReflectMetadata;
  if (r.getMetadata !== undefined && r.getOwnMetadata !== undefined && r.defineMetadata !== undefined) return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  r.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  r.getMetadata = (key, target) => {
    for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
      const own = store.get(o);
      if (own?.has(key) === true) return own.get(key);
    }
    return undefined;
  };
  r.defineMetadata = (key, value, target) => {
    let own = store.get(target);
    if (own === undefined) store.set(target, (own = new Map()));
    own.set(key, value);
  };
}

let loaded: Promise<X509> | null = null;

export function loadX509(): Promise<X509> {
  loaded ??= (async () => {
    installReflectMetadata();
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
