/** Workload 3: one connection, sequential 16-byte ping/pong round trips: the latency a proxy adds. */
import { performance } from 'node:perf_hooks';
import { IntegrityError, WholeFrames, WsClient, mismatch } from '../load.js';
import { OP_PING, OP_PONG, clientFrame, maskKeyFor } from '../ws-frames.js';
import type { Workload } from './types.js';

const SIZE = 16;

function pingPayload(seq: number): Buffer {
  const b = Buffer.alloc(SIZE, 0x70);
  b.writeUInt32BE(seq, 0);
  b.writeUInt32BE(~seq >>> 0, SIZE - 4);
  return b;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export const latency: Workload = {
  id: 'w3',
  title: '16 B ping/pong, sequential',
  pinned: true,
  metrics: [
    { key: 'p50us', label: 'p50 us', unit: 'us', better: 'lower' },
    { key: 'p99us', label: 'p99 us', unit: 'us', better: 'lower' },
    { key: 'addedP50us', label: '+p50 us vs direct', unit: 'us', better: 'none' },
  ],
  async run(ctx) {
    const n = ctx.scale.pings;
    const client = await WsClient.connect(ctx.port, '/echo');
    const rtt = new Float64Array(n);
    let seq = 0;
    let expected = pingPayload(0);
    let t0 = 0;
    await new Promise<void>((resolve, reject) => {
      client.onFail = reject;
      const send = (): void => {
        expected = pingPayload(seq);
        const frame = clientFrame(OP_PING, expected, maskKeyFor(seq));
        t0 = performance.now();
        client.socket.write(frame);
      };
      client.handler = new WholeFrames((op, payload) => {
        const t = performance.now();
        if (op !== OP_PONG || !payload.equals(expected)) throw new IntegrityError(`ping ${seq}: pong with ${mismatch(op, expected, payload)}`);
        rtt[seq++] = (t - t0) * 1000;
        if (seq === n) resolve();
        else send();
      });
      send();
    });
    await client.close();
    rtt.sort();
    // addedP50us is filled in by the report, which knows direct's p50.
    return { p50us: percentile(rtt, 0.5), p99us: percentile(rtt, 0.99), meanUs: rtt.reduce((a, b) => a + b, 0) / n };
  },
};
