/**
 * The upstream leg of a plain request, carried by http-proxy. The client leg stays the proxy's
 * own (the head reader and RFC 9112 §6 framing); each framed request is fed, alone, into a
 * `RequestLeg` that an internal, non-listening `http.Server` reads, and its 'request' handler
 * calls `proxy.web()`. http-proxy dials through an Agent whose `createConnection` is the proxy's
 * Dialer, so https targets keep --resolve, --target-ca, SSLKEYLOGFILE and their verification.
 *
 * Its outcomes become the proxy's answers: a dial failure is the Dialer's 502/504; no answer head
 * within the upstream time-out (http-proxy's `proxyTimeout`, which surfaces as ECONNRESET, so it
 * is marked on the request) a 504; an answer Node's parser rejects a 502 at once; a 101 to a
 * plain request (h2c) is handed back for an opaque relay; interim 1xx answers are passed on.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type httpProxy from 'http-proxy';
import { MAX_HEAD_BYTES, parseRequestLine, type HttpHead } from '../../protocol/handshake.js';
import { canStartStatusLine } from '../../protocol/http1.js';
import { formatTarget, type Target } from '../upstream.js';
import type { Dialer } from './context.js';
import { RequestLeg } from './request-leg.js';

export interface LegRequest {
  readonly target: Target;
  /** The head as the target is to receive it, with the proxy's rewrites. */
  readonly sent: HttpHead;
  readonly client: Socket;
  readonly dial: Dialer;
  readonly timeoutMs: number;
  /** Bytes written to the client, as they go. */
  counted(bytes: number): void;
  track(socket: Socket): void;
  untrack(socket: Socket): void;
}

export type LegOutcome =
  /** The answer went to the client; `error` when it was cut short. */
  | { readonly kind: 'answered'; readonly head: HttpHead; readonly status: number; readonly error: string | null }
  /**
   * No final answer went out; `interim`: a 1xx did, so the status line is spent; `idle`: the
   * request to the target timed out with nothing moving (not the dial, not the answer's head).
   */
  | { readonly kind: 'failed'; readonly status: number; readonly reason: string; readonly interim: boolean; readonly idle?: boolean }
  /** The target answered 101 to a plain request: the head to relay, its socket and the bytes after the head. */
  | { readonly kind: 'switched'; readonly head: Buffer; readonly statusLine: string; readonly socket: Socket; readonly rest: Buffer }
  | { readonly kind: 'client-gone' };

export interface LegExchange {
  /** Request body bytes, as framed by the client leg (backpressure: a promise to wait on). */
  feed(bytes: Buffer): Promise<void> | null;
  readonly outcome: Promise<LegOutcome>;
  /** The request cannot be completed (its body was cut or malformed): fails it unless an answer is already going out. */
  abort(status: number, reason: string): void;
  /** Ends the exchange: the request stream and the upstream connection (not a switched one). */
  close(): void;
}

class DialError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The one-request Agent: its connection is the Dialer's socket; it sees the ClientRequest before its head is rendered. */
class DialAgent extends http.Agent {
  constructor(
    private readonly dialed: () => Promise<Socket>,
    private readonly created: (request: http.ClientRequest) => void,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    this.dialed().then(
      (socket) => callback?.(null, socket),
      (error: Error) => callback?.(error, undefined as never),
    );
    return undefined;
  }

  /** Node's Agent calls this from the ClientRequest constructor, before any header is rendered. */
  addRequest(request: http.ClientRequest, options: http.ClientRequestArgs): void {
    this.created(request);
    (http.Agent.prototype as unknown as { addRequest(r: http.ClientRequest, o: http.ClientRequestArgs): void }).addRequest.call(this, request, options);
  }
}

/** Header lines grouped by name in first-seen order (Node renders an array value as one line each). */
function grouped(head: HttpHead): [string, string[]][] {
  const groups = new Map<string, [string, string[]]>();
  for (const [name, value] of head.headers) {
    const group = groups.get(name.toLowerCase());
    if (group === undefined) groups.set(name.toLowerCase(), [name, [value]]);
    else group[1].push(value);
  }
  return [...groups.values()];
}

function headBytes(version: string, status: number, message: string, rawHeaders: readonly string[]): Buffer {
  let text = `HTTP/${version} ${status} ${message}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) text += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/** Why a request to the target failed, as the status and reason the client is answered with. */
function failure(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, target: Target, timedOut: boolean, timeoutMs: number): { status: number; reason: string } {
  const name = formatTarget(target);
  if (error instanceof DialError) return { status: error.status, reason: error.reason };
  if (timedOut) return { status: 504, reason: `target ${name} did not answer within ${timeoutMs} ms` };
  const code = error.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 502, reason: `target ${name} sent a response head that is too large` };
  if (code.startsWith('HPE_')) {
    const raw = error.rawPacket ?? Buffer.alloc(0);
    if (!canStartStatusLine(raw)) return { status: 502, reason: `target ${name} answered with bytes that are not HTTP: ${JSON.stringify(raw.subarray(0, 16).toString('latin1'))}` };
    return { status: 502, reason: `target ${name} sent an invalid response head: ${error.message}` };
  }
  if (code === 'ECONNRESET') return { status: 502, reason: `target ${name} closed the connection before answering` };
  return { status: 502, reason: `target ${name}: ${code === '' ? error.message : code}` };
}

/** One request through http-proxy. */
class Exchange implements LegExchange {
  readonly leg: RequestLeg;
  readonly outcome: Promise<LegOutcome>;
  readonly agent: DialAgent;
  #settle!: (outcome: LegOutcome) => void;
  #settled = false;
  #started = false;
  #timedOut = false;
  #interim = false;
  #request: http.ClientRequest | null = null;
  /** From the request's end to the answer's head: one time-out, not one per idle spell. */
  #headTimer: NodeJS.Timeout | null = null;
  readonly #onClientClose = (): void => this.settle({ kind: 'client-gone' });

  constructor(readonly r: LegRequest) {
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
    this.leg = new RequestLeg(r.client, r.counted);
    this.agent = new DialAgent(() => this.#dial(), (request) => this.#prepare(request));
    r.client.once('close', this.#onClientClose);
  }

  feed(bytes: Buffer): Promise<void> | null {
    return this.leg.feed(bytes);
  }

  settle(outcome: LegOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#clearHeadTimer();
    if (outcome.kind !== 'answered') this.leg.cut();
    this.#settle(outcome);
  }

  abort(status: number, reason: string): void {
    if (this.leg.head === null) this.settle({ kind: 'failed', status, reason, interim: this.#interim });
  }

  close(): void {
    this.r.client.off('close', this.#onClientClose);
    this.leg.cut();
    this.leg.destroy();
    this.agent.destroy();
  }

  /** The internal server's request for this leg: to http-proxy, once. */
  start(proxy: httpProxy, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.#started) {
      // Cannot happen: the leg carries one framed request. Refuse rather than send a second one.
      res.destroy();
      return;
    }
    this.#started = true;
    res.sendDate = false;
    // Node renders a request head with Expect at once; #prepare sets it again, in the client's spelling.
    delete req.headers.expect;
    res.once('finish', () => {
      const head = this.leg.head;
      if (head !== null) this.settle({ kind: 'answered', head, status: res.statusCode, error: null });
    });
    const { host, port } = this.r.target;
    try {
      proxy.web(req, res, { target: { protocol: 'http:', host, port: String(port) }, agent: this.agent, proxyTimeout: this.r.timeoutMs }, (error) => {
        const cause = failure(error, this.r.target, this.#timedOut, this.r.timeoutMs);
        if (res.headersSent && this.leg.head !== null) this.settle({ kind: 'answered', head: this.leg.head, status: res.statusCode, error: cause.reason });
        // Idle: http-proxy's time-out ran out before the request had all gone (no answer timer yet).
        else this.settle({ kind: 'failed', ...cause, interim: this.#interim, idle: this.#timedOut && this.#headTimer === null });
      });
    } catch (error) {
      // A head Node will not send (it checks names and values again): the client's error, not a crash.
      this.settle({ kind: 'failed', status: 400, reason: `the request cannot be sent on: ${(error as Error).message}`, interim: false });
    }
  }

  /** The target's answer head arrived (http-proxy's 'proxyRes'): keep its lines, bound no longer. */
  answered(proxyRes: http.IncomingMessage, res: http.ServerResponse): void {
    // The time-out bounds the wait for the answer's head; a body streams for as long as it takes.
    this.#request?.setTimeout(0);
    this.#clearHeadTimer();
    // Duplicate lines stay lines (Node's `headers` joins or drops them), and each name keeps the
    // spelling it first had (http-proxy's preserveHeaderKeyCase takes the last one from rawHeaders).
    const headers: http.IncomingHttpHeaders = {};
    const spelling = new Map<string, string>();
    const raw = proxyRes.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]!.toLowerCase();
      if (!spelling.has(key)) spelling.set(key, raw[i]!);
      const had = headers[key];
      headers[key] = had === undefined ? raw[i + 1]! : [...(Array.isArray(had) ? had : [had]), raw[i + 1]!];
    }
    proxyRes.headers = headers;
    proxyRes.rawHeaders = [...spelling.values()].flatMap((name) => [name, '']);
    // http-proxy forwards no trailers; they go on as the target sent them (RFC 9112 §7.1.2).
    proxyRes.once('end', () => {
      const t = proxyRes.rawTrailers;
      if (t.length === 0) return;
      try {
        res.addTrailers(Array.from({ length: t.length >> 1 }, (_, i): [string, string] => [t[2 * i]!, t[2 * i + 1]!]));
      } catch {
        // Node refuses a trailer it would not have parsed: the body goes on without it.
      }
    });
    proxyRes.on('error', () => undefined);
    proxyRes.once('close', () => {
      if (proxyRes.complete || this.leg.head === null) return;
      this.settle({ kind: 'answered', head: this.leg.head, status: res.statusCode, error: `target ${formatTarget(this.r.target)} ended its answer in the middle of the body` });
    });
  }

  #clearHeadTimer(): void {
    if (this.#headTimer !== null) clearTimeout(this.#headTimer);
    this.#headTimer = null;
  }

  async #dial(): Promise<Socket> {
    const dialed = await this.r.dial(this.r.target, this.r.timeoutMs);
    if (!dialed.ok) throw new DialError(dialed.status, dialed.reason);
    const socket = dialed.socket;
    this.r.track(socket);
    socket.once('close', () => this.r.untrack(socket));
    if (this.#settled) socket.destroy();
    return socket;
  }

  /** The request to the target before its head is rendered: the head as sent, and the listeners. */
  #prepare(request: http.ClientRequest): void {
    this.#request = request;
    const { sent } = this.r;
    // The target gets the client's header lines (names, values, order by name), nothing added:
    // removing these three also stops Node from adding its own Connection or framing lines.
    for (const name of request.getHeaderNames()) request.removeHeader(name);
    for (const name of ['connection', 'content-length', 'transfer-encoding']) request.removeHeader(name);
    for (const [name, values] of grouped(sent)) request.setHeader(name, values.length === 1 ? values[0]! : values);
    // http-proxy joins paths with their slashes collapsed; the target gets the path as sent.
    const line = parseRequestLine(sent.startLine);
    if (line !== null) request.path = line.target;
    // The head goes as soon as the target is reached, not with the first body bytes: a client
    // that sent Expect: 100-continue waits for the target's answer before sending any.
    request.flushHeaders();
    request.on('timeout', () => (this.#timedOut = true));
    // http-proxy's time-out is an idle one: a target trickling its head a byte at a time would
    // restart it forever. Once the request has gone, its answer's head has the time-out in all.
    request.once('finish', () => {
      if (this.#settled) return;
      this.#headTimer = setTimeout(() => {
        this.#timedOut = true;
        request.destroy(new Error('the answer head did not arrive in time'));
      }, this.r.timeoutMs);
      this.#headTimer.unref();
    });
    // RFC 9110 §15.2: interim answers (100 Continue, 103 Early Hints) are passed on.
    request.on('information', (info) => {
      if (this.#settled) return;
      this.#interim = true;
      this.leg.interim(headBytes(info.httpVersion, info.statusCode, info.statusMessage, info.rawHeaders));
    });
    request.on('upgrade', (res: http.IncomingMessage, socket: Socket, rest: Buffer) => {
      socket.setTimeout(0);
      const head = headBytes(res.httpVersion, res.statusCode ?? 101, res.statusMessage ?? '', res.rawHeaders);
      this.settle({ kind: 'switched', head, statusLine: `HTTP/${res.httpVersion} ${res.statusCode ?? 101} ${res.statusMessage ?? ''}`.trim(), socket, rest });
    });
  }
}

/**
 * One per proxy, made at its first plain request: the http-proxy instance and the internal server
 * that reads each request's leg. http-proxy (with follow-redirects) is loaded then, not with the
 * proxy: a relay of WebSockets alone keeps a smaller heap (docs/performance.md, round 8).
 */
export class UpstreamLeg {
  readonly #exchanges = new WeakMap<object, Exchange>();
  readonly #proxy = (createRequire(import.meta.url)('http-proxy') as typeof httpProxy).createProxyServer({ preserveHeaderKeyCase: true, xfwd: false, changeOrigin: false, ws: false });
  readonly #server: http.Server;

  constructor() {
    // No time-outs of its own (the head reader and proxyTimeout bound everything), no Host demand,
    // the proxy's own head limit; Expect is the target's to answer, not Node's.
    this.#server = http.createServer({ maxHeaderSize: MAX_HEAD_BYTES, requestTimeout: 0, headersTimeout: 0, requireHostHeader: false, keepAliveTimeout: 0 });
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const exchange = this.#exchanges.get(req.socket);
      if (exchange === undefined) res.destroy();
      else exchange.start(this.#proxy, req, res);
    };
    this.#server.on('request', onRequest);
    this.#server.on('checkContinue', onRequest);
    this.#server.on('checkExpectation', onRequest);
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      const overflow = error.code === 'HPE_HEADER_OVERFLOW';
      this.#exchanges.get(socket)?.settle({ kind: 'failed', status: overflow ? 431 : 400, reason: `the request was refused by the HTTP parser: ${error.code ?? error.message}`, interim: false });
      socket.destroy();
    });
    this.#proxy.on('proxyRes', (proxyRes, req, res) => this.#exchanges.get(req.socket)?.answered(proxyRes, res));
    // The client left (its leg was destroyed): already settled as 'client-gone'.
    this.#proxy.on('econnreset', () => undefined);
  }

  /** Starts one request: its head goes to the internal server now, its body as `feed` gets it. */
  start(r: LegRequest): LegExchange {
    const exchange = new Exchange(r);
    this.#exchanges.set(exchange.leg, exchange);
    this.#server.emit('connection', exchange.leg);
    void exchange.leg.feed(Buffer.from(r.sent.raw));
    return exchange;
  }
}
