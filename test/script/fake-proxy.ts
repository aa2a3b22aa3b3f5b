/**
 * A ProxyControl without sockets: a real bus, sessions that record what is sent to them, and the
 * real decision chain (runChain) over whatever deciders were added with use().
 */
import { EventEmitter } from 'eventemitter3';
import { runChain, type ChainResult, type HeldMessage, type MessageInterceptor } from '../../src/intercept/verdict.js';
import type { InjectRequest, ProxyControl, SessionControl, SessionState } from '../../src/proxy/control.js';
import type { CloseRecord, FrameRecord, LogRecord, ProxyEvents, SessionInfo, Side } from '../../src/proxy/events.js';
import { parseHead } from '../../src/protocol/handshake.js';

export class FakeSession implements SessionControl {
  readonly info: SessionInfo;
  state: SessionState = 'open';
  readonly sent: InjectRequest[] = [];
  closedWith: { code: number | undefined; reason: string | undefined } | null = null;
  readonly abort = new AbortController();

  constructor(info: SessionInfo) {
    this.info = info;
  }

  send(request: InjectRequest): void {
    if (this.state === 'closed') throw new Error(`session ${this.info.session} is closed`);
    this.sent.push(request);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.state = 'closing';
  }
}

function head(text: string): SessionInfo['request'] {
  const parsed = parseHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n\r\n', 'latin1'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.head;
}

export function sessionInfo(session: number, extra: Partial<SessionInfo> = {}): SessionInfo {
  const request = head('GET /chat?room=1 HTTP/1.1\nHost: 127.0.0.1:12345\nUpgrade: websocket\nSec-WebSocket-Protocol: chat, superchat\nX-Multi: a\nx-multi: b');
  return {
    session,
    time: 1_700_000_000_000,
    client: '127.0.0.1:50000',
    target: '127.0.0.1:12345',
    path: '/chat?room=1',
    status: 101,
    request,
    response: head('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nSec-WebSocket-Protocol: chat'),
    protocol: 'chat',
    extensions: null,
    deflate: null,
    acceptValid: true,
    sent: request,
    answeredBy: 'server',
    failure: null,
    body: new Uint8Array(0),
    url: 'ws://127.0.0.1:12345/chat?room=1',
    mode: 'reverse',
    tls: { client: null, server: null },
    ...extra,
  };
}

export class FakeProxy implements ProxyControl {
  readonly bus = new EventEmitter<ProxyEvents>();
  readonly listening = '127.0.0.1:9000';
  readonly target = '127.0.0.1:12345';
  readonly logs: LogRecord[] = [];
  readonly #sessions = new Map<number, FakeSession>();
  #interceptors: { interceptor: MessageInterceptor; order: number }[] = [];
  #nextId = 1000;

  constructor() {
    this.bus.on('log', (r) => this.logs.push(r));
  }

  get interceptors(): readonly MessageInterceptor[] {
    return this.#interceptors.map((e) => e.interceptor);
  }

  session(id: number): FakeSession | undefined {
    return this.#sessions.get(id);
  }

  sessions(): FakeSession[] {
    return [...this.#sessions.values()];
  }

  use(interceptor: MessageInterceptor, order: number): () => void {
    const entry = { interceptor, order };
    this.#interceptors = [...this.#interceptors, entry].sort((a, b) => a.order - b.order);
    return () => {
      this.#interceptors = this.#interceptors.filter((e) => e !== entry);
    };
  }

  async close(): Promise<void> {
    for (const s of this.#sessions.values()) this.end(s.info.session);
  }

  open(session: number, extra: Partial<SessionInfo> = {}): FakeSession {
    const s = new FakeSession(sessionInfo(session, extra));
    this.#sessions.set(session, s);
    this.bus.emit('session-open', s.info);
    return s;
  }

  end(session: number, record: Partial<CloseRecord> = {}): void {
    const s = this.#sessions.get(session);
    if (s === undefined || s.state === 'closed') return;
    s.state = 'closed';
    s.abort.abort();
    this.bus.emit('session-close', { session, time: Date.now(), code: 1000, reason: 'bye', by: 'client', clean: true, ...record });
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** Runs a message through the chain as the relay would. */
  decide(session: number, from: Side, kind: HeldMessage['kind'], data: string | Uint8Array, id = this.nextId()): Promise<ChainResult> {
    const s = this.#sessions.get(session);
    const held: HeldMessage = { id, session, from, kind, data: typeof data === 'string' ? Buffer.from(data) : data, frames: 1, compressed: false };
    return runChain(this.interceptors, held, s?.abort.signal ?? new AbortController().signal, (name, error) =>
      this.bus.emit('log', { session, time: Date.now(), source: name, level: 'error', text: `chain: ${String(error)}` }),
    );
  }

  /** A peer frame record on the bus. */
  frame(session: number, from: Side, fields: Partial<FrameRecord> & Pick<FrameRecord, 'kind' | 'opcode'>): FrameRecord {
    const payload = fields.payload ?? new Uint8Array(0);
    const record: FrameRecord = {
      id: this.nextId(),
      session,
      time: Date.now(),
      from,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      masked: from === 'client',
      maskKey: from === 'client' ? Uint8Array.of(1, 2, 3, 4) : null,
      length: payload.length,
      header: Uint8Array.of(0x80 | fields.opcode, payload.length),
      headerLength: 2,
      payload,
      truncated: false,
      compressed: false,
      close: null,
      violations: [],
      origin: 'peer',
      ...fields,
    };
    this.bus.emit('frame', record);
    return record;
  }

  logText(level?: LogRecord['level']): string {
    return this.logs
      .filter((l) => level === undefined || l.level === level)
      .map((l) => `[${l.source}/${l.level}] ${l.text}`)
      .join('\n');
  }
}

export function text(result: ChainResult): string[] {
  return result.messages.map((m) => (m.kind === 'text' ? Buffer.from(m.data).toString('utf8') : `<${m.kind} ${Buffer.from(m.data).toString('hex')}>`));
}

export function until(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
