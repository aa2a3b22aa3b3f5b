/**
 * Lines and JSONL objects for fault records and reconnect reports (src/fault/). A fault line
 * names the frame it acted on, so it can be matched to that frame's line printed before it.
 */
import type { FaultRecord, ReconnectRecord } from '../proxy/events.js';
import { formatTime, paint, type Style } from './format.js';
import { escapeForTerminal as escapeText } from './terminal-text.js';

export function formatFaultLine(f: FaultRecord, style: Style): string {
  const who = f.session === null ? '' : ` #${f.session}`;
  const on = f.frame === null ? '' : ` frame ${f.frame}${f.from === null ? '' : ` from ${f.from}`}`;
  return `${paint(style, 'dim', formatTime(f.time))}${who} ${paint(style, 'magenta', `⚡ fault ${f.ruleId}`)} ${escapeText(f.action)}${on}: ${escapeText(f.detail)}  [${escapeText(f.rule)}]`;
}

/** "0-10ms:4 10-50ms:1 ..." for the buckets that are not empty. */
export function histogramText(r: Pick<ReconnectRecord, 'buckets' | 'histogram'>): string {
  const parts: string[] = [];
  r.histogram.forEach((n, i) => {
    if (n === 0) return;
    const lo = i === 0 ? 0 : r.buckets[i - 1]!;
    const hi = r.buckets[i]!;
    parts.push(`${lo}-${hi < 0 ? '∞' : hi}ms:${n}`);
  });
  return parts.join(' ');
}

export function formatReconnectLine(r: ReconnectRecord, style: Style): string {
  return `${paint(style, 'dim', formatTime(r.time))} ${paint(style, 'magenta', '⚡ reconnects')} ${reconnectBody(r)}`;
}

function reconnectBody(r: Pick<ReconnectRecord, 'client' | 'path' | 'attempts' | 'refused' | 'backoff' | 'jitter' | 'intervals' | 'buckets' | 'histogram'>): string {
  const verdict = r.attempts < 3 ? 'too few attempts to judge backoff' : `${r.backoff ? 'backs off' : 'NO backoff'}, ${r.jitter ? 'jittered' : 'no jitter'}`;
  return `${escapeText(r.client)} ${escapeText(r.path)}: ${r.attempts} attempt(s), ${r.refused} refused; ${verdict}; intervals ${r.intervals.join(',')} ms; ${histogramText(r)}`;
}

/** A `reconnects` record read back from a log (wsproxy stats); fields that are missing read as empty. */
export function reconnectText(o: Record<string, unknown>): string {
  const nums = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return reconnectBody({
    client: String(o['client'] ?? ''),
    path: String(o['path'] ?? ''),
    attempts: num(o['attempts']),
    refused: num(o['refused']),
    backoff: o['backoff'] === true,
    jitter: o['jitter'] === true,
    intervals: nums(o['intervals']),
    buckets: nums(o['buckets']),
    histogram: nums(o['histogram']),
  });
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function faultJson(f: FaultRecord): Record<string, string | number | null> {
  return { type: 'fault', session: f.session, time: iso(f.time), ruleId: f.ruleId, rule: f.rule, action: f.action, from: f.from, frame: f.frame, message: f.message, detail: f.detail };
}

export function reconnectsJson(r: ReconnectRecord): Record<string, unknown> {
  return {
    type: 'reconnects',
    time: iso(r.time),
    client: r.client,
    path: r.path,
    since: iso(r.since),
    attempts: r.attempts,
    refused: r.refused,
    intervals: r.intervals,
    buckets: r.buckets,
    histogram: r.histogram,
    backoff: r.backoff,
    jitter: r.jitter,
  };
}
