/**
 * The per-message cost of a --script that rewrites every message: the same traffic through the
 * built proxy with and without such a script (runs alternated, medians kept). The script runs in
 * its worker thread, so the cost includes the two hops between threads per message.
 * Runs in process against the built code, with an in-process `ws` echo target and client.
 *
 *   node --import tsx bench/script-cost.ts [--quick]     (also one line of npm run bench)
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

export interface ScriptCostFigures {
  readonly messages: number;
  readonly bytes: number;
  readonly inFlight: number;
  /** Messages per second one way (client → server), without and with the script. */
  readonly plainPerSec: number;
  readonly scriptPerSec: number;
  /** Extra time per message the script adds (each message passes the hook twice: there and back). */
  readonly perMessageUs: number;
  /** Median round trip of one message at a time, without and with the script. */
  readonly plainRttUs: number;
  readonly scriptRttUs: number;
}

const dist = new URL('../dist/', import.meta.url);

const SCRIPT = `export default {
  onMessage(msg) {
    if (msg.kind === 'text') return msg.text.replace('ping', 'PONG');
  },
};
`;

interface Rig {
  readonly url: string;
  close(): Promise<void>;
}

async function startRig(scriptFile: string | null): Promise<Rig> {
  const { createProxy } = (await import(new URL('proxy/server.js', dist).href)) as typeof import('../src/proxy/server.js');
  const { prepareScript } = (await import(new URL('script/index.js', dist).href)) as typeof import('../src/script/index.js');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  const port = (wss.address() as { port: number }).port;
  const prepared = scriptFile === null ? null : await prepareScript({ path: scriptFile, timeoutMs: 5000, failMode: 'open', watch: false });
  const proxy = await createProxy({
    listen: { host: '127.0.0.1', port: 0 },
    target: { host: '127.0.0.1', port, basePath: '' },
    keepHost: false,
    deflate: false,
    strict: false,
    limits: { maxPreview: 64 * 1024, maxMessage: 16 * 1024 * 1024 },
  });
  const handle = prepared?.start(proxy) ?? null;
  return {
    url: `ws://127.0.0.1:${proxy.port}/`,
    close: async () => {
      await handle?.close();
      await proxy.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** Sends `count` messages keeping `inFlight` outstanding; resolves with the elapsed ms. */
async function pipelined(ws: WebSocket, count: number, inFlight: number, payload: string, expect: string): Promise<number> {
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let received = 0;
    const send = (): void => {
      while (sent < count && sent - received < inFlight) {
        ws.send(payload);
        sent++;
      }
    };
    ws.on('message', function onMessage(data) {
      if (data.toString() !== expect) {
        ws.off('message', onMessage);
        return reject(new Error(`unexpected echo ${JSON.stringify(data.toString().slice(0, 40))}`));
      }
      if (++received === count) {
        ws.off('message', onMessage);
        return resolve();
      }
      send();
    });
    send();
  });
  return performance.now() - t;
}

async function roundTrips(ws: WebSocket, count: number, payload: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(payload);
    });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]! * 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function measureScriptCost(quick: boolean): Promise<ScriptCostFigures> {
  if (!existsSync(new URL('script/worker.js', dist))) throw new Error('dist/ not found: run npm run build first');
  const messages = quick ? 5_000 : 20_000;
  const inFlight = 64;
  const payload = `ping ${'x'.repeat(59)}`; // 64 bytes
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-bench-script-'));
  const file = path.join(dir, 'rewrite.mjs');
  writeFileSync(file, SCRIPT);
  const plain: number[] = [];
  const scripted: number[] = [];
  const plainRtt: number[] = [];
  const scriptRtt: number[] = [];
  try {
    for (let rep = 0; rep < 3; rep++) {
      for (const withScript of rep % 2 === 0 ? [false, true] : [true, false]) {
        const rig = await startRig(withScript ? file : null);
        try {
          const ws = await open(rig.url);
          // Client → server rewrites "ping" to "PONG"; the echo has no "ping" left to rewrite.
          const expect = withScript ? payload.replace('ping', 'PONG') : payload;
          await pipelined(ws, 500, inFlight, payload, expect); // warm-up
          (withScript ? scripted : plain).push(await pipelined(ws, messages, inFlight, payload, expect));
          (withScript ? scriptRtt : plainRtt).push(await roundTrips(ws, quick ? 200 : 1000, payload));
          ws.close();
        } finally {
          await rig.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const plainMs = median(plain);
  const scriptMs = median(scripted);
  return {
    messages,
    bytes: payload.length,
    inFlight,
    plainPerSec: (messages / plainMs) * 1000,
    scriptPerSec: (messages / scriptMs) * 1000,
    perMessageUs: ((scriptMs - plainMs) * 1000) / messages,
    plainRttUs: median(plainRtt),
    scriptRttUs: median(scriptRtt),
  };
}

export function scriptCostLine(f: ScriptCostFigures): string {
  const rate = (n: number): string => Math.round(n).toLocaleString('en-US');
  return (
    `script rewriting every message: +${f.perMessageUs.toFixed(1)} µs per message (${rate(f.messages)} x ${f.bytes} B echoed, ${f.inFlight} in flight: ` +
    `${rate(f.scriptPerSec)} msg/s with it, ${rate(f.plainPerSec)} without); round trip ${(f.scriptRttUs / 1000).toFixed(2)} ms with it, ${(f.plainRttUs / 1000).toFixed(2)} ms without`
  );
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(scriptCostLine(await measureScriptCost(process.argv.includes('--quick'))));
}
