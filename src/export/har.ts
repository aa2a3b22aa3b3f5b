/**
 * HAR 1.2 for WebSocket sessions, in the shape Chrome DevTools writes and imports: one entry per
 * session with `_resourceType: "websocket"` and `_webSocketMessages`, one item per message
 * `{type: "send"|"receive", time: <epoch seconds>, opcode, data}`. What Chrome does not know goes
 * into `_`-prefixed fields, which its importer ignores. Pure: the live writer (har-writer.ts) and
 * `wsproxy har` (from a JSONL log) both build entries here.
 */
import { isUtf8 } from 'node:buffer';
import type { Entry, Har, Header, QueryString } from 'har-format';
import type { Side } from '../proxy/events.js';
import type { SessionStats } from './stats.js';

/** A frame as this builder needs it (a FrameRecord or a frame read back from a log). */
export interface HarFrameFacts {
  readonly id: number;
  readonly time: number;
  readonly from: Side;
  readonly opcode: number;
  readonly length: number;
  readonly headerLength: number;
  readonly payload: Uint8Array;
  readonly truncated: boolean;
  readonly violations: readonly (string | { readonly code: string })[];
  readonly origin: string;
}

interface PendingFrame {
  readonly id: number;
  readonly wire: number;
  readonly violations: readonly string[];
}

/** Injected frames kept waiting for an injected message (one takes its frames at once). */
const INJECTED_LIMIT = 64;

export interface HarMessageFacts {
  readonly id: number;
  readonly time: number;
  readonly from: Side;
  readonly kind: 'text' | 'binary';
  readonly length: number;
  readonly payload: Uint8Array;
  readonly truncated: boolean;
  readonly frames: number;
  readonly compressed: boolean;
  readonly fate: string;
  readonly by: string | null;
}

export interface HarSessionHead {
  readonly session: number;
  readonly time: number;
  readonly client: string;
  readonly target: string;
  readonly path: string;
  readonly status: number;
  /** As the client sent it, e.g. "GET /chat?room=1 HTTP/1.1". */
  readonly requestLine: string;
  /** e.g. "HTTP/1.1 101 Switching Protocols". */
  readonly statusLine: string;
  readonly requestHeaders: readonly (readonly [string, string])[];
  readonly responseHeaders: readonly (readonly [string, string])[];
  readonly protocol: string | null;
  readonly extensions: string | null;
  /** The WebSocket URL as the client meant it (ws:// or wss://), when the record has it. */
  readonly url?: string | undefined;
}

export interface HarClose {
  readonly time: number;
  readonly code: number | null;
  readonly reason: string;
  readonly by: string;
  readonly clean: boolean;
  readonly stats?: SessionStats | null | undefined;
}

/** One item of `_webSocketMessages`, with wsproxy's own `_` fields. */
export interface HarWebSocketMessage {
  type: 'send' | 'receive';
  time: number;
  opcode: number;
  data: string;
  [extra: `_${string}`]: unknown;
}

export interface HarOptions {
  /** Include ping, pong and close frames (Chrome's own HAR never has them). */
  readonly control: boolean;
}

const CONTROL = new Set([8, 9, 10]);

/** The `data` of an item: UTF-8 text for opcode 1, base64 otherwise (and for text that is not UTF-8). */
function encodeData(opcode: number, payload: Uint8Array): { data: string; base64: boolean } {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  if (opcode === 1 && isUtf8(buf)) return { data: buf.toString('utf8'), base64: false };
  return { data: buf.toString('base64'), base64: true };
}

/** Collects one session's items from its frames and messages, in the order they happened. */
export class HarSessionBuilder {
  readonly head: HarSessionHead;
  readonly items: HarWebSocketMessage[] = [];
  readonly violations: { frame: number | null; code: string }[] = [];
  close: HarClose | null = null;
  /** Messages left out because the writer's memory bound was reached. */
  dropped = 0;
  readonly #options: HarOptions;
  /**
   * Each side's data frames not yet counted into a message: the peer's, and those the proxy
   * injected. A message takes exactly its own frames: records of a held message come after the
   * frames of those behind it, so "since the last message" would count theirs too.
   */
  readonly #pending: { [S in Side]: { peer: PendingFrame[]; injected: PendingFrame[] } } = { client: { peer: [], injected: [] }, server: { peer: [], injected: [] } };

  constructor(head: HarSessionHead, options: HarOptions) {
    this.head = head;
    this.#options = options;
  }

  /** Returns the payload bytes kept (for the writer's memory bound). */
  frame(f: HarFrameFacts, keep = true): number {
    const codes = f.violations.map((v) => (typeof v === 'string' ? v : v.code));
    if (!CONTROL.has(f.opcode)) {
      // A changed message's [mod] frames are the proxy's writing of it: its wire bytes are those received.
      if (f.origin === 'modified') return 0;
      const injected = f.origin === 'injected';
      const list = this.#pending[f.from][injected ? 'injected' : 'peer'];
      list.push({ id: f.id, wire: f.headerLength + f.length, violations: codes });
      // Injected frames of no injected message (a fault's duplicates) are not kept without bound.
      if (injected && list.length > INJECTED_LIMIT) list.shift();
      return 0;
    }
    for (const code of codes) this.violations.push({ frame: f.id, code });
    if (!this.#options.control) return 0;
    if (!keep) {
      this.dropped++;
      return 0;
    }
    const { data, base64 } = encodeData(f.opcode, f.payload);
    this.items.push({
      type: f.from === 'client' ? 'send' : 'receive',
      time: f.time / 1000,
      opcode: f.opcode,
      data,
      _id: f.id,
      _length: f.length,
      _wireBytes: f.headerLength + f.length,
      ...(base64 ? { _encoding: 'base64' } : {}),
      ...(f.truncated ? { _truncated: true } : {}),
      ...(f.origin !== 'peer' ? { [`_${f.origin}`]: true } : {}),
      ...(codes.length > 0 ? { _violations: codes } : {}),
    });
    return f.payload.length;
  }

  message(m: HarMessageFacts, keep = true): number {
    const p = this.#pending[m.from];
    const list = m.fate === 'injected' ? p.injected : p.peer;
    // An injected message has its first frame's id; injected frames before that one belong to none.
    const at = m.fate === 'injected' ? list.findIndex((f) => f.id === m.id) : 0;
    const start = at < 0 ? list.length : at;
    const own = list.splice(0, start + m.frames).slice(start);
    let wire = 0;
    for (const f of own) wire += f.wire;
    const violations = own.flatMap((f) => f.violations);
    if (!keep) {
      this.dropped++;
      return 0;
    }
    const opcode = m.kind === 'text' ? 1 : 2;
    const { data, base64 } = encodeData(opcode, m.payload);
    this.items.push({
      type: m.from === 'client' ? 'send' : 'receive',
      time: m.time / 1000,
      opcode,
      data,
      _id: m.id,
      _length: m.length,
      _frames: m.frames,
      _wireBytes: wire,
      _compressed: m.compressed,
      // Text that is not valid UTF-8 cannot be a JSON string: it is base64, and says so.
      ...(base64 && opcode === 1 ? { _encoding: 'base64', _invalidUtf8: true } : {}),
      ...(m.truncated ? { _truncated: true } : {}),
      ...(m.fate !== 'forwarded' ? { _fate: m.fate, [`_${m.fate}`]: true } : {}),
      ...(m.by !== null ? { _by: m.by } : {}),
      ...(violations.length > 0 ? { _violations: violations } : {}),
    });
    return m.payload.length;
  }

  entry(now: number): Entry {
    return harEntry(this, now);
  }
}

function pairs(headers: readonly (readonly [string, string])[]): Header[] {
  return headers.map(([name, value]) => ({ name, value }));
}

/** Bytes of a head as it was on the wire: start line, header lines, blank line. */
function headSize(startLine: string, headers: readonly (readonly [string, string])[]): number {
  let n = Buffer.byteLength(startLine, 'latin1') + 4;
  for (const [name, value] of headers) n += Buffer.byteLength(name, 'latin1') + 2 + Buffer.byteLength(value, 'latin1') + 2;
  return n;
}

function queryOf(url: string): QueryString[] {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

function headerValue(headers: readonly (readonly [string, string])[], name: string): string | null {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1] ?? null;
}

function harEntry(b: HarSessionBuilder, now: number): Entry {
  const h = b.head;
  const [method = 'GET', , requestVersion = 'HTTP/1.1'] = h.requestLine.split(' ');
  const status = /^(\S+)\s+(\d{3})\s*(.*)$/.exec(h.statusLine);
  const host = headerValue(h.requestHeaders, 'host') ?? h.target;
  // The client asked for this URL (the path may be absolute-form when it thought it spoke to a proxy).
  const url = h.url !== undefined && h.url !== '' ? h.url : /^[a-z]+:\/\//i.test(h.path) ? h.path.replace(/^http/i, 'ws') : `ws://${host}${h.path.startsWith('/') ? '' : '/'}${h.path}`;
  const end = b.close?.time ?? now;
  const entry: Entry = {
    startedDateTime: new Date(h.time).toISOString(),
    time: Math.max(0, end - h.time),
    request: {
      method,
      url,
      httpVersion: requestVersion,
      cookies: [],
      headers: pairs(h.requestHeaders),
      queryString: queryOf(url),
      headersSize: headSize(h.requestLine, h.requestHeaders),
      bodySize: 0,
    },
    response: {
      status: h.status,
      statusText: status?.[3] ?? '',
      httpVersion: status?.[1] ?? 'HTTP/1.1',
      cookies: [],
      headers: pairs(h.responseHeaders),
      content: { size: 0, mimeType: 'x-unknown' },
      redirectURL: '',
      headersSize: headSize(h.statusLine, h.responseHeaders),
      bodySize: 0,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: 0 },
    connection: String(h.session),
    _resourceType: 'websocket',
    _webSocketMessages: b.items,
    _wsproxy: {
      session: h.session,
      client: h.client,
      target: h.target,
      protocol: h.protocol,
      extensions: h.extensions,
      close: b.close === null ? null : { time: new Date(b.close.time).toISOString(), code: b.close.code, reason: b.close.reason, by: b.close.by, clean: b.close.clean },
      stats: b.close?.stats ?? null,
      violations: b.violations,
      droppedMessages: b.dropped,
    },
  };
  return entry;
}

export function harDocument(entries: readonly Entry[], version: string): Har {
  return {
    log: {
      version: '1.2',
      creator: { name: 'wsproxy', version },
      pages: [],
      entries: [...entries].sort((a, b) => a.startedDateTime.localeCompare(b.startedDateTime)),
    },
  };
}
