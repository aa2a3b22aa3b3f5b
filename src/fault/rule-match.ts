/**
 * Which fault rules apply where: to a direction, to a session's path, and, for message rules, to
 * a message of a given kind (the relay asks this for every message while a message rule is live).
 */
import type { MessageMeta } from '../intercept/verdict.js';
import type { SessionInfo, Side } from '../proxy/events.js';
import { mayMatchMeta, type Filter } from '../tui/filter.js';
import type { ActiveRule } from './engine.js';
import { isMessageAction, type ParsedRule } from './rule.js';

export function sideMatches(rule: ParsedRule, from: Side): boolean {
  return rule.direction === 'both' || rule.direction === from;
}

export function pathMatches(rule: ParsedRule, path: string): boolean {
  return rule.path === null || path.startsWith(rule.path);
}

function isData(kind: MessageMeta['kind']): boolean {
  return kind === 'text' || kind === 'binary';
}

function hasKindTerm(filter: Filter | null): boolean {
  return filter !== null && filter.terms.some((t) => t.type === 'kind');
}

/**
 * Whether a message rule may act on a message with these facts (its filter's text terms are
 * checked later, on the message itself). `sessions`: the live sessions, for the rule's path.
 */
export function ruleApplies(r: ActiveRule, meta: MessageMeta, sessions: ReadonlyMap<number, { readonly info: SessionInfo }>): boolean {
  const rule = r.rule;
  const a = rule.action;
  if (!isMessageAction(a) || !sideMatches(rule, meta.from) || (r.session !== null && r.session !== meta.session)) return false;
  if (rule.path !== null) {
    const live = sessions.get(meta.session);
    if (live === undefined || !pathMatches(rule, live.info.path)) return false;
  }
  if (a.type === 'delay-pong') return meta.kind === 'pong';
  const dataOnly = a.type === 'fragment' || a.type === 'coalesce' || a.type === 'duplicate' || a.type === 'trickle';
  if (dataOnly && !isData(meta.kind)) return false;
  // Without a kind: term a rule acts on data messages; with one, on what it names.
  if (!hasKindTerm(rule.match) && !isData(meta.kind)) return false;
  return rule.match === null || mayMatchMeta(rule.match, meta);
}
