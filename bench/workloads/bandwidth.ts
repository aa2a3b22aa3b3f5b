/** Workload 2: one connection, pipelined binary echoes of 64 KiB or 1 MiB, checked as they stream back. */
import { performance } from 'node:perf_hooks';
import { IntegrityError, WsClient } from '../load.js';
import { PatternChecker, fillPattern } from '../pattern.js';
import { OP_BINARY, headerSize, maskKeyFor, writeHeader, type FrameHandler } from '../ws-frames.js';
import type { Workload, WorkloadContext } from './types.js';

/** Echoes `count` binary messages of `size` bytes, `window` in flight; resolves with elapsed ms. */
export async function binaryEcho(port: number, size: number, count: number, window: number): Promise<number> {
  const client = await WsClient.connect(port, '/echo');
  let sent = 0;
  let received = 0;
  const t0 = performance.now();
  const elapsed = await new Promise<number>((resolve, reject) => {
    client.onFail = reject;
    const send = (): void => {
      // Few distinct keys: each one costs a masked copy of the pattern's base block.
      const key = maskKeyFor(sent & 7);
      const frame = Buffer.allocUnsafe(headerSize(size, true) + size);
      const p = writeHeader(frame, 0, true, OP_BINARY, size, key);
      fillPattern(frame, p, sent, 0, size, key);
      client.socket.write(frame);
      sent++;
    };
    let checker = new PatternChecker(0, null);
    let got = 0;
    const handler: FrameHandler = {
      header(fin, op, len, key) {
        if (!fin || op !== OP_BINARY || len !== size || key !== null) {
          throw new IntegrityError(`message ${received}: got fin=${fin} op=${op} len=${len} masked=${key !== null}`);
        }
        checker = new PatternChecker(received, null);
        got = 0;
      },
      payload(buf, start, end, off) {
        if (!checker.check(buf, start, end, off)) throw new IntegrityError(`message ${received}: wrong byte at ${checker.firstBad}`);
        got += end - start;
      },
      end() {
        if (got !== size) throw new IntegrityError(`message ${received}: ${got} of ${size} bytes`);
        received++;
        if (received === count) resolve(performance.now() - t0);
        else if (sent < count) send();
      },
    };
    client.handler = handler;
    while (sent < Math.min(window, count)) send();
  });
  await client.close();
  return elapsed;
}

function bandwidth(id: string, title: string, size: number, pick: (ctx: WorkloadContext) => [number, number]): Workload {
  return {
    id,
    title,
    metrics: [{ key: 'mbPerSec', label: 'MB/s', unit: 'MB/s', better: 'higher' }],
    async run(ctx) {
      const [count, window] = pick(ctx);
      const ms = await binaryEcho(ctx.port, size, count, window);
      // Payload bytes sent per second (each also comes back); MB = 10^6 bytes.
      return { mbPerSec: (size * count) / 1e6 / (ms / 1000), ms };
    },
  };
}

export const bandwidth64k = bandwidth('w2a', '64 KiB binary echo, window 8', 64 * 1024, (c) => [c.scale.count64k, c.scale.window64k]);
export const bandwidth1m = bandwidth('w2b', '1 MiB binary echo, window 4', 1024 * 1024, (c) => [c.scale.count1m, c.scale.window1m]);
