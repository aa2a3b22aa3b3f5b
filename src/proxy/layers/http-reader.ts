/**
 * The HTTP head reader: every request on a connection is read as a head, whatever came before it
 * (a refused upgrade, plain requests on a keep-alive connection), and handed to the layer that
 * owns it: a WebSocket upgrade, plain HTTP, or CONNECT. Garbage is answered at once with 400, a
 * head that does not finish in time with 408, one with too many lines or bytes with 431.
 */
import type { Socket } from 'node:net';
import { isWebSocketUpgrade, parseHead, parseRequestLine, splitHead, type HttpHead, type RequestLine } from '../../protocol/handshake.js';
import { violation } from '../../protocol/violations.js';
import type { ConnectionContext, LayerDeps } from './context.js';
import { answerAndClose } from './http-io.js';
import { SocketReader } from './socket-reader.js';
import { H2C_TEXT, h2cRefusal } from '../../forward/h2c.js';

/** Nothing read yet: one empty buffer for every connection (it is replaced, never written). */
const NO_BYTES = Buffer.alloc(0);

/** A request line longer than this without a line end is not HTTP. */
const MAX_REQUEST_LINE = 8 * 1024;
const TOO_LONG = { kind: 'bad', status: 414, reason: 'request line longer than 8 KiB' } as const;
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export interface IncomingRequest {
  readonly head: HttpHead;
  readonly line: RequestLine;
  /** Received bytes of the head (what it cost on the wire). */
  readonly bytes: number;
}

/** What a request layer says when it is done with its request: read the next head, or stop. */
export type Next = 'continue' | 'done';

export type RequestLayer = (request: IncomingRequest, reader: SocketReader, ctx: ConnectionContext) => Promise<Next>;

export interface RequestLayers {
  readonly upgrade: RequestLayer;
  readonly plain: RequestLayer;
  /** CONNECT (forward-proxy mode); without it CONNECT is answered 501. */
  readonly connect?: RequestLayer;
}

type HeadRead =
  | { readonly kind: 'head'; readonly request: IncomingRequest }
  | { readonly kind: 'closed' }
  | { readonly kind: 'h2c' }
  | { readonly kind: 'bad'; readonly status: 400 | 408 | 414 | 431; readonly reason: string };

/** Serves one connection: head after head until a layer takes the stream over or the client goes. */
export async function serveHttp(socket: Socket, first: Buffer, ctx: ConnectionContext, deps: LayerDeps, layers: RequestLayers): Promise<void> {
  const reader = new SocketReader(socket);
  reader.unread(first);
  for (let n = 0; ; n++) {
    const read = await readRequestHead(reader, deps, n === 0);
    if (read.kind === 'closed') {
      if (!socket.destroyed) socket.end();
      return;
    }
    if (read.kind === 'h2c') {
      deps.log(null, 'warn', `${ctx.client} opened with the HTTP/2 preface (PRI * HTTP/2.0): ${H2C_TEXT}; answered GOAWAY HTTP_1_1_REQUIRED`);
      reader.detach();
      if (socket.writable) socket.end(h2cRefusal());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    if (read.kind === 'bad') {
      if (read.status !== 408) {
        deps.bus.emit('violation', { session: deps.nextSession(), time: deps.now(), from: 'client', violation: violation('invalid-handshake', `${ctx.client}: ${read.reason}`), frame: null });
      }
      reader.detach();
      answerAndClose(socket, read.status, read.reason);
      return;
    }
    const { request } = read;
    const layer = request.line.method === 'CONNECT' ? layers.connect : isWebSocketUpgrade(request.head, request.line) ? layers.upgrade : layers.plain;
    if (layer === undefined) {
      reader.detach();
      answerAndClose(socket, 501, 'CONNECT is not supported in reverse-proxy mode');
      return;
    }
    if ((await layer(request, reader, ctx)) === 'done') return;
  }
}

async function readRequestHead(reader: SocketReader, deps: LayerDeps, first: boolean): Promise<HeadRead> {
  const { headTimeoutMs, maxHeaderLines } = deps.settings;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.interrupt();
  }, headTimeoutMs);
  timer.unref();
  let buffered: Buffer = NO_BYTES;
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk === null) {
        // An idle keep-alive connection that times out, or a client that leaves between
        // requests, is simply done; a head cut short is not.
        if (timedOut && (first || buffered.length > 0)) return { kind: 'bad', status: 408, reason: 'no complete request head in time' };
        if (buffered.length > 0 && !timedOut) return { kind: 'bad', status: 400, reason: 'the connection ended in the middle of a request head' };
        return { kind: 'closed' };
      }
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // RFC 9112 §2.2: empty lines before a request line are ignored (some clients send one after a body).
      let skip = 0;
      while (skip < buffered.length && (buffered[skip] === 0x0d || buffered[skip] === 0x0a)) skip++;
      if (skip > 0) buffered = buffered.subarray(skip);
      if (buffered.length === 0) continue;
      // RFC 9113 §3.4: an HTTP/2 connection preface, not an HTTP/1 request.
      // (Its first byte first: no string is made for the bytes of every ordinary request.)
      if (buffered[0] === 0x50 && H2_PREFACE.startsWith(buffered.subarray(0, H2_PREFACE.length).toString('latin1'))) {
        if (buffered.length >= H2_PREFACE.length) return { kind: 'h2c' };
        continue;
      }
      // A TLS handshake record (type 22, version 3.x: RFC 8446 §5.1) where plain HTTP was expected.
      if (buffered[0] === 0x16 && buffered[1] === 0x03) return { kind: 'bad', status: 400, reason: 'a TLS handshake on a plain port: the client speaks https:// or wss:// (start wsproxy with --tls for it)' };
      // Garbage is answered as soon as it shows, not after a time-out.
      const lineEnd = buffered.indexOf('\r\n');
      if (lineEnd === -1) {
        if (!/^[A-Z]*$/.test(buffered.subarray(0, 16).toString('latin1').split(' ')[0]!)) return { kind: 'bad', status: 400, reason: 'not an HTTP request' };
        if (buffered.length > MAX_REQUEST_LINE) return TOO_LONG;
        continue;
      }
      // However the line arrived, in one read or several (RFC 9112 §3: 414 for a target too long).
      if (lineEnd > MAX_REQUEST_LINE) return TOO_LONG;
      const line = parseRequestLine(buffered.subarray(0, lineEnd).toString('latin1'));
      if (line === null) return { kind: 'bad', status: 400, reason: 'invalid request line' };
      const split = splitHead(buffered);
      if (split.state === 'incomplete') {
        if (countLines(buffered) > maxHeaderLines + 1) return { kind: 'bad', status: 431, reason: `more than ${maxHeaderLines} header lines` };
        continue;
      }
      if (split.state === 'too-large') return { kind: 'bad', status: 431, reason: 'request head too large' };
      const parsed = parseHead(split.head);
      if (!parsed.ok) return { kind: 'bad', status: 400, reason: parsed.reason };
      if (parsed.head.headers.length > maxHeaderLines) return { kind: 'bad', status: 431, reason: `more than ${maxHeaderLines} header lines` };
      reader.unread(split.rest);
      return { kind: 'head', request: { head: parsed.head, line, bytes: split.head.length } };
    }
  } finally {
    clearTimeout(timer);
  }
}

function countLines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}
