/**
 * TLS toward the target (wss:// and https:// targets, and intercepted CONNECT tunnels): SNI is the
 * host name the user or client asked for, never an IP literal (RFC 6066 §3); ALPN offers
 * http/1.1 only, so a server that prefers h2 cannot strand the upgrade (RFC 8441 would be needed
 * to carry WebSocket over h2). Verification failures come back as the one-line reason for the 502.
 */
import net from 'node:net';
import tls from 'node:tls';
import { serverFacts, type TlsServerFacts } from './facts.js';
import type { KeyLog } from './keylog.js';
import type { TargetTrust } from './trust.js';

export interface TlsDialOptions {
  /** The name the client meant: used for SNI and the certificate check. */
  readonly host: string;
  readonly port: number;
  /** Where to connect (an address from --resolve, or the host itself). */
  readonly address?: string;
  /** An already connected TCP socket to run TLS over instead of dialling. */
  readonly socket?: net.Socket;
  readonly trust: TargetTrust;
  readonly keylog: KeyLog | null;
  readonly timeoutMs: number;
}

export type TlsDialResult =
  | { readonly ok: true; readonly socket: tls.TLSSocket; readonly facts: TlsServerFacts }
  | { readonly ok: false; readonly reason: string };

export function sniFor(host: string): string | null {
  return net.isIP(host) === 0 && host !== '' ? host.replace(/\.$/, '') : null;
}

export function dialTls(options: TlsDialOptions): Promise<TlsDialResult> {
  return new Promise((resolve) => {
    const servername = sniFor(options.host);
    const name = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    const base: tls.ConnectionOptions = {
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: !options.trust.insecure,
      // The name is checked whether or not SNI was sent (an IP target is checked against IP SANs).
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(options.host, cert),
      ...(servername !== null ? { servername } : {}),
      ...(options.trust.ca !== null ? { ca: [...options.trust.ca] } : {}),
    };
    const socket =
      options.socket !== undefined
        ? tls.connect({ ...base, socket: options.socket })
        : tls.connect({ ...base, host: options.address ?? options.host, port: options.port, noDelay: true } as tls.ConnectionOptions);
    options.keylog?.attach(socket);
    let settled = false;
    const finish = (result: TlsDialResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `target ${name}: TLS handshake did not complete within ${options.timeoutMs} ms` }), options.timeoutMs);
    const onError = (error: NodeJS.ErrnoException): void => finish({ ok: false, reason: `target ${name}: ${describeTlsError(error)}` });
    socket.on('error', onError);
    socket.once('secureConnect', () => {
      // Errors after the handshake belong to whoever owns the socket next; until then, swallow none.
      socket.on('error', () => undefined);
      finish({ ok: true, socket, facts: serverFacts(socket, servername, options.trust.insecure) });
    });
    socket.once('close', () => finish({ ok: false, reason: `target ${name} closed the connection during the TLS handshake` }));
  });
}

/**
 * OpenSSL's reason in its own words ("certificate has expired", "wrong version number"), without
 * the address, codes and source path of its error string
 * (`801C…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:`).
 */
export function describeTlsError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `certificate name mismatch: ${error.message}`;
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'ECONNRESET' || error.code === 'EHOSTUNREACH' || error.code === 'ETIMEDOUT') return error.code;
  const reason = OPENSSL_REASON.exec(error.message)?.[1]?.trim();
  if (reason === 'wrong version number') return 'wrong version number: it does not speak TLS here (a ws:// target?)';
  return reason || error.message.trim() || (error.code ?? 'TLS error');
}

/** The reason field of an OpenSSL error string: after "… routines:function:" (function may be empty). */
const OPENSSL_REASON = /routines:[^:]*:([^:\n]+)/;
