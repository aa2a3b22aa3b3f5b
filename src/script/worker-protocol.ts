/**
 * The messages between the proxy (main thread) and the script's worker thread. Everything is
 * plain data (structured clone); payloads travel as exactly sized Uint8Arrays, transferred.
 */
import type { MessagePort } from 'node:worker_threads';
import type { HeldMessage, MessageMeta, Verdict } from '../intercept/verdict.js';
import type { InjectRequest, SessionState } from '../proxy/control.js';
import type { CloseRecord, FrameRecord, LogRecord, SessionInfo } from '../proxy/events.js';
import type { FailMode } from './script-interceptor.js';

/** What the worker is started with. */
export interface WorkerStart {
  readonly path: string;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly failMode: FailMode;
  /**
   * Two BigInt64s: [0] the worker writes Date.now() into while its event loop turns, [1] the
   * highest decision request it has begun.
   */
  readonly heartbeat: SharedArrayBuffer;
  readonly heartbeatMs: number;
  /**
   * A question whose answer the script needs at once (ctx.fault returns the rule's id or throws):
   * the worker posts it, waits on `syncFlag` (Int32 [0] set to 1 by the main thread) and reads
   * the answer from `syncPort` with receiveMessageOnPort.
   */
  readonly syncFlag: SharedArrayBuffer;
  readonly syncPort: MessagePort;
}

/** The answer to a `fault` question. */
export type FaultAnswer = { readonly ok: true; readonly id: number; readonly rule: string } | { readonly ok: false; readonly message: string };

/** Which hooks the loaded version has: the main thread answers `wants` from these alone. */
export interface HookSet {
  readonly onMessage: boolean;
  readonly onFrame: boolean;
}

/** A ScriptLoadError taken apart for the trip across threads. */
export interface LoadFailure {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly reason: string;
}

export type Loaded =
  | { readonly ok: true; readonly files: readonly string[]; readonly warnings: readonly string[]; readonly hooks: HookSet }
  | { readonly ok: false; readonly failure: LoadFailure };

export interface SessionEntry {
  readonly info: SessionInfo;
  readonly state: SessionState;
}

/** Main thread → worker. */
export type ToWorker =
  /** Load the script file as a new version; once running, swap it in (hot reload). */
  | { readonly t: 'load'; readonly req: number }
  /** Start the runtime over the sessions open now. */
  | { readonly t: 'start'; readonly sessions: readonly SessionEntry[] }
  | { readonly t: 'open'; readonly info: SessionInfo }
  | { readonly t: 'close'; readonly record: CloseRecord }
  | { readonly t: 'frame'; readonly record: FrameRecord; readonly state: SessionState }
  | { readonly t: 'decide'; readonly req: number; readonly held: HeldMessage; readonly state: SessionState }
  /** The relay gave up on a decision (its session ended). */
  | { readonly t: 'abort'; readonly req: number }
  | { readonly t: 'streamed'; readonly meta: MessageMeta; readonly length: number }
  /** Stop: onUnload, then answer `stopped`. */
  | { readonly t: 'stop'; readonly req: number };

/** Worker → main thread. */
export type FromWorker =
  | { readonly t: 'loaded'; readonly req: number; readonly result: Loaded }
  | { readonly t: 'verdict'; readonly req: number; readonly verdict: Verdict }
  | { readonly t: 'log'; readonly record: LogRecord }
  | { readonly t: 'send'; readonly session: number; readonly request: InjectRequest }
  | { readonly t: 'close-session'; readonly session: number; readonly code: number | undefined; readonly reason: string | undefined }
  | { readonly t: 'stopped'; readonly req: number }
  /** ctx.fault: answered on the sync port with a FaultAnswer. */
  | { readonly t: 'fault'; readonly rule: unknown; readonly session: number | null }
  | { readonly t: 'fault-op'; readonly id: number; readonly op: 'enable' | 'remove'; readonly on: boolean | undefined };

/** An exactly sized copy, so that transferring it moves no more than these bytes. */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
