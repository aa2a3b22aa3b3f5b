/**
 * Workload 4: many concurrent connections. All are opened first (a bounded number of handshakes in
 * flight, so the figure is the proxy and not kernel SYN retransmits), then every connection does its
 * sequential round trips at the same time as all the others. Total time covers both phases.
 */
import { performance } from 'node:perf_hooks';
import { IntegrityError, WholeFrames, WsClient, mismatch } from '../load.js';
import { OP_TEXT, clientFrame, maskKeyFor } from '../ws-frames.js';
import { textPayload } from './messages.js';
import type { Workload } from './types.js';

const SIZE = 32;

async function roundTrips(client: WsClient, conn: number, trips: number): Promise<void> {
  const expected = Buffer.allocUnsafe(SIZE);
  let i = 0;
  await new Promise<void>((resolve, reject) => {
    client.onFail = reject;
    const send = (): void => {
      // Unique per connection and trip, so crossed wires between connections show.
      textPayload(expected, 0, conn * 1000 + i, SIZE);
      client.socket.write(clientFrame(OP_TEXT, expected, maskKeyFor(conn + i)));
    };
    client.handler = new WholeFrames((op, payload) => {
      if (op !== OP_TEXT || !payload.equals(expected)) throw new IntegrityError(`connection ${conn} trip ${i}: ${mismatch(op, expected, payload)}`);
      if (++i === trips) resolve();
      else send();
    });
    send();
  });
}

export const connections: Workload = {
  id: 'w4',
  title: 'concurrent connections x 20 round trips',
  metrics: [
    { key: 'totalMs', label: 'total ms', unit: 'ms', better: 'lower' },
    { key: 'peakRssMiB', label: 'peak RSS MiB', unit: 'MiB', better: 'lower' },
  ],
  async run(ctx) {
    const { conns, connRoundTrips, connectConcurrency } = ctx.scale;
    const clients: Promise<WsClient>[] = [];
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      while (clients.length < conns) {
        const pending = WsClient.connect(ctx.port, '/echo');
        clients.push(pending);
        await pending;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(connectConcurrency, conns) }, lane));
      const connectMs = performance.now() - t0;
      const open = await Promise.all(clients);
      await Promise.all(open.map((c, i) => roundTrips(c, i, connRoundTrips)));
      const totalMs = performance.now() - t0;
      return { totalMs, connectMs, conns };
    } finally {
      const settled = await Promise.allSettled(clients);
      await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    }
  },
};
