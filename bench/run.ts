/**
 * wsproxy benchmark: direct vs raw relay vs wsproxy (vs wsproxy with its TUI, or its JSONL log), interleaved within
 * one run so machine drift hits every peer alike.
 *
 *   npm run bench -- [--quick] [--tui] [--log] [--reps N] [--only w1,w3] [--no-pin]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { atExit, hasCommand, installExitHandlers, machineCpuSeconds, openFileLimit, procCpuSeconds } from './children.js';
import { parseArgs, type Options } from './config.js';
import { IntegrityError } from './load.js';
import { measure, proxyCpuSeconds, withTimeout } from './measure.js';
import { streamEcho } from './stream-echo.js';
import { REPO, VARIANT_LABEL, WSPROXY_MAIN, startEchoServer, wsproxyBuilt, type VariantId } from './peers.js';
import { checkTargets, failureLines, summarizeAll, table, targetLines, type Results, type Sample } from './report.js';
import { leafLine, measureLeafIssuance } from './tls-leaf.js';
import { measureScriptCost, scriptCostLine } from './script-cost.js';
import { heapAtRestLine, measureHeapAtRest } from './heap-at-rest.js';
import { bandwidth1m, bandwidth64k, binaryEcho } from './workloads/bandwidth.js';
import { bigFrame } from './workloads/big-frame.js';
import { deflateMessages, deflateStream } from './workloads/deflate-messages.js';
import { connections } from './workloads/connections.js';
import { latency } from './workloads/latency.js';
import { messages, pipelinedEcho } from './workloads/messages.js';
import type { Metrics, Workload } from './workloads/types.js';

/**
 * Every workload also reports the CPU time the proxy process used while it ran (user + system,
 * all its threads): unlike throughput it does not depend on how the 2 cores were shared.
 */
const PROXY_CPU = { key: 'proxyCpuMs', label: 'proxy CPU ms', unit: 'ms', better: 'lower' } as const;
/** The part of it on the proxy's main thread (the relay's), the rest being its printer's and V8's threads. */
const PROXY_MAIN_CPU = { key: 'proxyMainCpuMs', label: '  of it main thread', unit: 'ms', better: 'lower' } as const;
/**
 * The load generator's own CPU time (this process and the echo server) on the message workloads:
 * next to the raw relay's proxy CPU it shows how much of a round trip the measuring side costs.
 */
const GENERATOR_CPU = { key: 'generatorCpuMs', label: 'generator CPU ms', unit: 'ms', better: 'none' } as const;
const ALL: Workload[] = [messages, bandwidth64k, bandwidth1m, latency, connections, bigFrame, deflateMessages].map((w) => ({
  ...w,
  metrics: [...w.metrics, PROXY_CPU, PROXY_MAIN_CPU, ...(w === messages || w === deflateMessages ? [GENERATOR_CPU] : [])],
}));

interface Machine {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  memGiB: number;
  loadAvg1mAtStart: number;
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAvg1mAtStart: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

/**
 * Share of the machine's CPU that processes other than the benchmark's used during the run:
 * other work skews every figure, so it is reported rather than left unseen.
 */
function othersCpuShare(start: { busy: number; total: number }, ours: number): number {
  const end = machineCpuSeconds();
  const total = end.total - start.total;
  return total > 0 ? Math.max(0, (end.busy - start.busy - ours) / total) : 0;
}

/** Variants this run can measure, with the reason for each one left out. */
function chooseVariants(opts: Options, skipped: Map<string, string>): VariantId[] {
  const v: VariantId[] = ['direct', 'raw'];
  if (!wsproxyBuilt()) {
    skipped.set('wsproxy', `wsproxy not built (${path.relative(REPO, WSPROXY_MAIN)} missing): skipped`);
  } else v.push('wsproxy');
  if (opts.tui) {
    if (!v.includes('wsproxy')) skipped.set('wsproxy-tui', 'wsproxy not built: TUI variant skipped');
    else if (!hasCommand('tmux', ['-V'])) skipped.set('wsproxy-tui', 'tmux not found: TUI variant skipped');
    else v.push('wsproxy-tui');
  }
  if (opts.log) {
    if (!v.includes('wsproxy')) skipped.set('wsproxy-log', 'wsproxy not built: --log-file variant skipped');
    else v.push('wsproxy-log');
  }
  return v;
}

/** Workloads to run; 2,000 connections need ~2 descriptors each in the proxy. */
function chooseWorkloads(opts: Options, skipped: Map<string, string>): Workload[] {
  const picked = opts.only.length ? ALL.filter((w) => opts.only.includes(w.id)) : ALL;
  const unknown = opts.only.filter((id) => !ALL.some((w) => w.id === id));
  if (unknown.length) throw new Error(`unknown workload ${unknown.join(', ')} (have ${ALL.map((w) => w.id).join(', ')})`);
  const need = 2 * opts.scale.conns + 256;
  const lim = openFileLimit();
  if (picked.some((w) => w.id === connections.id) && lim && lim.soft < need) {
    skipped.set(
      'w4',
      `ulimit -n is ${lim.soft} (hard ${lim.hard}) but ${opts.scale.conns} connections need about ${need} descriptors in the proxy: ` +
        `raise it (e.g. "ulimit -n 8192") to run workload 4; skipped`,
    );
    return picked.filter((w) => w.id !== connections.id);
  }
  return picked;
}

function headline(w: Workload, m: Metrics): string {
  const spec = w.metrics[0]!;
  const v = m[spec.key];
  return typeof v === 'number' ? `${spec.label} ${v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)}` : '';
}

async function main(): Promise<number> {
  installExitHandlers();
  const opts = parseArgs(process.argv.slice(2));
  const mach = machine();
  console.log(`wsproxy bench${opts.quick ? ' (quick)' : ''}: ${mach.cpu}, ${mach.cores} cores, node ${mach.node}, ${mach.os}`);
  if (mach.loadAvg1mAtStart > mach.cores / 2) {
    console.log(`warning: load average ${mach.loadAvg1mAtStart} on ${mach.cores} cores before starting: figures will be noisy`);
  }
  const cpuStart = machineCpuSeconds();
  const selfStart = process.cpuUsage();

  const skipped = new Map<string, string>();
  const variants = chooseVariants(opts, skipped);
  const workloads = chooseWorkloads(opts, skipped);
  for (const why of skipped.values()) console.log(why);
  if (workloads.length === 0) throw new Error('no workload left to run');

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-bench-'));
  atExit(() => rmSync(tmp, { recursive: true, force: true }));
  // Every run stops by itself, whatever a peer does.
  const budgetMs = (opts.quick ? 5 : 25) * 60_000;
  setTimeout(() => {
    console.error(`bench: overall limit of ${budgetMs / 60_000} min reached, stopping`);
    process.exit(2);
  }, budgetMs).unref();

  const echo = await startEchoServer();
  // The load generator and the echo server settle (JIT, heap sizes) before the first measurement,
  // not during it: the first direct w1 of a run cost them twice the CPU of the others. A whole w1
  // (and w6) directly, after the mix every measurement warms up with, does it, and builds the
  // streams the measurements use.
  await withTimeout(
    (async () => {
      const s = opts.scale;
      // Every measurement's own warm-up mixes small and 64 KiB echoes: the code must have seen both.
      await Promise.all([pipelinedEcho(echo.port, 2000, 100), binaryEcho(echo.port, 64 * 1024, 16, 4)]);
      await pipelinedEcho(echo.port, s.messages, s.window);
      if (workloads.some((w) => w.id === deflateMessages.id)) await streamEcho(echo.port, deflateStream(s.messages), { path: '/echo', extensions: 'permessage-deflate', window: s.window });
    })(),
    60_000,
    'warming the load generator',
  );
  const s = opts.scale;
  console.log(
    `scale: ${s.reps} rep(s); w1 ${s.messages.toLocaleString('en-US')} msgs; w2 ${s.count64k} x 64 KiB, ${s.count1m} x 1 MiB; ` +
      `w3 ${s.pings.toLocaleString('en-US')} pings; w4 ${s.conns} conns x ${s.connRoundTrips}; w5 ${s.bigFrameMiB} MiB frame; w6 ${s.messages.toLocaleString('en-US')} compressed msgs`,
  );
  console.log(`variants: ${variants.map((v) => VARIANT_LABEL[v]).join(', ')}\n`);

  const results: Results = new Map(workloads.map((w) => [w.id, new Map(variants.map((v) => [v, [] as Sample[]]))]));
  let integrityFailure = false;
  let failures = 0;
  const started = Date.now();
  for (let rep = 0; rep < s.reps; rep++) {
    for (const [wi, w] of workloads.entries()) {
      // Rotate the order each time (A B C, B C A, C A B ...) so drift cancels out.
      const k = (rep + wi) % variants.length;
      const order = [...variants.slice(k), ...variants.slice(0, k)];
      for (const [pos, v] of order.entries()) {
        const sample: Sample = { rep, order: pos, metrics: {} };
        try {
          sample.metrics = await measure(w, v, { port: echo.port, pid: echo.child.pid ?? 0 }, opts, tmp);
        } catch (err) {
          failures++;
          if (err instanceof IntegrityError) integrityFailure = true;
          sample.error = err instanceof Error ? `${err.name === 'Error' ? '' : err.name + ': '}${err.message}` : String(err);
        }
        results.get(w.id)!.get(v)!.push(sample);
        const what = sample.error ? `FAIL ${sample.error}` : headline(w, sample.metrics);
        console.log(`rep ${rep + 1}/${s.reps}  ${w.id.padEnd(3)} ${VARIANT_LABEL[v].padEnd(11)} ${what}`);
      }
    }
  }
  if (echo.child.exitCode !== null) throw new Error('echo server died during the run');
  const self = process.cpuUsage(selfStart);
  const ours = (self.user + self.system) / 1e6 + proxyCpuSeconds + procCpuSeconds(echo.child.pid ?? 0);
  const others = othersCpuShare(cpuStart, ours);
  const othersLine = `other processes used ${(others * 100).toFixed(0)}% of the machine's CPU during the run${others > 0.1 ? ': figures are noisy' : ''}`;

  const sum = summarizeAll(results);
  const title = `\nmedians of ${s.reps} rep(s); (x) = ratio to raw relay; ${((Date.now() - started) / 1000).toFixed(0)} s measuring\n${othersLine}`;
  console.log(`${title}\n\n${table(sum, workloads, variants)}\n`);
  const failed = failureLines(results);
  if (failed.length) console.log(`${failed.join('\n')}\n`);
  const targets = checkTargets(sum).filter((t) => variants.includes(t.variant) && results.has(t.workload));
  if (targets.length) console.log(`targets (bench/README.md):\n${targetLines(targets)}\n`);
  else console.log('targets: not checked (wsproxy not measured)\n');
  const leaf = await measureLeafIssuance(opts.quick ? 50 : 300);
  console.log(`${leafLine(leaf)}\n`);
  const scriptCost = wsproxyBuilt() ? await measureScriptCost(opts.quick) : null;
  if (scriptCost !== null) console.log(`${scriptCostLine(scriptCost)}\n`);
  const heapAtRest = wsproxyBuilt() ? await measureHeapAtRest() : null;
  if (heapAtRest !== null) console.log(`${heapAtRestLine(heapAtRest)}\n`);

  const outDir = path.join(REPO, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    machine: { ...mach, othersCpuShare: Number(others.toFixed(3)) },
    options: { quick: opts.quick, tui: opts.tui, log: opts.log, only: opts.only, pinLatency: opts.pin },
    scale: s,
    variants,
    skipped: Object.fromEntries(skipped),
    workloads: workloads.map((w) => ({
      id: w.id,
      title: w.title,
      metrics: w.metrics,
      variants: Object.fromEntries(variants.map((v) => [v, { median: sum.get(w.id)?.get(v)?.median, samples: results.get(w.id)?.get(v) }])),
    })),
    targets,
    tlsLeaf: leaf,
    scriptCost,
    heapAtRest,
  };
  const file = path.join(outDir, 'latest.json');
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  for (const why of skipped.values()) console.log(why);
  if (failures) console.log(`${failures} measurement(s) FAILED${integrityFailure ? ' (data came back wrong)' : ''}`);
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
