/**
 * The heap a headless proxy holds at rest: the built CLI started as `npm run bench` starts it,
 * then, once it listens, a full collection and V8's used heap, against a bare Node's. Code that a
 * run does not use but loads anyway shows here as megabytes; a heap near V8's first marking
 * threshold is collected in full during large transfers (docs/performance.md, rounds 8 and 9).
 *
 *   node --import tsx bench/heap-at-rest.ts     (also a line of npm run bench)
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WSPROXY_BIN } from './peers.js';

export interface HeapAtRest {
  /** The headless proxy's used heap after a full collection, MB (10^6 bytes); median of the runs. */
  readonly proxyMB: number;
  /** The same for a Node process that loads nothing. */
  readonly bareMB: number;
  readonly runs: number;
}

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'heap-probe.cjs');
const TIMEOUT_MS = 20_000;

/** Starts `script args` with the probe preloaded, waits for `ready` on its stderr (or at once), and asks for its heap. */
async function heapOf(script: string, args: readonly string[], ready: RegExp | null): Promise<number> {
  const preload = script === PROBE ? [] : ['--require', PROBE];
  const child = fork(script, args, { execArgv: ['--expose-gc', ...preload], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`heap-at-rest: no answer from ${path.basename(script)} in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      let stderr = '';
      let asked = false;
      const ask = (): void => {
        if (asked) return;
        asked = true;
        // Start-up's own timers and promises settle first.
        setTimeout(() => child.send('heap'), 300);
      };
      child.stderr?.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
        if (ready !== null && ready.test(stderr)) ask();
      });
      child.on('message', (m: { usedBytes?: number }) => {
        clearTimeout(timer);
        if (typeof m.usedBytes === 'number') resolve(m.usedBytes);
        else reject(new Error('heap-at-rest: an answer without a figure'));
      });
      child.once('exit', (code) => reject(new Error(`heap-at-rest: ${path.basename(script)} exited (${code}) before answering: ${stderr.trim().slice(0, 300)}`)));
      if (ready === null) ask();
    });
  } finally {
    child.kill('SIGKILL');
  }
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function measureHeapAtRest(runs = 3): Promise<HeapAtRest> {
  // The proxy checks at start that its target answers: a listener that takes connections and nothing else.
  const target = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const port = (target.address() as net.AddressInfo).port;
  try {
    const proxy: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      proxy.push(await heapOf(WSPROXY_BIN, ['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${port}`, '--headless'], /listening on/));
      bare.push(await heapOf(PROBE, [], null));
    }
    return { proxyMB: median(proxy) / 1e6, bareMB: median(bare) / 1e6, runs };
  } finally {
    target.close();
  }
}

export const heapAtRestLine = (h: HeapAtRest): string =>
  `headless proxy heap at rest: ${h.proxyMB.toFixed(2)} MB after a full collection (a bare node: ${h.bareMB.toFixed(2)} MB; median of ${h.runs})`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(heapAtRestLine(await measureHeapAtRest()));
}
