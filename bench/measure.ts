/** One measurement: a fresh peer, warm-up, RSS baseline, the workload under a time limit, the peak. */
import { statSync } from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pinToOneCpu, procCpuSeconds, procMemory, resetPeak } from './children.js';
import type { Options } from './config.js';
import { destroyAllClients } from './load.js';
import { startPeer, type Peer, type VariantId } from './peers.js';
import { binaryEcho } from './workloads/bandwidth.js';
import { pipelinedEcho } from './workloads/messages.js';
import type { Metrics, Workload } from './workloads/types.js';

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** CPU seconds of the load generator (this process) and the echo server together. */
function generatorCpuSeconds(echoPid: number): number {
  const self = process.cpuUsage();
  return (self.user + self.system) / 1e6 + procCpuSeconds(echoPid);
}

/** A full garbage collection in this process (V8's gc(), exposed here rather than by a flag on the command line). */
const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
function collectGarbage(): void {
  gc();
}

/**
 * Milliseconds from now until the log file last grew, once it has not grown for 200 ms (its
 * thread writes at least every 30 ms while it has anything); at most 60 s.
 */
async function logCaughtUp(file: string): Promise<number> {
  const start = performance.now();
  let size = fileSize(file);
  let grew = start;
  while (performance.now() - grew < 200 && performance.now() - start < 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = fileSize(file);
    if (now !== size) {
      size = now;
      grew = performance.now();
    }
  }
  return grew - start;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

let peerSeq = 0;
/** CPU seconds used by the proxies started so far (to tell our load from the machine's). */
export let proxyCpuSeconds = 0;

export interface Echo {
  port: number;
  pid: number;
}

/** One measurement on a freshly started peer: warm up, reset the peak RSS, run, read the peak. */
export async function measure(w: Workload, v: VariantId, echo: Echo, opts: Options, tmp: string): Promise<Metrics> {
  let peer: Peer | null = null;
  let unpin: (() => void) | null = null;
  try {
    peer = await startPeer(v, echo.port, tmp, peerSeq++);
    // JIT warm-up on the fresh process so the first workload is not charged for it.
    try {
      await withTimeout(Promise.all([pipelinedEcho(peer.port, 2000, 100), binaryEcho(peer.port, 64 * 1024, 16, 4)]), 30_000, 'warm-up');
      await withTimeout(w.warmup?.({ port: peer.port, scale: opts.scale }) ?? Promise.resolve(), 30_000, 'warm-up');
    } catch (err) {
      if (err instanceof Error) err.message = `warm-up: ${err.message}`;
      throw err;
    }
    if (w.pinned && opts.pin) {
      unpin = pinToOneCpu([process.pid, echo.pid, ...(peer.pid ? [peer.pid] : [])]);
      if (!unpin) throw new Error('taskset failed: run with --no-pin');
    }
    // Whatever the warm-ups left (w1's and w6's precomputed streams are built there) is collected
    // now, not by a major GC in the middle of the measurement.
    collectGarbage();
    const before = peer.pid ? procMemory(peer.pid) : null;
    const reset = peer.pid ? resetPeak(peer.pid) : false;
    const cpuBefore = peer.pid ? procCpuSeconds(peer.pid) : 0;
    const mainBefore = peer.pid ? procCpuSeconds(peer.pid, peer.pid) : 0;
    const genBefore = generatorCpuSeconds(echo.pid);
    const logBefore = peer.logFile ? fileSize(peer.logFile) : 0;
    const metrics = await withTimeout(w.run({ port: peer.port, scale: opts.scale }), opts.scale.timeoutMs, w.id);
    if (peer.logFile) {
      // The log's thread may still be writing what the workload put in its batches (up to
      // --log-buffer): the workload is done when the file is, so that time counts, and the rates
      // are over both; the CPU is counted until then too.
      const drainMs = await logCaughtUp(peer.logFile);
      metrics.logDrainMs = drainMs;
      if (typeof metrics.ms === 'number') {
        const stretch = metrics.ms / (metrics.ms + drainMs);
        for (const spec of w.metrics) if (spec.better === 'higher' && typeof metrics[spec.key] === 'number') metrics[spec.key] = (metrics[spec.key] as number) * stretch;
        metrics.ms += drainMs;
      }
      metrics.logMiB = (fileSize(peer.logFile) - logBefore) / 2 ** 20;
      if (metrics.logMiB <= 0) throw new Error(`--log-file ${peer.logFile} took in nothing during the workload`);
    }
    if (peer.pid) {
      metrics.proxyCpuMs = (procCpuSeconds(peer.pid) - cpuBefore) * 1000;
      metrics.proxyMainCpuMs = (procCpuSeconds(peer.pid, peer.pid) - mainBefore) * 1000;
    }
    metrics.generatorCpuMs = (generatorCpuSeconds(echo.pid) - genBefore) * 1000;
    const after = peer.pid ? procMemory(peer.pid) : null;
    if (before && after) {
      metrics.peakRssMiB = after.hwmKiB / 1024;
      metrics.rssGrowthMiB = (after.hwmKiB - before.rssKiB) / 1024;
      metrics.rssBeforeMiB = before.rssKiB / 1024;
      metrics.peakWasReset = reset;
    }
    return metrics;
  } finally {
    unpin?.();
    destroyAllClients();
    if (peer?.pid) proxyCpuSeconds += procCpuSeconds(peer.pid);
    await peer?.stop();
  }
}
