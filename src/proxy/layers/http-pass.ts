/**
 * Plain HTTP pass-through, so the app's own pages and API keep working through the proxy. Each
 * request is framed here (RFC 9112 §6), sent to the target with only the Host and base-path
 * rewrites, and its answer relayed as the target wrote it; then the head reader takes the next
 * request on the connection. Every request is one `http` record on the bus. A target that does
 * not answer within the upstream time-out gets the client a 504, one that answers with something
 * that is not HTTP a 502 at once.
 */
import type { Socket } from 'node:net';
import { headVersion, keepsAlive, requestFraming, responseFraming, type BodyFraming } from '../../protocol/http1.js';
import { violation } from '../../protocol/violations.js';
import { formatTarget, readResponseHead } from '../upstream.js';
import type { ConnectionContext, LayerDeps } from './context.js';
import { answerAndClose, proxyAnswer, relayBody, type BodyOutcome } from './http-io.js';
import type { IncomingRequest, Next, RequestLayer } from './http-reader.js';
import { SocketReader } from './socket-reader.js';
import { headForTarget } from './target-head.js';
import { endClient } from './upgrade.js';

export function plainHttpLayer(deps: LayerDeps): RequestLayer {
  return (request, reader, ctx) => pass(deps, request, reader, ctx);
}

async function pass(deps: LayerDeps, request: IncomingRequest, reader: SocketReader, ctx: ConnectionContext): Promise<Next> {
  const { settings, bus } = deps;
  const client = reader.socket;
  const started = deps.now();
  const target = deps.route(ctx, request);
  let requestBytes = request.bytes;
  let responseBytes = 0;
  const record = (status: number | null, answeredBy: 'server' | 'proxy', error: string | null): void => {
    bus.emit('http', {
      time: started,
      client: ctx.client,
      target: target === null ? '' : formatTarget(target),
      method: request.line.method,
      url: request.line.target,
      status,
      duration: deps.now() - started,
      requestBytes,
      responseBytes,
      answeredBy,
      error,
    });
  };
  /** The proxy answers instead of the target; the connection closes after it. */
  const refuse = (status: number, reason: string): Next => {
    reader.interrupt();
    reader.detach();
    answerAndClose(client, status, reason);
    responseBytes += proxyAnswer(status, reason).bytes.length;
    record(status, 'proxy', reason);
    return 'done';
  };

  const framing = requestFraming(request.head);
  if (!framing.ok) {
    bus.emit('violation', { session: deps.nextSession(), time: started, from: 'client', violation: violation('invalid-handshake', `${ctx.client}: ${framing.reason}`), frame: null });
    return refuse(400, framing.reason);
  }
  if (target === null) return refuse(502, 'no target for this request');
  const sent = headForTarget(request, target, settings, false, ctx.mode);
  const dialed = await (ctx.dial ?? deps.dial)(target, settings.upstreamTimeoutMs);
  if (!dialed.ok) return refuse(dialed.status, dialed.reason);
  const server = dialed.socket;
  deps.track(server);
  const upstream = new SocketReader(server);
  const close = (): void => {
    upstream.interrupt();
    upstream.detach();
    server.destroy();
    deps.untrack(server);
  };
  server.write(sent.raw);
  // The body streams to the target while its answer is awaited: a target may answer early (413).
  let bodyDone = false;
  const body: Promise<BodyOutcome> = relayBody(reader, framing.framing, server, (bytes) => (requestBytes += bytes.length)).then((outcome) => {
    bodyDone = true;
    return outcome;
  });
  let answer = await readResponseHead(upstream, target, settings.upstreamTimeoutMs, body);
  while (answer.ok && answer.status >= 100 && answer.status < 200 && answer.status !== 101) {
    // RFC 9110 §15.2: interim answers (100 Continue, 103) are passed on; the final one follows.
    client.write(answer.head.raw);
    responseBytes += answer.head.raw.length;
    answer = await readResponseHead(upstream, target, settings.upstreamTimeoutMs);
  }
  if (!answer.ok) {
    close();
    // Once an interim answer went out the status line is spent: cutting is all that is honest.
    if (responseBytes > 0) {
      reader.interrupt();
      reader.detach();
      client.destroy();
      record(null, 'proxy', answer.reason);
      return 'done';
    }
    return refuse(answer.status, answer.reason);
  }
  client.write(answer.head.raw);
  responseBytes += answer.head.raw.length;
  if (answer.status === 101) return switched(deps, request, reader, upstream, answer.head.startLine, record);
  const responseFramingResult = responseFraming(request.line.method, answer.head);
  const responseBody: BodyFraming = responseFramingResult.ok ? responseFramingResult.framing : { kind: 'close' };
  const relayed = await relayBody(upstream, responseBody, client, (bytes) => (responseBytes += bytes.length));
  close();
  record(answer.status, 'server', relayed.ok ? null : relayed.reason);
  const again =
    relayed.ok &&
    bodyDone &&
    (await body).ok &&
    responseBody.kind !== 'close' &&
    keepsAlive(request.head, request.line.version) &&
    keepsAlive(answer.head, headVersion(answer.head) ?? 'HTTP/1.0') &&
    !client.destroyed;
  if (again) return 'continue';
  reader.interrupt();
  reader.detach();
  endClient(client);
  return 'done';
}

/**
 * The target switched a plain request to another protocol (h2c, say): that is not a WebSocket and
 * cannot be decoded, so the bytes are relayed as they are, and the log says so.
 */
function switched(deps: LayerDeps, request: IncomingRequest, reader: SocketReader, upstream: SocketReader, statusLine: string, record: (status: number, by: 'server', error: string | null) => void): Next {
  const client = reader.socket;
  const server = upstream.socket;
  const protocol = request.head.headers.find(([n]) => n.toLowerCase() === 'upgrade')?.[1] ?? 'another protocol';
  deps.log(null, 'warn', `${request.line.method} ${request.line.target}: the target switched to ${protocol} (${statusLine}); relayed as opaque bytes, not decoded`);
  record(101, 'server', null);
  const clientRest = reader.detach();
  const serverRest = upstream.detach();
  if (serverRest.length > 0) client.write(serverRest);
  if (clientRest.length > 0) server.write(clientRest);
  tunnel(client, server);
  return 'done';
}

function tunnel(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
  a.resume();
  b.resume();
}
