/**
 * The live set of fault rules and what carries them out: a MessageInterceptor (order 40, after
 * --replace, script and TUI intercept) for message faults, timers for `after` faults, write gates
 * for throttle and trickle, an admission hook for handshake faults and storms, and the reconnect
 * tracker. Nothing is installed while no rule needs it: with no message rule the interceptor is
 * not registered, so the relay's fast path does not even ask it.
 */
import { DROP, FORWARD, type HeldMessage, type MessageInterceptor, type MessageMeta, type OutMessage, type Verdict } from '../intercept/verdict.js';
import type { Admission, UpgradeAttempt } from '../proxy/admission.js';
import { INTERCEPTOR_ORDER, type ProxyControl, type SessionControl } from '../proxy/control.js';
import { otherSide, type FaultRecord, type ReconnectRecord, type SessionInfo, type Side } from '../proxy/events.js';
import { matches, type FilterSubject } from '../tui/filter.js';
import { FaultRandom } from './prng.js';
import { ReconnectTracker } from './reconnects.js';
import { pathMatches, ruleApplies, sideMatches } from './rule-match.js';
import { isMessageAction, parseRule, ruleFromJson, type FaultAction, type ParsedRule } from './rule.js';
import { Throttle } from './throttle.js';

export interface ActiveRule {
  readonly id: number;
  readonly rule: ParsedRule;
  enabled: boolean;
  /** Times it acted. */
  hits: number;
  /** Where it came from: "cli", "file", "script", "tui", "control". */
  readonly source: string;
  /** Only this session (a rule a script added with ctx.fault), removed when it ends; null: every session. */
  readonly session: number | null;
}

const engines = new WeakMap<ProxyControl, FaultEngine>();

/** The engine attached to a proxy; one is made (random seed) and attached when there is none yet. */
export function faultEngineFor(proxy: ProxyControl): FaultEngine {
  let engine = engines.get(proxy);
  if (engine === undefined) {
    engine = new FaultEngine(FaultRandom.randomSeed());
    engine.attach(proxy);
  }
  return engine;
}

export const ADMIT: Admission = Object.freeze({ action: 'pass' });

/** What the engine keeps per open session; the parts most sessions never need are made on first use. */
interface LiveSession {
  readonly info: SessionInfo;
  timers: NodeJS.Timeout[] | null;
  /** Rules whose `after` timer has been set for this session. */
  timed: Set<number> | null;
  gates: { [S in Side]: Throttle | null } | null;
}

const SIDE_KEY: { readonly [S in Side]: number } = { client: 1, server: 2 };

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class FaultEngine {
  readonly random: FaultRandom;
  readonly #now: () => number;
  #proxy: ProxyControl | null = null;
  #rules: ActiveRule[] = [];
  #nextId = 1;
  #unuse: (() => void) | null = null;
  #unsubscribe: (() => void) | null = null;
  readonly #sessions = new Map<number, LiveSession>();
  readonly #tracker = new ReconnectTracker();
  #refuseUntil = 0;
  readonly #storms = new Map<number, NodeJS.Timeout>();
  readonly #listeners = new Set<() => void>();
  /** Faults applied, in all (the status bar's count). */
  applied = 0;
  readonly #interceptor: MessageInterceptor;

  constructor(seed: number, now: () => number = Date.now) {
    this.random = new FaultRandom(seed);
    this.#now = now;
    this.#interceptor = {
      name: 'fault',
      wants: (meta) => this.#wants(meta),
      decide: (held, signal) => this.#decide(held, signal),
    };
  }

  /** Starts acting on a running proxy: sessions already open and every one after. */
  attach(proxy: ProxyControl): void {
    this.#proxy = proxy;
    engines.set(proxy, this);
    const onOpen = (info: SessionInfo): void => this.#sessionOpened(info);
    const onClose = (record: { readonly session: number }): void => this.#sessionClosed(record.session);
    proxy.bus.on('session-open', onOpen);
    proxy.bus.on('session-close', onClose);
    this.#unsubscribe = () => {
      proxy.bus.off('session-open', onOpen);
      proxy.bus.off('session-close', onClose);
    };
    for (const s of proxy.sessions()) this.#sessionOpened(s.info);
    for (const r of this.#rules) if (r.enabled) this.#started(r);
    this.#sync();
  }

  /** Stops every timer and gate, and reports the reconnects of the last storm. */
  close(): void {
    for (const t of this.#storms.values()) clearInterval(t);
    this.#storms.clear();
    for (const id of [...this.#sessions.keys()]) this.#sessionClosed(id);
    this.#emitReconnects(this.#tracker.report(this.#now()));
    this.#unuse?.();
    this.#unuse = null;
    this.#unsubscribe?.();
  }

  /** Called after every change of the rule set (the TUI redraws its list). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  rules(): readonly ActiveRule[] {
    return this.#rules;
  }

  /** Adds a rule (text or an already parsed one). Throws FaultRuleError on a bad rule. */
  add(spec: string | ParsedRule, source: string, enabled = true, session: number | null = null): ActiveRule {
    const rule = typeof spec === 'string' ? parseRule(spec) : spec;
    const active: ActiveRule = { id: this.#nextId++, rule, enabled, hits: 0, source, session };
    this.#rules = [...this.#rules, active];
    if (enabled) this.#started(active);
    this.#sync();
    return active;
  }

  /** Adds a rule given as JSON (a string in the grammar or an object). */
  addJson(value: unknown, source: string, label = 'fault', session: number | null = null): ActiveRule {
    const { rule, enabled } = ruleFromJson(value, label);
    return this.add(rule, source, enabled, session);
  }

  remove(id: number): boolean {
    const rule = this.#rules.find((r) => r.id === id);
    if (rule === undefined) return false;
    this.#rules = this.#rules.filter((r) => r !== rule);
    this.#stopped(rule);
    this.#sync();
    return true;
  }

  /** Turns a rule on or off (toggles when `on` is not given). Returns its new state, or null if there is no such rule. */
  setEnabled(id: number, on?: boolean): boolean | null {
    const rule = this.#rules.find((r) => r.id === id);
    if (rule === undefined) return null;
    const next = on ?? !rule.enabled;
    if (next !== rule.enabled) {
      rule.enabled = next;
      if (next) this.#started(rule);
      else this.#stopped(rule);
      this.#sync();
    }
    return next;
  }

  /** Closes every live session (with a close frame, or cut when `close` is null), then refuses upgrades for `refuseMs`. */
  killAll(close: { readonly code: number; readonly reason: string } | null, refuseMs: number, rule: ActiveRule | null = null): number {
    const now = this.#now();
    this.#emitReconnects(this.#tracker.storm(now));
    this.#refuseUntil = refuseMs > 0 ? now + refuseMs : 0;
    const sessions = this.#proxy?.sessions().filter((s) => s.state === 'open') ?? [];
    for (const s of sessions) {
      if (close === null && s.reset !== undefined) s.reset();
      else s.close(close?.code ?? 1001, close?.reason ?? '');
    }
    const detail = `${sessions.length} session(s) ${close === null ? 'cut' : `closed with ${close.code}`}${refuseMs > 0 ? `, upgrades refused for ${refuseMs} ms` : ''}`;
    this.#emit({ session: null, time: now, ruleId: rule?.id ?? 0, rule: rule?.rule.text ?? 'kill all', action: 'kill', from: null, frame: null, message: null, detail });
    if (rule !== null) rule.hits++;
    this.#changed();
    return sessions.length;
  }

  /** The write gates (throttle, trickle) of live sessions: rate, bytes held now, most bytes held at once. */
  gates(): { readonly session: number; readonly to: Side; readonly rate: number; readonly pending: number; readonly peak: number }[] {
    const out: { session: number; to: Side; rate: number; pending: number; peak: number }[] = [];
    for (const live of this.#sessions.values()) {
      for (const to of ['client', 'server'] as const) {
        const g = live.gates?.[to] ?? null;
        if (g !== null) out.push({ session: live.info.session, to, rate: g.rate, pending: g.pending, peak: g.peak });
      }
    }
    return out;
  }

  /** The reconnect report of the current storm window so far. */
  reconnects(): ReconnectRecord[] {
    return this.#tracker.report(this.#now());
  }

  /**
   * The admission hook for upgrades: handshake rules and the refusal window of a storm. Every
   * attempt counts for the reconnect report. Cheap when no rule applies.
   */
  readonly admit = (attempt: UpgradeAttempt): Admission | Promise<Admission> => {
    const now = this.#now();
    const storm = now < this.#refuseUntil;
    const rules = this.#rules.length === 0 ? this.#rules : this.#rules.filter((r) => r.enabled && r.session === null && (r.rule.action.type === 'handshake' || r.rule.action.type === 'handshake-delay') && pathMatches(r.rule, attempt.path));
    if (storm) {
      this.#tracker.attempt(attempt.client, attempt.path, now, true);
      const retry = Math.max(1, Math.ceil((this.#refuseUntil - now) / 1000));
      this.#emit({ session: null, time: now, ruleId: 0, rule: 'storm refusal', action: 'handshake', from: null, frame: null, message: null, detail: `503 to ${attempt.client} ${attempt.path} (storm, retry after ${retry} s)` });
      return { action: 'refuse', status: 503, headers: [['retry-after', String(retry)]], reason: 'refused during a reconnect storm' };
    }
    if (rules.length === 0) {
      this.#tracker.attempt(attempt.client, attempt.path, now, false);
      return ADMIT;
    }
    return this.#admitRules(rules, attempt, now);
  };

  async #admitRules(rules: readonly ActiveRule[], attempt: UpgradeAttempt, now: number): Promise<Admission> {
    let verdict: Admission = ADMIT;
    for (const r of rules) {
      if (!this.#roll(r, 0, 0)) continue;
      const a = r.rule.action;
      if (a.type === 'handshake-delay') {
        this.#hit(r, null, null, null, `upgrade of ${attempt.client} ${attempt.path} held ${a.ms} ms`);
        await sleep(a.ms);
      } else if (a.type === 'handshake') {
        this.#hit(r, null, null, null, `${a.status} to ${attempt.client} ${attempt.path}`);
        verdict = { action: 'refuse', status: a.status, headers: a.retryAfter === null ? [] : [['retry-after', a.retryAfter]], reason: `refused by fault rule ${r.id}` };
        break;
      }
    }
    this.#tracker.attempt(attempt.client, attempt.path, now, verdict.action === 'refuse');
    return verdict;
  }

  // ---- rule life ---------------------------------------------------------------------------

  /** A rule became active: storms start, timers are set on live sessions. */
  #started(r: ActiveRule): void {
    if (this.#proxy === null) return;
    const a = r.rule.action;
    if (a.type === 'kill' && r.session === null) {
      if (a.every === null) this.killAll(a.close, a.refuse, r);
      else {
        const timer = setInterval(() => this.killAll(a.close, a.refuse, r), a.every);
        timer.unref();
        this.#storms.set(r.id, timer);
      }
    }
    for (const s of this.#sessions.values()) this.#arm(s, r);
  }

  #stopped(r: ActiveRule): void {
    const storm = this.#storms.get(r.id);
    if (storm !== undefined) {
      clearInterval(storm);
      this.#storms.delete(r.id);
      if (![...this.#storms.keys()].length) this.#refuseUntil = 0;
    }
  }

  /** Registers the interceptor only while some message rule is on; sets the write gates. */
  #sync(): void {
    const proxy = this.#proxy;
    if (proxy !== null) {
      const wanted = this.#rules.some((r) => r.enabled && isMessageAction(r.rule.action));
      if (wanted && this.#unuse === null) this.#unuse = proxy.use(this.#interceptor, INTERCEPTOR_ORDER.fault);
      else if (!wanted && this.#unuse !== null) {
        this.#unuse();
        this.#unuse = null;
      }
      for (const s of this.#sessions.values()) this.#setGates(s);
    }
    this.#changed();
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }

  // ---- sessions ------------------------------------------------------------------------------

  #sessionOpened(info: SessionInfo): void {
    if (info.status !== 101 || this.#sessions.has(info.session)) return;
    const live: LiveSession = { info, timers: null, timed: null, gates: null };
    this.#sessions.set(info.session, live);
    for (const r of this.#rules) if (r.enabled) this.#arm(live, r);
    this.#setGates(live);
  }

  #sessionClosed(id: number): void {
    const scoped = this.#rules.length === 0 ? this.#rules : this.#rules.filter((r) => r.session === id);
    if (scoped.length > 0) {
      this.#rules = this.#rules.filter((r) => r.session !== id);
      for (const r of scoped) this.#stopped(r);
      this.#sync();
    }
    const live = this.#sessions.get(id);
    if (live === undefined) return;
    if (live.timers !== null) for (const t of live.timers) clearTimeout(t);
    this.#sessions.delete(id);
    this.random.forget(id);
  }

  /** Sets the `after` timer of a connection fault on a session (once per rule and session). */
  #arm(live: LiveSession, r: ActiveRule): void {
    const a = r.rule.action;
    if ((a.type !== 'close' && a.type !== 'abort' && a.type !== 'halfclose') || a.after === null) return;
    if (live.timed?.has(r.id) === true || !pathMatches(r.rule, live.info.path) || (r.session !== null && r.session !== live.info.session)) return;
    (live.timed ??= new Set()).add(r.id);
    // A rule added to a live session counts its time from now; a new session from its opening.
    const start = Math.max(live.info.time, this.#now());
    const timer = setTimeout(() => {
      if (!r.enabled || !this.#rules.includes(r) || !this.#roll(r, live.info.session, 0)) return;
      const session = this.#proxy?.session(live.info.session);
      if (session === undefined || session.state !== 'open') return;
      this.#connectionFault(r, a, session, null, null);
    }, Math.max(0, start + a.after - this.#now()));
    timer.unref();
    (live.timers ??= []).push(timer);
  }

  #setGates(live: LiveSession): void {
    const session = this.#proxy?.session(live.info.session);
    if (session?.setWriteGate === undefined || session.state === 'closed') return;
    for (const from of ['client', 'server'] as const) {
      const to = otherSide(from);
      let rate = Infinity;
      let needed = false;
      let throttle: ActiveRule | null = null;
      for (const r of this.#rules) {
        if (!r.enabled || !sideMatches(r.rule, from) || !pathMatches(r.rule, live.info.path) || (r.session !== null && r.session !== live.info.session)) continue;
        const a = r.rule.action;
        if (a.type === 'throttle') {
          needed = true;
          if (a.rate < rate) {
            rate = a.rate;
            throttle = r;
          }
        } else if (a.type === 'trickle') needed = true;
      }
      const gate = live.gates?.[to] ?? null;
      if (!needed) {
        if (gate !== null) {
          session.setWriteGate(to, null);
          live.gates![to] = null;
        }
        continue;
      }
      if (gate === null) {
        let made: Throttle | null = null;
        session.setWriteGate(to, (sink) => (made = new Throttle(sink, rate)));
        (live.gates ??= { client: null, server: null })[to] = made;
      } else if (gate.rate !== rate) gate.rate = rate;
      else continue;
      if (throttle !== null) this.#hit(throttle, live.info.session, from, null, `${from}→${to} limited to ${rate} B/s`);
    }
  }

  // ---- messages ----------------------------------------------------------------------------

  #wants(meta: MessageMeta): boolean {
    for (const r of this.#rules) if (r.enabled && ruleApplies(r, meta, this.#sessions)) return true;
    return false;
  }

  #roll(r: ActiveRule, session: number, from: number): boolean {
    if (r.rule.probability >= 1) return true;
    return this.random.next(r.id, session, from, 0) < r.rule.probability;
  }

  async #decide(held: HeldMessage, signal: AbortSignal): Promise<Verdict> {
    const meta: MessageMeta = { session: held.session, from: held.from, kind: held.kind };
    let text: string | null = null;
    const subject: FilterSubject = {
      session: held.session,
      from: held.from,
      kind: held.kind,
      messageKind: null,
      marks: held.compressed ? ['compressed'] : [],
      text: () => (text ??= Buffer.from(held.data.buffer, held.data.byteOffset, held.data.byteLength).toString('utf8')),
    };
    const side = SIDE_KEY[held.from];
    let copies = 1;
    let layout: OutMessage['layout'];
    let changed = false;
    for (const r of this.#rules) {
      if (!r.enabled || !ruleApplies(r, meta, this.#sessions)) continue;
      if (r.rule.match !== null && !matches(r.rule.match, subject)) continue;
      if (!this.#roll(r, held.session, side)) continue;
      const a = r.rule.action;
      switch (a.type) {
        case 'delay':
        case 'delay-pong': {
          // Latency, not a pause: counted from the message's arrival, so messages behind it are
          // not held twice; order is kept because the direction waits for this one.
          const jitter = a.jitter === 0 ? 0 : (this.random.next(r.id, held.session, side, 1) * 2 - 1) * a.jitter;
          const arrived = held.time ?? this.#now();
          const now = this.#now();
          const wait = Math.max(0, Math.round(arrived + a.ms + jitter - now));
          // One that waited behind another already is held less here: its lateness says the rest.
          const late = Math.round(now + wait - arrived);
          this.#hit(r, held.session, held.from, held, late - wait > 1 ? `held ${wait} ms more, ${late} ms after it arrived` : `held ${wait} ms`);
          await sleep(wait, signal);
          break;
        }
        case 'drop':
          this.#hit(r, held.session, held.from, held, 'dropped');
          return DROP;
        case 'duplicate':
          copies += a.count;
          changed = true;
          this.#hit(r, held.session, held.from, held, `sent ${copies} times`);
          break;
        case 'fragment': {
          layout = { maxFrame: a.size, ping: a.ping };
          changed = true;
          const n = Math.max(1, Math.ceil(held.data.length / a.size));
          this.#hit(r, held.session, held.from, held, `cut into ${n} frame(s) of at most ${a.size} B${a.ping ? ' with pings between' : ''}${held.compressed ? ' (of the compressed bytes)' : ''}`);
          break;
        }
        case 'coalesce':
          if (held.frames > 1) {
            layout = { maxFrame: 0 };
            changed = true;
            this.#hit(r, held.session, held.from, held, `${held.frames} frames joined into one`);
          }
          break;
        case 'trickle': {
          const live = this.#sessions.get(held.session);
          const gate = live?.gates?.[otherSide(held.from)] ?? null;
          if (gate !== null) {
            gate.pace(held.data.length, a.ms);
            this.#hit(r, held.session, held.from, held, `${held.data.length} B spread over ${a.ms} ms`);
          }
          break;
        }
        case 'close':
        case 'abort':
        case 'halfclose': {
          const session = this.#proxy?.session(held.session);
          if (session !== undefined) this.#connectionFault(r, a, session, held.from, held);
          // The message that triggered it is not forwarded: the close takes its place.
          return DROP;
        }
        default:
          break;
      }
      if (signal.aborted) return DROP;
    }
    if (!changed) return FORWARD;
    const out: OutMessage = layout === undefined ? { kind: held.kind, data: held.data } : { kind: held.kind, data: held.data, layout };
    return { action: 'replace', messages: Array.from({ length: copies }, () => out) };
  }

  /** close / abort / halfclose on one session: the peer that `direction` messages go to gets it. */
  #connectionFault(r: ActiveRule, a: Extract<FaultAction, { type: 'close' | 'abort' | 'halfclose' }>, session: SessionControl, from: Side | null, held: HeldMessage | null): void {
    const dir = r.rule.direction;
    const to: Side | undefined = dir === 'both' ? undefined : otherSide(dir);
    const toWord = to ?? 'both peers';
    const id = session.info.session;
    if (a.type === 'close') {
      this.#hit(r, id, from, held, `close ${a.code}${a.reason === '' ? '' : ` "${a.reason}"`} to ${toWord}${to === undefined ? '' : `, 1001 to the ${otherSide(to)}`}`);
      session.close(a.code, a.reason, to);
    } else if (a.type === 'abort') {
      this.#hit(r, id, from, held, `connection to ${toWord} reset`);
      if (session.reset !== undefined) session.reset(to);
      else session.close(1001, 'going away');
    } else {
      this.#hit(r, id, from, held, `FIN to ${toWord}`);
      for (const side of to === undefined ? (['client', 'server'] as const) : [to]) session.halfClose?.(side);
    }
  }

  // ---- records -----------------------------------------------------------------------------

  #hit(r: ActiveRule, session: number | null, from: Side | null, held: HeldMessage | null, detail: string): void {
    r.hits++;
    this.#emit({ session, time: this.#now(), ruleId: r.id, rule: r.rule.text, action: r.rule.action.type, from, frame: held?.frame ?? (held === null ? null : held.id), message: held?.id ?? null, detail });
  }

  #emit(record: FaultRecord): void {
    this.applied++;
    this.#proxy?.bus.emit('fault', record);
  }

  #emitReconnects(records: readonly ReconnectRecord[]): void {
    for (const r of records) this.#proxy?.bus.emit('reconnects', r);
  }
}
