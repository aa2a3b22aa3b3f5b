/** Moving HTTP/1.1 messages: the proxy's own short answers, and bodies relayed to their end. */
import http from 'node:http';
import type { Socket } from 'node:net';
import { parseHead, splitHead, type HttpHead } from '../../protocol/handshake.js';
import { BodyReader, type BodyFraming } from '../../protocol/http1.js';
import type { SocketReader } from './socket-reader.js';

/** A one-line plain-text answer from the proxy itself; the connection closes after it. */
export function proxyAnswer(status: number, reason: string): { readonly bytes: Buffer; readonly head: HttpHead } {
  const text = http.STATUS_CODES[status] ?? '';
  const body = `${status} ${text}: ${reason}\n`;
  const bytes = Buffer.from(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    'utf8',
  );
  const split = splitHead(bytes);
  const parsed = split.state === 'complete' ? parseHead(split.head) : null;
  return { bytes, head: parsed !== null && parsed.ok ? parsed.head : { raw: new Uint8Array(0), startLine: `HTTP/1.1 ${status} ${text}`, headers: [] } };
}

/** Answers and ends the connection; a client that does not close gets cut a second later. */
export function answerAndClose(socket: Socket, status: number, reason: string): HttpHead {
  const answer = proxyAnswer(status, reason);
  if (socket.writable) socket.end(answer.bytes);
  setTimeout(() => socket.destroy(), 1000).unref();
  return answer.head;
}

/** Writes with backpressure: resolves once the socket can take more (or is gone). */
export function writeAndDrain(socket: Socket, bytes: Uint8Array): Promise<void> | null {
  if (socket.destroyed || !socket.writable) return null;
  if (socket.write(bytes)) return null;
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Where a body may go besides a socket: a function that takes bytes and may ask to wait. */
export type BodySink = (bytes: Buffer) => Promise<void> | null;

export type BodyOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Copies one body from `reader` to `to`, chunk by chunk, as it arrives (never buffered whole);
 * bytes past its end stay in the reader. `seen` gets every body byte, for counting and previews.
 */
export async function relayBody(reader: SocketReader, framing: BodyFraming, to: Socket | BodySink, seen: (bytes: Buffer) => void): Promise<BodyOutcome> {
  const body = new BodyReader(framing);
  reader.flow(true);
  try {
    return await copyBody(reader, body, to, seen);
  } finally {
    reader.flow(false);
  }
}

async function copyBody(reader: SocketReader, body: BodyReader, to: Socket | BodySink, seen: (bytes: Buffer) => void): Promise<BodyOutcome> {
  while (!body.done) {
    const chunk = await reader.read();
    if (chunk === null) return body.end() ? { ok: true } : { ok: false, reason: 'the connection ended in the middle of a body' };
    const step = body.push(chunk);
    if ('error' in step) return { ok: false, reason: step.error };
    if (step.used < chunk.length) reader.unread(chunk.subarray(step.used));
    const part = step.used === chunk.length ? chunk : chunk.subarray(0, step.used);
    seen(part);
    const wait = typeof to === 'function' ? to(part) : writeAndDrain(to, part);
    if (wait !== null) await wait;
  }
  return { ok: true };
}
