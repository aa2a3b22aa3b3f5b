/**
 * --replace rules: regex substitution in text messages without writing a script.
 *
 *   --replace '/regex/replacement/flags'          both directions
 *   --replace 'client:/regex/replacement/flags'   messages the client sends
 *   --replace 'server:/regex/replacement/flags'   messages the server sends
 *
 * JavaScript RegExp syntax and String.prototype.replace semantics: without the g flag only the
 * first match is replaced; $1, $<name> and $& work in the replacement. A "/" inside the regex or
 * the replacement is written "\/"; in the replacement "\n", "\t" and "\\" are a newline, a tab and
 * a backslash. The rules are one MessageInterceptor named "replace" that runs before the script.
 */
import { FORWARD, type HeldMessage, type MessageInterceptor, type MessageMeta, type Verdict } from '../intercept/verdict.js';
import type { Side } from '../proxy/events.js';

export interface ReplaceRule {
  /** Only messages sent by this peer, or null for both directions. */
  readonly from: Side | null;
  readonly regex: RegExp;
  readonly replacement: string;
  /** The rule as written. */
  readonly spec: string;
}

/** A --replace rule that does not parse; the message is one line. */
export class ReplaceRuleError extends Error {
  override readonly name = 'ReplaceRuleError';
}

/** The interceptor's name: MessageRecord.by and log source. */
export const REPLACE_SOURCE = 'replace';

export function parseReplaceRule(spec: string): ReplaceRule {
  const fail = (reason: string): never => {
    throw new ReplaceRuleError(`--replace '${spec}': ${reason}`);
  };
  let rest = spec;
  let from: Side | null = null;
  const prefix = /^(client|server):/.exec(rest);
  if (prefix !== null) {
    from = prefix[1] as Side;
    rest = rest.slice(prefix[0].length);
  }
  if (!rest.startsWith('/')) fail("expected '/regex/replacement/' with optional flags, optionally prefixed client: or server:");

  let i = 1;
  let pattern = '';
  let inClass = false;
  for (; i < rest.length; i++) {
    const c = rest[i]!;
    if (c === '\\') {
      if (i + 1 >= rest.length) fail('the regex ends in a backslash');
      pattern += c + rest[i + 1]!;
      i++;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) break;
    pattern += c;
  }
  if (i >= rest.length) fail("missing the '/' between regex and replacement");
  if (pattern === '') fail('the regex is empty');

  let j = i + 1;
  let replacement = '';
  for (; j < rest.length; j++) {
    const c = rest[j]!;
    if (c === '\\' && j + 1 < rest.length) {
      const n = rest[j + 1]!;
      replacement += n === '/' ? '/' : n === '\\' ? '\\' : n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : c + n;
      j++;
      continue;
    }
    if (c === '/') break;
    replacement += c;
  }
  if (j >= rest.length) fail("missing the closing '/' after the replacement (write a '/' inside as '\\/')");
  const flags = rest.slice(j + 1);
  if (!/^[dgimsuvy]*$/.test(flags)) fail(`unknown flags "${flags}" (JavaScript RegExp flags: g i m s u y)`);
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (error) {
    return fail(`invalid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return { from, regex, replacement, spec };
}

/** Applies the rules for messages from `from` to `text`, in order. */
export function applyRules(rules: readonly ReplaceRule[], from: Side, text: string): string {
  let out = text;
  for (const rule of rules) {
    if (rule.from !== null && rule.from !== from) continue;
    rule.regex.lastIndex = 0;
    out = out.replace(rule.regex, rule.replacement);
  }
  return out;
}

/**
 * The --replace rules as one interceptor (register it at INTERCEPTOR_ORDER.replace). Throws
 * ReplaceRuleError, with a one-line message, on the first rule that does not parse.
 */
export function replaceInterceptor(specs: readonly string[]): MessageInterceptor {
  const rules = specs.map(parseReplaceRule);
  const sides = { client: rules.some((r) => r.from !== 'server'), server: rules.some((r) => r.from !== 'client') };
  return {
    name: REPLACE_SOURCE,
    wants: (meta: MessageMeta): boolean => meta.kind === 'text' && sides[meta.from],
    decide(held: HeldMessage): Verdict {
      const text = Buffer.from(held.data.buffer, held.data.byteOffset, held.data.byteLength).toString('utf8');
      const out = applyRules(rules, held.from, text);
      if (out === text) return FORWARD;
      return { action: 'replace', messages: [{ kind: 'text', data: Buffer.from(out, 'utf8') }] };
    },
  };
}
