/**
 * An observer's thread (the printer's, the log's) asks the kernel to run it after the relay's
 * thread and the peers when they compete for a core. Its work waits in batches that are already
 * bounded (printer-thread.ts, jsonl-thread.ts), and it catches up when a core is free; at the
 * relay's priority it took as large a share of cores shared with the peers as the relay did
 * (docs/performance.md, round 10). A script's thread is not lowered: a held message waits for it.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The lowest priority there is (nice 19). */
const MAX_NICE = 19;

/**
 * The printer's batches hold a few tens of milliseconds of small frames and are dropped past
 * that, so it stays above the log, whose batches hold 64 MiB and which makes the relay wait rather
 * than drop: at the same priority as the log, the printer dropped lines while both were behind.
 */
export const PRINTER_NICE = 5;
export const LOG_NICE = 10;

/**
 * Lowers this thread's priority by `steps` nice steps from where it is, to at most 19 (Linux: nice
 * is per thread, and a thread's id is its pid there). Relative, never absolute: a process started
 * lower keeps its threads below it, and one run as root is never raised.
 */
export function yieldToRelay(steps: number): void {
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return;
    const now = getPriority(tid);
    if (now < MAX_NICE) setPriority(tid, Math.min(MAX_NICE, now + steps));
  } catch {
    // Not Linux, or not allowed: the thread keeps the process's priority.
  }
}
