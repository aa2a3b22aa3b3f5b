/**
 * The TUI's intercept: a MessageInterceptor (order INTERCEPTOR_ORDER.intercept) that holds each
 * matching message until the person at the keyboard forwards, edits or drops it. The relay keeps
 * everything behind a held message in that direction queued and decides it in order; the messages
 * waiting there are listed too (MessageInterceptor.waiting), and a decision taken on one of them
 * early is its verdict when its turn comes. All are listed in the order they arrived.
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
  /** null while the message waits behind another: decide() has not been called for it yet. */
  readonly settle: ((verdict: Verdict) => void) | null;
  readonly detach: () => void;
}

/** A verdict given before the relay asked (the message was waiting behind another). */
interface Early {
  readonly verdict: Verdict;
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
  /** Early verdicts by message id, until decide() asks for them. */
  readonly #early = new Map<number, Early>();
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
    const early = this.#early.get(message.id);
    if (early !== undefined) {
      this.#early.delete(message.id);
      early.detach();
      return early.verdict;
    }
    const listed = this.#pending.find((p) => p.settle === null && p.entry.message.id === message.id);
    if (listed !== undefined) {
      this.#remove(listed.entry.seq);
      listed.detach();
    }
    if (!this.#enabled || signal.aborted) {
      if (listed !== undefined) this.#onChange();
      return FORWARD;
    }
    // A message already listed while it waited stays held, whatever the filter says now.
    if (listed === undefined && !isMetaOnly(this.#filter) && !matches(this.#filter, heldSubject(message))) return FORWARD;
    return new Promise<Verdict>((resolve) => {
      const entry: HeldEntry = listed?.entry ?? { seq: ++this.#seq, message, since: this.#now() };
      const onAbort = (): void => {
        // The session ended: the relay discards the message; just forget it.
        this.#remove(entry.seq);
        resolve(DROP);
        this.#onChange();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#insert({ entry, settle: resolve, detach: () => signal.removeEventListener('abort', onAbort) });
      this.#onChange();
    });
  }

  /** A message the relay will ask about once those ahead of it are decided: listed now. */
  waiting(message: HeldMessage, signal: AbortSignal): void {
    if (!this.#enabled || signal.aborted || this.#early.has(message.id)) return;
    if (this.#pending.some((p) => p.entry.message.id === message.id)) return;
    if (!isMetaOnly(this.#filter) && !matches(this.#filter, heldSubject(message))) return;
    const entry: HeldEntry = { seq: ++this.#seq, message, since: this.#now() };
    const onAbort = (): void => {
      this.#early.delete(message.id);
      if (this.#remove(entry.seq) !== undefined) this.#onChange();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#insert({ entry, settle: null, detach: () => signal.removeEventListener('abort', onAbort) });
    this.#onChange();
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
    const verdict: Verdict =
      decision.action === 'forward' ? FORWARD : decision.action === 'drop' ? DROP : { action: 'replace', messages: [{ kind: pending.entry.message.kind, data: decision.data }] };
    this.#settle(pending, verdict);
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
    for (const p of all) this.#settle(p, FORWARD);
    if (all.length > 0) this.#onChange();
    return all.length;
  }

  /** Settles a held message now, or keeps the verdict for when the relay asks about a waiting one. */
  #settle(p: Pending, verdict: Verdict): void {
    if (p.settle === null) {
      // The abort listener stays until then: a session that ends first forgets the verdict.
      this.#early.set(p.entry.message.id, { verdict, detach: p.detach });
      return;
    }
    p.detach();
    p.settle(verdict);
  }

  /** In arrival order: ids increase in the order messages reached the proxy. */
  #insert(p: Pending): void {
    const id = p.entry.message.id;
    let i = this.#pending.length;
    while (i > 0 && this.#pending[i - 1]!.entry.message.id > id) i--;
    this.#pending.splice(i, 0, p);
  }

  #remove(seq: number): Pending | undefined {
    const i = this.#pending.findIndex((p) => p.entry.seq === seq);
    if (i < 0) return undefined;
    return this.#pending.splice(i, 1)[0];
  }
}
