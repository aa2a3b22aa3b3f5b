/**
 * An observer's thread (the printer's, the log's) asks the kernel to run it after the relay's
 * thread and the peers when they compete for a core. Its work is buffered and bounded
 * (printer-thread.ts, jsonl-thread.ts), so it catches up when a core is free; at the same
 * priority it took the relay's core in the middle of a read.
 */
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';

/** Lowers this thread's priority (Linux: nice is per thread, and a thread's id is its pid there). */
export function yieldToRelay(): void {
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // Not Linux, or not allowed: the thread keeps the process's priority.
  }
}
