/**
 * Real peers for the scripting end-to-end tests: a `ws` target, the real proxy (createProxy) in
 * front of it with every bus event collected, and `ws` clients with an inbox to await.
 */
import { WebSocket, WebSocketServer, type ClientOptions, type RawData, type ServerOptions } from 'ws';
import type { RunningProxy } from '../../src/proxy/server.js';
import type { LogRecord, MessageRecord, FrameRecord, CloseRecord } from '../../src/proxy/events.js';
import { DEFAULT_LIMITS, startProxy } from '../helpers/proxy-harness.js';
import { startScript, type ScriptHandle, type ScriptOptions } from '../../src/script/index.js';

export interface Received {
  readonly data: Buffer;
  readonly binary: boolean;
  readonly text: string;
}

/** Messages as they arrive, awaitable in order. */
export class Inbox {
  readonly all: Received[] = [];
  #read = 0;
  #waiters: (() => void)[] = [];

  push(data: RawData, binary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    this.all.push({ data: buf, binary, text: buf.toString('utf8') });
    for (const w of this.#waiters.splice(0)) w();
  }

  async next(timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.all.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms (got ${this.all.length}: ${this.all.map((m) => m.text.slice(0, 40)).join(' | ')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.all[this.#read++]!;
  }

  async texts(n: number, timeoutMs = 3000): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await this.next(timeoutMs)).text);
    return out;
  }

  /** Waits until `n` messages have arrived in total. */
  async count(n: number, timeoutMs = 3000): Promise<void> {
    await until(() => this.all.length >= n, timeoutMs, `${n} messages (got ${this.all.length})`);
  }
}

export interface Target {
  readonly port: number;
  readonly wss: WebSocketServer;
  /** Server-side sockets, with what each received. */
  readonly peers: { ws: WebSocket; inbox: Inbox }[];
  close(): Promise<void>;
}

/**
 * A `ws` server. `onConnection` runs per client; without one it echoes (binary stays binary).
 */
export async function startTarget(options: Partial<ServerOptions> = {}, onConnection?: (ws: WebSocket, inbox: Inbox) => void): Promise<Target> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const peers: { ws: WebSocket; inbox: Inbox }[] = [];
  wss.on('connection', (ws) => {
    const inbox = new Inbox();
    peers.push({ ws, inbox });
    ws.on('message', (data, binary) => inbox.push(data, binary));
    ws.on('error', () => undefined);
    if (onConnection) onConnection(ws, inbox);
    else ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  return {
    port: (wss.address() as { port: number }).port,
    wss,
    peers,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export interface Live {
  readonly proxy: RunningProxy;
  readonly url: string;
  readonly logs: LogRecord[];
  readonly messages: MessageRecord[];
  readonly frames: FrameRecord[];
  readonly closes: CloseRecord[];
  readonly script: ScriptHandle | null;
  logText(level?: LogRecord['level']): string;
  close(): Promise<void>;
}

export async function startLive(
  targetPort: number,
  options: { script?: Omit<ScriptOptions, 'timeoutMs' | 'failMode' | 'watch'> & Partial<ScriptOptions>; maxMessage?: number; beforeScript?: (proxy: RunningProxy) => void } = {},
): Promise<Live> {
  // The same proxy and bus collection as the relay tests, with the message bound asked for.
  const h = await startProxy(targetPort, { limits: { ...DEFAULT_LIMITS, maxMessage: options.maxMessage ?? DEFAULT_LIMITS.maxMessage } });
  const { proxy, logs, messages, frames, closes } = h;
  options.beforeScript?.(proxy);
  const script = options.script === undefined ? null : await startScript(proxy, { timeoutMs: 5000, failMode: 'open', watch: false, ...options.script });
  return {
    proxy,
    url: `ws://127.0.0.1:${proxy.port}`,
    logs,
    messages,
    frames,
    closes,
    script,
    logText: (level) =>
      logs
        .filter((l) => level === undefined || l.level === level)
        .map((l) => `[${l.source}/${l.level}] ${l.text}`)
        .join('\n'),
    close: async () => {
      await script?.close();
      await h.close();
    },
  };
}

export interface Client {
  readonly ws: WebSocket;
  readonly inbox: Inbox;
  send(data: string | Buffer): void;
  close(): Promise<void>;
}

export async function connect(url: string, options: ClientOptions = {}, protocols: string[] = []): Promise<Client> {
  const ws = new WebSocket(url, protocols, options);
  const inbox = new Inbox();
  ws.on('message', (data, binary) => inbox.push(data, binary));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  return {
    ws,
    inbox,
    send: (data) => ws.send(data),
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(1000, 'done');
      }),
  };
}

export function until(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
