/**
 * A proxy on 127.0.0.1:0 in front of a target, with every bus event collected for assertions,
 * and `ws` echo targets. Everything started here is torn down by `close()`.
 */
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions, type RawData } from 'ws';
import { createProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy/server.js';
import type { CloseRecord, FrameRecord, HttpRecord, LogRecord, MessageRecord, ProxyEvents, SessionInfo, ViolationRecord } from '../../src/proxy/events.js';
import { until } from './raw-peer.js';

export interface Collected {
  readonly opens: SessionInfo[];
  readonly frames: FrameRecord[];
  readonly messages: MessageRecord[];
  readonly violations: ViolationRecord[];
  readonly closes: CloseRecord[];
  readonly logs: LogRecord[];
  readonly errors: Error[];
  /** Plain HTTP requests passed through. */
  readonly https: HttpRecord[];
}

export interface ProxyHarness extends Collected {
  readonly proxy: RunningProxy;
  readonly port: number;
  readonly url: string;
  /** Waits for a bus record matching `pred` (bounded). */
  waitClose(session: number, ms?: number): Promise<CloseRecord>;
  waitFor<T>(list: readonly T[], pred: (item: T) => boolean, ms?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

export type HarnessOptions = Partial<Omit<ProxyOptions, 'listen' | 'bus'>>;

export const DEFAULT_LIMITS = { maxPreview: 64 * 1024, maxMessage: 16 * 1024 * 1024 } as const;

export async function startProxy(targetPort: number, options: HarnessOptions = {}): Promise<ProxyHarness> {
  const bus = new EventEmitter<ProxyEvents>();
  const c: Collected = { opens: [], frames: [], messages: [], violations: [], closes: [], logs: [], errors: [], https: [] };
  bus.on('session-open', (s) => c.opens.push(s));
  bus.on('frame', (f) => c.frames.push(f));
  bus.on('message', (m) => c.messages.push(m));
  bus.on('violation', (v) => c.violations.push(v));
  bus.on('session-close', (s) => c.closes.push(s));
  bus.on('log', (l) => c.logs.push(l));
  bus.on('error', (e) => c.errors.push(e));
  bus.on('http', (r) => c.https.push(r));
  const proxy = await createProxy({
    listen: { host: '127.0.0.1', port: 0 },
    target: { host: '127.0.0.1', port: targetPort, basePath: '' },
    keepHost: false,
    deflate: true,
    strict: false,
    limits: DEFAULT_LIMITS,
    connectTimeoutMs: 3000,
    headTimeoutMs: 3000,
    ...options,
    bus,
  });
  const waitFor = <T>(list: readonly T[], pred: (item: T) => boolean, ms = 3000, what = 'a bus event'): Promise<T> => until(() => list.find(pred), ms, what);
  return {
    ...c,
    proxy,
    port: proxy.port,
    url: `ws://127.0.0.1:${proxy.port}`,
    waitFor,
    waitClose: (session, ms = 3000) => waitFor(c.closes, (r) => r.session === session, ms, `session-close of session ${session}`),
    close: () => proxy.close(),
  };
}

export interface WsTarget {
  readonly wss: WebSocketServer;
  readonly port: number;
  /** Server-side sockets in the order they connected. */
  readonly sockets: WebSocket[];
  close(): Promise<void>;
}

/**
 * A `ws` server on 127.0.0.1:0 that echoes every message (binary stays binary); `compress: false`
 * sends the echoes uncompressed even where permessage-deflate was negotiated.
 */
export async function startWsEcho(perMessageDeflate: boolean | PerMessageDeflateOptions = false, maxPayload = 64 * 1024 * 1024, send: { readonly compress?: boolean } = {}): Promise<WsTarget> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate, maxPayload });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data: RawData, isBinary) => ws.send(data as Buffer, { binary: isBinary, ...send }));
    ws.on('error', () => undefined);
  });
  return {
    wss,
    port: (wss.address() as { port: number }).port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Opens a `ws` client (bounded) and resolves once it is open. */
export function openWs(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}, ms = 5000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`websocket to ${url} did not open within ${ms} ms`));
    }, ms);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The next message on `ws` (bounded). */
export function nextMessage(ws: WebSocket, ms = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`no message within ${ms} ms`));
    }, ms);
    const onMessage = (data: RawData, isBinary: boolean): void => {
      clearTimeout(timer);
      resolve({ data: toBuffer(data), isBinary });
    };
    ws.once('message', onMessage);
  });
}

/** Sends and waits for the echo. */
export async function echo(ws: WebSocket, data: Buffer | string, ms = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
  const reply = nextMessage(ws, ms);
  ws.send(data, { binary: typeof data !== 'string' });
  return reply;
}

/** Resolves with the close code and reason `ws` saw (bounded). */
export function closed(ws: WebSocket, ms = 5000): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`websocket did not close within ${ms} ms`)), ms);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** One healthy echo round trip through the proxy, to show it still serves. */
export async function assertHealthy(h: ProxyHarness, text = 'still alive'): Promise<void> {
  const ws = await openWs(h.url);
  try {
    const reply = await echo(ws, text);
    if (reply.data.toString() !== text) throw new Error(`echo mismatch: ${reply.data.toString()}`);
  } finally {
    ws.terminate();
  }
}
