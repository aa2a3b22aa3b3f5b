/**
 * The TLS facts of each leg, for the `open` record and the TUI's session detail: what was
 * negotiated with the client and with the target, and what the target's certificate says.
 */
import type { TLSSocket } from 'node:tls';

export interface TlsClientFacts {
  /** "TLSv1.3", "TLSv1.2", ... */
  readonly version: string | null;
  /** IANA/RFC name of the cipher suite, e.g. "TLS_AES_128_GCM_SHA256". */
  readonly cipher: string | null;
  /** The server name the client sent (SNI), or null when it sent none. */
  readonly sni: string | null;
  /** The protocol agreed by ALPN, or null when the client offered none. */
  readonly alpn: string | null;
}

export interface TlsServerFacts {
  readonly version: string | null;
  readonly cipher: string | null;
  /** The server name the proxy sent (null for an IP literal, RFC 6066 §3). */
  readonly sni: string | null;
  readonly alpn: string | null;
  /** Whether the certificate chain and name were verified (false only with --insecure). */
  readonly verified: boolean;
  /** --insecure was given: the connection went ahead whatever the verification said. */
  readonly insecure: boolean;
  /** Why verification failed (an OpenSSL or Node error code), or null. */
  readonly verifyError: string | null;
  readonly certificate: {
    readonly subject: string;
    readonly issuer: string;
    /** notAfter as OpenSSL prints it ("Mar  1 12:00:00 2027 GMT"). */
    readonly validTo: string;
    /** SHA-256 of the certificate, colon-separated hex. */
    readonly fingerprint256: string;
  } | null;
}

/** Both legs; each is null when that leg is plaintext. */
export interface TlsFacts {
  readonly client: TlsClientFacts | null;
  readonly server: TlsServerFacts | null;
}

function cipherName(socket: TLSSocket): string | null {
  const c = socket.getCipher() as { standardName?: string; name?: string } | undefined;
  return c?.standardName ?? c?.name ?? null;
}

function alpnOf(socket: TLSSocket): string | null {
  return typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null;
}

export function clientFacts(socket: TLSSocket): TlsClientFacts {
  const sni = (socket as TLSSocket & { servername?: string | false }).servername;
  return { version: socket.getProtocol(), cipher: cipherName(socket), sni: typeof sni === 'string' ? sni : null, alpn: alpnOf(socket) };
}

/** A distinguished name as one line, most specific first (RFC 4514 order): "CN=a, O=b, C=c". */
function dn(fields: Readonly<Record<string, string | string[] | undefined>> | undefined): string {
  if (fields === undefined) return '';
  return Object.entries(fields)
    .filter((e): e is [string, string | string[]] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .reverse()
    .join(', ');
}

export function serverFacts(socket: TLSSocket, sni: string | null, insecure: boolean): TlsServerFacts {
  const peer = socket.getPeerCertificate(false);
  const hasCert = peer !== null && typeof peer === 'object' && typeof peer.fingerprint256 === 'string';
  const error = socket.authorizationError as unknown;
  return {
    version: socket.getProtocol(),
    cipher: cipherName(socket),
    sni,
    alpn: alpnOf(socket),
    verified: socket.authorized,
    insecure,
    verifyError: error === null || error === undefined ? null : error instanceof Error ? error.message : String(error),
    certificate: hasCert
      ? {
          subject: dn(peer.subject as unknown as Record<string, string>),
          issuer: dn(peer.issuer as unknown as Record<string, string>),
          validTo: peer.valid_to,
          fingerprint256: peer.fingerprint256,
        }
      : null,
  };
}
