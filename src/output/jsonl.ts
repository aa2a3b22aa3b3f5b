/**
 * The JSONL log (--log-file): one JSON object per event, appended. A public contract, documented
 * in docs/log-format.md; fields are only ever added.
 */
import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { HttpHead } from '../protocol/handshake.js';
import { subscribe, type CloseRecord, type FrameRecord, type HttpRecord, type LogRecord, type MessageRecord, type ProxyBus, type SessionInfo, type ViolationRecord } from '../proxy/events.js';
import { diffHeads } from './head-diff.js';
import { escapeJsonText } from './terminal-text.js';
import { faultJson, reconnectsJson } from './fault-format.js';
import { JsonlThread, type JsonlThreadOptions } from './jsonl-thread.js';

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** Header lines as an object; a name sent more than once maps to an array of its values. */
export function headersObject(head: HttpHead): Record<string, string | string[]> {
  // No prototype: a peer's header named __proto__ or toString is a header like any other.
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of head.headers) {
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** utf8 for text-like payloads that decode cleanly, base64 for everything else. */
export function encodePayload(payload: Uint8Array, textLike: boolean): { payload: string; encoding: 'utf8' | 'base64' } {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  if (textLike && isUtf8(buf)) return { payload: buf.toString('utf8'), encoding: 'utf8' };
  return { payload: buf.toString('base64'), encoding: 'base64' };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

export function openJson(s: SessionInfo): Json {
  return {
    type: 'open',
    session: s.session,
    time: iso(s.time),
    client: s.client,
    target: s.target,
    path: s.path,
    // The request as the target received it (Host, base path, --no-deflate applied); what the
    // client sent follows when it differs.
    requestLine: s.sent.startLine,
    status: s.status,
    statusLine: s.response.startLine,
    requestHeaders: headersObject(s.sent),
    responseHeaders: headersObject(s.response),
    ...clientRequest(s),
    protocol: s.protocol,
    extensions: s.extensions,
    acceptValid: s.acceptValid,
    answeredBy: s.answeredBy,
    failure: s.failure,
    ...refusalBody(s.body),
    url: s.url,
    mode: s.mode,
    tls: s.tls as unknown as Json,
  };
}

/** The first bytes of a refusal's body (empty after a 101). */
function refusalBody(body: Uint8Array): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  const encoded = encodePayload(body, true);
  return { body: encoded.payload, bodyEncoding: encoded.encoding };
}

function clientRequest(s: SessionInfo): { clientRequestLine: string | null; clientRequestHeaders: Json; rewritten: Json } {
  const diff = diffHeads(s.request, s.sent);
  if (diff.same) return { clientRequestLine: null, clientRequestHeaders: null, rewritten: [] };
  return { clientRequestLine: s.request.startLine, clientRequestHeaders: headersObject(s.request), rewritten: diff.sent.filter((l) => l.changed).map((l) => l.text) };
}

export function httpJson(r: HttpRecord): Json {
  return {
    type: 'http',
    time: iso(r.time),
    client: r.client,
    target: r.target,
    method: r.method,
    url: r.url,
    status: r.status,
    duration: r.duration,
    requestBytes: r.requestBytes,
    responseBytes: r.responseBytes,
    answeredBy: r.answeredBy,
    error: r.error,
  };
}

export function frameJson(f: FrameRecord): Json {
  const textLike = f.kind === 'text' || f.kind === 'continuation' || f.kind === 'ping' || f.kind === 'pong';
  return {
    type: 'frame',
    id: f.id,
    session: f.session,
    time: iso(f.time),
    from: f.from,
    fin: f.fin,
    rsv1: f.rsv1,
    rsv2: f.rsv2,
    rsv3: f.rsv3,
    opcode: f.opcode,
    kind: f.kind,
    masked: f.masked,
    maskKey: hex(f.maskKey),
    length: f.length,
    headerLength: f.headerLength,
    ...encodePayload(f.payload, textLike),
    truncated: f.truncated,
    compressed: f.compressed,
    ...(f.close === null ? {} : { closeCode: f.close.code, closeReason: f.close.reason }),
    modified: f.origin === 'modified',
    injected: f.origin === 'injected',
    violations: f.violations.map((v) => ({ code: v.code, message: v.message })),
  };
}

export function messageJson(m: MessageRecord): Json {
  return {
    type: 'message',
    id: m.id,
    session: m.session,
    time: iso(m.time),
    from: m.from,
    kind: m.kind,
    length: m.length,
    ...encodePayload(m.payload, m.kind === 'text'),
    truncated: m.truncated,
    frames: m.frames,
    compressed: m.compressed,
    fate: m.fate,
    modified: m.fate === 'modified',
    dropped: m.fate === 'dropped',
    injected: m.fate === 'injected',
    by: m.by,
  };
}

export function closeJson(c: CloseRecord): Json {
  const base = { type: 'close', session: c.session, time: iso(c.time), code: c.code, reason: c.reason, by: c.by, clean: c.clean };
  return c.stats == null ? base : { ...base, stats: c.stats as unknown as Json };
}

export function violationJson(v: ViolationRecord): Json {
  return { type: 'violation', session: v.session, time: iso(v.time), from: v.from, code: v.violation.code, closeCode: v.violation.closeCode, fatal: v.violation.fatal, rfc: v.violation.rfc, message: v.violation.message };
}

export function logJson(l: LogRecord): Json {
  return { type: 'log', session: l.session, time: iso(l.time), source: l.source, level: l.level, text: l.text };
}

/** One log line: JSON text whose C1, bidi and other invisible characters are \u escapes. */
export function jsonLine(value: Json): string {
  return escapeJsonText(JSON.stringify(value));
}

export interface JsonlLog {
  close(): Promise<void>;
}

/**
 * Opens (appends to) the file and writes every event, in the order of the bus, from a thread of
 * its own (jsonl-thread.ts); throws if the file cannot be opened. Nothing is dropped: a disk that
 * falls behind holds the relay back, and the log says so.
 */
export async function attachJsonl(bus: ProxyBus, path: string, options: JsonlThreadOptions = {}): Promise<JsonlLog> {
  const fd = await new Promise<number>((resolve, reject) => fs.open(path, 'a', (error, fd) => (error === null ? resolve(fd) : reject(error))));
  const writer = new JsonlThread(fd, options);
  // JSON.stringify leaves C1 controls and bidi overrides raw; a terminal that shows the log must not get them.
  const line = (value: Json): void => writer.line(jsonLine(value));
  const unsubscribe = subscribe(bus, {
    'session-open': (s) => line(openJson(s)),
    http: (r) => line(httpJson(r)),
    // Two lines per frame at small-message rates: packed for the log's thread, which encodes them
    // (jsonl-bytes.ts) into the same text as jsonLine(frameJson(f)) and jsonLine(messageJson(m)).
    // A record the packing cannot carry exactly (a close frame, violations) goes as its line.
    frame: (f) => {
      if (!writer.frame(f)) line(frameJson(f));
    },
    message: (m) => {
      if (!writer.message(m)) line(messageJson(m));
    },
    // Violations tied to a frame are in that frame's line.
    violation: (v) => {
      if (v.frame === null) line(violationJson(v));
    },
    'session-close': (c) => line(closeJson(c)),
    log: (l) => line(logJson(l)),
    fault: (f) => line(faultJson(f)),
    reconnects: (r) => line(reconnectsJson(r) as Json),
    error: (e, where) => line({ type: 'error', session: where.session, time: iso(Date.now()), message: e.message }),
  });
  return {
    async close() {
      unsubscribe();
      await writer.close();
    },
  };
}
