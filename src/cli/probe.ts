/**
 * The start-up check of the target: one TCP connection, closed at once. A target that cannot be
 * reached when the proxy starts is almost always a typo in --target or a server not started yet;
 * saying so at once beats a 502 on the first upgrade.
 */
import net from 'node:net';
import { formatTarget, type Target } from '../proxy/upstream.js';

const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is the server running?)',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** null when the target accepts a connection, else why not, as one line. */
export function probeTarget(target: Target, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (reason: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason === null ? null : `target ${formatTarget(target)} is unreachable: ${reason}`);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => done(REASONS[error.code ?? ''] ?? error.code ?? error.message));
  });
}
