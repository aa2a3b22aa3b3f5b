/**
 * `wsproxy demo`: a built-in echo target and a client that talks through the proxy, so a new
 * user sees every kind of frame at once without a server of their own.
 */
import { WebSocket, WebSocketServer } from 'ws';

export interface DemoTarget {
  readonly port: number;
  close(): Promise<void>;
}

/** An echo server on an ephemeral loopback port, with permessage-deflate like most real servers. */
export async function startEchoTarget(): Promise<DemoTarget> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  return {
    port: (wss.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

export interface DemoClient {
  /** Resolves when the client has finished its rounds (never, when rounds is Infinity). */
  readonly finished: Promise<void>;
  stop(): void;
}

/** One round: text, JSON, binary, a ping, and a text message in three fragments. */
function round(ws: WebSocket, n: number): void {
  ws.send(`hello from the demo client, round ${n}`);
  ws.send(JSON.stringify({ type: 'update', round: n, items: [1, 2, 3], ok: true }));
  ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, n & 0xff]), { binary: true });
  ws.ping(Buffer.from(`ping ${n}`));
  ws.send('fragmented ', { fin: false });
  ws.send('message in ', { fin: false });
  ws.send('three parts', { fin: true });
}

export function startDemoClient(url: string, rounds: number, intervalMs = 2000): DemoClient {
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
  let timer: NodeJS.Timeout | null = null;
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    ws.on('open', () => {
      const tick = (): void => {
        round(ws, ++done);
        if (done >= rounds) {
          // Let the echoes come back, then close the session properly.
          setTimeout(() => ws.close(1000, 'demo done'), 300);
          return;
        }
        timer = setTimeout(tick, intervalMs);
      };
      tick();
    });
    ws.on('close', () => resolve());
    ws.on('error', () => resolve());
  });
  return {
    finished,
    stop() {
      if (timer !== null) clearTimeout(timer);
      if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'demo stopped');
    },
  };
}
