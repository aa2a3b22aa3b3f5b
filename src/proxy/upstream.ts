/**
 * Dials the target, writes the (rewritten) request head and reads the response head byte for byte.
 * Failures come back as a one-line reason for the 502 the client gets.
 */
import net from 'node:net';
import { parseHead, parseStatusLine, splitHead, type HttpHead } from '../protocol/handshake.js';

export interface Target {
  readonly host: string;
  readonly port: number;
  /** Path prefix from a ws://host:port/base target, '' when none. */
  readonly basePath: string;
}

export type UpstreamResult =
  | { readonly ok: true; readonly socket: net.Socket; readonly response: HttpHead; readonly status: number; readonly rest: Buffer }
  | { readonly ok: false; readonly reason: string };

export function formatTarget(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

export function dialUpstream(target: Target, head: Uint8Array, timeoutMs: number): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    // No Nagle delay from the first byte: the proxy must not hold back what a peer sent.
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    let buffered: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (result: UpstreamResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      if (!result.ok) socket.destroy();
      else socket.pause();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `target ${formatTarget(target)} did not answer within ${timeoutMs} ms` }), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const split = splitHead(buffered);
      if (split.state === 'incomplete') return;
      if (split.state === 'too-large') return finish({ ok: false, reason: 'target response head too large' });
      const parsed = parseHead(split.head);
      const status = parsed.ok ? parseStatusLine(parsed.head.startLine) : null;
      if (!parsed.ok || status === null) return finish({ ok: false, reason: `target sent an invalid response head${parsed.ok ? '' : `: ${parsed.reason}`}` });
      finish({ ok: true, socket, response: parsed.head, status: status.status, rest: Buffer.from(split.rest) });
    };
    socket.on('data', onData);
    socket.once('connect', () => socket.write(head));
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, reason: `target ${formatTarget(target)}: ${error.code ?? error.message}` }));
    socket.once('end', () => finish({ ok: false, reason: `target ${formatTarget(target)} closed the connection before answering` }));
  });
}
