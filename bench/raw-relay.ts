/**
 * The "raw relay" peer: a plain TCP pipe both ways with no WebSocket awareness at all. It is the
 * practical ceiling for any user-space Node proxy, so wsproxy is judged as a ratio to it.
 *
 *   node --import tsx bench/raw-relay.ts LISTEN_PORT TARGET_PORT
 *
 * LISTEN_PORT 0 picks a free port and reports it to a parent over IPC. The benchmark runs this file
 * transpiled to plain JavaScript (see peers.ts).
 */
import net from 'node:net';
import type { ReadyMessage } from './children.js';

function main(listenPort: number, targetPort: number): void {
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    // pipe() gives backpressure in both directions and forwards the FIN.
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on('error', (err) => {
    console.error('raw relay:', err.message);
    process.exit(1);
  });
  server.listen({ port: listenPort, host: '127.0.0.1', backlog: 4096 }, () => {
    const addr = server.address();
    if (addr && typeof addr === 'object') process.send?.({ type: 'ready', port: addr.port } satisfies ReadyMessage);
  });
  process.on('disconnect', () => process.exit(0));
}

const [listen, target] = process.argv.slice(2).map(Number);
if (listen === undefined || Number.isNaN(listen) || !target) {
  console.error('usage: raw-relay.ts LISTEN_PORT TARGET_PORT');
  process.exit(2);
}
main(listen, target);
