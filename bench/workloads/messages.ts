/** Workload 1: one connection, pipelined 64-byte text echoes with a fixed window in flight. */
import { buildStream, streamEcho, type EchoStream } from '../stream-echo.js';
import { OP_TEXT, maskKeyFor, writeHeader, xorInPlace } from '../ws-frames.js';
import type { Workload, WorkloadContext } from './types.js';

const SIZE = 64;
const FRAME = 2 + 4 + SIZE;
const ECHO = 2 + SIZE;
const FILLER = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.repeat(2));

/** Text payload number `seq` into dst[at...]: unique per message, so drops and reorders show. */
export function textPayload(dst: Buffer, at: number, seq: number, size: number): void {
  const label = `#${seq} `;
  dst.write(label, at, 'latin1');
  FILLER.copy(dst, at + label.length, seq % 64, seq % 64 + size - label.length);
}

const streams = new Map<number, EchoStream>();

/** Message i: masked with its own key toward the server; the echo is the same text, unmasked. */
function textStream(count: number): EchoStream {
  let s = streams.get(count);
  if (s === undefined) {
    s = buildStream(count, FRAME, ECHO, (i, client, server) => {
      const key = maskKeyFor(i);
      const p = writeHeader(client, 0, true, OP_TEXT, SIZE, key);
      textPayload(client, p, i, SIZE);
      const q = writeHeader(server, 0, true, OP_TEXT, SIZE, null);
      client.copy(server, q, p, p + SIZE);
      xorInPlace(client, p, p + SIZE, key, 0);
      return [FRAME, ECHO];
    });
    streams.set(count, s);
  }
  return s;
}

/** Echoes `count` messages with `window` in flight; resolves with the elapsed milliseconds. */
export function pipelinedEcho(port: number, count: number, window: number): Promise<number> {
  return streamEcho(port, textStream(count), { path: '/echo', window });
}

export const messages: Workload = {
  id: 'w1',
  title: '64 B text echo, window 100',
  metrics: [{ key: 'msgPerSec', label: 'msg/s', unit: 'msg/s', better: 'higher' }],
  // Built before the measurement, so its CPU time is not counted as the generator's.
  async warmup(ctx: WorkloadContext) {
    textStream(ctx.scale.messages);
  },
  async run(ctx: WorkloadContext) {
    const ms = await pipelinedEcho(ctx.port, ctx.scale.messages, ctx.scale.window);
    return { msgPerSec: ctx.scale.messages / (ms / 1000), ms };
  },
};
