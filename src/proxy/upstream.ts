/**
 * Toward the target: the TCP dialer (the default `Dialer`; a TLS one can take its place) and the
 * reading of a response head, each bounded by the upstream time-out. Failures come back as the
 * status and one-line reason the client is answered with: 502 when the target is unreachable or
 * answers something that is not HTTP, 504 when it does not answer in time.
 */
import net from 'node:net';
import { canStartStatusLine } from '../protocol/http1.js';
import { parseHead, parseStatusLine, splitHead, type HttpHead } from '../protocol/handshake.js';
import type { DialResult } from './layers/context.js';
import type { SocketReader } from './layers/socket-reader.js';

/** Nothing read yet: one empty buffer for every connection (it is replaced, never written). */
const NO_BYTES = Buffer.alloc(0);

export interface Target {
  readonly host: string;
  readonly port: number;
  /** Path prefix from a ws://host:port/base target, '' when none. */
  readonly basePath: string;
  /** Reached over TLS (wss:// and https:// targets, intercepted CONNECT tunnels). */
  readonly tls?: boolean;
}

export function formatTarget(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

export function dialTcp(target: Target, timeoutMs: number): Promise<DialResult> {
  return new Promise((resolve) => {
    // No Nagle delay from the first byte: the proxy must not hold back what a peer sent.
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    const finish = (result: DialResult): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, status: 504, reason: `target ${formatTarget(target)} did not accept the connection within ${timeoutMs} ms` }), timeoutMs);
    const onConnect = (): void => {
      // Errors after this point belong to whoever reads the socket; until then, none may go unheard.
      socket.on('error', ignoreError);
      finish({ ok: true, socket });
    };
    const onError = (error: NodeJS.ErrnoException): void => finish({ ok: false, status: 502, reason: `target ${formatTarget(target)}: ${error.code ?? error.message}` });
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

/** A module-level no-op: a closure made in the dial would keep its timer and callbacks alive with the socket. */
function ignoreError(): void {}

export type ResponseHeadResult =
  | { readonly ok: true; readonly head: HttpHead; readonly status: number; readonly reason: string }
  | { readonly ok: false; readonly status: 502 | 504; readonly reason: string };

/**
 * Reads one response head from `reader` (the rest stays in the reader). Bytes that cannot begin a
 * status line are answered at once, not after the time-out. The time-out runs from `armAfter`
 * (the end of the request body) when given, so a long upload is not cut for being long.
 * `deadline` (a Date.now() time) ends the wait earlier: what is left of a time-out that began
 * before this head (interim answers, RFC 9110 §15.2, all come within the one time-out).
 */
export async function readResponseHead(reader: SocketReader, target: Target, timeoutMs: number, armAfter?: Promise<unknown>, deadline = Infinity): Promise<ResponseHeadResult> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const arm = (): void => {
    if (settled) return;
    timer = setTimeout(() => {
      timedOut = true;
      reader.interrupt();
    }, Math.max(0, Math.min(timeoutMs, deadline - Date.now())));
  };
  if (armAfter === undefined) arm();
  else void armAfter.then(arm);
  let buffered: Buffer = NO_BYTES;
  try {
    for (;;) {
      const chunk = timedOut ? null : await reader.read();
      if (timedOut) {
        if (chunk !== null) reader.unread(chunk);
        return { ok: false, status: 504, reason: `target ${formatTarget(target)} did not answer within ${timeoutMs} ms` };
      }
      if (chunk === null) return { ok: false, status: 502, reason: `target ${formatTarget(target)} closed the connection before answering` };
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!canStartStatusLine(buffered)) {
        return { ok: false, status: 502, reason: `target ${formatTarget(target)} answered with bytes that are not HTTP: ${JSON.stringify(buffered.subarray(0, 16).toString('latin1'))}` };
      }
      const split = splitHead(buffered);
      if (split.state === 'incomplete') continue;
      if (split.state === 'too-large') return { ok: false, status: 502, reason: `target ${formatTarget(target)} sent a response head that is too large` };
      reader.unread(split.rest);
      const parsed = parseHead(split.head);
      const line = parsed.ok ? parseStatusLine(parsed.head.startLine) : null;
      if (!parsed.ok || line === null) return { ok: false, status: 502, reason: `target ${formatTarget(target)} sent an invalid response head${parsed.ok ? '' : `: ${parsed.reason}`}` };
      return { ok: true, head: parsed.head, status: line.status, reason: line.reason };
    }
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}
