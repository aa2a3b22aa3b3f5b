import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-ms precision, comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
