/**
 * The upgrade layer: a WebSocket upgrade request is sent to the target (dial → [TLS] → here), and
 * whatever happens is a session on the record, with an `open` and a `close`: a 101 starts a
 * `Session` that decodes every frame; a refusal (any other status) is relayed with its body, and
 * the connection goes back to the head reader when both sides keep it alive; a target that is
 * unreachable, silent or not HTTP gets the client the proxy's own 502 or 504.
 */
import type { Socket } from 'node:net';
import { header, parseExtensions, parseHead, splitHead, verifyAccept, type HttpHead } from '../../protocol/handshake.js';
import { deflateFromResponse, type DeflateParams } from '../../protocol/deflate-params.js';
import { handshakeProblems } from '../../protocol/handshake-checks.js';
import { headVersion, keepsAlive, responseFraming, type BodyFraming } from '../../protocol/http1.js';
import type { SessionInfo } from '../events.js';
import { Session, type SessionDeps } from '../session.js';
import { formatTarget, readResponseHead } from '../upstream.js';
import type { ConnectionContext, LayerDeps } from './context.js';
import { answerAndClose, proxyAnswer, relayBody } from './http-io.js';
import type { IncomingRequest, Next, RequestLayer } from './http-reader.js';
import { SocketReader } from './socket-reader.js';
import { clientUrl, headForTarget } from './target-head.js';
import type { TlsServerFacts } from '../../tls/facts.js';

/** Bytes of a refusal's body kept for the record. */
export const REFUSAL_PREVIEW = 256;
/** A refusal's open record waits at most this long for the first bytes of its body. */
const PREVIEW_WAIT_MS = 200;

export function upgradeLayer(deps: LayerDeps): RequestLayer {
  // What every session is given: one object for all of them.
  const sessionDeps: SessionDeps = {
    bus: deps.bus,
    limits: deps.settings.limits,
    strict: deps.settings.strict,
    keys: deps.keys,
    now: deps.now,
    nextId: deps.nextId,
    interceptors: deps.interceptors,
    stats: deps.stats,
    statsSink: deps.statsSink,
    closed: (session) => deps.sessions.delete(session),
  };
  return (request, reader, ctx) => upgrade(deps, sessionDeps, request, reader, ctx);
}

async function upgrade(deps: LayerDeps, sessionDeps: SessionDeps, request: IncomingRequest, reader: SocketReader, ctx: ConnectionContext): Promise<Next> {
  const { settings } = deps;
  const client = reader.socket;
  const id = deps.nextSession();
  const target = deps.route(ctx, request);
  const time = deps.now();
  if (target === null) return failed(deps, reader, { session: id, time, ctx, request, sent: request.head, target: '' }, 502, 'no target for this request');
  const sent = headForTarget(request, target, settings, true, ctx.mode);
  const base: Attempt = { session: id, time, ctx, request, sent, target: formatTarget(target) };
  if (deps.admit !== undefined) {
    const asked = deps.admit({ client: ctx.client, path: request.line.target });
    const admission = asked instanceof Promise ? await asked : asked;
    if (admission.action === 'refuse') return refusedByProxy(deps, reader, base, admission.status, admission.headers, admission.reason);
    if (client.destroyed || deps.closing()) return 'done';
  }

  const dialed = await (ctx.dial ?? deps.dial)(target, settings.upstreamTimeoutMs);
  if (!dialed.ok) return failed(deps, reader, base, dialed.status, dialed.reason);
  const server = dialed.socket;
  const attempt: Attempt = { ...base, serverTls: dialed.tls ?? null };
  if (client.destroyed || deps.closing()) {
    server.destroy();
    return 'done';
  }
  deps.track(server);
  server.write(sent.raw);
  const upstream = new SocketReader(server);
  // One time-out for the answer, however many interim answers come before it.
  const deadline = Date.now() + settings.upstreamTimeoutMs;
  let answer = await readResponseHead(upstream, target, settings.upstreamTimeoutMs);
  // RFC 9110 §15.2: interim answers (100, 103) go to the client; the real answer follows.
  while (answer.ok && answer.status >= 100 && answer.status < 200 && answer.status !== 101) {
    client.write(answer.head.raw);
    answer = await readResponseHead(upstream, target, settings.upstreamTimeoutMs, undefined, deadline);
  }
  if (!answer.ok) {
    upstream.detach();
    server.destroy();
    deps.untrack(server);
    return failed(deps, reader, attempt, answer.status, answer.reason);
  }
  if (answer.status === 101) return open(deps, sessionDeps, attempt, reader, upstream, answer.head);
  return refused(deps, attempt, reader, upstream, answer.head, answer.status, answer.reason);
}

interface Attempt {
  readonly session: number;
  readonly time: number;
  readonly ctx: ConnectionContext;
  readonly request: IncomingRequest;
  readonly sent: HttpHead;
  readonly target: string;
  /** The target leg's TLS once dialled (null: plaintext, or not dialled). */
  readonly serverTls?: TlsServerFacts | null;
}

function info(a: Attempt, response: HttpHead, status: number, rest: Pick<SessionInfo, 'answeredBy' | 'failure' | 'body' | 'acceptValid' | 'protocol' | 'extensions' | 'deflate'>): SessionInfo {
  const url = clientUrl(a.request, a.ctx.tls !== null, a.target, true);
  const server = a.serverTls ?? null;
  const tls = a.ctx.tls === null && server === null ? PLAINTEXT : { client: a.ctx.tls, server };
  return { session: a.session, time: a.time, client: a.ctx.client, target: a.target, path: a.request.line.target, status, request: a.request.head, response, sent: a.sent, url, mode: a.ctx.mode, tls, ...rest };
}

/** Both legs in plaintext: one record for every such session rather than one each. */
const PLAINTEXT: SessionInfo['tls'] = Object.freeze({ client: null, server: null });

/** The proxy answers the client itself; the attempt is an open and a close by the proxy. */
function failed(deps: LayerDeps, reader: SocketReader, a: Attempt, status: 502 | 504, reason: string): Next {
  reader.detach();
  const head = answerAndClose(reader.socket, status, reason);
  const body = proxyAnswer(status, reason).bytes.subarray(head.raw.length);
  deps.bus.emit('session-open', info(a, head, status, { answeredBy: 'proxy', failure: reason, body, acceptValid: null, protocol: null, extensions: null, deflate: null }));
  const close = { session: a.session, time: deps.now(), code: null, reason, by: 'proxy', clean: false } as const;
  deps.bus.emit('session-close', { ...close, stats: deps.stats(close) });
  return 'done';
}

/** The admission hook refused the upgrade: the proxy answers with its status and headers (Retry-After...). */
function refusedByProxy(deps: LayerDeps, reader: SocketReader, a: Attempt, status: number, headers: readonly (readonly [string, string])[], reason: string): Next {
  reader.detach();
  const plain = proxyAnswer(status, reason);
  const extra = headers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  const headEnd = plain.head.raw.length - 2;
  const bytes = Buffer.concat([plain.bytes.subarray(0, headEnd), Buffer.from(extra, 'latin1'), plain.bytes.subarray(headEnd)]);
  const split = splitHead(bytes);
  const parsed = split.state === 'complete' ? parseHead(split.head) : null;
  const head = parsed !== null && parsed.ok ? parsed.head : plain.head;
  const client = reader.socket;
  if (client.writable) client.end(bytes);
  setTimeout(() => client.destroy(), 1000).unref();
  const failure = `handshake refused by the proxy: ${status} (${reason})`;
  deps.bus.emit('session-open', info(a, head, status, { answeredBy: 'proxy', failure, body: plain.bytes.subarray(plain.head.raw.length), acceptValid: null, protocol: null, extensions: null, deflate: null }));
  const close = { session: a.session, time: deps.now(), code: null, reason: failure, by: 'proxy', clean: false } as const;
  deps.bus.emit('session-close', { ...close, stats: deps.stats(close) });
  return 'done';
}

/** A 101: the connection becomes a Session, and the bytes that came with either head are its first. */
function open(deps: LayerDeps, sessionDeps: SessionDeps, a: Attempt, reader: SocketReader, upstream: SocketReader, response: HttpHead): Next {
  const client = reader.socket;
  const server = upstream.socket;
  const extensions = header(response, 'sec-websocket-extensions');
  let deflate: DeflateParams | null = null;
  if (extensions !== null) {
    const parsed = parseExtensions(extensions);
    const result = parsed === null ? 'unparsable Sec-WebSocket-Extensions' : deflateFromResponse(parsed);
    if (typeof result === 'string') deps.log(a.session, 'warn', `server's permessage-deflate response is invalid (${result}); RSV1 frames will be reported`);
    else deflate = result;
  }
  const sessionInfo = info(a, response, 101, {
    answeredBy: 'server',
    failure: null,
    body: new Uint8Array(0),
    // The key the target answered is the one it received.
    acceptValid: verifyAccept(a.sent, response),
    protocol: header(response, 'sec-websocket-protocol'),
    extensions,
    deflate,
  });
  const clientRest = reader.detach();
  const serverRest = upstream.detach();
  if (client.destroyed) {
    // The client went while the target was answering: no session can start, but the attempt is
    // on the record like any other.
    server.destroy();
    deps.untrack(server);
    deps.bus.emit('session-open', sessionInfo);
    const close = { session: a.session, time: deps.now(), code: null, reason: 'the client left before the 101 arrived', by: 'client', clean: false } as const;
    deps.bus.emit('session-close', { ...close, stats: deps.stats(close) });
    return 'done';
  }
  // The response head goes back exactly as the target wrote it.
  client.write(response.raw);
  const session = new Session(sessionInfo, client, server, sessionDeps);
  deps.untrack(client);
  deps.untrack(server);
  deps.sessions.set(a.session, session);
  // Observers may reach for proxy.session(id) from this event, so the session exists first.
  deps.bus.emit('session-open', sessionInfo);
  // What a conforming client would have refused, said after the open line it is about.
  for (const problem of handshakeProblems(a.sent, response)) deps.log(a.session, 'warn', `${problem}: a conforming client fails the connection`);
  session.feed('server', serverRest);
  session.feed('client', clientRest);
  // An end read with the handshake (a client that sent its upgrade, frames and FIN at once).
  if (upstream.peerEnded) session.feedEnd('server');
  if (reader.peerEnded) session.feedEnd('client');
  client.resume();
  server.resume();
  return 'done';
}

/**
 * Any other status refuses the upgrade: head and body go to the client as they came. The record
 * says so ("handshake refused: 403 Forbidden") with the body's first bytes; the close follows once
 * the body has been relayed. A keep-alive connection then goes back to the head reader, so a
 * later upgrade on it is read and decoded like the first.
 */
async function refused(deps: LayerDeps, a: Attempt, reader: SocketReader, upstream: SocketReader, response: HttpHead, status: number, reasonPhrase: string): Promise<Next> {
  const client = reader.socket;
  const server = upstream.socket;
  const failure = `handshake refused: ${status}${reasonPhrase === '' ? '' : ` ${reasonPhrase}`}`;
  client.write(response.raw);
  const framing = responseFraming(a.request.line.method, response);
  const bodyFraming: BodyFraming = framing.ok ? framing.framing : { kind: 'close' };
  const preview: Buffer[] = [];
  let previewBytes = 0;
  let opened = false;
  const emitOpen = (): void => {
    if (opened) return;
    opened = true;
    clearTimeout(wait);
    const body = Buffer.concat(preview).subarray(0, REFUSAL_PREVIEW);
    deps.bus.emit('session-open', info(a, response, status, { answeredBy: 'server', failure, body, acceptValid: null, protocol: null, extensions: null, deflate: null }));
  };
  const wait = setTimeout(emitOpen, PREVIEW_WAIT_MS);
  // A body that stops moving (the target stops sending, or the client stops reading) for the
  // upstream time-out ends both connections: the attempt is not held open for ever.
  const idleMs = deps.settings.upstreamTimeoutMs;
  let stalled = false;
  const stall = (): void => {
    stalled = true;
    server.destroy();
    client.destroy();
  };
  const idle = setTimeout(stall, idleMs);
  const relayed = await relayBody(upstream, bodyFraming, client, (bytes) => {
    idle.refresh();
    if (previewBytes < REFUSAL_PREVIEW) {
      preview.push(bytes.subarray(0, REFUSAL_PREVIEW - previewBytes));
      previewBytes += Math.min(bytes.length, REFUSAL_PREVIEW - previewBytes);
      if (previewBytes >= REFUSAL_PREVIEW) emitOpen();
    }
  });
  clearTimeout(idle);
  emitOpen();
  upstream.detach();
  server.end();
  setTimeout(() => server.destroy(), 1000).unref();
  deps.untrack(server);
  const reason = stalled ? `${failure}; its body stalled for ${idleMs} ms` : relayed.ok ? failure : `${failure}; ${relayed.reason}`;
  const close = { session: a.session, time: deps.now(), code: null, reason, by: stalled ? 'proxy' : 'server', clean: false } as const;
  deps.bus.emit('session-close', { ...close, stats: deps.stats(close) });
  const requestVersion = a.request.line.version;
  const again = relayed.ok && bodyFraming.kind !== 'close' && keepsAlive(a.request.head, requestVersion) && keepsAlive(response, headVersion(response) ?? 'HTTP/1.0') && !client.destroyed && !reader.exhausted;
  if (again) return 'continue';
  reader.detach();
  endClient(client);
  return 'done';
}

/** Ends the client's side; one that does not close its own gets cut a second later. */
export function endClient(client: Socket): void {
  if (!client.destroyed) client.end();
  setTimeout(() => client.destroy(), 1000).unref();
}
