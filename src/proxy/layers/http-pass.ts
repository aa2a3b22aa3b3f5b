/**
 * Plain HTTP pass-through, so the app's own pages and API keep working through the proxy. The
 * client leg is the proxy's own: each request is framed here (RFC 9112 §6) and only its bytes,
 * with the Host and base-path rewrites, go on; the upstream leg is http-proxy's (upstream-leg.ts).
 * Once the answer is through, the head reader takes the next request on the connection. Every
 * request is one `http` record on the bus. A target that does not answer within the upstream
 * time-out gets the client a 504, one that answers with something that is not HTTP a 502 at once;
 * a client that stops in the middle of its body gets 408.
 */
import type { Duplex } from 'node:stream';
import { headVersion, keepsAlive, requestFraming, responseFraming } from '../../protocol/http1.js';
import { violation } from '../../protocol/violations.js';
import { formatTarget } from '../upstream.js';
import type { ConnectionContext, LayerDeps } from './context.js';
import { answerAndClose, proxyAnswer, relayBody, type BodyOutcome } from './http-io.js';
import type { IncomingRequest, Next, RequestLayer } from './http-reader.js';
import type { SocketReader } from './socket-reader.js';
import { headForTarget } from './target-head.js';
import { endClient } from './upgrade.js';
import { UpstreamLeg } from './upstream-leg.js';

/** RFC 9110 §10.1.1: the client waits for an interim answer before it sends its body. */
const expectsContinue = (request: IncomingRequest): boolean => request.head.headers.some(([n, v]) => n.toLowerCase() === 'expect' && v.trim().toLowerCase() === '100-continue');

export function plainHttpLayer(deps: LayerDeps): RequestLayer {
  let upstream: UpstreamLeg | null = null;
  return (request, reader, ctx) => pass(deps, (upstream ??= new UpstreamLeg()), request, reader, ctx);
}

async function pass(deps: LayerDeps, upstream: UpstreamLeg, request: IncomingRequest, reader: SocketReader, ctx: ConnectionContext): Promise<Next> {
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
  const stopReading = (): void => {
    reader.interrupt();
    reader.detach();
  };
  /** The proxy answers instead of the target; the connection closes after it. */
  const refuse = (status: number, reason: string): Next => {
    stopReading();
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
  const exchange = upstream.start({
    target,
    sent: headForTarget(request, target, settings, false, ctx.mode),
    client,
    dial: ctx.dial ?? deps.dial,
    timeoutMs: settings.upstreamTimeoutMs,
    counted: (bytes) => (responseBytes += bytes),
    track: (socket) => deps.track(socket),
    untrack: (socket) => deps.untrack(socket),
  });
  // The body streams to the target while its answer is awaited: a target may answer early (413).
  let bodyDone = false;
  // Whether the body waits for the target to take bytes (not for the client to send them).
  let feeding = false;
  const feed = (bytes: Buffer): Promise<void> | null => {
    const wait = exchange.feed(bytes);
    if (wait === null) return null;
    feeding = true;
    return wait.finally(() => (feeding = false));
  };
  const body: Promise<BodyOutcome> = relayBody(reader, framing.framing, feed, (bytes) => (requestBytes += bytes.length)).then((outcome) => {
    bodyDone = true;
    // A body that cannot end (cut short, bad chunk framing: RFC 9112 §7.1) is the client's error, not a wait for the target.
    if (!outcome.ok) exchange.abort(400, outcome.reason);
    return outcome;
  });
  const outcome = await exchange.outcome;
  // The upgraded socket left http-proxy's agent with the 101, so closing the exchange spares it.
  exchange.close();
  if (outcome.kind === 'switched') return switched(deps, request, reader, outcome.socket, outcome.head, outcome.rest, outcome.statusLine, () => {
    responseBytes += outcome.head.length + outcome.rest.length;
    record(101, 'server', null);
  });
  if (outcome.kind === 'client-gone') {
    stopReading();
    record(null, 'server', 'the client closed the connection before the answer was through');
    return 'done';
  }
  if (outcome.kind === 'failed') {
    // The time-out ran out while the client owed the rest of its body and the target had taken
    // all that came (and was asked for no 100 Continue first): the wait was the client's (408).
    if (outcome.idle === true && !bodyDone && !feeding && !outcome.interim && !expectsContinue(request)) {
      return refuse(408, `the client's request body stopped before its end: nothing more came for ${settings.upstreamTimeoutMs} ms`);
    }
    if (!outcome.interim) return refuse(outcome.status, outcome.reason);
    // Once an interim answer went out the status line is spent: cutting is all that is honest.
    stopReading();
    client.destroy();
    record(null, 'proxy', outcome.reason);
    return 'done';
  }
  record(outcome.status, 'server', outcome.error);
  const answerFraming = responseFraming(request.line.method, outcome.head);
  const again =
    outcome.error === null &&
    bodyDone &&
    (await body).ok &&
    answerFraming.ok &&
    answerFraming.framing.kind !== 'close' &&
    keepsAlive(request.head, request.line.version) &&
    keepsAlive(outcome.head, headVersion(outcome.head) ?? 'HTTP/1.0') &&
    !client.destroyed;
  if (again) return 'continue';
  stopReading();
  endClient(client);
  return 'done';
}

/**
 * The target switched a plain request to another protocol (h2c, say): that is not a WebSocket and
 * cannot be decoded, so the bytes are relayed as they are, and the log says so.
 */
function switched(deps: LayerDeps, request: IncomingRequest, reader: SocketReader, server: Duplex, head: Buffer, serverRest: Buffer, statusLine: string, recorded: () => void): Next {
  const client = reader.socket;
  const protocol = request.head.headers.find(([n]) => n.toLowerCase() === 'upgrade')?.[1] ?? 'another protocol';
  deps.log(null, 'warn', `${request.line.method} ${request.line.target}: the target switched to ${protocol} (${statusLine}); relayed as opaque bytes, not decoded`);
  reader.interrupt();
  const clientRest = reader.detach();
  client.write(head);
  if (serverRest.length > 0) client.write(serverRest);
  if (clientRest.length > 0) server.write(clientRest);
  recorded();
  tunnel(client, server);
  return 'done';
}

/** Relays bytes both ways until either side closes. */
export function tunnel(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
  a.resume();
  b.resume();
}
