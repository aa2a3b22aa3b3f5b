/**
 * The accept layer: a TCP listener whose connections have Nagle off from the first byte and no
 * unheard errors, each handed to the next layer with its context. Half-open is allowed: a client
 * may send a request and close its side, and still read the answer.
 */
import net from 'node:net';

export async function listenTcp(host: string, port: number, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const listener = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', destroyOnError);
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  return listener;
}

/** "ip:port" of a socket's peer, with IPv6 in brackets. */
export function peerAddress(socket: net.Socket): string {
  const host = socket.remoteAddress ?? '?';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}

/** One listener for every accepted socket, not a closure each. */
function destroyOnError(this: net.Socket): void {
  this.destroy();
}
