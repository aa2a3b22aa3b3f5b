/**
 * What the connection layers share. A layer gets a socket (a plain `net.Socket`, or a decrypted
 * `tls.TLSSocket`, which is one too), the bytes already read from it, and the connection's
 * context; it decides what the bytes are and hands the stream on. Toward the target, a `Dialer`
 * turns a target into a connected socket, so a TLS dialer replaces the TCP one without the layers
 * above it knowing.
 */
import type { Socket } from 'node:net';
import type { MessageInterceptor } from '../../intercept/verdict.js';
import type { RelayLimits } from '../direction-pipe.js';
import type { CloseRecord, ProxyBus } from '../events.js';
import type { SessionStats } from '../../export/stats.js';
import type { StatsSink } from '../pipe-records.js';
import type { MaskKeySource } from '../mask-keys.js';
import type { Session } from '../session.js';
import type { Target } from '../upstream.js';
import type { AdmissionHook } from '../admission.js';

import type { TlsClientFacts, TlsServerFacts } from '../../tls/facts.js';
import type { IncomingRequest } from './http-reader.js';

export interface ConnectionContext {
  /** "ip:port" of the client as the proxy saw it. */
  readonly client: string;
  /** reverse: every request goes to --target; forward: to the host the client asks for. */
  readonly mode: 'reverse' | 'forward';
  /** Where this connection's requests go (the --target, or a CONNECT authority); null: decided per request. */
  readonly upstream: Target | null;
  /** The client leg's TLS, or null when it is plaintext. */
  readonly tls: TlsClientFacts | null;
  /** How this connection reaches its upstream when not the proxy's dialer (a CONNECT tunnel's pre-dialled socket). */
  readonly dial?: Dialer;
}

/** A dial either gives a connected socket or the status and one-line reason to answer the client with. */
export type DialResult =
  | { readonly ok: true; readonly socket: Socket; readonly tls?: TlsServerFacts }
  | { readonly ok: false; readonly status: 502 | 504; readonly reason: string };

export type Dialer = (target: Target, timeoutMs: number) => Promise<DialResult>;

export interface ProxySettings {
  /** Keep the client's Host header instead of naming the target. */
  readonly keepHost: boolean;
  /** false: strip permessage-deflate from the client's offer (--no-deflate). */
  readonly deflate: boolean;
  readonly strict: boolean;
  readonly limits: RelayLimits;
  /** Bound on connecting to the target and on its answer to a request (502/504 past it). */
  readonly upstreamTimeoutMs: number;
  /** Bound on a client's request head (408 past it). */
  readonly headTimeoutMs: number;
  /** More request header lines than this get 431. */
  readonly maxHeaderLines: number;
}

/** Everything a layer may reach: settings, the bus, ids, the dialer, the live sessions. */
export interface LayerDeps {
  readonly settings: ProxySettings;
  readonly bus: ProxyBus;
  readonly keys: MaskKeySource;
  readonly now: () => number;
  readonly dial: Dialer;
  /** Where a request on this connection goes; null when it names no target the proxy can reach. */
  route(ctx: ConnectionContext, request: IncomingRequest): Target | null;
  nextSession(): number;
  nextId(): number;
  interceptors(): readonly MessageInterceptor[];
  readonly sessions: Map<number, Session>;
  /** Sockets not owned by a session, cut when the proxy closes. */
  track(socket: Socket): void;
  untrack(socket: Socket): void;
  closing(): boolean;
  log(session: number | null, level: 'info' | 'warn' | 'error', text: string): void;
  /** The session's final numbers for its close record (export/stats-tracker.ts). */
  stats(close: Omit<CloseRecord, 'stats'>): SessionStats | null;
  /** Where a session's pipes count its frames and messages (export/stats-tracker.ts). */
  statsSink(session: number, openTime: number): StatsSink;
  /** Asked before an upgrade is dialled: pass, hold, or refuse it (fault rules); absent: every upgrade passes. */
  readonly admit?: AdmissionHook;
}
