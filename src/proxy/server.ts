/**
 * The proxy: a short stack of connection layers (docs/architecture.md, "The connection stack").
 *
 *   client side:  accept → [CONNECT?] → [TLS ClientHello?] → HTTP head reader → upgrade → Session
 *                                                                            ↘ plain HTTP pass-through
 *   target side:  dial → [TLS] → request head → response head
 *
 * Each layer decides what the bytes are and hands the stream on; the bracketed ones are seams
 * (a layer that takes a socket, the bytes read so far and the connection context; a dialer that is
 * a function of the target). This file only builds the stack and the control API.
 */
import type net from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { MAX_HEADER_LINES } from '../protocol/http1.js';
import type { MessageInterceptor } from '../intercept/verdict.js';
import type { ProxyControl, SessionControl } from './control.js';
import type { RelayLimits } from './direction-pipe.js';
import type { ProxyBus, ProxyEvents } from './events.js';
import { listenTcp, peerAddress } from './layers/accept.js';
import type { ConnectionContext, Dialer, LayerDeps } from './layers/context.js';
import type { AdmissionHook } from './admission.js';
import { plainHttpLayer } from './layers/http-pass.js';
import { serveHttp, type RequestLayers } from './layers/http-reader.js';
import { upgradeLayer } from './layers/upgrade.js';
import { randomMaskKeys, type MaskKeySource } from './mask-keys.js';
import { installNativeMask } from './native-mask.js';
import type { Session } from './session.js';
import { StatsTracker } from '../export/stats-tracker.js';
import { dialTcp, formatTarget, type Target } from './upstream.js';
import { connectLayer, type ForwardSetup } from '../forward/connect.js';
import { serveTls, type ClientTlsSetup, type NextLayer } from '../tls/tls-layer.js';
import { requestedTarget } from './layers/target-head.js';
import { SocketReader } from './layers/socket-reader.js';

/** Nothing read yet: one empty buffer for every connection (it is replaced, never written). */
const NO_BYTES = Buffer.alloc(0);

export interface ProxyOptions {
  readonly listen: { readonly host: string; readonly port: number };
  /** null: forward-proxy mode (CONNECT and absolute-form requests; `forward` says how). */
  readonly target: Target | null;
  /** --tls: the listener speaks TLS with these certificates. */
  readonly listenTls?: ClientTlsSetup;
  /** Forward mode's CONNECT handling (required when target is null). */
  readonly forward?: ForwardSetup;
  /** Keep the client's Host header instead of naming the target. */
  readonly keepHost: boolean;
  /** false: strip permessage-deflate from the client's offer (--no-deflate). */
  readonly deflate: boolean;
  readonly strict: boolean;
  readonly limits: RelayLimits;
  readonly bus?: ProxyBus;
  readonly keys?: MaskKeySource;
  readonly now?: () => number;
  /** Bound on connecting to the target and on its answer (504 past it). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Bound on a client's request head (408 past it). Default 30 s. */
  readonly headTimeoutMs?: number;
  /** More request header lines than this get 431. Default MAX_HEADER_LINES. */
  readonly maxHeaderLines?: number;
  /** How the target is reached; TCP by default. */
  readonly dial?: Dialer;
  /** Asked before each upgrade is dialled (fault rules: handshake refusals, storms). */
  readonly admit?: AdmissionHook;
}

export interface RunningProxy extends ProxyControl {
  /** The bound port (useful with port 0). */
  readonly port: number;
}

export async function createProxy(options: ProxyOptions): Promise<RunningProxy> {
  installNativeMask();
  const bus: ProxyBus = options.bus ?? new EventEmitter<ProxyEvents>();
  const now = options.now ?? Date.now;
  const target = options.target;
  const sessions = new Map<number, Session>();
  let interceptorList: { interceptor: MessageInterceptor; order: number; seq: number }[] = [];
  let interceptors: readonly MessageInterceptor[] = [];
  let nextSession = 1;
  let nextId = 1;
  let seq = 0;
  let closing = false;
  /** Connections not (or no longer) owned by a session: reading heads, passing HTTP, relaying a refusal. */
  const loose = new Set<net.Socket>();
  /** One listener for every loose socket (no closure per connection); a session's sockets drop it. */
  function forget(this: net.Socket): void {
    loose.delete(this);
  }
  const stats = new StatsTracker(bus);

  const deps: LayerDeps = {
    settings: {
      keepHost: options.keepHost,
      deflate: options.deflate,
      strict: options.strict,
      limits: options.limits,
      upstreamTimeoutMs: options.connectTimeoutMs ?? 10_000,
      headTimeoutMs: options.headTimeoutMs ?? 30_000,
      maxHeaderLines: options.maxHeaderLines ?? MAX_HEADER_LINES,
    },
    bus,
    keys: options.keys ?? randomMaskKeys(),
    now,
    dial: options.dial ?? dialTcp,
    // Reverse mode: every request goes to --target (a forward mode routes by CONNECT authority or Host).
    // Forward mode without CONNECT: the absolute-form URL, else the Host header.
    route: (ctx, request) => ctx.upstream ?? target ?? requestedTarget(request),
    nextSession: () => nextSession++,
    nextId: () => nextId++,
    interceptors: () => interceptors,
    sessions,
    track(socket) {
      if (loose.has(socket)) return;
      loose.add(socket);
      socket.on('close', forget);
    },
    untrack(socket) {
      if (loose.delete(socket)) socket.off('close', forget);
    },
    closing: () => closing,
    log: (session, level, text) => bus.emit('log', { session, time: now(), source: 'proxy', level, text }),
    stats: (close) => stats.finish(close),
    statsSink: (session, openTime) => stats.open(session, openTime),
    ...(options.admit === undefined ? {} : { admit: options.admit }),
  };

  const serve: NextLayer = (socket, first, ctx) => serveHttp(socket, first, ctx, deps, layers);
  if (target === null && options.forward === undefined) throw new Error('forward mode needs its CONNECT setup');
  const layers: RequestLayers = {
    upgrade: upgradeLayer(deps),
    plain: plainHttpLayer(deps),
    ...(target === null ? { connect: connectLayer(deps, options.forward!, serve) } : {}),
  };
  const listenTls = options.listenTls;
  /** Certificate names for a ClientHello without SNI. */
  const tlsNames = [...new Set(['localhost', '127.0.0.1', '::1', options.listen.host].filter((h) => h !== '0.0.0.0' && h !== '::'))];

  // accept → (a TLS or CONNECT layer slots in here, handing on a decrypted socket) → HTTP head reader.
  const listener = await listenTcp(options.listen.host, options.listen.port, (socket) => {
    deps.track(socket);
    const ctx: ConnectionContext = { client: peerAddress(socket), mode: target === null ? 'forward' : 'reverse', upstream: target, tls: null };
    const served = listenTls === undefined ? serve(socket, NO_BYTES, ctx) : serveTls(new SocketReader(socket), ctx, deps, listenTls, tlsNames, serve);
    served.catch((error: unknown) => {
      bus.emit('error', error instanceof Error ? error : new Error(String(error)), { session: null });
      socket.destroy();
    });
  });
  listener.on('error', (error) => bus.emit('error', error, { session: null }));
  const address = listener.address() as net.AddressInfo;

  const control: RunningProxy = {
    bus,
    port: address.port,
    listening: formatTarget({ host: address.address, port: address.port, basePath: '' }),
    target: target === null ? 'forward proxy' : `${target.tls === true ? 'wss://' : ''}${formatTarget(target)}${target.basePath}`,
    session: (id: number): SessionControl | undefined => sessions.get(id),
    sessions: (): SessionControl[] => [...sessions.values()],
    use(interceptor: MessageInterceptor, order: number): () => void {
      const entry = { interceptor, order, seq: seq++ };
      interceptorList = [...interceptorList, entry].sort((a, b) => a.order - b.order || a.seq - b.seq);
      interceptors = interceptorList.map((e) => e.interceptor);
      return () => {
        interceptorList = interceptorList.filter((e) => e !== entry);
        interceptors = interceptorList.map((e) => e.interceptor);
      };
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      listener.close();
      const open = [...sessions.values()];
      // RFC 6455 §7.4.1: 1001 "going away", as a server does when it shuts down.
      for (const s of open) s.close(1001, 'proxy shutting down');
      await Promise.race([Promise.all(open.map((s) => s.done)), delay(2000)]);
      for (const socket of loose) socket.destroy();
      stats.stop();
    },
  };
  return control;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
