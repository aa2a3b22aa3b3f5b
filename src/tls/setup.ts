/**
 * Turns the TLS flags into what the proxy needs before it listens: the target dialer (trust,
 * --insecure, --resolve, SSLKEYLOGFILE), the --tls listener's certificates, and forward mode's
 * CONNECT handling. The local CA is opened (or created) only when a leaf may be needed, so its
 * problems are one line before listening, not a failure at the first connection.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { TlsOptions } from '../cli/options.js';
import type { ForwardSetup } from '../forward/connect.js';
import type { Dialer } from '../proxy/layers/context.js';
import type { Target } from '../proxy/upstream.js';
import { openCa, type LocalCa } from './ca.js';
import { describeTlsError } from './dial.js';
import { tlsDialer } from './dialer.js';
import { openKeyLog, type KeyLog } from './keylog.js';
import { createLeafIssuer } from './leaf-issuer.js';
import { resolver, type Resolver } from './resolve.js';
import type { ClientTlsSetup } from './tls-layer.js';
import { TrustError, loadTargetTrust } from './trust.js';

export interface PreparedTls {
  readonly dial: Dialer;
  readonly resolve: Resolver;
  readonly listenTls: ClientTlsSetup | undefined;
  readonly forward: ForwardSetup | undefined;
  /** The CA, when one was opened (for the startup line and `wsproxy browser`). */
  readonly ca: LocalCa | null;
  readonly keylog: KeyLog | null;
  /** Lines to say at start (--insecure, the CA created, a loose key file). */
  readonly notes: readonly string[];
  close(): Promise<void>;
}

/** Why a certificate and key were refused, in words: what to do, not OpenSSL's codes. */
export function describeKeyPairError(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return 'no such file';
  const reason = describeTlsError(e);
  if (reason === 'key values mismatch') return 'the key does not match the certificate';
  if (reason === 'no start line') return 'not the PEM data expected there (are --cert and --key the other way round?)';
  if (/bad decrypt|bad password read|interrupted or cancelled/.test(reason)) return 'the key is encrypted; give it unencrypted (openssl pkey -in KEY -out key.pem)';
  return reason;
}

export async function prepareTls(options: TlsOptions, target: Target | null): Promise<PreparedTls> {
  const trust = loadTargetTrust(options.targetCa, options.insecure);
  const keylog = openKeyLog(options.keylogFile ?? undefined);
  const resolve = resolver(options.resolve);
  const dialer = tlsDialer({ trust, keylog, resolve });
  const notes: string[] = [];
  // (--insecure is said on the listening line, which is printed for it even with the TUI.)
  if (keylog !== null) notes.push(`SSLKEYLOGFILE: TLS secrets of both legs are appended to ${keylog.path}`);
  const needCa = target === null || (options.listen && options.cert === null);
  const ca = needCa ? await openCa(options.caDir) : null;
  if (ca?.created === true) notes.push(`created the local CA in ${ca.certPath} (see wsproxy ca to trust it)`);
  if (ca !== null && ca.keyModeWarning !== null) notes.push(`warning: ${ca.keyModeWarning}`);
  const issuer = ca === null ? null : await createLeafIssuer(ca);
  let fixed: tls.SecureContext | null = null;
  if (options.cert !== null && options.key !== null) {
    try {
      fixed = tls.createSecureContext({ cert: readFileSync(options.cert), key: readFileSync(options.key), minVersion: 'TLSv1.2' });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new TrustError(`--cert ${options.cert} / --key ${options.key}: ${describeKeyPairError(e)}`);
    }
  }
  const clientTls: ClientTlsSetup = { fixed, issuer, keylog };
  return {
    dial: dialer.dial,
    resolve,
    listenTls: options.listen ? clientTls : undefined,
    forward: target === null ? { ignoreHosts: options.ignoreHosts, dialer, resolve, clientTls } : undefined,
    ca,
    keylog,
    notes,
    close: async () => keylog?.close(),
  };
}
