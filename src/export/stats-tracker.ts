/**
 * Keeps a SessionStatsBuilder per open session, fed from the bus; the proxy asks it for the final
 * numbers when a session closes (they travel in the close record).
 */
import { subscribe, type CloseRecord, type ProxyBus } from '../proxy/events.js';
import { SessionStatsBuilder, type SessionStats } from './stats.js';

export class StatsTracker {
  readonly #sessions = new Map<number, SessionStatsBuilder>();
  readonly #unsubscribe: () => void;

  constructor(bus: ProxyBus) {
    this.#unsubscribe = subscribe(bus, {
      'session-open': (s) => void this.#sessions.set(s.session, new SessionStatsBuilder(s.time)),
      frame: (f) => this.#sessions.get(f.session)?.frame(f),
      message: (m) => this.#sessions.get(m.session)?.message(m),
      fault: (f) => (f.session === null ? undefined : this.#sessions.get(f.session)?.fault(f.action)),
    });
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
