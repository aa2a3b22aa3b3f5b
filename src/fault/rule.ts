/**
 * Fault rules: the grammar of `--fault`, `--faults FILE`, `ctx.fault(...)`, the TUI and the
 * control endpoint. Pure: text (or a JSON object) in, a typed rule out, or one line that names
 * the word that is wrong. docs/faults.md is the user's description.
 *
 *   [client:|server:|both:|storm:] ACTION [ARGS] [N%] [match FILTER]
 *
 *   server: delay 200ms jitter 50ms          client: drop 10% match /"type":"ack"/
 *   server: close 1012 "restart" after 30s    server: fragment 16 with ping
 *   client: throttle 64KB/s                   handshake 503 retry-after 5
 *   storm: kill all every 60s refuse 5s
 */
import { parseFilter, type Filter } from '../tui/filter.js';
import type { Side } from '../proxy/events.js';
import { FaultRuleError } from './rule-error.js';

export type Direction = Side | 'both';

export type FaultAction =
  | { readonly type: 'delay'; readonly ms: number; readonly jitter: number }
  | { readonly type: 'delay-pong'; readonly ms: number; readonly jitter: number }
  | { readonly type: 'drop' }
  | { readonly type: 'duplicate'; readonly count: number }
  /** `after` null: on the first matching message (which is not forwarded). */
  | { readonly type: 'close'; readonly code: number; readonly reason: string; readonly after: number | null }
  | { readonly type: 'abort'; readonly after: number | null }
  | { readonly type: 'halfclose'; readonly after: number | null }
  | { readonly type: 'fragment'; readonly size: number; readonly ping: boolean }
  | { readonly type: 'coalesce' }
  /** Bytes per second. */
  | { readonly type: 'throttle'; readonly rate: number }
  | { readonly type: 'trickle'; readonly ms: number }
  | { readonly type: 'handshake'; readonly status: number; readonly retryAfter: string | null }
  | { readonly type: 'handshake-delay'; readonly ms: number }
  /** `close` null: connections are cut (TCP reset); otherwise a close frame to both peers. */
  | { readonly type: 'kill'; readonly close: { readonly code: number; readonly reason: string } | null; readonly every: number | null; readonly refuse: number };

export type ActionName = FaultAction['type'];

export interface ParsedRule {
  /** The rule written back in canonical form. */
  readonly text: string;
  readonly direction: Direction;
  /** The filter part as written (TUI filter language), or '' for every message. */
  readonly matchSource: string;
  readonly match: Filter | null;
  /** Only upgrades (and sessions) whose request path starts with this. */
  readonly path: string | null;
  /** 0 < p ≤ 1. */
  readonly probability: number;
  readonly action: FaultAction;
}

export { FaultRuleError };

/** The action words, as listed in every error about one. */
export const ACTION_WORDS = ['delay', 'delay-pong', 'drop', 'duplicate', 'close', 'abort', 'halfclose', 'fragment', 'coalesce', 'throttle', 'trickle', 'handshake', 'kill all'] as const;

const ACTIONS_LIST = `actions: ${ACTION_WORDS.join(', ')}`;

/** Actions on messages of one direction (as opposed to connections, upgrades or the whole proxy). */
export function isMessageAction(a: FaultAction): boolean {
  switch (a.type) {
    case 'delay':
    case 'delay-pong':
    case 'drop':
    case 'duplicate':
    case 'fragment':
    case 'coalesce':
    case 'trickle':
      return true;
    case 'close':
    case 'abort':
    case 'halfclose':
      return a.after === null;
    default:
      return false;
  }
}

interface Token {
  readonly word: string;
  /** Quoted: taken as it is, never as a keyword. */
  readonly quoted: boolean;
}

class Words {
  i = 0;
  constructor(
    readonly tokens: readonly Token[],
    readonly fail: (reason: string) => never,
  ) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(what: string): Token {
    const t = this.tokens[this.i++];
    if (t === undefined) this.fail(`missing ${what}`);
    return t!;
  }
  /** Consumes the keyword if it is next. */
  take(word: string): boolean {
    const t = this.tokens[this.i];
    if (t !== undefined && !t.quoted && t.word.toLowerCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }
}

/**
 * Splits on spaces; "double" or 'single' quotes keep a string whole (\" and \\ inside). Stops at
 * the keyword "match" (not "on match", not quoted): the rest of the text is the filter, as written.
 */
function tokenize(text: string, fail: (reason: string) => never): { readonly tokens: Token[]; readonly filter: string | null } {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let s = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        s += text[j];
      }
      if (j >= text.length) fail(`unterminated quote ${c}${s}`);
      out.push({ word: s, quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!)) j++;
    const word = text.slice(i, j);
    const prev = out[out.length - 1];
    if (word.toLowerCase() === 'match' && !(prev !== undefined && !prev.quoted && prev.word.toLowerCase() === 'on')) return { tokens: out, filter: text.slice(j).trim() };
    out.push({ word, quoted: false });
    i = j;
  }
  return { tokens: out, filter: null };
}

/** 200ms, 2s, 1.5s, 1m, 500us is not accepted: whole milliseconds are the clock's grain. */
export function parseDuration(word: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)$/i.exec(word);
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'h' ? n * 3_600_000 : n * 60_000;
  return Math.round(ms);
}

/** Bytes per second: 65536, 64KB/s, 64k, 1MB/s, 1.5MiB/s, 8Mbit/s (bits are divided by 8). */
export function parseRate(word: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(i?)(b|bit|byte|bytes)?(\/s|ps)?$/i.exec(word);
  if (m === null) return null;
  const unit = m[2]!.toLowerCase();
  const base = m[3] !== '' || m[4] === undefined || m[4] === 'B' || /^byte/i.test(m[4]) ? 1024 : 1000;
  const scale = unit === 'k' ? base : unit === 'm' ? base ** 2 : unit === 'g' ? base ** 3 : 1;
  const bits = m[4] !== undefined && (m[4] === 'b' || m[4].toLowerCase() === 'bit');
  const rate = (Number(m[1]) * scale) / (bits ? 8 : 1);
  return rate >= 1 ? rate : null;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 && ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

function formatRate(rate: number): string {
  if (rate % (1024 * 1024) === 0) return `${rate / 1024 / 1024}MB/s`;
  if (rate % 1024 === 0) return `${rate / 1024}KB/s`;
  return `${rate}B/s`;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Close codes a fault may send (RFC 6455 §7.4: 1005, 1006 and 1015 never appear on the wire). */
function closeCode(word: string, fail: (reason: string) => never): number {
  const code = /^\d+$/.test(word) ? Number(word) : NaN;
  const ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  if (!ok) fail(`"${word}" is not a close code that may be sent (1000-1003, 1007-1014, 3000-4999)`);
  return code;
}

function duration(w: Words, what: string): number {
  const t = w.next(what);
  const ms = parseDuration(t.word);
  if (ms === null) w.fail(`"${t.word}" is not a duration (${what}: like 200ms, 2s or 1m)`);
  return ms!;
}

function wholeNumber(w: Words, what: string, min: number): number {
  const t = w.next(what);
  if (!/^\d+$/.test(t.word) || Number(t.word) < min) w.fail(`"${t.word}" is not a ${what} (a whole number of at least ${min})`);
  return Number(t.word);
}

function afterClause(w: Words): number | null {
  if (w.take('after')) return duration(w, 'time after the session opens');
  if (w.take('on')) {
    if (!w.take('match')) w.fail('expected "on match"');
  }
  return null;
}

function parseAction(word: string, w: Words): FaultAction {
  switch (word) {
    case 'delay': {
      const ms = duration(w, 'delay');
      const jitter = w.take('jitter') ? duration(w, 'jitter') : 0;
      return { type: 'delay', ms, jitter };
    }
    case 'delay-pong': {
      const ms = duration(w, 'delay');
      const jitter = w.take('jitter') ? duration(w, 'jitter') : 0;
      return { type: 'delay-pong', ms, jitter };
    }
    case 'drop':
      return { type: 'drop' };
    case 'duplicate': {
      const t = w.peek();
      const count = t !== undefined && /^\d+$/.test(t.word) ? wholeNumber(w, 'copy count', 1) : 1;
      return { type: 'duplicate', count };
    }
    case 'close': {
      const code = closeCode(w.next('close code').word, w.fail);
      const t = w.peek();
      let reason = '';
      if (t?.quoted === true) {
        reason = t.word;
        w.i++;
        if (Buffer.byteLength(reason) > 123) w.fail('the close reason is over 123 bytes (RFC 6455 §5.5)');
      }
      return { type: 'close', code, reason, after: afterClause(w) };
    }
    case 'abort':
      return { type: 'abort', after: afterClause(w) };
    case 'halfclose':
      return { type: 'halfclose', after: afterClause(w) };
    case 'fragment': {
      const size = wholeNumber(w, 'frame size in bytes', 1);
      let ping = false;
      if (w.take('with')) {
        if (!w.take('ping')) w.fail('expected "with ping"');
        ping = true;
      }
      return { type: 'fragment', size, ping };
    }
    case 'coalesce':
      return { type: 'coalesce' };
    case 'throttle': {
      const t = w.next('rate');
      const rate = parseRate(t.word);
      if (rate === null) w.fail(`"${t.word}" is not a rate (bytes per second, like 64KB/s, 1MB/s or 8Mbit/s)`);
      return { type: 'throttle', rate: Math.round(rate!) };
    }
    case 'trickle':
      w.take('over');
      return { type: 'trickle', ms: duration(w, 'time to spread each message over') };
    case 'handshake': {
      if (w.take('delay')) return { type: 'handshake-delay', ms: duration(w, 'handshake delay') };
      const t = w.next('status');
      if (!/^[45]\d\d$/.test(t.word)) w.fail(`"${t.word}" is not a refusal status (400-599), or write "handshake delay D"`);
      let retryAfter: string | null = null;
      const hasKeyword = w.take('retry-after');
      const r = w.peek();
      if (r !== undefined && !r.quoted && (hasKeyword || /^\d/.test(r.word))) {
        w.i++;
        const ms = parseDuration(r.word);
        if (/^\d+$/.test(r.word)) retryAfter = r.word;
        else if (ms !== null) retryAfter = String(Math.ceil(ms / 1000));
        else w.fail(`"${r.word}" is not a Retry-After value (seconds)`);
      } else if (hasKeyword) w.fail('missing Retry-After seconds');
      return { type: 'handshake', status: Number(t.word), retryAfter };
    }
    case 'kill': {
      if (!w.take('all')) w.fail('expected "kill all"');
      let close: { code: number; reason: string } | null = null;
      let every: number | null = null;
      let refuse = 0;
      for (;;) {
        const t = w.peek();
        if (t === undefined) break;
        if (w.take('every')) every = duration(w, 'storm interval');
        else if (w.take('refuse')) refuse = duration(w, 'refusal time');
        else if (w.take('abort')) close = null;
        else if (!t.quoted && /^\d+$/.test(t.word)) {
          w.i++;
          close = { code: closeCode(t.word, w.fail), reason: '' };
          const r = w.peek();
          if (r?.quoted === true) {
            close.reason = r.word;
            w.i++;
          }
        } else break;
      }
      return { type: 'kill', close, every, refuse };
    }
    default:
      return w.fail(`unknown action "${word}" (${ACTIONS_LIST})`);
  }
}

function actionText(a: FaultAction): string {
  const after = (x: number | null): string => (x === null ? '' : ` after ${formatMs(x)}`);
  switch (a.type) {
    case 'delay':
    case 'delay-pong':
      return `${a.type} ${formatMs(a.ms)}${a.jitter > 0 ? ` jitter ${formatMs(a.jitter)}` : ''}`;
    case 'drop':
    case 'coalesce':
      return a.type;
    case 'duplicate':
      return a.count === 1 ? 'duplicate' : `duplicate ${a.count}`;
    case 'close':
      return `close ${a.code}${a.reason === '' ? '' : ` ${quote(a.reason)}`}${after(a.after)}`;
    case 'abort':
    case 'halfclose':
      return `${a.type}${after(a.after)}`;
    case 'fragment':
      return `fragment ${a.size}${a.ping ? ' with ping' : ''}`;
    case 'throttle':
      return `throttle ${formatRate(a.rate)}`;
    case 'trickle':
      return `trickle ${formatMs(a.ms)}`;
    case 'handshake':
      return `handshake ${a.status}${a.retryAfter === null ? '' : ` retry-after ${a.retryAfter}`}`;
    case 'handshake-delay':
      return `handshake delay ${formatMs(a.ms)}`;
    case 'kill': {
      const close = a.close === null ? '' : ` ${a.close.code}${a.close.reason === '' ? '' : ` ${quote(a.close.reason)}`}`;
      return `kill all${close}${a.every === null ? '' : ` every ${formatMs(a.every)}`}${a.refuse > 0 ? ` refuse ${formatMs(a.refuse)}` : ''}`;
    }
  }
}

/** Splits `path:PREFIX` terms (a rule's own) from the TUI filter terms. */
function splitPath(source: string): { readonly path: string | null; readonly rest: string } {
  let path: string | null = null;
  const rest = source.replace(/(^|\s)path:(\S+)/g, (_m, lead: string, p: string) => {
    path = p;
    return lead;
  });
  return { path, rest: rest.trim() };
}

/** Parses one rule. `label` starts the error line ("--fault 'server: dely 200ms'"). */
export function parseRule(spec: string, label = `fault '${spec}'`): ParsedRule {
  const fail = (reason: string): never => {
    throw new FaultRuleError(`${label}: ${reason}`);
  };
  let body = spec.trim();
  let scope: string | null = null;
  const prefix = /^([a-z]+)\s*:\s*/i.exec(body);
  if (prefix !== null) {
    scope = prefix[1]!.toLowerCase();
    if (!['client', 'server', 'both', 'storm'].includes(scope)) fail(`unknown direction "${prefix[1]}:" (client:, server:, both: or storm:)`);
    body = body.slice(prefix[0].length);
  }
  const { tokens, filter } = tokenize(body, fail);
  const matchSource = filter ?? '';
  if (filter === '') fail('"match" needs a filter (like /"type":"ack"/ or kind:text)');
  const w = new Words(tokens, fail);
  let probability = 1;
  const takeProbability = (): boolean => {
    const t = w.peek();
    const p = t !== undefined && !t.quoted ? /^(\d+(?:\.\d+)?)%$/.exec(t.word) : null;
    if (p === null) return false;
    const v = Number(p[1]);
    if (v <= 0 || v > 100) fail(`"${t!.word}" is not a probability (above 0% and at most 100%)`);
    probability = v / 100;
    w.i++;
    return true;
  };
  takeProbability();
  const first = w.peek();
  if (first === undefined) fail(`no action (${ACTIONS_LIST})`);
  w.i++;
  const action = parseAction(first!.word.toLowerCase(), w);
  while (!w.done()) {
    if (takeProbability()) continue;
    fail(`unexpected "${w.peek()!.word}" after ${actionText(action)}`);
  }
  if (scope === 'storm' && action.type !== 'kill') fail(`"storm:" takes "kill all", not "${action.type}"`);
  const timed = (action.type === 'close' || action.type === 'abort' || action.type === 'halfclose') && action.after !== null;
  const connectionWide = timed || action.type === 'kill' || action.type === 'handshake' || action.type === 'handshake-delay' || action.type === 'throttle';
  if (action.type === 'kill' && scope !== null && scope !== 'storm') fail('"kill all" acts on every session: write "storm: kill all"');
  if ((action.type === 'handshake' || action.type === 'handshake-delay') && (scope === 'client' || scope === 'server')) fail('a handshake rule has no direction: write it without "client:" or "server:"');
  const { path, rest } = splitPath(matchSource);
  let match: Filter | null = null;
  if (rest !== '') {
    const parsed = parseFilter(rest);
    if (!parsed.ok) fail(`match: ${parsed.error}`);
    else match = parsed.filter;
  }
  if (connectionWide && match !== null) fail(`"${action.type}" applies to connections, so its match may only name a path (path:/chat)`);
  const direction: Direction = scope === 'client' || scope === 'server' ? scope : 'both';
  const prob = probability < 1 ? ` ${+(probability * 100).toFixed(4)}%` : '';
  const lead = action.type === 'kill' ? 'storm: ' : direction === 'both' ? '' : `${direction}: `;
  const text = `${lead}${actionText(action)}${prob}${matchSource === '' ? '' : ` match ${matchSource}`}`;
  return { text, direction, matchSource, match, path, probability, action };
}

/** A rule as a JSON object (the --faults file, ctx.fault, the control endpoint). */
export interface FaultRuleObject {
  readonly direction?: Direction | 'storm';
  readonly action: string;
  /** Positional arguments of the action as written in the text form: [200ms] for delay, [1012] for close. */
  readonly args?: readonly (string | number)[];
  readonly reason?: string;
  readonly jitter?: string | number;
  readonly after?: string | number;
  readonly every?: string | number;
  readonly refuse?: string | number;
  readonly retryAfter?: string | number;
  readonly ping?: boolean;
  /** 0-1, or "10%". */
  readonly probability?: number | string;
  readonly match?: string;
  readonly enabled?: boolean;
}

const OBJECT_KEYS = new Set(['direction', 'action', 'args', 'reason', 'jitter', 'after', 'every', 'refuse', 'retryAfter', 'ping', 'probability', 'match', 'enabled', 'rule']);

/** Numbers in a duration field are milliseconds. */
function durationWord(v: string | number): string {
  return typeof v === 'number' ? `${v}ms` : v;
}

/**
 * A rule from JSON: either a string in the text grammar, `{ "rule": "..." }`, or an object with
 * the same words as fields. The object is written out as text and parsed, so both forms give the
 * same rule and the same errors.
 */
export function ruleFromJson(value: unknown, label: string): { readonly rule: ParsedRule; readonly enabled: boolean } {
  if (typeof value === 'string') return { rule: parseRule(value, label), enabled: true };
  const fail = (reason: string): never => {
    throw new FaultRuleError(`${label}: ${reason}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('a rule is a string or an object');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OBJECT_KEYS.has(key)) fail(`unknown field "${key}" (fields: ${[...OBJECT_KEYS].join(', ')})`);
  const enabled = o['enabled'] === undefined ? true : o['enabled'] === true;
  if (typeof o['rule'] === 'string') return { rule: parseRule(o['rule'], label), enabled };
  const obj = o as unknown as FaultRuleObject;
  if (typeof obj.action !== 'string') fail(`missing "action" (${ACTIONS_LIST})`);
  const parts: string[] = [];
  if (obj.direction !== undefined) parts.push(`${String(obj.direction)}:`);
  parts.push(obj.action === 'kill' ? 'kill all' : obj.action);
  for (const a of obj.args ?? []) parts.push(typeof a === 'number' && ['delay', 'delay-pong', 'trickle'].includes(obj.action) ? `${a}ms` : String(a));
  if (obj.reason !== undefined) parts.push(quote(String(obj.reason)));
  if (obj.jitter !== undefined) parts.push('jitter', durationWord(obj.jitter));
  if (obj.ping === true) parts.push('with', 'ping');
  if (obj.retryAfter !== undefined) parts.push('retry-after', String(obj.retryAfter));
  if (obj.every !== undefined) parts.push('every', durationWord(obj.every));
  if (obj.refuse !== undefined) parts.push('refuse', durationWord(obj.refuse));
  if (obj.after !== undefined) parts.push('after', durationWord(obj.after));
  if (obj.probability !== undefined) {
    const p = typeof obj.probability === 'number' ? `${obj.probability * 100}%` : String(obj.probability);
    parts.push(p);
  }
  if (obj.match !== undefined) parts.push('match', String(obj.match));
  return { rule: parseRule(parts.join(' '), label), enabled };
}
