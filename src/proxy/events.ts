/**
 * The bus contract: what the proxy tells its observers (headless printer, JSONL log, TUI, scripts).
 * Observers cannot change bytes; deciding goes through intercept/verdict.ts. These records are
 * also the source of the JSONL schema (docs/log-format.md).
 */
import type { EventEmitter } from 'eventemitter3';
import { declareEventfulMessages, declarePreview, forgetPreviewDemand } from './preview-demand.js';
import type { FrameKind } from '../protocol/constants.js';
import type { Violation } from '../protocol/violations.js';
import type { HttpHead } from '../protocol/handshake.js';
import type { DeflateParams } from '../protocol/deflate-params.js';
import type { TlsFacts } from '../tls/facts.js';
import type { SessionStats } from '../export/stats.js';

export type Side = 'client' | 'server';

export function otherSide(side: Side): Side {
  return side === 'client' ? 'server' : 'client';
}

export interface SessionInfo {
  readonly session: number;
  readonly time: number;
  /** "ip:port" of the client as the proxy saw it. */
  readonly client: string;
  /** "host:port" the proxy dialled. */
  readonly target: string;
  readonly path: string;
  readonly status: number;
  readonly request: HttpHead;
  readonly response: HttpHead;
  /** Negotiated Sec-WebSocket-Protocol, or null. */
  readonly protocol: string | null;
  /** Negotiated Sec-WebSocket-Extensions as the server wrote it, or null. */
  readonly extensions: string | null;
  /** permessage-deflate parameters when negotiated. */
  readonly deflate: DeflateParams | null;
  /**
   * Whether Sec-WebSocket-Accept matches Sec-WebSocket-Key (RFC 6455 §4.2.2); null when the answer
   * was not a 101 (the check applies to a 101 only).
   */
  readonly acceptValid: boolean | null;
  /** The request head as the target received it (Host, base path, --no-deflate applied), or would have. */
  readonly sent: HttpHead;
  /** Who answered: the target, or the proxy itself (502 unreachable or not HTTP, 504 silent). */
  readonly answeredBy: 'server' | 'proxy';
  /** Why no WebSocket opened ("handshake refused: 403 Forbidden", or the proxy's reason); null after a 101. */
  readonly failure: string | null;
  /** The first bytes of a non-101 answer's body (empty after a 101). */
  readonly body: Uint8Array;
  /** The WebSocket URL as the client meant it: ws:// or wss://, the host it asked for, the path. */
  readonly url: string;
  /** reverse: relayed to --target; forward: to the host the client asked for (CONNECT authority, then Host). */
  readonly mode: 'reverse' | 'forward';
  /** Each leg's TLS (client↔proxy, proxy↔target), null where that leg is plaintext. */
  readonly tls: TlsFacts;
}

/** One plain HTTP request passed through to the target, with what came back. */
export interface HttpRecord {
  readonly time: number;
  readonly client: string;
  /** "host:port" the request went to. */
  readonly target: string;
  readonly method: string;
  /** Request target as the client sent it. */
  readonly url: string;
  /** The status the client got (the proxy's own 502/504 when the target failed); null when none was sent. */
  readonly status: number | null;
  /** Milliseconds from the request head to the end of the response (or the failure). */
  readonly duration: number;
  /** Bytes from the client (head and body) and to the client (heads and body). */
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly answeredBy: 'server' | 'proxy';
  /** What went wrong, when something did. */
  readonly error: string | null;
}

/** Where a frame the proxy wrote came from, when it is not a peer's frame relayed as it was. */
export type FrameOrigin = 'peer' | 'modified' | 'injected';

export interface FrameRecord {
  /** Process-wide increasing id, for selection and resend. */
  readonly id: number;
  readonly session: number;
  readonly time: number;
  /** The peer that sent it (for injected frames, the peer it impersonates). */
  readonly from: Side;
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  readonly kind: FrameKind;
  readonly masked: boolean;
  /** The key on the wire from the peer (not the proxy's re-mask key). */
  readonly maskKey: Uint8Array | null;
  /** Payload length on the wire. */
  readonly length: number;
  /** Raw header bytes as received, for the bit-by-bit view. */
  readonly header: Uint8Array;
  /** Their number (read this rather than header.length: a peer frame's bytes are made on demand). */
  readonly headerLength: number;
  /** Unmasked and, when compressed, inflated payload, capped at the preview size. */
  readonly payload: Uint8Array;
  /** True when `payload` is shorter than the full (inflated) payload. */
  readonly truncated: boolean;
  /** Part of a permessage-deflate compressed message. */
  readonly compressed: boolean;
  /** For close frames: decoded status code and reason. */
  readonly close: { readonly code: number | null; readonly reason: string } | null;
  readonly violations: readonly Violation[];
  readonly origin: FrameOrigin;
}

export type MessageKind = 'text' | 'binary';
/** What happened to a data message on its way through the decision path. */
export type MessageFate = 'forwarded' | 'modified' | 'dropped' | 'injected' | 'streamed';

export interface MessageRecord {
  readonly id: number;
  readonly session: number;
  readonly time: number;
  readonly from: Side;
  readonly kind: MessageKind;
  /** Total payload length after inflation. */
  readonly length: number;
  /** Unmasked, inflated payload capped at the preview size. */
  readonly payload: Uint8Array;
  readonly truncated: boolean;
  readonly frames: number;
  readonly compressed: boolean;
  /**
   * forwarded: relayed as received. modified / dropped: changed by the decision path.
   * injected: created by the proxy. streamed: larger than --max-message, relayed without a decision.
   */
  readonly fate: MessageFate;
  /** Which decider changed or dropped it ("script", "replace", "intercept"). */
  readonly by: string | null;
}

export interface ViolationRecord {
  readonly session: number;
  readonly time: number;
  readonly from: Side;
  readonly violation: Violation;
  /** The frame it concerns, when there is one. */
  readonly frame: number | null;
}

export interface CloseRecord {
  readonly session: number;
  readonly time: number;
  /** Status code of the first close frame seen, or 1006 semantics as null (no close frame). */
  readonly code: number | null;
  readonly reason: string;
  /** Who started the close: a peer's close frame or TCP end, or the proxy itself. */
  readonly by: Side | 'proxy';
  /** Both close frames were exchanged before TCP closed. */
  readonly clean: boolean;
  /** Per-session numbers (export/stats.ts), when the session was tracked from its open. */
  readonly stats?: SessionStats | null;
}

export interface LogRecord {
  readonly session: number | null;
  readonly time: number;
  /** Who is speaking: "script", "intercept", "proxy", ... */
  readonly source: string;
  readonly level: 'info' | 'warn' | 'error';
  readonly text: string;
}

/** A fault rule acted (src/fault/): on a message, a connection, an upgrade or every session. */
export interface FaultRecord {
  readonly session: number | null;
  readonly time: number;
  /** The rule's id and its text (canonical form). */
  readonly ruleId: number;
  readonly rule: string;
  /** delay, drop, duplicate, close, abort, halfclose, fragment, coalesce, throttle, trickle, handshake, kill... */
  readonly action: string;
  /** Whose messages it acted on, when it acted on a direction. */
  readonly from: Side | null;
  /** First frame of the message it acted on (FrameRecord.id), when there is one. */
  readonly frame: number | null;
  /** The message (MessageRecord.id, or the control frame's id), when there is one. */
  readonly message: number | null;
  /** What it did, in words: "held 203 ms", "cut into 7 frames of at most 16 B", "close 1012 to client". */
  readonly detail: string;
}

/** Reconnect attempts of one client address to one path after a storm (storm: kill all). */
export interface ReconnectRecord {
  readonly time: number;
  /** Client IP address (ports change with every connection). */
  readonly client: string;
  readonly path: string;
  /** When the storm this report follows killed the sessions. */
  readonly since: number;
  readonly attempts: number;
  /** Refused by the storm (503) among them. */
  readonly refused: number;
  /** Milliseconds from the kill to the first attempt, then between attempts (the first 256 attempts; fault/reconnects.ts). */
  readonly intervals: readonly number[];
  /** Interval counts per bucket; `histogram[i]` counts intervals below `buckets[i]` ms (and at least the one before). */
  readonly buckets: readonly number[];
  readonly histogram: readonly number[];
  /** Intervals grow (median ratio of one to the previous at least 1.5). */
  readonly backoff: boolean;
  /** Intervals are spread around their trend rather than exact (randomised). */
  readonly jitter: boolean;
}

/**
 * Bytes as they crossed one socket of a session (after the handshake heads, which are in
 * SessionInfo). Emitted only while someone listens (pcapng export). `bytes` are valid during the
 * call only: the relay re-masks in place, so a listener copies what it keeps.
 */
export interface WireRecord {
  readonly session: number;
  /** The clock reading of the read (the same one its frame records carry), or of the write. */
  readonly time: number;
  /** Which socket: the client's connection or the server's. */
  readonly leg: Side;
  /** in: sent by the peer on that socket; out: written by the proxy to it. */
  readonly direction: 'in' | 'out';
  readonly bytes: readonly Uint8Array[];
}

export interface ProxyEvents {
  'session-open': [SessionInfo];
  frame: [FrameRecord];
  message: [MessageRecord];
  violation: [ViolationRecord];
  'session-close': [CloseRecord];
  wire: [WireRecord];
  log: [LogRecord];
  http: [HttpRecord];
  fault: [FaultRecord];
  reconnects: [ReconnectRecord];
  error: [Error, { readonly session: number | null }];
}

export type ProxyBus = EventEmitter<ProxyEvents>;

export type ProxyHandlers = { readonly [K in keyof ProxyEvents]?: (...args: ProxyEvents[K]) => void };

/**
 * Subscribes a set of handlers at once; returns the function that removes them all.
 * `previewBytes`: the most payload bytes these handlers read of a frame or message (see
 * proxy/preview-demand.ts); without it they get all of --max-preview. `eventfulMessages`: the
 * `message` handler reads only messages decided on or reassembled (declareEventfulMessages).
 */
export function subscribe(bus: ProxyBus, handlers: ProxyHandlers, options: { readonly previewBytes?: number; readonly eventfulMessages?: boolean } = {}): () => void {
  // One loop over a mapped type: TypeScript cannot tie each key to its handler, hence the casts.
  const entries = Object.entries(handlers) as [keyof ProxyEvents, (...args: never[]) => void][];
  for (const [event, fn] of entries) {
    if (options.previewBytes !== undefined) declarePreview(fn, options.previewBytes);
    if (options.eventfulMessages === true && event === 'message') declareEventfulMessages(fn);
    bus.on(event, fn as never);
  }
  forgetPreviewDemand(bus);
  return () => {
    for (const [event, fn] of entries) bus.off(event, fn as never);
    forgetPreviewDemand(bus);
  };
}
