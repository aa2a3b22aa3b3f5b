/**
 * A ProxyControl for TUI tests: a real eventemitter3 bus that the test feeds records into,
 * sessions that record what was sent to them, and the real interceptor chain (runChain) so a
 * "delivered" message goes through whatever the TUI registered, as in the relay.
 */
import { EventEmitter } from 'eventemitter3';
import type { InjectRequest, ProxyControl, SessionControl, SessionState } from '../../../src/proxy/control.js';
import type { CloseRecord, FrameRecord, LogRecord, MessageRecord, ProxyEvents, SessionInfo, Side } from '../../../src/proxy/events.js';
import { runChain, type ChainResult, type MessageInterceptor } from '../../../src/intercept/verdict.js';
import { computeAccept, parseHead, type HttpHead } from '../../../src/protocol/handshake.js';
import { encodeHeader, headerLength } from '../../../src/protocol/frame-header.js';
import { frameKind, Opcode } from '../../../src/protocol/constants.js';
import type { Violation } from '../../../src/protocol/violations.js';

export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

function head(text: string): HttpHead {
  const parsed = parseHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n', 'latin1'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.head;
}

export function handshake(key = 'dGhlIHNhbXBsZSBub25jZQ==', accept = computeAccept(key)): { request: HttpHead; response: HttpHead } {
  return {
    request: head(`GET /chat HTTP/1.1\nHost: 127.0.0.1:9000\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: ${key}\nSec-WebSocket-Version: 13\n`),
    response: head(`HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Accept: ${accept}\n`),
  };
}

export class FakeSession implements SessionControl {
  state: SessionState = 'open';
  readonly sent: InjectRequest[] = [];
  readonly closes: { code?: number; reason?: string }[] = [];
  readonly abort = new AbortController();

  constructor(readonly info: SessionInfo) {}

  send(request: InjectRequest): void {
    if (this.state !== 'open') throw new Error('session is not open');
    this.sent.push(request);
  }

  close(code?: number, reason?: string): void {
    this.closes.push({ ...(code === undefined ? {} : { code }), ...(reason === undefined ? {} : { reason }) });
  }
}

export interface FrameInput {
  readonly session?: number;
  readonly from?: Side;
  readonly opcode?: number;
  readonly fin?: boolean;
  readonly rsv1?: boolean;
  readonly payload?: string | Uint8Array;
  readonly length?: number;
  readonly origin?: FrameRecord['origin'];
  readonly compressed?: boolean;
  readonly violations?: readonly Violation[];
  readonly close?: FrameRecord['close'];
  readonly time?: number;
  readonly truncated?: boolean;
}

export class FakeProxy implements ProxyControl {
  readonly bus = new EventEmitter<ProxyEvents>();
  readonly listening = '127.0.0.1:9000';
  readonly target = 'localhost:12345';
  readonly #sessions = new Map<number, FakeSession>();
  interceptors: { interceptor: MessageInterceptor; order: number }[] = [];
  closeCalls = 0;
  #id = 1;
  now = T0;

  session(id: number): SessionControl | undefined {
    return this.#sessions.get(id);
  }

  fake(id: number): FakeSession {
    const s = this.#sessions.get(id);
    if (s === undefined) throw new Error(`no session ${id}`);
    return s;
  }

  sessions(): SessionControl[] {
    return [...this.#sessions.values()];
  }

  use(interceptor: MessageInterceptor, order: number): () => void {
    const entry = { interceptor, order };
    this.interceptors.push(entry);
    this.interceptors.sort((a, b) => a.order - b.order);
    return () => {
      this.interceptors = this.interceptors.filter((e) => e !== entry);
    };
  }

  async close(): Promise<void> {
    this.closeCalls++;
    for (const s of this.#sessions.values()) {
      if (s.state === 'closed') continue;
      s.state = 'closed';
      s.abort.abort();
      this.emitClose({ session: s.info.session, code: 1001, reason: 'proxy shutting down', by: 'proxy', clean: false });
    }
  }

  open(id: number, overrides: Partial<SessionInfo> = {}): FakeSession {
    const h = handshake();
    const info: SessionInfo = {
      session: id,
      time: this.now,
      client: `127.0.0.1:${50000 + id}`,
      target: this.target,
      path: '/chat',
      status: 101,
      request: h.request,
      response: h.response,
      protocol: null,
      extensions: null,
      deflate: null,
      acceptValid: true,
      sent: h.request,
      answeredBy: 'server',
      failure: null,
      body: new Uint8Array(0),
      url: `ws://${this.target}/chat`,
      mode: 'reverse',
      tls: { client: null, server: null },
      ...overrides,
    };
    const s = new FakeSession(info);
    this.#sessions.set(id, s);
    this.bus.emit('session-open', info);
    return s;
  }

  /** Emits a frame record built from the input, with a real header. */
  frame(input: FrameInput = {}): FrameRecord {
    const payload = typeof input.payload === 'string' ? Buffer.from(input.payload, 'utf8') : (input.payload ?? new Uint8Array(0));
    const from = input.from ?? 'client';
    const opcode = input.opcode ?? Opcode.Text;
    const fin = input.fin ?? true;
    const maskKey = from === 'client' ? Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) : null;
    const length = input.length ?? payload.length;
    const record: FrameRecord = {
      id: this.#id++,
      session: input.session ?? 1,
      time: input.time ?? (this.now += 7),
      from,
      fin,
      rsv1: input.rsv1 ?? false,
      rsv2: false,
      rsv3: false,
      opcode,
      kind: frameKind(opcode),
      masked: maskKey !== null,
      maskKey,
      length,
      header: encodeHeader({ fin, rsv1: input.rsv1 ?? false, opcode, maskKey, payloadLength: length }),
      headerLength: headerLength(length, maskKey !== null),
      payload,
      truncated: input.truncated ?? false,
      compressed: input.compressed ?? false,
      close: input.close ?? null,
      violations: input.violations ?? [],
      origin: input.origin ?? 'peer',
    };
    this.bus.emit('frame', record);
    return record;
  }

  message(input: Partial<MessageRecord> & { payload: Uint8Array }): MessageRecord {
    const record: MessageRecord = {
      id: this.#id++,
      session: 1,
      time: (this.now += 1),
      from: 'client',
      kind: 'text',
      length: input.payload.length,
      truncated: false,
      frames: 1,
      compressed: false,
      fate: 'forwarded',
      by: null,
      ...input,
    };
    this.bus.emit('message', record);
    return record;
  }

  emitClose(input: Omit<CloseRecord, 'time'>): void {
    const s = this.#sessions.get(input.session);
    if (s !== undefined) s.state = 'closed';
    this.bus.emit('session-close', { ...input, time: (this.now += 1) });
  }

  log(input: Omit<LogRecord, 'time'>): void {
    this.bus.emit('log', { ...input, time: (this.now += 1) });
  }

  /**
   * What the relay does with a data message: runs the registered interceptors in order, then
   * emits the message record (and a modified frame when changed). Resolves with the chain's result.
   */
  async deliver(session: number, from: Side, kind: 'text' | 'binary', data: string | Uint8Array): Promise<ChainResult> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const id = this.#id++;
    const s = this.fake(session);
    const result = await runChain(
      this.interceptors.map((e) => e.interceptor),
      { id, session, from, kind, data: bytes, frames: 1, compressed: false },
      s.abort.signal,
      () => {},
    );
    if (result.changedBy !== null && !result.dropped) {
      for (const m of result.messages) this.frame({ session, from, opcode: m.kind === 'text' ? Opcode.Text : Opcode.Binary, payload: m.data, origin: 'modified' });
    }
    const fate = result.changedBy === null ? 'forwarded' : result.dropped ? 'dropped' : 'modified';
    this.message({ session, from, kind, payload: bytes, fate, by: result.changedBy });
    return result;
  }
}
