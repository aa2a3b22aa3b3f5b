/** Medians, ratios to the raw relay, the target checks, and the printed table. */
import { VARIANT_LABEL, type VariantId } from './peers.js';
import type { MetricSpec, Metrics, Workload } from './workloads/types.js';

export interface Sample {
  rep: number;
  /** Position of this variant in the rep's rotated order (0 = ran first). */
  order: number;
  metrics: Metrics;
  error?: string;
}

export type Results = Map<string, Map<VariantId, Sample[]>>;

export interface Summary {
  /** Median over successful repetitions; undefined when every one failed or none ran. */
  median: Metrics;
  failed: boolean;
  errors: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(samples: Sample[]): Summary {
  const ok = samples.filter((s) => !s.error);
  const keys = new Set(ok.flatMap((s) => Object.keys(s.metrics)));
  const med: Metrics = {};
  for (const k of keys) {
    const vals = ok.map((s) => s.metrics[k]).filter((v) => v !== undefined);
    if (vals.length === 0) continue;
    // Booleans (streamed) only count as true when every repetition agrees.
    med[k] = typeof vals[0] === 'boolean' ? vals.every((v) => v === true) : median(vals.map(Number));
  }
  const errors = samples.flatMap((s) => (s.error ? [s.error] : []));
  return { median: med, failed: errors.length > 0, errors };
}

export type Summaries = Map<string, Map<VariantId, Summary>>;

export function summarizeAll(results: Results): Summaries {
  const out: Summaries = new Map();
  for (const [w, byVariant] of results) {
    const m = new Map<VariantId, Summary>();
    for (const [v, samples] of byVariant) m.set(v, summarize(samples));
    out.set(w, m);
  }
  // Added latency is relative to direct in the same run, so it exists only once both are known.
  const lat = out.get('w3');
  const direct = lat?.get('direct')?.median.p50us;
  if (lat && typeof direct === 'number') {
    for (const s of lat.values()) if (typeof s.median.p50us === 'number') s.median.addedP50us = s.median.p50us - direct;
  }
  return out;
}

/** variant / other for one metric, or null when either side is missing. */
export function ratio(sum: Summaries, w: string, m: string, v: VariantId, vs: VariantId): number | null {
  const a = sum.get(w)?.get(v)?.median[m];
  const b = sum.get(w)?.get(vs)?.median[m];
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null;
}

function fmt(spec: MetricSpec, v: number | boolean | undefined): string {
  if (v === undefined) return 'n/a';
  if (typeof v === 'boolean') return v ? 'yes' : 'NO';
  if (spec.unit === 'msg/s' || spec.unit === 'ms') return Math.round(v).toLocaleString('en-US');
  return v.toFixed(spec.unit === 'MB/s' && v >= 100 ? 0 : 1);
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function table(sum: Summaries, workloads: Workload[], variants: VariantId[]): string {
  const rows: string[][] = [['workload', 'metric', ...variants.map((v) => VARIANT_LABEL[v])]];
  for (const w of workloads) {
    const byVariant = sum.get(w.id);
    if (!byVariant) continue;
    w.metrics.forEach((spec, i) => {
      const row = [i === 0 ? `${w.id} ${w.title}` : '', spec.label];
      for (const v of variants) {
        const s = byVariant.get(v);
        if (!s) row.push('skipped');
        else if (s.failed) row.push('FAIL');
        else {
          const r = spec.better === 'none' || v === 'raw' ? null : ratio(sum, w.id, spec.key, v, 'raw');
          row.push(fmt(spec, s.median[spec.key]) + (r === null ? '' : ` (${r.toFixed(2)}x)`));
        }
      }
      rows.push(row);
    });
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r, ri) => r.map((cell, c) => (c < 2 ? pad(cell, widths[c]!) : lpad(cell, widths[c]!))).join('  ') + (ri === 0 ? '\n' + widths.map((n) => '-'.repeat(n)).join('  ') : ''))
    .join('\n');
}

/** One line per failed workload and variant, with its first error. */
export function failureLines(results: Results): string[] {
  const out: string[] = [];
  for (const [w, byVariant] of results) {
    for (const [v, samples] of byVariant) {
      const errs = samples.flatMap((s) => (s.error ? [s.error] : []));
      if (errs.length) out.push(`FAIL  ${w} ${VARIANT_LABEL[v]} (${errs.length}/${samples.length}): ${errs[0]!.slice(0, 200)}`);
    }
  }
  return out;
}

export interface TargetResult {
  workload: string;
  target: string;
  variant: VariantId;
  value: string;
  status: 'PASS' | 'MISS' | 'n/a';
}

interface Target {
  target: string;
  w: string;
  m: string;
  v: VariantId;
  /** Compare v's median with this variant's (a ratio), or with an absolute limit. */
  vs: VariantId | null;
  op: '>=' | '<=' | '<' | 'true';
  limit: number;
}

/** The performance issue's targets (see bench/README.md). */
const TARGETS: Target[] = [
  // The load generator must not set the pace: directly it must reach at least twice the raw relay.
  { target: 'load generator: w1 direct >= 2x raw relay', w: 'w1', m: 'msgPerSec', v: 'direct', vs: 'raw', op: '>=', limit: 2 },
  { target: 'small messages msg/s >= 0.7x raw relay', w: 'w1', m: 'msgPerSec', v: 'wsproxy', vs: 'raw', op: '>=', limit: 0.7 },
  { target: '64 KiB echo MB/s >= 0.85x raw relay', w: 'w2a', m: 'mbPerSec', v: 'wsproxy', vs: 'raw', op: '>=', limit: 0.85 },
  { target: '1 MiB echo MB/s >= 0.9x raw relay', w: 'w2b', m: 'mbPerSec', v: 'wsproxy', vs: 'raw', op: '>=', limit: 0.9 },
  { target: 'big frame time <= 1.15x raw relay', w: 'w5', m: 'ms', v: 'wsproxy', vs: 'raw', op: '<=', limit: 1.15 },
  { target: 'big frame streamed, not buffered', w: 'w5', m: 'streamed', v: 'wsproxy', vs: null, op: 'true', limit: 0 },
  { target: 'big frame RSS growth < 32 MiB', w: 'w5', m: 'rssGrowthMiB', v: 'wsproxy', vs: null, op: '<', limit: 32 },
  { target: 'latency p50 <= 1.15x raw relay', w: 'w3', m: 'p50us', v: 'wsproxy', vs: 'raw', op: '<=', limit: 1.15 },
  { target: 'connections total time <= 1.2x raw relay', w: 'w4', m: 'totalMs', v: 'wsproxy', vs: 'raw', op: '<=', limit: 1.2 },
  { target: 'connections peak RSS <= 1.6x raw relay', w: 'w4', m: 'peakRssMiB', v: 'wsproxy', vs: 'raw', op: '<=', limit: 1.6 },
  { target: 'compressed messages msg/s >= 0.6x raw relay', w: 'w6', m: 'msgPerSec', v: 'wsproxy', vs: 'raw', op: '>=', limit: 0.6 },
  { target: 'TUI: small messages >= 0.8x headless', w: 'w1', m: 'msgPerSec', v: 'wsproxy-tui', vs: 'wsproxy', op: '>=', limit: 0.8 },
  { target: 'TUI: 64 KiB echo >= 0.8x headless', w: 'w2a', m: 'mbPerSec', v: 'wsproxy-tui', vs: 'wsproxy', op: '>=', limit: 0.8 },
  { target: 'TUI: compressed messages >= 0.8x headless', w: 'w6', m: 'msgPerSec', v: 'wsproxy-tui', vs: 'wsproxy', op: '>=', limit: 0.8 },
  { target: 'log file: small messages >= 0.8x without', w: 'w1', m: 'msgPerSec', v: 'wsproxy-log', vs: 'wsproxy', op: '>=', limit: 0.8 },
  { target: 'log file: 64 KiB echo >= 0.8x without', w: 'w2a', m: 'mbPerSec', v: 'wsproxy-log', vs: 'wsproxy', op: '>=', limit: 0.8 },
  { target: 'log file: compressed messages >= 0.8x without', w: 'w6', m: 'msgPerSec', v: 'wsproxy-log', vs: 'wsproxy', op: '>=', limit: 0.8 },
];

export function checkTargets(sum: Summaries): TargetResult[] {
  return TARGETS.map((t) => {
    const s = sum.get(t.w)?.get(t.v);
    const base = { workload: t.w, target: t.target, variant: t.v };
    if (!s) return { ...base, value: 'not measured', status: 'n/a' };
    if (s.failed) return { ...base, value: 'measurement failed', status: 'MISS' };
    if (t.vs !== null) {
      const r = ratio(sum, t.w, t.m, t.v, t.vs);
      if (r === null) return { ...base, value: `no ${t.vs} figure`, status: 'n/a' };
      const pass = t.op === '>=' ? r >= t.limit : r <= t.limit;
      return { ...base, value: `${r.toFixed(2)}x`, status: pass ? 'PASS' : 'MISS' };
    }
    const v = s.median[t.m];
    if (v === undefined) return { ...base, value: 'not measured', status: 'n/a' };
    if (t.op === 'true') return { ...base, value: v ? 'yes' : 'no', status: v === true ? 'PASS' : 'MISS' };
    return { ...base, value: `${Number(v).toFixed(1)} MiB`, status: Number(v) < t.limit ? 'PASS' : 'MISS' };
  });
}

export function targetLines(results: TargetResult[]): string {
  const w = Math.max(...results.map((r) => r.target.length));
  return results.map((r) => `${pad(r.status, 4)}  ${pad(r.target, w)}  ${r.value}`).join('\n');
}
