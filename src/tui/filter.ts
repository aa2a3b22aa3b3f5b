/**
 * The filter language of the `/` prompt and the intercept filter. Pure: parse a string into
 * terms, then test rows (or held messages) against them. Terms are separated by spaces and all
 * must hold; `!` in front of a term negates it. See docs/tui.md for the user-facing description.
 *
 *   hello "two words" /re+gex/i     payload text (case-insensitive) or a regular expression
 *   from:client from:server         who sent it (also c / s); to:server is from:client
 *   kind:text,binary kind:close     opcode kinds; data = text,binary,continuation; control = ping,pong,close
 *   session:3 session:1-4 #3        session ids
 *   is:violation is:injected is:modified is:dropped is:compressed is:fault
 */
import type { Side } from '../proxy/events.js';
import type { MessageMeta } from '../intercept/verdict.js';

export type Mark = 'violation' | 'injected' | 'modified' | 'dropped' | 'compressed' | 'fault';

export type KindName = 'text' | 'binary' | 'continuation' | 'ping' | 'pong' | 'close' | 'reserved';

export type FilterTerm =
  | { readonly type: 'text'; readonly negate: boolean; readonly value: string }
  | { readonly type: 'regex'; readonly negate: boolean; readonly re: RegExp }
  | { readonly type: 'from'; readonly negate: boolean; readonly side: Side }
  | { readonly type: 'kind'; readonly negate: boolean; readonly kinds: ReadonlySet<KindName> }
  | { readonly type: 'session'; readonly negate: boolean; readonly ids: readonly (readonly [number, number])[] }
  | { readonly type: 'is'; readonly negate: boolean; readonly mark: Mark };

export interface Filter {
  /** The text as typed, trimmed. */
  readonly source: string;
  readonly terms: readonly FilterTerm[];
}

export type FilterParse = { readonly ok: true; readonly filter: Filter } | { readonly ok: false; readonly error: string; readonly at: number };

/** What a filter looks at. Rows that lack a property (a log line has no `from`) fail terms on it. */
export interface FilterSubject {
  readonly session: number | null;
  readonly from: Side | null;
  readonly kind: KindName | null;
  /** For a continuation frame, the kind of the message it continues, when known. */
  readonly messageKind: 'text' | 'binary' | null;
  readonly marks: readonly Mark[];
  /** The searchable text (payload as UTF-8, close code and reason, log text); called lazily. */
  text(): string;
}

const KIND_WORDS: { readonly [word: string]: readonly KindName[] } = {
  text: ['text'],
  binary: ['binary'],
  bin: ['binary'],
  continuation: ['continuation'],
  cont: ['continuation'],
  ping: ['ping'],
  pong: ['pong'],
  close: ['close'],
  reserved: ['reserved'],
  data: ['text', 'binary', 'continuation'],
  control: ['ping', 'pong', 'close'],
};

const MARK_WORDS: { readonly [word: string]: Mark } = {
  violation: 'violation',
  violations: 'violation',
  bad: 'violation',
  injected: 'injected',
  modified: 'modified',
  edited: 'modified',
  dropped: 'dropped',
  compressed: 'compressed',
  deflate: 'compressed',
  fault: 'fault',
  faults: 'fault',
};

const SIDE_WORDS: { readonly [word: string]: Side } = { client: 'client', c: 'client', server: 'server', s: 'server' };

/** The empty filter: everything matches. */
export const MATCH_ALL: Filter = Object.freeze({ source: '', terms: Object.freeze([]) });

/** The intercept filter used until the user sets one: all data messages. */
export const DEFAULT_INTERCEPT_FILTER = 'kind:text,binary';

class ParseError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

export function parseFilter(input: string): FilterParse {
  try {
    const terms: FilterTerm[] = [];
    let i = 0;
    const n = input.length;
    while (i < n) {
      while (i < n && /\s/.test(input[i]!)) i++;
      if (i >= n) break;
      const start = i;
      let negate = false;
      while (input[i] === '!') {
        negate = !negate;
        i++;
      }
      if (i >= n || /\s/.test(input[i]!)) throw new ParseError('"!" must be followed by a term', start);
      const c = input[i]!;
      if (c === '"' || c === "'") {
        const [text, next] = readQuoted(input, i);
        i = next;
        terms.push({ type: 'text', negate, value: text.toLowerCase() });
        continue;
      }
      if (c === '/') {
        const [re, next] = readRegex(input, i);
        i = next;
        terms.push({ type: 'regex', negate, re });
        continue;
      }
      let j = i;
      while (j < n && !/\s/.test(input[j]!)) j++;
      const word = input.slice(i, j);
      terms.push(wordTerm(word, negate, i));
      i = j;
    }
    return { ok: true, filter: { source: input.trim(), terms } };
  } catch (error) {
    if (error instanceof ParseError) return { ok: false, error: error.message, at: error.at };
    throw error;
  }
}

function readQuoted(input: string, at: number): [string, number] {
  const quote = input[at]!;
  let out = '';
  let i = at + 1;
  while (i < input.length && input[i] !== quote) {
    if (input[i] === '\\' && i + 1 < input.length) i++;
    out += input[i];
    i++;
  }
  if (i >= input.length) throw new ParseError(`unterminated ${quote === '"' ? 'double' : 'single'} quote`, at);
  if (out === '') throw new ParseError('empty quoted text', at);
  return [out, i + 1];
}

function readRegex(input: string, at: number): [RegExp, number] {
  let body = '';
  let i = at + 1;
  let inClass = false;
  while (i < input.length) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      body += c + input[i + 1];
      i += 2;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) break;
    body += c;
    i++;
  }
  if (i >= input.length) throw new ParseError('unterminated regular expression (close it with /)', at);
  i++;
  let flags = '';
  while (i < input.length && /[a-z]/i.test(input[i]!)) flags += input[i++];
  if (i < input.length && !/\s/.test(input[i]!)) throw new ParseError('a regular expression must be followed by a space', i);
  if (body === '') throw new ParseError('empty regular expression', at);
  if (/[^imsu]/.test(flags)) throw new ParseError(`regular expression flags may be i, m, s, u (got "${flags}")`, at);
  try {
    return [new RegExp(body, flags), i];
  } catch (error) {
    throw new ParseError(`bad regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`, at);
  }
}

function wordTerm(word: string, negate: boolean, at: number): FilterTerm {
  const hash = /^#(\d+)$/.exec(word);
  if (hash !== null) return { type: 'session', negate, ids: [[Number(hash[1]), Number(hash[1])]] };
  const colon = word.indexOf(':');
  if (colon > 0) {
    const key = word.slice(0, colon).toLowerCase();
    const value = word.slice(colon + 1);
    const valueAt = at + colon + 1;
    switch (key) {
      case 'from':
      case 'to': {
        const side = SIDE_WORDS[value.toLowerCase()];
        if (side === undefined) throw new ParseError(`${key}: takes client or server (got "${value}")`, valueAt);
        return { type: 'from', negate, side: key === 'to' ? (side === 'client' ? 'server' : 'client') : side };
      }
      case 'kind':
      case 'k': {
        const kinds = new Set<KindName>();
        for (const part of splitList(value, key, valueAt)) {
          const k = KIND_WORDS[part.toLowerCase()];
          if (k === undefined) throw new ParseError(`unknown kind "${part}" (text, binary, continuation, ping, pong, close, data, control)`, valueAt);
          for (const x of k) kinds.add(x);
        }
        return { type: 'kind', negate, kinds };
      }
      case 'session':
      case 'sess':
      case 's': {
        const ids: [number, number][] = [];
        for (const part of splitList(value, key, valueAt)) {
          const m = /^#?(\d+)(?:-(\d+))?$/.exec(part);
          if (m === null) throw new ParseError(`session: takes numbers or ranges like 2-5 (got "${part}")`, valueAt);
          const lo = Number(m[1]);
          const hi = m[2] === undefined ? lo : Number(m[2]);
          ids.push(lo <= hi ? [lo, hi] : [hi, lo]);
        }
        return { type: 'session', negate, ids };
      }
      case 'is': {
        const mark = MARK_WORDS[value.toLowerCase()];
        if (mark === undefined) throw new ParseError(`is: takes violation, injected, modified, dropped, compressed or fault (got "${value}")`, valueAt);
        return { type: 'is', negate, mark };
      }
      default:
        // Not a field we know (a URL, "a:b" in a payload): plain text.
        break;
    }
  }
  return { type: 'text', negate, value: word.toLowerCase() };
}

function splitList(value: string, key: string, at: number): string[] {
  const parts = value.split(',').filter((p) => p !== '');
  if (parts.length === 0) throw new ParseError(`${key}: needs a value`, at);
  return parts;
}

function termHolds(term: FilterTerm, subject: FilterSubject, lower: () => string): boolean {
  switch (term.type) {
    case 'text':
      return lower().includes(term.value);
    case 'regex':
      return term.re.test(subject.text());
    case 'from':
      return subject.from === term.side;
    case 'kind':
      if (subject.kind === null) return false;
      if (term.kinds.has(subject.kind)) return true;
      return subject.kind === 'continuation' && subject.messageKind !== null && term.kinds.has(subject.messageKind);
    case 'session':
      return subject.session !== null && term.ids.some(([lo, hi]) => subject.session! >= lo && subject.session! <= hi);
    case 'is':
      return subject.marks.includes(term.mark);
  }
}

export function matches(filter: Filter, subject: FilterSubject): boolean {
  let lowered: string | null = null;
  const lower = (): string => (lowered ??= subject.text().toLowerCase());
  for (const term of filter.terms) {
    if (termHolds(term, subject, lower) === term.negate) return false;
  }
  return true;
}

/**
 * Whether a message with this metadata could match, judged before its payload is known: terms on
 * payload or marks count as "maybe". The intercept uses it to leave uninteresting traffic alone.
 */
export function mayMatchMeta(filter: Filter, meta: MessageMeta): boolean {
  const subject: FilterSubject = { session: meta.session, from: meta.from, kind: meta.kind, messageKind: null, marks: [], text: () => '' };
  for (const term of filter.terms) {
    if (term.type === 'text' || term.type === 'regex' || term.type === 'is') continue;
    if (termHolds(term, subject, () => '') === term.negate) return false;
  }
  return true;
}

/** Whether the filter selects nothing but what `mayMatchMeta` can decide (no payload terms). */
export function isMetaOnly(filter: Filter): boolean {
  return filter.terms.every((t) => t.type === 'from' || t.type === 'kind' || t.type === 'session');
}
