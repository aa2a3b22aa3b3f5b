/**
 * The JSONL log's thread (started by jsonl-thread.ts): takes the batches in the order they were
 * handed over, encodes their entries into lines with JsonlBatch (the same bytes the record
 * builders of jsonl.ts give) and writes them. It waits on the shared counters, not on messages:
 * the relay's thread may itself be waiting for a slot, and then could not post one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JsonlBatch } from './jsonl-bytes.js';
import { freshSlab, readEntries, slab, type EntryReader } from './jsonl-entries.js';
import { CLOSING, CONSUMED, DONE, FAILED, LENGTHS, PRODUCED, slotIndexes, type JsonlThreadData } from './jsonl-thread.js';
import { writeAll } from './write-all.js';
import { LOG_NICE, yieldToRelay } from './thread-priority.js';

/** Lines are written once this many bytes are encoded, or when no batch is waiting. */
const WRITE_BYTES = 1024 * 1024;
const SLEEP_MS = 20;

const { fd, shared, control, slots, slotBytes } = workerData as JsonlThreadData;
yieldToRelay(LOG_NICE);
const ctl = new Int32Array(control);
const batches = slab(shared);
const out = new JsonlBatch(WRITE_BYTES + slotBytes);
let pieces: Buffer[] = [];

/** A record that cannot be encoded (a time that is not a date) is said in an error line instead. */
function failed(session: number, error: unknown): void {
  out.text(JSON.stringify({ type: 'error', session, time: new Date().toISOString(), message: `a record could not be logged: ${error instanceof Error ? error.message : String(error)}` }));
}

const write = (bytes: Buffer): void => writeAll(fd, bytes);

const reader: EntryReader = {
  frame(f) {
    try {
      out.frame(f);
    } catch (error) {
      failed(f.session, error);
    }
  },
  message(m) {
    try {
      out.message(m);
    } catch (error) {
      failed(m.session, error);
    }
  },
  line: (bytes) => out.line(bytes),
  part(bytes, last) {
    pieces.push(Buffer.from(bytes));
    if (!last) return;
    // Put together where its numbers are aligned again.
    const length = pieces.reduce((n, p) => n + p.length, 0);
    const entry = freshSlab(length);
    let at = 0;
    for (const p of pieces) {
      entry.bytes.set(p, at);
      at += p.length;
    }
    pieces = [];
    readEntries(entry, 0, length, reader);
  },
};

function run(): void {
  let consumed = 0;
  for (;;) {
    const produced = Atomics.load(ctl, PRODUCED);
    if (produced === consumed) {
      if (out.length > 0) out.drain(write);
      // Seen after the last batch was handed over: nothing more will come.
      if (Atomics.load(ctl, CLOSING) !== 0 && Atomics.load(ctl, PRODUCED) === consumed) return;
      // Woken when a few batches wait, or a partial one (jsonl-thread.ts); the timeout covers
      // full batches that stop short of a few.
      Atomics.wait(ctl, PRODUCED, produced, SLEEP_MS);
      continue;
    }
    for (; consumed < produced; ) {
      const k = consumed % slots;
      const slot = ctl[slotIndexes(slots) + k]!;
      const length = ctl[LENGTHS + k]!;
      readEntries(batches, slot * slotBytes, slot * slotBytes + length, reader);
      // Encoded: the slot's bytes are copied, the relay may fill it again.
      consumed++;
      Atomics.store(ctl, CONSUMED, consumed);
      Atomics.notify(ctl, CONSUMED);
      if (out.length >= WRITE_BYTES) out.drain(write);
    }
  }
}

try {
  run();
} catch (error) {
  Atomics.store(ctl, FAILED, 1);
  // A waiting relay sees FAILED at its next look (at most 200 ms).
  Atomics.notify(ctl, CONSUMED);
  parentPort!.postMessage({ error: `writing failed: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
} finally {
  Atomics.store(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
}
