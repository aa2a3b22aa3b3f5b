/**
 * Keeps a SessionStatsBuilder per open session; the proxy asks it for the final numbers when a
 * session closes (they travel in the close record). A session's pipes count its frames and
 * messages into its builder as they make their records (proxy/pipe-records.ts): a second bus
 * listener per frame would cost the relay more than the counting itself.
 */
import { subscribe, type CloseRecord, type ProxyBus } from '../proxy/events.js';
import { SessionStatsBuilder, type SessionStats } from './stats.js';

export class StatsTracker {
  readonly #sessions = new Map<number, SessionStatsBuilder>();
  readonly #unsubscribe: () => void;

  constructor(bus: ProxyBus) {
    this.#unsubscribe = subscribe(bus, {
      // Attempts that never became a Session (refused, failed) get theirs here.
      'session-open': (s) => void this.open(s.session, s.time),
      fault: (f) => (f.session === null ? undefined : this.#sessions.get(f.session)?.fault(f.action)),
      // Lengths only, and ping payloads, which control frames always keep whole (§5.5).
    }, { previewBytes: 0 });
  }

  /** The builder of a session, made on first ask. */
  open(session: number, openTime: number): SessionStatsBuilder {
    let b = this.#sessions.get(session);
    if (b === undefined) {
      b = new SessionStatsBuilder(openTime);
      this.#sessions.set(session, b);
    }
    return b;
  }

  /** Live numbers of an open session. */
  live(session: number, now: number): SessionStats | null {
    return this.#sessions.get(session)?.snapshot(now) ?? null;
  }

  /** Final numbers; forgets the session. */
  finish(close: Omit<CloseRecord, 'stats'>): SessionStats | null {
    const builder = this.#sessions.get(close.session);
    if (builder === undefined) return null;
    this.#sessions.delete(close.session);
    builder.close(close);
    return builder.snapshot();
  }

  stop(): void {
    this.#unsubscribe();
  }
}
