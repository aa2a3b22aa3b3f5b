/**
 * The listener: reads each connection's request head itself, relays WebSocket upgrades byte for
 * byte to the target (own handshake path, so the 101 and every frame stay visible), hands plain
 * HTTP to http-proxy, and answers garbage with 400 and a dead target with 502.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import {
  header,
  isWebSocketUpgrade,
  parseExtensions,
  parseHead,
  parseRequestLine,
  rewriteHead,
  splitHead,
  verifyAccept,
  type HeadEdit,
  type HttpHead,
} from '../protocol/handshake.js';
import { deflateFromResponse, withoutDeflate, type DeflateParams } from '../protocol/deflate-params.js';
import { violation } from '../protocol/violations.js';
import type { MessageInterceptor } from '../intercept/verdict.js';
import type { ProxyControl, SessionControl } from './control.js';
import type { RelayLimits } from './direction-pipe.js';
import type { ProxyBus, ProxyEvents, SessionInfo } from './events.js';
import { createHttpPassthrough } from './http-passthrough.js';
import { randomMaskKeys, type MaskKeySource } from './mask-keys.js';
import { installNativeMask } from './native-mask.js';
import { Session } from './session.js';
import { StatsTracker } from '../export/stats-tracker.js';
import { dialUpstream, formatTarget, type Target } from './upstream.js';

export interface ProxyOptions {
  readonly listen: { readonly host: string; readonly port: number };
  readonly target: Target;
  /** Keep the client's Host header instead of naming the target. */
  readonly keepHost: boolean;
  /** false: strip permessage-deflate from the client's offer (--no-deflate). */
  readonly deflate: boolean;
  readonly strict: boolean;
  readonly limits: RelayLimits;
  readonly bus?: ProxyBus;
  readonly keys?: MaskKeySource;
  readonly now?: () => number;
  readonly connectTimeoutMs?: number;
  readonly headTimeoutMs?: number;
}

export interface RunningProxy extends ProxyControl {
  /** The bound port (useful with port 0). */
  readonly port: number;
}

/** A request line longer than this without a line end is not HTTP. */
const MAX_REQUEST_LINE = 8 * 1024;

export async function createProxy(options: ProxyOptions): Promise<RunningProxy> {
  installNativeMask();
  const bus: ProxyBus = options.bus ?? new EventEmitter<ProxyEvents>();
  const now = options.now ?? Date.now;
  const keys = options.keys ?? randomMaskKeys();
  const connectTimeout = options.connectTimeoutMs ?? 10_000;
  const headTimeout = options.headTimeoutMs ?? 30_000;
  const target = options.target;
  const sessions = new Map<number, Session>();
  let interceptorList: { interceptor: MessageInterceptor; order: number; seq: number }[] = [];
  let interceptors: readonly MessageInterceptor[] = [];
  let nextSession = 1;
  let nextId = 1;
  let seq = 0;
  let closing = false;
  const stats = new StatsTracker(bus);

  const log = (session: number | null, level: 'info' | 'warn' | 'error', text: string): void => {
    bus.emit('log', { session, time: now(), source: 'proxy', level, text });
  };

  const reject = (socket: Duplex, status: number, reason: string): void => {
    const body = `${status} ${http.STATUS_CODES[status] ?? ''}: ${reason}\n`;
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    }
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  const passthrough = createHttpPassthrough(
    target,
    options.keepHost,
    (req, socket, head) => {
      // Rebuilt from rawHeaders (names and order as sent): the original bytes were consumed by the HTTP parser.
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      const raw = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      const parsed = parseHead(raw);
      if (parsed.ok && socket instanceof net.Socket) void upgrade(socket, parsed.head, head);
      else reject(socket, 400, 'invalid upgrade request');
    },
    (error) => log(null, 'warn', `http pass-through: ${error.message}`),
  );

  /** Connections not (or no longer) owned by a session: mid-handshake, or relaying a refusal. */
  const loose = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    loose.add(socket);
    socket.once('close', () => loose.delete(socket));
  };

  const onConnection = (client: net.Socket): void => {
    track(client);
    let buffered: Buffer = Buffer.alloc(0);
    const peer = `${client.remoteAddress}:${client.remotePort}`;
    client.on('error', () => client.destroy());
    const timer = setTimeout(() => done(() => reject(client, 408, 'no complete request head in time')), headTimeout);
    timer.unref();
    const done = (then: () => void): void => {
      clearTimeout(timer);
      client.off('data', onData);
      client.pause();
      then();
    };
    const bad = (reason: string): void => {
      const id = nextSession++;
      bus.emit('violation', { session: id, time: now(), from: 'client', violation: violation('invalid-handshake', `${peer}: ${reason}`), frame: null });
      done(() => reject(client, 400, reason));
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // Garbage is answered as soon as it shows, not after a time-out.
      const lineEnd = buffered.indexOf('\r\n');
      if (lineEnd === -1) {
        if (buffered.length > MAX_REQUEST_LINE || !/^[A-Z]*$/.test(buffered.subarray(0, 16).toString('latin1').split(' ')[0]!)) bad('not an HTTP request');
        return;
      }
      if (parseRequestLine(buffered.subarray(0, lineEnd).toString('latin1')) === null) return bad('invalid request line');
      const split = splitHead(buffered);
      if (split.state === 'incomplete') return;
      if (split.state === 'too-large') return bad('request head too large');
      const parsed = parseHead(split.head);
      if (!parsed.ok) return bad(parsed.reason);
      done(() => {
        if (isWebSocketUpgrade(parsed.head)) void upgrade(client, parsed.head, Buffer.from(split.rest));
        else {
          // Plain HTTP: give the bytes back and let the HTTP server parse them.
          client.unshift(buffered);
          passthrough.emit('connection', client);
          client.resume();
        }
      });
    };
    client.on('data', onData);
  };

  const upgrade = async (client: net.Socket, request: HttpHead, rest: Buffer): Promise<void> => {
    const id = nextSession++;
    const client_ = `${client.remoteAddress}:${client.remotePort}`;
    client.pause();
    const line = parseRequestLine(request.startLine)!;
    const edits: HeadEdit[] = [];
    if (!options.keepHost) edits.push({ name: 'host', value: formatTarget(target) });
    if (!options.deflate) {
      const offer = header(request, 'sec-websocket-extensions');
      const offers = offer === null ? null : parseExtensions(offer);
      if (offers != null) edits.push({ name: 'sec-websocket-extensions', value: withoutDeflate(offers) });
    }
    const startLine = target.basePath === '' ? undefined : `${line.method} ${joinPath(target.basePath, line.target)} ${line.version}`;
    const upstream = await dialUpstream(target, rewriteHead(request, edits, startLine), connectTimeout);
    if (!upstream.ok) {
      log(id, 'error', `upgrade from ${client_} ${line.target} failed: ${upstream.reason}`);
      return reject(client, 502, upstream.reason);
    }
    if (client.destroyed || closing) {
      upstream.socket.destroy();
      return;
    }
    const server = upstream.socket;
    track(server);
    // The response head goes back exactly as the target wrote it.
    client.write(upstream.response.raw);
    const extensions = header(upstream.response, 'sec-websocket-extensions');
    let deflate: DeflateParams | null = null;
    if (upstream.status === 101 && extensions !== null) {
      const parsed = parseExtensions(extensions);
      const result = parsed === null ? 'unparsable Sec-WebSocket-Extensions' : deflateFromResponse(parsed);
      if (typeof result === 'string') log(id, 'warn', `server's permessage-deflate response is invalid (${result}); RSV1 frames will be reported`);
      else deflate = result;
    }
    const info: SessionInfo = {
      session: id,
      time: now(),
      client: client_,
      target: formatTarget(target),
      path: line.target,
      status: upstream.status,
      request,
      response: upstream.response,
      protocol: header(upstream.response, 'sec-websocket-protocol'),
      extensions,
      deflate,
      acceptValid: verifyAccept(request, upstream.response),
    };
    if (upstream.status !== 101) {
      bus.emit('session-open', info);
      return relayRefusal(id, client, server, rest, upstream.rest);
    }
    const session = new Session(info, client, server, {
      bus,
      limits: options.limits,
      strict: options.strict,
      keys,
      now,
      nextId: () => nextId++,
      interceptors: () => interceptors,
      stats: (close) => stats.finish(close),
    });
    loose.delete(client);
    loose.delete(server);
    sessions.set(id, session);
    void session.done.then(() => sessions.delete(id));
    // Observers may reach for proxy.session(id) from this event, so the session exists first.
    bus.emit('session-open', info);
    session.feed('server', upstream.rest);
    session.feed('client', rest);
    client.resume();
    server.resume();
  };

  /** A non-101 answer (401, 403, ...) is relayed as it is, body and all, then the connection ends. */
  const relayRefusal = (id: number, client: net.Socket, server: net.Socket, clientRest: Buffer, serverRest: Buffer): void => {
    if (serverRest.length > 0) client.write(serverRest);
    if (clientRest.length > 0) server.write(clientRest);
    server.pipe(client);
    client.pipe(server);
    server.on('error', () => client.destroy());
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 2) {
        const record = { session: id, time: now(), code: null, reason: 'handshake refused', by: 'server', clean: false } as const;
        bus.emit('session-close', { ...record, stats: stats.finish(record) });
      }
    };
    client.once('close', () => {
      server.destroy();
      onClose();
    });
    server.once('close', () => {
      client.end();
      onClose();
    });
    client.resume();
    server.resume();
  };

  const listener = net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  await new Promise<void>((resolve, rejectListen) => {
    listener.once('error', rejectListen);
    listener.listen(options.listen.port, options.listen.host, () => {
      listener.off('error', rejectListen);
      resolve();
    });
  });
  listener.on('error', (error) => bus.emit('error', error, { session: null }));
  const address = listener.address() as net.AddressInfo;

  const control: RunningProxy = {
    bus,
    port: address.port,
    listening: formatTarget({ host: address.address, port: address.port, basePath: '' }),
    target: formatTarget(target) + target.basePath,
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
      passthrough.closeAllConnections();
      passthrough.close();
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

function joinPath(base: string, path: string): string {
  return base.replace(/\/$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
