/**
 * One client↔server pair after a 101: two DirectionPipes, their sockets, backpressure, close
 * bookkeeping and the violation policy (report always; close where framing cannot continue, or
 * on any violation with --strict).
 */
import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import { encodeClosePayload, type ClosePayload } from '../protocol/close-codes.js';
import { answerText } from './close-answer.js';
import type { Violation } from '../protocol/violations.js';
import type { InjectRequest, SessionControl, SessionState } from './control.js';
import { DirectionPipe, type PipeHost, type RelayLimits } from './direction-pipe.js';
import type { StatsSink } from './pipe-records.js';
import type { SessionDeps } from './session-deps.js';
import type { MessageInterceptor } from '../intercept/verdict.js';
import type { MaskKeySource } from './mask-keys.js';
import { otherSide, type ProxyBus, type SessionInfo, type Side } from './events.js';
import { Sequencer } from './sequencer.js';
import { toOutMessage, truncateUtf8 } from './out-message.js';
import type { GateFactory, WriteGate } from './write-gate.js';

export type { SessionDeps } from './session-deps.js';

/** The session side a socket belongs to, for listeners shared by every socket (no closures per connection). */
const SIDE = Symbol('session side');
type WiredSocket = Socket & { [SIDE]?: PipeHost };

/** A peer that vanished gets this long before the other side is cut too. */
const LINGER_MS = 1000;

/** What the session keeps per direction (its #Host below): the pipe, the socket it writes to, the gate, the peer's end. */
interface SessionDirection {
  readonly from: Side;
  readonly to: Side;
  /** The peer's socket this direction reads from, and the one it writes to. */
  readonly socket: Socket;
  readonly out: Socket;
  readonly pipe: DirectionPipe;
  gate: WriteGate | null;
  /** The peer ended its stream. */
  ended: boolean;
  /** Why reading from the peer is paused (PAUSE bits). */
  paused: number;
  /** The peer's socket closed. */
  closed: boolean;
  /** A close frame came from the peer. */
  closeFrameSeen: boolean;
}

/** Why reading from a peer is paused: one bit per reason, reading resumes when none is left. */
const PAUSE = { drain: 1, queue: 2, gate: 4 } as const;
type PauseReason = keyof typeof PAUSE;

/** Below this, a batch of segments is joined before writing. */
const COALESCE_BYTES = 16 * 1024;

export class Session implements SessionControl {
  readonly info: SessionInfo;
  readonly #deps: SessionDeps;
  /** Made when a decider first asks for it: most sessions never hold a message. */
  #abort: AbortController | null = null;
  /** Both directions' records, in the order their frames arrived at the proxy. */
  readonly #records = new Sequencer();
  #state: SessionState = 'open';
  /** The first close frame, or the proxy's own close. */
  #closeStart: { by: Side | 'proxy'; code: number | null; reason: string } | null = null;
  #failed = false;
  #lingerTimer: NodeJS.Timeout | null = null;
  /** Each side's state: its socket, its pipe (what it sends), the gate on what it sends, its end, pauses and close. */
  readonly #hosts: { readonly [S in Side]: SessionDirection };
  readonly #stats: StatsSink | undefined;
  /** The clock reading of the read being relayed, while wire observers listen. */
  #readTime: number | null = null;
  /** True while a read is relayed that no wire observer hears (asked once per read, not per write). */
  #quiet = false;
  /** Made when someone asks (shutdown): most sessions end without anyone waiting on them. */
  #done: Promise<void> | null = null;
  #resolveDone: (() => void) | null = null;
  #over = false;

  constructor(info: SessionInfo, client: Socket, server: Socket, deps: SessionDeps) {
    this.info = info;
    this.#deps = deps;
    this.#stats = deps.statsSink?.(info.session, info.time);
    const hosts = { client: new Session.#Host(this, 'client', client, server), server: new Session.#Host(this, 'server', server, client) };
    this.#hosts = hosts;
    Session.#Host.wire(client, hosts.client);
    Session.#Host.wire(server, hosts.server);
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Resolves once both connections are closed. */
  get done(): Promise<void> {
    if (this.#done === null) {
      if (this.#over) this.#done = Promise.resolve();
      else this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    }
    return this.#done;
  }

  /** Feeds bytes that arrived together with a handshake head (they must not be lost). */
  feed(from: Side, bytes: Uint8Array): void {
    if (bytes.length > 0) this.#received(this.#hosts[from], bytes);
  }

  /** The peer's end arrived with the handshake, before the session owned its socket. */
  feedEnd(from: Side): void {
    if (!this.#hosts[from].ended) this.#peerEnded(from);
  }

  #peerEnded(side: Side): void {
    this.#hosts[side].ended = true;
    // A TCP end starts the close as much as a close frame does; the 'close' events that follow
    // come in no useful order (the proxy may cut both sockets at once).
    this.#closeStart ??= { by: side, code: null, reason: '' };
    this.#hosts[side].pipe.end();
    this.#endWhenDrained(side);
  }

  /** Bytes from a peer into its pipe; told first to wire observers (pcapng) when there are any. */
  #received(h: SessionDirection, chunk: Uint8Array): void {
    const bus = this.#deps.bus;
    if (bus.listenerCount('wire') === 0) {
      // The writes of this read need not ask again.
      this.#quiet = true;
      try {
        h.pipe.push(chunk);
      } finally {
        this.#quiet = false;
      }
      return;
    }
    // Before the pipe re-masks the chunk in place; the pipe's records get the same clock reading.
    const time = (this.#readTime = this.#deps.now());
    bus.emit('wire', { session: this.info.session, time, leg: h.from, direction: 'in', bytes: [chunk] });
    h.pipe.push(chunk);
    this.#readTime = null;
  }

  send(request: InjectRequest): void {
    if (this.#state === 'closed') throw new Error(`session ${this.info.session} is closed`);
    const message = toOutMessage(request);
    // A close the proxy injects starts the closing handshake as much as a peer's would.
    if (message.kind === 'close') this.#closeFrame('proxy', request.code ?? null, request.reason ?? '');
    // A frame to the server travels the client→server pipe, and the other way round.
    this.#hosts[request.to === 'server' ? 'client' : 'server'].pipe.inject(message);
  }

  close(code = 1000, reason = '', to?: Side): void {
    this.#fail(code, reason, to);
  }

  reset(to?: Side): void {
    if (this.#state === 'closed') return;
    this.#closeStart ??= { by: 'proxy', code: null, reason: 'aborted' };
    for (const side of ['client', 'server'] as const) {
      this.#hosts[side].pipe.stop();
      this.#dropGate(side);
      const socket = this.#hosts[side].socket;
      // No close frame: the peer sees the connection reset (a browser reports 1006).
      if (to === undefined || to === side) socket.resetAndDestroy();
      else socket.end();
    }
    this.#linger();
  }

  halfClose(to: Side): void {
    const socket = this.#hosts[to].socket;
    if (this.#state === 'closed' || socket.writableEnded) return;
    // What is still owed to `to` (and what comes later from its partner) is not written after the FIN.
    this.#hosts[otherSide(to)].pipe.stop();
    this.#dropGate(to);
    socket.end();
  }

  setWriteGate(to: Side, make: GateFactory | null): WriteGate | null {
    const from = otherSide(to);
    const socket = this.#hosts[to].socket;
    const writer = this.#hosts[from];
    const old = writer.gate;
    if (old !== null) {
      writer.gate = null;
      const rest = old.detach();
      this.#pause(from, 'gate', false);
      if (rest.length > 0) this.#write(writer, rest);
    }
    if (make === null || this.#state === 'closed') return null;
    const gate = make({
      write: (chunk) => {
        if (socket.destroyed || !socket.writable) return true;
        // A gate writes later (or in other pieces) than the relay asked: the wire is what leaves now.
        if (this.#deps.bus.listenerCount('wire') > 0) this.#tellWire(to, [chunk], this.#deps.now());
        return socket.write(chunk);
      },
      onDrain: (fn) => socket.once('drain', fn),
      pressure: (over) => this.#pause(from, 'gate', over),
      empty: () => {
        if (writer.ended) this.#endWhenDrained(from);
      },
    });
    writer.gate = gate;
    return gate;
  }

  /** Forgets what a gate still holds (the connection is being cut or failed). */
  #dropGate(to: Side): void {
    const writer = this.#hosts[otherSide(to)];
    const gate = writer.gate;
    if (gate === null) return;
    writer.gate = null;
    gate.detach();
    this.#pause(otherSide(to), 'gate', false);
  }

  /** Aborted when the session ends: held decisions stop waiting. */
  #signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      // One signal for every message the session holds: each decider may listen (no leak warning).
      setMaxListeners(0, this.#abort.signal);
      if (this.#state === 'closed') this.#abort.abort();
    }
    return this.#abort.signal;
  }

  /**
   * What a pipe sees of its session, one per direction. A class rather than an object of closures:
   * every connection makes two, and a proxy may hold thousands of sessions.
   */
  static readonly #Host = class SessionSide implements PipeHost, SessionDirection {
    readonly session: number;
    readonly bus: ProxyBus;
    readonly stats: StatsSink | undefined;
    readonly limits: RelayLimits;
    readonly keys: MaskKeySource;
    readonly records: Sequencer;
    readonly inflateLater: boolean;
    readonly from: Side;
    readonly to: Side;
    readonly socket: Socket;
    readonly out: Socket;
    readonly pipe: DirectionPipe;
    /** The fault gate on what this direction writes; null (the usual case) writes straight through. */
    gate: WriteGate | null = null;
    ended = false;
    paused = 0;
    closed = false;
    closeFrameSeen = false;
    readonly #s: Session;

    constructor(s: Session, from: Side, socket: Socket, out: Socket) {
      const deps = s.#deps;
      this.#s = s;
      this.from = from;
      this.to = otherSide(from);
      this.socket = socket;
      this.out = out;
      this.session = s.info.session;
      this.bus = deps.bus;
      this.stats = s.#stats;
      this.limits = deps.limits;
      this.keys = deps.keys;
      this.records = s.#records;
      this.inflateLater = !deps.strict;
      // Last: the pipe reads the fields above.
      this.pipe = new DirectionPipe(from, this, s.info.deflate);
    }

    get signal(): AbortSignal {
      return this.#s.#signal();
    }

    // While wire observers hear a read, the pipe dates its records with that read's clock reading.
    now(): number {
      return this.#s.#readTime ?? this.#s.#deps.now();
    }

    nextId(): number {
      return this.#s.#deps.nextId();
    }

    interceptors(): readonly MessageInterceptor[] {
      return this.#s.#deps.interceptors();
    }

    write(segments: readonly Uint8Array[]): void {
      this.#s.#write(this, segments);
    }

    violation(v: Violation, frame: number | null): void {
      this.#s.#violation(this.from, v, frame);
    }

    closeFrame(code: number | null, reason: string): void {
      this.#s.#closeFrame(this.from, code, reason);
    }

    pressure(over: boolean): void {
      this.#s.#pause(this.from, 'queue', over);
    }

    chainError(interceptor: string, error: unknown): void {
      this.#s.#chainError(interceptor, error);
    }

    idle(): void {
      if (this.ended) this.#s.#endWhenDrained(this.from);
    }

    /** The socket's events go to its session through listeners shared by every socket. */
    static wire(socket: WiredSocket, host: PipeHost): void {
      socket[SIDE] = host;
      socket.on('data', SessionSide.#onData);
      socket.on('drain', SessionSide.#onDrain);
      socket.on('end', SessionSide.#onEnd);
      socket.on('error', SessionSide.#onError);
      socket.on('close', SessionSide.#onClose);
    }

    static #side(socket: WiredSocket): SessionSide {
      return socket[SIDE] as SessionSide;
    }

    static #onData(this: WiredSocket, chunk: Buffer): void {
      const h = SessionSide.#side(this);
      h.#s.#received(h, chunk);
    }

    static #onDrain(this: WiredSocket): void {
      const h = SessionSide.#side(this);
      h.#s.#pause(h.to, 'drain', false);
    }

    static #onEnd(this: WiredSocket): void {
      const h = SessionSide.#side(this);
      h.#s.#peerEnded(h.from);
    }

    static #onError(this: WiredSocket, error: NodeJS.ErrnoException): void {
      const h = SessionSide.#side(this);
      // A reset is how many peers go away; it is reported in the close record, not as a failure.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') h.bus.emit('error', error, { session: h.session });
    }

    static #onClose(this: WiredSocket): void {
      const h = SessionSide.#side(this);
      h.#s.#socketClosed(h.from);
    }
  };

  /** What direction `h` writes to its socket (through its gate, if one is set). */
  #write(h: SessionDirection, segments: readonly Uint8Array[]): void {
    const socket = h.out;
    if (socket.destroyed || !socket.writable) return;
    const gate = h.gate;
    if (gate !== null) return gate.write(segments);
    if (!this.#quiet && this.#deps.bus.listenerCount('wire') > 0) this.#tellWire(h.to, segments, this.#readTime ?? this.#deps.now());
    let total = 0;
    for (const s of segments) total += s.length;
    if (segments.length === 1) socket.write(segments[0]!);
    else if (total <= COALESCE_BYTES) {
      // Many small frames from one read: one copy into one buffer beats a writev of hundreds of pieces.
      socket.write(Buffer.concat(segments, total));
    } else {
      // Large payloads are not copied: header and payload leave corked, in one writev.
      socket.cork();
      for (const s of segments) socket.write(s);
      socket.uncork();
    }
    if (socket.writableNeedDrain) this.#pause(h.from, 'drain', true);
    if (h.ended) this.#endWhenDrained(h.from);
  }

  #tellWire(to: Side, bytes: readonly Uint8Array[], time: number): void {
    this.#deps.bus.emit('wire', { session: this.info.session, time, leg: to, direction: 'out', bytes });
  }

  /** Pauses reading from `side` while its output is backed up or its hold queue is full. */
  #pause(side: Side, reason: PauseReason, on: boolean): void {
    const bit = PAUSE[reason];
    const h = this.#hosts[side];
    const socket = h.socket;
    const was = h.paused;
    if (on) {
      h.paused = was | bit;
      socket.pause();
    } else if ((was & bit) !== 0) {
      h.paused = was & ~bit;
      if (h.paused === 0 && !socket.destroyed) socket.resume();
    }
  }

  /** The peer on `side` ended its stream: pass the end on once everything it sent is written. */
  #endWhenDrained(side: Side): void {
    const h = this.#hosts[side];
    if (!h.pipe.drained || (h.gate?.pending ?? 0) > 0) return;
    const other = this.#hosts[side].out;
    if (!other.destroyed && !other.writableEnded) {
      other.end();
      // Both sockets allow half-open, so a peer that keeps its side open after the other's EOF
      // would keep the session (and both sockets) forever: once the end is flushed it gets
      // LINGER_MS to close, then both are cut.
      other.once('finish', () => this.#linger());
    }
  }

  /** Gives the peers LINGER_MS to finish closing, then cuts both connections. */
  #linger(): void {
    if (this.#state === 'closed') return;
    this.#lingerTimer ??= setTimeout(() => {
      for (const h of Object.values(this.#hosts)) h.socket.destroy();
    }, LINGER_MS);
    this.#lingerTimer.unref();
  }

  #socketClosed(side: Side): void {
    this.#hosts[side].closed = true;
    if (this.#closeStart === null) this.#closeStart = { by: side, code: null, reason: '' };
    if (this.#hosts.client.closed && this.#hosts.server.closed) return this.#finish();
    if (this.#state === 'open') this.#state = 'closing';
    // RFC 6455 §7.1.1: the underlying TCP connection goes; the other peer must learn of it soon.
    const other = this.#hosts[side].out;
    if (!other.writableEnded) other.end();
    this.#linger();
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
    this.#abort?.abort();
    for (const h of Object.values(this.#hosts)) h.pipe.stop();
    const start = this.#closeStart!;
    const record = {
      session: this.info.session,
      time: this.#deps.now(),
      code: start.code,
      reason: start.reason,
      by: start.by,
      clean: this.#hosts.client.closeFrameSeen && this.#hosts.server.closeFrameSeen,
    };
    // A compressed message just before the close may still be inflating: its records come first,
    // so observers see the close last.
    void Promise.all(Object.values(this.#hosts).map((h) => h.pipe.settled())).then(() => {
      this.#deps.bus.emit('session-close', { ...record, stats: this.#deps.stats?.(record) ?? null });
      this.#over = true;
      this.#resolveDone?.();
      this.#deps.closed?.(this.info.session);
    });
  }

  #closeFrame(from: Side | 'proxy', code: number | null, reason: string): void {
    if (from !== 'proxy') this.#hosts[from].closeFrameSeen = true;
    if (this.#closeStart === null) this.#closeStart = { by: from, code, reason };
    if (this.#state === 'open') this.#state = 'closing';
  }

  /** A peer's close answer to the proxy's own close: not relayed, so said in the log, in its place. */
  #answered(from: Side, close: ClosePayload): void {
    this.#closeFrame(from, close.code, close.reason);
    this.#records.now(() => this.#deps.bus.emit('log', { session: this.info.session, time: this.#deps.now(), source: 'proxy', level: 'info', text: answerText(from, close) }));
  }

  #violation(from: Side, v: Violation, frame: number | null): void {
    const deps = this.#deps;
    deps.bus.emit('violation', { session: this.info.session, time: deps.now(), from, violation: v, frame });
    // A debugger forwards what it can still frame; it closes where framing cannot go on, or
    // with --strict on anything, as a conforming endpoint would (§7.1.7 "Fail the WebSocket Connection").
    if ((v.fatal || deps.strict) && v.closeCode !== null) this.#fail(v.closeCode, `${v.code} from ${from}`);
  }

  #chainError(interceptor: string, error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.#deps.bus.emit('log', { session: this.info.session, time: this.#deps.now(), source: interceptor, level: 'error', text: `failed, message forwarded unchanged: ${text}` });
  }

  /**
   * The proxy closes both sides itself: a close frame each way, then the connections. With `only`,
   * that peer gets `code` and the other 1001 (going away, RFC 6455 §7.4.1).
   */
  #fail(code: number, reason: string, only?: Side): void {
    if (this.#failed || this.#state === 'closed') return;
    this.#failed = true;
    if (this.#state === 'open') this.#state = 'closing';
    this.#closeStart ??= { by: 'proxy', code, reason };
    const payload = encodeClosePayload(code, truncateUtf8(reason, 123));
    for (const side of ['client', 'server'] as const) {
      const pipe = this.#hosts[side].pipe;
      // Each peer answers with its own close (§5.5.1): the handshake is complete, and clean, only then.
      pipe.stop((close) => this.#answered(side, close));
      // The client pipe writes to the server and the server pipe to the client: each peer gets one.
      const to = otherSide(side);
      this.#dropGate(to);
      pipe.writeNow({ kind: 'close', data: only === undefined || only === to ? payload : encodeClosePayload(1001, 'going away') });
    }
    for (const h of Object.values(this.#hosts)) h.socket.end();
    this.#linger();
  }
}
