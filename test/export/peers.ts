/** Peers for the export tests: a `ws` echo server that answers pings late, and a session script. */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { closed, openWs, toBuffer } from '../helpers/proxy-harness.js';

export interface SlowPongServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Echoes every message (text stays text); answers a ping after `pongDelayMs`, and never answers a
 * ping whose payload is "unanswered". `transform` may change what it echoes.
 */
export async function startSlowPongEcho(options: { pongDelayMs?: number; deflate?: boolean; transform?: (text: string) => string; onMessage?: (data: Buffer) => void } = {}): Promise<SlowPongServer> {
  const delay = options.pongDelayMs ?? 50;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: options.deflate ?? false, autoPong: false, maxPayload: 512 * 1024 * 1024 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('ping', (data) => {
      if (data.toString() === 'unanswered') return;
      // Node's timers may fire a little early against the real clock (theirs is read once per
      // turn of the loop): the pong waits until `delay` ms have really passed, and one more, so
      // that a round trip timed with a millisecond clock is never under `delay`.
      const at = performance.now();
      const pong = (): void => {
        const left = at + delay + 1 - performance.now();
        if (left > 0) setTimeout(pong, Math.ceil(left));
        else if (ws.readyState === WebSocket.OPEN) ws.pong(data);
      };
      setTimeout(pong, delay);
    });
    ws.on('message', (data: RawData, isBinary) => {
      const buf = toBuffer(data);
      if (options.onMessage !== undefined) return options.onMessage(buf);
      if (isBinary || options.transform === undefined) ws.send(buf, { binary: isBinary });
      else ws.send(options.transform(buf.toString('utf8')));
    });
  });
  return {
    port: (wss.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Waits for `n` messages on `ws` (bounded). */
export function messages(ws: WebSocket, n: number, ms = 5000): Promise<{ data: Buffer; isBinary: boolean }[]> {
  return new Promise((resolve, reject) => {
    const got: { data: Buffer; isBinary: boolean }[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} messages within ${ms} ms`)), ms);
    const on = (data: RawData, isBinary: boolean): void => {
      got.push({ data: toBuffer(data), isBinary });
      if (got.length === n) {
        clearTimeout(timer);
        ws.off('message', on);
        resolve(got);
      }
    };
    ws.on('message', on);
  });
}

export function pong(ws: WebSocket, ms = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no pong within ${ms} ms`)), ms);
    ws.once('pong', (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

/**
 * A session of every kind: JSON text messages, a binary one, a ping answered late, a ping never
 * answered, then a close with code and reason. Returns what the client sent.
 */
export async function playSession(url: string, options: { deflate?: boolean } = {}): Promise<{ sent: (string | Buffer)[] }> {
  const ws = await openWs(url, { perMessageDeflate: options.deflate ?? false });
  const sent: (string | Buffer)[] = [JSON.stringify({ n: 1, text: 'hello hello hello hello', ts: 1 }), Buffer.from([1, 2, 3, 250]), JSON.stringify({ n: 2, ts: 2 })];
  for (const m of sent) {
    const reply = messages(ws, 1);
    ws.send(m, { binary: typeof m !== 'string' });
    await reply;
  }
  for (const p of ['p1', 'p2']) {
    const got = pong(ws);
    ws.ping(p);
    await got;
  }
  ws.ping('unanswered');
  await new Promise((r) => setTimeout(r, 20));
  const done = closed(ws);
  ws.close(4001, 'done here');
  await done;
  return { sent };
}
