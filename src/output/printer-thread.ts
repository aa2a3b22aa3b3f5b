/**
 * The headless printer of the command line: the relay's thread only packs each frame's few fields
 * and preview bytes into a batch (printer-entries.ts); a thread of its own formats the lines and
 * writes them (printer-worker.ts). Formatting a line per frame was a sixth of the relay's work at
 * a few hundred thousand frames a second, and process.stdout's writes to a file (synchronous, as
 * Node documents for terminals on Linux too) another sixth.
 *
 * Batches in flight are bounded (16 of 128 KiB): past the bound a batch is dropped whole, and the
 * next line says how many lines were lost ("… N line(s) dropped"), as the in-thread printer does.
 */
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';
import { subscribe, type FrameRecord, type ProxyBus } from '../proxy/events.js';
import { formatFrameLine, type Style } from './format.js';
import { DROPPED_NOTE, printerHandlers, type HeadlessOptions, type LineSink, type Printer } from './headless.js';
import { EntryBatch, HandOver } from './printer-entries.js';
import type { PrinterError, PrinterThreadData } from './printer-worker.js';

/**
 * Batches live in shared memory (a slot each); handing one over is two numbers written into the
 * hand-over ring (printer-entries.ts HandOver), not a message, a copy or a transfer.
 */
const SLOT_BYTES = 128 * 1024;
const SLOTS = 16;
const FLUSH_MS = 10;
const CLOSE_WAIT_MS = 2000;

/** Characters a line keeps at most: a whole batch holds about 43,000 (3 bytes each, at worst). */
const LINE_MAX = 40_000;

/** The line cut to LINE_MAX characters (not inside a surrogate pair), saying how much was left out. */
export function cutLine(text: string): string {
  let at = LINE_MAX;
  const c = text.charCodeAt(at - 1);
  if (c >= 0xd800 && c <= 0xdbff) at--;
  return `${text.slice(0, at)} … (line cut: ${text.length - at} more characters)`;
}

/** `onGone`: the reader went away (EPIPE). */
export function attachPrinterThread(bus: ProxyBus, fd: number, options: HeadlessOptions, onGone: () => void): Printer {
  const style: Style = { color: options.color };
  const chars = options.previewChars ?? 80;
  const previewBytes = chars * 4;
  const shared = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const control = new SharedArrayBuffer((HandOver.RING + 2 * SLOTS) * 4);
  const ring = new Int32Array(control);
  const data: PrinterThreadData = { fd, color: options.color, chars, shared, slotBytes: SLOT_BYTES, control };
  const worker = new Worker(threadEntry(import.meta.url, 'printer-worker'), { eval: true, workerData: data, name: 'wsproxy printer' });
  worker.unref();
  const slotBatch = (slot: number): EntryBatch => new EntryBatch(Buffer.from(shared, slot * SLOT_BYTES, SLOT_BYTES));
  /** Slots handed over, in order: the thread finishes them in that order, so `done` frees the oldest. */
  const inFlight: number[] = [];
  const free = Array.from({ length: SLOTS - 1 }, (_, i) => i + 1);
  let posted = 0;
  let done = 0;
  let slot = 0;
  let batch = slotBatch(0);
  /** Lines lost so far; `noted`: the batch being filled begins with the note that says so. */
  let dropped = 0;
  let noted = false;
  let timer: NodeJS.Timeout | null = null;
  worker.on('message', (m: PrinterError) => {
    if (m.error === 'EPIPE') onGone();
    else process.stderr.write(`wsproxy: the printer stopped: ${m.error}\n`);
  });
  worker.on('error', (error) => process.stderr.write(`wsproxy: the printer stopped: ${error.message}\n`));

  /** Takes back the slots of the batches the thread has printed. */
  const reclaim = (): void => {
    const now = Atomics.load(ring, HandOver.DONE);
    for (; done < now; done++) free.push(inFlight.shift()!);
  };

  /** Hands the batch to the thread; `full`: it cannot take the next entry, so with no slot free it is dropped. */
  const flush = (full = false): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (batch.count === 0) return;
    if (free.length === 0) reclaim();
    const next = free.pop();
    if (next === undefined) {
      // Kept back for want of a slot: the timer tries again.
      if (!full) return scheduled();
      // Every slot waits for a slow reader: this batch's lines are lost, and the next batch begins
      // by saying how many (its note replaced, not counted, when it is lost in turn).
      dropped += batch.count - (noted ? 1 : 0);
      batch.reset();
      noted = batch.line(DROPPED_NOTE(dropped));
      return;
    }
    const at = HandOver.RING + (posted % SLOTS) * 2;
    ring[at] = slot;
    ring[at + 1] = batch.length;
    inFlight.push(slot);
    posted++;
    Atomics.store(ring, HandOver.POSTED, posted);
    // A thread at work finds the batch itself before it sleeps: no wake.
    if (Atomics.load(ring, HandOver.SLEEPING) !== 0) Atomics.notify(ring, HandOver.POSTED);
    if (noted) dropped = 0;
    noted = false;
    slot = next;
    batch = slotBatch(next);
  };
  const scheduled = (): void => {
    timer ??= setTimeout(flush, FLUSH_MS);
  };
  const line = (text: string): void => {
    if (!batch.line(text)) {
      flush(true);
      // A line longer than a whole batch holds (a path of thousands of escaped bytes) is cut, not lost.
      if (!batch.line(text) && !batch.line(cutLine(text))) return;
    }
    scheduled();
  };
  const sink: LineSink = {
    frame: (f: FrameRecord) => {
      // A close or a violation is formatted here (rare, and their text needs the whole record).
      if (f.close !== null || f.violations.length > 0) return line(formatFrameLine(f, style, chars));
      if (!batch.frame(f, previewBytes)) {
        flush(true);
        if (!batch.frame(f, previewBytes)) return;
      }
      scheduled();
    },
    line,
  };
  const unsubscribe = subscribe(bus, printerHandlers(sink, style, chars), { previewBytes, eventfulMessages: true });
  return {
    async close() {
      unsubscribe();
      // What is left goes out as slots come free, for at most CLOSE_WAIT_MS (a reader that
      // stopped reading does not hold up the exit for long).
      const deadline = Date.now() + CLOSE_WAIT_MS;
      for (;;) {
        reclaim();
        if (batch.count > 0) flush();
        if ((batch.count === 0 && done === posted) || Date.now() >= deadline) break;
        await new Promise<void>((resolve) => setTimeout(resolve, 5).unref());
      }
      Atomics.store(ring, HandOver.STOP, 1);
      Atomics.notify(ring, HandOver.POSTED);
      await worker.terminate();
    },
  };
}
