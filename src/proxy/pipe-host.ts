/**
 * What a DirectionPipe needs from its session, which owns the sockets and the policy, and the
 * limits it relays under.
 */
import type { Violation } from '../protocol/violations.js';
import type { MessageInterceptor } from '../intercept/verdict.js';
import type { ProxyBus } from './events.js';
import type { MaskKeySource } from './mask-keys.js';
import type { StatsSink } from './pipe-records.js';
import type { Sequencer } from './sequencer.js';

export interface RelayLimits {
  /** Payload bytes kept per frame and message for observers. */
  readonly maxPreview: number;
  /** Largest message held whole for a decision; larger ones stream through undecided. */
  readonly maxMessage: number;
}

/** What a pipe needs from its session; the session owns sockets and policy. */
export interface PipeHost {
  readonly session: number;
  readonly bus: ProxyBus;
  readonly stats?: StatsSink | undefined;
  readonly limits: RelayLimits;
  readonly keys: MaskKeySource;
  readonly signal: AbortSignal;
  /**
   * The session's record order, shared by both directions: a record waiting for zlib holds back
   * every later record of the session, whichever way it went, so the bus shows arrival order.
   */
  readonly records: Sequencer;
  /**
   * Compressed frames are inflated for the records after their chunk is written (later-inflater.ts),
   * not as they are read; not with --strict, where a violation in inflated text stops its frame.
   */
  readonly inflateLater?: boolean;
  now(): number;
  nextId(): number;
  interceptors(): readonly MessageInterceptor[];
  /** Writes to the other peer, in order, as one batch. */
  write(segments: readonly Uint8Array[]): void;
  /** Policy for a violation by this pipe's peer. */
  violation(v: Violation, frame: number | null): void;
  /** A close frame from this pipe's peer has been seen. */
  closeFrame(code: number | null, reason: string): void;
  /** The hold queue went over (true) or back under (false) its bound. */
  pressure(over: boolean): void;
  chainError(interceptor: string, error: unknown): void;
  /** Everything received so far has been written (the queue ran empty). */
  idle(): void;
}
