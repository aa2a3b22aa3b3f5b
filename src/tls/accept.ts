/**
 * TLS toward the client (--tls, and CONNECT tunnels that start with a ClientHello). The
 * ClientHello is read before the TLS stack sees it, so the certificate can be chosen (issued) for
 * the name the client asked for before the handshake starts; ALPN offers http/1.1 only.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { clientFacts, type TlsClientFacts } from './facts.js';
import type { KeyLog } from './keylog.js';
import { describeTlsError } from './dial.js';

export type TlsAcceptResult =
  | { readonly ok: true; readonly socket: tls.TLSSocket; readonly facts: TlsClientFacts }
  | { readonly ok: false; readonly reason: string; readonly rejectedCertificate: boolean };

export interface TlsAcceptOptions {
  readonly context: tls.SecureContext;
  readonly keylog: KeyLog | null;
  readonly timeoutMs: number;
  /** Bytes already read from `raw` (the sniffed ClientHello): replayed first. */
  readonly head: Buffer;
}

/** TLS alerts a client sends when it does not accept the certificate (RFC 8446 §6.2). */
const CERT_ALERTS = /alert (bad certificate|unknown ca|certificate unknown|certificate expired|unsupported certificate|certificate revoked|decrypt error|access denied)/i;

export function rejectionText(name: string): string {
  return `client rejected the proxy's certificate for ${name}: trust the CA, see \`wsproxy ca\``;
}

export function acceptTls(raw: net.Socket, options: TlsAcceptOptions): Promise<TlsAcceptResult> {
  return new Promise((resolve) => {
    if (options.head.length > 0) raw.unshift(options.head);
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: options.context, ALPNProtocols: ['http/1.1'] });
    options.keylog?.attach(socket);
    let settled = false;
    const finish = (result: TlsAcceptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('end', gone);
      socket.off('close', gone);
      if (!result.ok) {
        socket.destroy();
        raw.destroy();
      }
      resolve(result);
    };
    // A handshake that never completes is timed out like a request head.
    const timer = setTimeout(() => finish({ ok: false, reason: `TLS handshake did not complete within ${options.timeoutMs} ms`, rejectedCertificate: false }), options.timeoutMs);
    timer.unref();
    const onError = (error: Error): void => {
      // Only the alert's name: OpenSSL's string around it has an address, codes and a source path.
      const alert = CERT_ALERTS.exec(error.message);
      finish({ ok: false, reason: alert !== null ? `TLS ${alert[0]}` : `TLS handshake failed: ${describeTlsError(error)}`, rejectedCertificate: alert !== null });
    };
    socket.on('error', onError);
    socket.once('secure', () => {
      socket.on('error', () => undefined);
      finish({ ok: true, socket, facts: clientFacts(socket) });
    });
    // The proxy answers a complete ClientHello at once, so a client that hangs up before finishing
    // has seen the certificate; Node and some others do not send an alert when they refuse it.
    // A listener that allows half-open connections sees only 'end' when the client goes.
    const gone = (): void => finish({ ok: false, reason: 'client closed the connection during the TLS handshake', rejectedCertificate: true });
    socket.once('end', gone);
    socket.once('close', gone);
  });
}
