/**
 * Plain HTTP (no Upgrade) goes to the target through http-proxy, so the app's own pages and API
 * keep working through the proxy. Upgrades never take this path: http-proxy rebuilds the 101 head
 * and pipes opaque bytes, which would hide every frame.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { formatTarget, type Target } from './upstream.js';

export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createHttpPassthrough(target: Target, keepHost: boolean, onUpgrade: UpgradeHandler, onError: (error: Error) => void): http.Server {
  const proxy = httpProxy.createProxyServer({ target: `http://${formatTarget(target)}${target.basePath}`, changeOrigin: !keepHost, ws: false });
  proxy.on('error', (error, _req, res) => {
    onError(error);
    // Answer 502 only while nothing has gone to the client; after that, cutting is all that is honest.
    if (res instanceof http.ServerResponse && !res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`502 Bad Gateway: target ${formatTarget(target)}: ${(error as NodeJS.ErrnoException).code ?? error.message}\n`);
    } else res.destroy();
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  // An upgrade on a connection that started as plain HTTP (keep-alive) comes back to the relay.
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  return server;
}
