/** What a Session needs from the proxy that made it (server.ts): the bus, limits, clocks, ids, deciders. */
import type { MessageInterceptor } from '../intercept/verdict.js';
import type { SessionStats } from '../export/stats.js';
import type { CloseRecord, ProxyBus } from './events.js';
import type { MaskKeySource } from './mask-keys.js';
import type { RelayLimits } from './pipe-host.js';
import type { StatsSink } from './pipe-records.js';

export interface SessionDeps {
  readonly bus: ProxyBus;
  readonly limits: RelayLimits;
  readonly strict: boolean;
  readonly keys: MaskKeySource;
  now(): number;
  nextId(): number;
  interceptors(): readonly MessageInterceptor[];
  /** Final statistics for the close record. */
  stats?(close: Omit<CloseRecord, 'stats'>): SessionStats | null;
  /** Where the session's records are counted for its stats (the pipes call it as they make them). */
  statsSink?(session: number, openTime: number): StatsSink;
  /** Told once both connections are closed and the close record is out (as `done` resolves). */
  closed?(session: number): void;
}
