/**
 * The proxy's dialer with TLS: TCP to the target (or the address --resolve gives its name), then,
 * for a TLS target, the handshake on that connection. A verification failure is the 502's reason;
 * a handshake that does not finish in the upstream time-out is a 504.
 */
import type net from 'node:net';
import type { DialResult, Dialer } from '../proxy/layers/context.js';
import { dialTcp, formatTarget, type Target } from '../proxy/upstream.js';
import { dialTls } from './dial.js';
import type { KeyLog } from './keylog.js';
import type { Resolver } from './resolve.js';
import type { TargetTrust } from './trust.js';

export interface TlsDialerOptions {
  readonly trust: TargetTrust;
  readonly keylog: KeyLog | null;
  readonly resolve: Resolver;
}

export interface TlsDialer {
  readonly dial: Dialer;
  /** TLS (when the target needs it) over a connection already made to the target. */
  over(socket: net.Socket, target: Target, timeoutMs: number): Promise<DialResult>;
}

export function tlsDialer(options: TlsDialerOptions): TlsDialer {
  const over = async (socket: net.Socket, target: Target, timeoutMs: number): Promise<DialResult> => {
    if (target.tls !== true) return { ok: true, socket };
    const r = await dialTls({ host: target.host, port: target.port, socket, trust: options.trust, keylog: options.keylog, timeoutMs });
    if (!r.ok) {
      socket.destroy();
      return { ok: false, status: /did not complete within/.test(r.reason) ? 504 : 502, reason: r.reason };
    }
    return { ok: true, socket: r.socket, tls: r.facts };
  };
  return {
    over,
    async dial(target, timeoutMs) {
      const address = options.resolve(target.host);
      const tcp = await dialTcp({ ...target, host: address }, timeoutMs);
      if (!tcp.ok) return address === target.host ? tcp : { ...tcp, reason: tcp.reason.replace(formatTarget({ ...target, host: address }), `${formatTarget(target)} (--resolve ${address})`) };
      // A plaintext target is ready as it is.
      return target.tls === true ? over(tcp.socket, target, timeoutMs) : tcp;
    },
  };
}
