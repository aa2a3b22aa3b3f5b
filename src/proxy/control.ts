/**
 * What the TUI and scripts may do to live traffic besides deciding on messages: inject frames,
 * close sessions, add deciders. Everything here goes through the same ordered per-direction path
 * as relayed traffic.
 */
import type { MessageInterceptor } from '../intercept/verdict.js';
import type { ProxyBus, SessionInfo, Side } from './events.js';
import type { GateFactory, WriteGate } from './write-gate.js';

export type InjectKind = 'text' | 'binary' | 'ping' | 'pong' | 'close';

export interface InjectRequest {
  /** Peer that receives the frame. Frames to the server are masked with a fresh key. */
  readonly to: Side;
  readonly kind: InjectKind;
  /** Payload for text/binary/ping/pong (a string is sent as UTF-8). Ignored for close. */
  readonly data?: Uint8Array | string;
  /** Close status code (close only). */
  readonly code?: number;
  /** Close reason (close only). */
  readonly reason?: string;
}

export type SessionState = 'open' | 'closing' | 'closed';

export interface SessionControl {
  readonly info: SessionInfo;
  readonly state: SessionState;
  /** Queues a frame behind whatever is pending in that direction. Throws on a bad request. */
  send(request: InjectRequest): void;
  /**
   * Sends a close frame with this code to both peers, then ends both connections. With `to`, only
   * that peer gets this code; the other gets 1001 (the proxy, standing in for its partner, goes away).
   */
  close(code?: number, reason?: string, to?: Side): void;
  // Fault seams (src/fault/); optional so that other implementations need not offer them.
  /** Cuts the connection to `to` (both when absent) with a TCP reset, no close frame; the other peer's is ended. */
  reset?(to?: Side): void;
  /** Ends the proxy's sending side toward `to` (TCP FIN, no close frame); what `to` sends still goes through. */
  halfClose?(to: Side): void;
  /** Puts a gate (throttle, trickle) on the bytes written to `to`, or removes it (null). */
  setWriteGate?(to: Side, make: GateFactory | null): WriteGate | null;
}

export interface ProxyControl {
  readonly bus: ProxyBus;
  /** "host:port" the proxy listens on. */
  readonly listening: string;
  /** "host:port" of the target. */
  readonly target: string;
  session(id: number): SessionControl | undefined;
  sessions(): SessionControl[];
  /**
   * Adds a decider. Lower `order` runs first: --replace rules (10), scripts (20), TUI intercept (30),
   * so the person at the TUI sees what will really be sent, then fault rules (40), which act on
   * what would have been sent. Returns a function that removes it.
   */
  use(interceptor: MessageInterceptor, order: number): () => void;
  /** Closes every session with 1001 and stops listening. */
  close(): Promise<void>;
}

export const INTERCEPTOR_ORDER = { replace: 10, script: 20, intercept: 30, fault: 40 } as const;
