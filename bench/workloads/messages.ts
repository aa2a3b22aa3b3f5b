/** Workload 1: one connection, pipelined 64-byte text echoes with a fixed window in flight. */
import { performance } from 'node:perf_hooks';
import { IntegrityError, WholeFrames, WsClient, mismatch } from '../load.js';
import { OP_TEXT, maskKeyFor, writeHeader, xorInPlace } from '../ws-frames.js';
import type { Workload, WorkloadContext } from './types.js';

const SIZE = 64;
const FRAME = 2 + 4 + SIZE;
const FILLER = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.repeat(2));

/** Text payload number `seq` into dst[at...]: unique per message, so drops and reorders show. */
export function textPayload(dst: Buffer, at: number, seq: number, size: number): void {
  const label = `#${seq} `;
  dst.write(label, at, 'latin1');
  FILLER.copy(dst, at + label.length, seq % 64, seq % 64 + size - label.length);
}

/** Echoes `count` messages with `window` in flight; resolves with the elapsed milliseconds. */
export async function pipelinedEcho(port: number, count: number, window: number): Promise<number> {
  const client = await WsClient.connect(port, '/echo');
  const expected = Buffer.allocUnsafe(SIZE);
  let sent = 0;
  let received = 0;
  const t0 = performance.now();
  const elapsed = await new Promise<number>((resolve, reject) => {
    client.onFail = reject;
    const sendUpTo = (limit: number): void => {
      const n = Math.min(limit, count) - sent;
      if (n <= 0) return;
      // One write for the whole batch; the frames are masked in place.
      const batch = Buffer.allocUnsafe(n * FRAME);
      for (let i = 0; i < n; i++, sent++) {
        const key = maskKeyFor(sent);
        const p = writeHeader(batch, i * FRAME, true, OP_TEXT, SIZE, key);
        textPayload(batch, p, sent, SIZE);
        xorInPlace(batch, p, p + SIZE, key, 0);
      }
      client.socket.write(batch);
    };
    client.handler = new WholeFrames((op, payload) => {
      textPayload(expected, 0, received, SIZE);
      if (op !== OP_TEXT || !payload.equals(expected)) {
        throw new IntegrityError(`message ${received}: ${mismatch(op, expected, payload)}`);
      }
      received++;
      if (received === count) resolve(performance.now() - t0);
    });
    client.afterData = () => sendUpTo(received + window);
    sendUpTo(window);
  });
  await client.close();
  return elapsed;
}

export const messages: Workload = {
  id: 'w1',
  title: '64 B text echo, window 100',
  metrics: [{ key: 'msgPerSec', label: 'msg/s', unit: 'msg/s', better: 'higher' }],
  async run(ctx: WorkloadContext) {
    const ms = await pipelinedEcho(ctx.port, ctx.scale.messages, ctx.scale.window);
    return { msgPerSec: ctx.scale.messages / (ms / 1000), ms };
  },
};
