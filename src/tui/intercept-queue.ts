/**
 * The TUI's intercept: a MessageInterceptor (order INTERCEPTOR_ORDER.intercept) that holds each
 * matching message until the person at the keyboard forwards, edits or drops it. The relay keeps
 * everything behind a held message in that direction queued, so at most one message per session
 * and direction is held here at a time; across them they are listed in the order they arrived.
 * Pure: no blessed, no timers.
 */
import { DROP, FORWARD, type HeldMessage, type MessageInterceptor, type MessageMeta, type Verdict } from '../intercept/verdict.js';
import { DEFAULT_INTERCEPT_FILTER, isMetaOnly, matches, mayMatchMeta, parseFilter, type Filter, type FilterSubject } from './filter.js';

export interface HeldEntry {
  /** Order of arrival in this queue. */
  readonly seq: number;
  readonly message: HeldMessage;
  /** When it was held (ms). */
  readonly since: number;
}

export type HeldDecision = { readonly action: 'forward' } | { readonly action: 'drop' } | { readonly action: 'replace'; readonly data: Uint8Array };

export interface InterceptQueueOptions {
  readonly filter?: Filter;
  readonly now?: () => number;
  /** Called whenever the held list or the state changes. */
  readonly onChange?: () => void;
  /** Called when a message the filter wanted was too large to hold and went through. */
  readonly onStreamed?: (meta: MessageMeta, length: number) => void;
}

interface Pending {
  readonly entry: HeldEntry;
  readonly settle: (verdict: Verdict) => void;
  readonly detach: () => void;
}

function heldSubject(message: HeldMessage): FilterSubject {
  return {
    session: message.session,
    from: message.from,
    kind: message.kind,
    messageKind: null,
    marks: message.compressed ? ['compressed'] : [],
    text: () => {
      const b = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.length);
      return message.kind === 'text' ? b.toString('utf8') : `${b.toString('utf8')}\n${b.toString('hex')}`;
    },
  };
}

export class InterceptQueue implements MessageInterceptor {
  readonly name = 'intercept';
  #enabled = false;
  #filter: Filter;
  #pending: Pending[] = [];
  #seq = 0;
  readonly #now: () => number;
  readonly #onChange: () => void;
  readonly #onStreamed: (meta: MessageMeta, length: number) => void;

  constructor(options: InterceptQueueOptions = {}) {
    const fallback = parseFilter(DEFAULT_INTERCEPT_FILTER);
    if (!fallback.ok) throw new Error('default intercept filter does not parse');
    this.#filter = options.filter ?? fallback.filter;
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange ?? ((): void => {});
    this.#onStreamed = options.onStreamed ?? ((): void => {});
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get filter(): Filter {
    return this.#filter;
  }

  /** Held messages, oldest first. */
  get held(): readonly HeldEntry[] {
    return this.#pending.map((p) => p.entry);
  }

  get size(): number {
    return this.#pending.length;
  }

  /** Turning intercept off forwards everything held: nothing stays stuck behind a hidden state. */
  setEnabled(enabled: boolean): void {
    if (enabled === this.#enabled) return;
    this.#enabled = enabled;
    if (!enabled) this.forwardAll();
    this.#onChange();
  }

  setFilter(filter: Filter): void {
    this.#filter = filter;
    this.#onChange();
  }

  wants(meta: MessageMeta): boolean {
    return this.#enabled && mayMatchMeta(this.#filter, meta);
  }

  decide(message: HeldMessage, signal: AbortSignal): Verdict | Promise<Verdict> {
    if (!this.#enabled || signal.aborted) return FORWARD;
    if (!isMetaOnly(this.#filter) && !matches(this.#filter, heldSubject(message))) return FORWARD;
    return new Promise<Verdict>((resolve) => {
      const entry: HeldEntry = { seq: ++this.#seq, message, since: this.#now() };
      const onAbort = (): void => {
        // The session ended: the relay discards the message; just forget it.
        this.#remove(entry.seq);
        resolve(DROP);
        this.#onChange();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.push({ entry, settle: resolve, detach: () => signal.removeEventListener('abort', onAbort) });
      this.#onChange();
    });
  }

  streamed(meta: MessageMeta, length: number): void {
    this.#onStreamed(meta, length);
  }

  entry(seq: number): HeldEntry | undefined {
    return this.#pending.find((p) => p.entry.seq === seq)?.entry;
  }

  /** Settles one held message. Returns false when it is no longer held. */
  resolve(seq: number, decision: HeldDecision): boolean {
    const pending = this.#remove(seq);
    if (pending === undefined) return false;
    pending.detach();
    switch (decision.action) {
      case 'forward':
        pending.settle(FORWARD);
        break;
      case 'drop':
        pending.settle(DROP);
        break;
      case 'replace':
        pending.settle({ action: 'replace', messages: [{ kind: pending.entry.message.kind, data: decision.data }] });
        break;
    }
    this.#onChange();
    return true;
  }

  forward(seq: number): boolean {
    return this.resolve(seq, { action: 'forward' });
  }

  drop(seq: number): boolean {
    return this.resolve(seq, { action: 'drop' });
  }

  replace(seq: number, data: Uint8Array): boolean {
    return this.resolve(seq, { action: 'replace', data });
  }

  /** Forwards every held message, oldest first. Returns how many. */
  forwardAll(): number {
    const all = this.#pending;
    this.#pending = [];
    for (const p of all) {
      p.detach();
      p.settle(FORWARD);
    }
    if (all.length > 0) this.#onChange();
    return all.length;
  }

  #remove(seq: number): Pending | undefined {
    const i = this.#pending.findIndex((p) => p.entry.seq === seq);
    if (i < 0) return undefined;
    return this.#pending.splice(i, 1)[0];
  }
}
