/**
 * The scripting API: what a `--script` file default-exports and what its hooks receive. These
 * types are the reference documentation of the API (docs/scripting.md walks through them).
 *
 * ```ts
import { defineScript } from 'wsproxy';
 *
 * export default defineScript({
 *   onMessage(msg, ctx) {
 *     if (msg.from === 'server' && msg.kind === 'text') return msg.text.replace('secret', '******');
 *   },
 * });
 * ```
 */
import type { FrameKind } from '../protocol/constants.js';
import type { DeflateParams } from '../protocol/deflate-params.js';
import type { Violation } from '../protocol/violations.js';
import type { SessionInfo, Side } from '../proxy/events.js';
import type { FaultRuleObject } from '../fault/rule.js';

export type { Side } from '../proxy/events.js';

/** One HTTP head of the opening handshake (the client's request or the server's 101 response). */
export interface ScriptHead {
  /** "GET /chat HTTP/1.1" or "HTTP/1.1 101 Switching Protocols". */
  readonly startLine: string;
  /** Header lines in order, names in their original case. */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /**
   * The value of a header, name matched case-insensitively; several lines of the same name are
   * joined with ", ". undefined when absent.
   */
  header(name: string): string | undefined;
  /** The head as it was on the wire, up to and including the blank line. */
  readonly raw: Buffer;
}

/** One proxied WebSocket connection (client ⇄ proxy ⇄ server). */
export interface ScriptSession {
  /** The session number shown in the UI, the headless output and the JSONL log. */
  readonly id: number;
  /** "ip:port" of the client as the proxy saw it. */
  readonly client: string;
  /** "host:port" the proxy dialled. */
  readonly target: string;
  /** The request target of the upgrade request, e.g. "/chat?room=1". */
  readonly path: string;
  /** HTTP status the server answered the upgrade with (101 for a WebSocket). */
  readonly status: number;
  readonly request: ScriptHead;
  readonly response: ScriptHead;
  /** The negotiated subprotocol (Sec-WebSocket-Protocol), or null. */
  readonly protocol: string | null;
  /** Sec-WebSocket-Extensions as the server accepted them, or null. */
  readonly extensions: string | null;
  /** permessage-deflate parameters when the session negotiated compression, else null. */
  readonly deflate: DeflateParams | null;
  /** When the handshake completed (ms since the epoch). */
  readonly opened: number;
  /** Live state: "open", then "closing" once a close frame was seen, then "closed". */
  readonly state: 'open' | 'closing' | 'closed';
  /** The raw session record as the proxy published it. */
  readonly info: SessionInfo;
}

/** A whole data message (all its fragments joined, unmasked and decompressed). */
export interface ScriptMessage {
  /** Message id, the same number the UI and the JSONL log show. */
  readonly id: number;
  readonly session: ScriptSession;
  /** The peer that sent it. */
  readonly from: Side;
  /** The peer it is on its way to. */
  readonly to: Side;
  readonly kind: 'text' | 'binary';
  /** The payload. A fresh copy: changing it changes nothing unless you return it. */
  readonly data: Buffer;
  /** The payload decoded as UTF-8 (for binary messages too; invalid sequences become U+FFFD). */
  readonly text: string;
  /**
   * The payload parsed as JSON, or undefined when it is not valid JSON. Each call parses anew,
   * so the result can be changed and returned with JSON.stringify.
   */
  json<T = any>(): T | undefined;
  /** Number of frames it arrived in (an unchanged message leaves in the same frames). */
  readonly frames: number;
  /** It arrived permessage-deflate compressed (a replacement is compressed again). */
  readonly compressed: boolean;
}

/**
 * One frame exactly as a peer sent it. onFrame sees every frame: control frames (ping, pong,
 * close), every fragment of a data message, and the header bits.
 */
export interface ScriptFrame {
  /** Frame id, the same number the UI and the JSONL log show. */
  readonly id: number;
  readonly session: ScriptSession;
  readonly from: Side;
  readonly to: Side;
  /** "continuation" for every fragment after the first one of a message. */
  readonly kind: FrameKind;
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly masked: boolean;
  /** The masking key the peer used, or null. */
  readonly maskKey: Buffer | null;
  /** Payload length on the wire. */
  readonly length: number;
  /** The header bytes as received. */
  readonly header: Buffer;
  /** Unmasked payload (inflated when compressed). May be cut at --max-preview, see `truncated`. */
  readonly payload: Buffer;
  readonly truncated: boolean;
  /** Part of a permessage-deflate compressed message. */
  readonly compressed: boolean;
  /** For a close frame: its status code (null when it has none) and reason. */
  readonly close: { readonly code: number | null; readonly reason: string } | null;
  /** Protocol violations the proxy found in this frame. */
  readonly violations: readonly Violation[];
  /** The payload decoded as UTF-8. */
  readonly text: string;
}

/** How a session ended, passed to onClose. */
export interface ScriptCloseInfo {
  /** Status code of the first close frame, or null when the connection ended without one. */
  readonly code: number | null;
  readonly reason: string;
  /** Who started the close: a peer, or the proxy itself. */
  readonly by: Side | 'proxy';
  /** Both close frames were exchanged before the connection ended. */
  readonly clean: boolean;
  readonly time: number;
}

/** A message too large to hold (over --max-message) that went through unmodified, passed to onStreamed. */
export interface ScriptStreamedInfo {
  readonly session: ScriptSession;
  readonly from: Side;
  readonly to: Side;
  readonly kind: 'text' | 'binary';
  /** Bytes the proxy had seen when it gave up holding the message (at least --max-message). */
  readonly length: number;
}

/** Bytes: a Buffer, any other Uint8Array, an ArrayBuffer or a string (sent as UTF-8). */
export type ScriptBytes = Uint8Array | ArrayBuffer | string;

/**
 * One message or control frame, as a hook may return it or ctx.send may inject it. The kind
 * follows from the fields when it is not given: `text` or `json` make a text message, `data` a
 * binary one.
 */
export interface ScriptFrameOut {
  readonly kind?: 'text' | 'binary' | 'ping' | 'pong' | 'close';
  readonly text?: string;
  /** Serialised with JSON.stringify and sent as a text message. */
  readonly json?: unknown;
  readonly data?: ScriptBytes;
  /** Close status code (close only). */
  readonly code?: number;
  /** Close reason (close only, at most 123 bytes of UTF-8). */
  readonly reason?: string;
}

/** What ctx.send injects: a message or control frame and the peer that is to receive it. */
export interface ScriptSend extends ScriptFrameOut {
  /** The peer that receives it. A frame to the server is masked with a fresh key, as a client would. */
  readonly to: Side;
}

declare const dropBrand: unique symbol;
/** The value of ctx.drop(): return it to drop the message. */
export interface ScriptDrop {
  readonly [dropBrand]: true;
}

/**
 * What onMessage (and onFrame, for ping, pong and close frames) may return:
 * - undefined (or nothing): forward the message unchanged, in its original frames;
 * - a string: replace it with this text message;
 * - a Buffer / Uint8Array / ArrayBuffer: replace the payload, keeping the kind;
 * - a {@link ScriptFrameOut} object: replace it with exactly that message or control frame;
 * - an array of the above: replace it with several messages, in this order (an empty array drops);
 * - ctx.drop(): drop it.
 */
export type ScriptResult = undefined | void | null | string | Uint8Array | ArrayBuffer | ScriptFrameOut | ScriptDrop | readonly (string | Uint8Array | ArrayBuffer | ScriptFrameOut)[];

/** A timer started with ctx.setTimeout / ctx.setInterval. */
export interface ScriptTimer {
  /** Stops it (it also stops by itself when the session closes). */
  cancel(): void;
}

/**
 * Passed to every hook. One context per session: `state` lives as long as the session (across
 * hot reloads too), and `send`, `close` and `log` keep working after the hook returned, e.g. from
 * a timer.
 */
export interface ScriptContext<S extends object = Record<string, any>> {
  readonly session: ScriptSession;
  /** Per-session state, created by the script's `initState` (an empty object by default). */
  state: S;
  /**
   * Aborts when this hook call runs out of time (--script-timeout) or the session ends: pass it
   * on to fetch() and the like. Outside a hook call (in a timer) it aborts when the session ends.
   */
  readonly signal: AbortSignal;
  /**
   * Injects a message or control frame. It is queued behind whatever is waiting in that
   * direction (to put something right before or after the current message, return an array from
   * onMessage instead). Never throws: returns false, and logs why, when the session is closed or
   * the request is invalid.
   */
  send(message: ScriptSend): boolean;
  /** Closes the session: a close frame with this code to both peers, then the connections end. */
  close(code?: number, reason?: string): void;
  /** Return this from onMessage (or onFrame for a control frame) to drop the message. */
  drop(): ScriptDrop;
  /** Logs a line (formatted like console.log) to the headless output, the JSONL log and the UI. */
  log(...args: unknown[]): void;
  /** Like log, as a warning. */
  warn(...args: unknown[]): void;
  /** Like log, as an error. */
  error(...args: unknown[]): void;
  /** Like setTimeout, but cleared when the session closes, and an exception in `fn` is logged. */
  setTimeout(fn: () => void | Promise<void>, ms: number): ScriptTimer;
  /** Like setInterval, but cleared when the session closes, and an exception in `fn` is logged. */
  setInterval(fn: () => void | Promise<void>, ms: number): ScriptTimer;
  /**
   * Adds a fault rule (docs/faults.md): the text of `--fault` (`'server: delay 200ms'`) or the
   * same rule as an object. It acts on this session only and goes when the session ends, unless
   * `{ global: true }` (storms are always global). Throws a one-line error on a bad rule.
   */
  fault(rule: string | FaultRuleObject, options?: { readonly global?: boolean }): ScriptFault;
}

/** A fault rule added by a script. */
export interface ScriptFault {
  /** Its id, as the TUI, the control API and `fault` records name it. */
  readonly id: number;
  /** The rule in canonical text form. */
  readonly rule: string;
  /** Turns it on or off (toggles without an argument). */
  enable(on?: boolean): void;
  remove(): void;
}

/** Anything a hook may return, now or as a promise. */
type MaybePromise<T> = T | Promise<T>;

/**
 * A script: a plain object with any of these hooks. Every hook may be async; the proxy waits
 * for it (up to --script-timeout) and messages of one direction of a session leave in the order
 * they arrived, while other directions and sessions go on.
 */
export interface Script<S extends object = Record<string, any>> {
  /** Creates the per-session `ctx.state`. Called before onOpen. */
  initState?(session: ScriptSession): S;
  /** A session opened (the upgrade succeeded). Messages of this session wait until it returns. */
  onOpen?(session: ScriptSession, ctx: ScriptContext<S>): MaybePromise<void>;
  /**
   * Every data message, whole: return undefined to forward it unchanged, a replacement, an array
   * to split it, or ctx.drop() (see {@link ScriptResult}).
   */
  onMessage?(msg: ScriptMessage, ctx: ScriptContext<S>): MaybePromise<ScriptResult>;
  /**
   * Every frame a peer sent, with its header bits. For ping, pong and close frames it is called
   * before the frame is forwarded and may return a replacement or ctx.drop() like onMessage; for
   * the frames of data messages it only observes (change data in onMessage).
   */
  onFrame?(frame: ScriptFrame, ctx: ScriptContext<S>): MaybePromise<ScriptResult>;
  /** A message was over --max-message: it went through unmodified and onMessage did not see it. */
  onStreamed?(info: ScriptStreamedInfo, ctx: ScriptContext<S>): MaybePromise<void>;
  /** The session ended. ctx.state is still there; ctx.send no longer works. */
  onClose?(session: ScriptSession, info: ScriptCloseInfo, ctx: ScriptContext<S>): MaybePromise<void>;
  /** This version of the script is replaced by a hot reload or the proxy stops: release files, timers. */
  onUnload?(): MaybePromise<void>;
}

/** The hook names a script may define. */
export const SCRIPT_HOOKS = ['initState', 'onOpen', 'onMessage', 'onFrame', 'onStreamed', 'onClose', 'onUnload'] as const;
export type ScriptHookName = (typeof SCRIPT_HOOKS)[number];

/**
 * Gives a script object its types (and editor completion); at run time it returns the object
 * as it is, so a plain object default export works the same.
 */
export function defineScript<S extends object = Record<string, any>>(script: Script<S>): Script<S> {
  return script;
}
