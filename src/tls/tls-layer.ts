/**
 * The client-side TLS layer (--tls listener, intercepted CONNECT tunnels): reads the ClientHello
 * without consuming it, picks the certificate for the name asked (--cert/--key, else a leaf from
 * the local CA), completes the handshake and hands the decrypted stream to the next layer with the
 * client leg's facts in its context. A client that refuses the certificate is reported as such.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { ConnectionContext, LayerDeps } from '../proxy/layers/context.js';
import type { SocketReader } from '../proxy/layers/socket-reader.js';
import { answerAndClose } from '../proxy/layers/http-io.js';
import { peekHead } from '../proxy/layers/peek-head.js';
import { acceptTls, rejectionText } from './accept.js';
import { sniffFirstBytes } from './sniff.js';
import { parseClientHello } from './client-hello.js';
import type { KeyLog } from './keylog.js';
import type { LeafIssuer } from './leaf-issuer.js';

export interface ClientTlsSetup {
  /** --cert/--key: this context for every name. */
  readonly fixed: tls.SecureContext | null;
  /** Otherwise leaves from the local CA. */
  readonly issuer: LeafIssuer | null;
  readonly keylog: KeyLog | null;
}

export type NextLayer = (socket: net.Socket, first: Buffer, ctx: ConnectionContext) => Promise<void>;

/** A client that closes this soon after the handshake without a byte most likely refused the certificate. */
const SILENT_CLOSE_MS = 1000;

/**
 * `reader` holds the connection from its first byte (some may already be queued). `names` are the
 * certificate's names when the ClientHello has no SNI.
 */
export async function serveTls(reader: SocketReader, ctx: ConnectionContext, deps: LayerDeps, setup: ClientTlsSetup, names: readonly string[], next: NextLayer): Promise<void> {
  const raw = reader.socket;
  const hello = await readClientHello(reader, deps.settings.headTimeoutMs);
  if (hello.kind !== 'ok') {
    const bytes = reader.detach();
    deps.log(null, 'warn', `${ctx.client}: ${hello.reason}`);
    // Plain HTTP to a TLS port gets an answer it can read.
    if (sniffFirstBytes(bytes) === 'http') answerAndClose(raw, 400, 'this port speaks TLS: use https:// or wss://');
    else raw.destroy();
    return;
  }
  const name = hello.sni ?? names[0] ?? 'localhost';
  let context: tls.SecureContext;
  try {
    context = setup.fixed ?? (await setup.issuer!.context(hello.sni !== null ? [hello.sni] : names));
  } catch (error) {
    reader.detach();
    deps.log(null, 'error', `no certificate for ${name}: ${(error as Error).message}`);
    raw.destroy();
    return;
  }
  const head = reader.detach();
  const accepted = await acceptTls(raw, { context, keylog: setup.keylog, timeoutMs: deps.settings.headTimeoutMs, head });
  if (!accepted.ok) {
    deps.log(null, 'warn', accepted.rejectedCertificate ? `${ctx.client}: ${rejectionText(name)} (${accepted.reason})` : `${ctx.client}: ${accepted.reason}`);
    return;
  }
  const socket = accepted.socket;
  deps.track(socket);
  const handshakeDone = Date.now();
  const first = await firstBytes(socket, deps.settings.headTimeoutMs);
  if (first === 'timeout') {
    // As a plain connection that sends no request head in time: 408 (http-reader.ts).
    answerAndClose(socket, 408, 'no complete request head in time');
    return;
  }
  if (first === null) {
    if (Date.now() - handshakeDone < SILENT_CLOSE_MS) deps.log(null, 'warn', `${ctx.client}: closed the TLS connection for ${name} right after the handshake without a request; if it did not trust the certificate: ${rejectionText(name)}`);
    socket.destroy();
    return;
  }
  await next(socket, first, { ...ctx, tls: accepted.facts });
}

type Hello = { readonly kind: 'ok'; readonly sni: string | null } | { readonly kind: 'bad'; readonly reason: string };

async function readClientHello(reader: SocketReader, timeoutMs: number): Promise<Hello> {
  const peeked = await peekHead(reader, timeoutMs, (bytes) => {
    const parsed = parseClientHello(bytes);
    return parsed.state === 'incomplete' ? undefined : parsed;
  });
  if (!peeked.decided) return { kind: 'bad', reason: peeked.timedOut ? `no complete TLS ClientHello within ${timeoutMs} ms` : 'closed before a complete TLS ClientHello' };
  const parsed = peeked.value;
  if (parsed.state === 'invalid') return { kind: 'bad', reason: `not a TLS ClientHello: ${parsed.reason}` };
  return { kind: 'ok', sni: parsed.sni };
}

/** The first decrypted bytes; null when the client closes first, 'timeout' when none come within `timeoutMs`. */
function firstBytes(socket: tls.TLSSocket, timeoutMs: number): Promise<Buffer | null | 'timeout'> {
  return new Promise((resolve) => {
    const done = (chunk: Buffer | null | 'timeout'): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve(chunk);
    };
    const onData = (chunk: Buffer): void => done(chunk);
    const onEnd = (): void => done(null);
    // Bounded as a plain connection's head is: a client that completes the handshake and then
    // sends nothing is answered 408 (http-reader.ts), not held until the proxy stops.
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}
