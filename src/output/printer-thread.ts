/**
 * The headless printer of the command line: the relay's thread only packs each frame's few fields
 * and preview bytes into a batch (printer-entries.ts); a thread of its own formats the lines and
 * writes them (printer-worker.ts). Formatting a line per frame was a sixth of the relay's work at
 * a few hundred thousand frames a second, and a terminal or pipe that reads slowly stalled it.
 *
 * Batches in flight are bounded (16 of 128 KiB): past the bound a batch is dropped whole, and the next line says
 * how many lines were lost ("… N line(s) dropped"), as the in-thread printer does.
 */
import { Worker } from 'node:worker_threads';
import { subscribe, type FrameRecord, type ProxyBus } from '../proxy/events.js';
import { formatFrameLine, type Style } from './format.js';
import { DROPPED_NOTE, printerHandlers, type HeadlessOptions, type LineSink, type Printer } from './headless.js';
import { EntryBatch } from './printer-entries.js';
import type { PrinterBatch, PrinterThreadData } from './printer-worker.js';

/** Batches live in shared memory (a slot each): handing one over is a small message, not a copy or a transfer. */
const SLOT_BYTES = 128 * 1024;
const SLOTS = 16;
const FLUSH_MS = 10;
const CLOSE_WAIT_MS = 2000;

/** The worker's entry: the compiled printer-worker.js, or printer-worker.ts through tsx from source. */
function bootstrap(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './printer-worker.ts' : './printer-worker.js', import.meta.url).href;
  const tsx = fromSource ? import.meta.resolve('tsx/esm/api') : null;
  return ['(async () => {', tsx === null ? '' : `  (await import(${JSON.stringify(tsx)})).register();`, `  await import(${JSON.stringify(entry)});`, '})();'].join('\n');
}

/** `onGone`: the reader went away (EPIPE). */
export function attachPrinterThread(bus: ProxyBus, fd: number, options: HeadlessOptions, onGone: () => void): Printer {
  const style: Style = { color: options.color };
  const chars = options.previewChars ?? 80;
  const previewBytes = chars * 4;
  const shared = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const data: PrinterThreadData = { fd, color: options.color, chars, shared, slotBytes: SLOT_BYTES };
  const worker = new Worker(bootstrap(), { eval: true, workerData: data, name: 'wsproxy printer' });
  worker.unref();
  const slotBatch = (slot: number): EntryBatch => new EntryBatch(Buffer.from(shared, slot * SLOT_BYTES, SLOT_BYTES));
  const free = Array.from({ length: SLOTS - 1 }, (_, i) => i + 1);
  let slot = 0;
  let batch = slotBatch(0);
  let inFlight = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | null = null;
  let idle: (() => void) | null = null;
  worker.on('message', (m: { readonly slot: number; readonly error?: string }) => {
    inFlight--;
    free.push(m.slot);
    if (m.error === 'EPIPE') onGone();
    else if (m.error !== undefined) process.stderr.write(`wsproxy: the printer stopped: ${m.error}\n`);
    if (inFlight === 0) idle?.();
  });
  worker.on('error', (error) => process.stderr.write(`wsproxy: the printer stopped: ${error.message}\n`));

  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (batch.count === 0) return;
    const next = free.pop();
    if (next === undefined) {
      // Every slot is waiting for the thread: this batch's lines are lost, and said so later.
      dropped += batch.count;
      batch.reset();
      return;
    }
    const message: PrinterBatch = { slot, length: batch.length };
    inFlight++;
    worker.postMessage(message);
    slot = next;
    batch = slotBatch(next);
  };
  /** Before an entry: the count of lines dropped, once there is room again. */
  const noteDropped = (): void => {
    if (dropped > 0 && free.length > 0 && batch.line(DROPPED_NOTE(dropped))) dropped = 0;
  };
  const scheduled = (): void => {
    timer ??= setTimeout(flush, FLUSH_MS);
  };
  const line = (text: string): void => {
    noteDropped();
    if (!batch.line(text)) {
      flush();
      if (!batch.line(text)) return;
    }
    scheduled();
  };
  const sink: LineSink = {
    frame: (f: FrameRecord) => {
      // A close or a violation is formatted here (rare, and their text needs the whole record).
      if (f.close !== null || f.violations.length > 0) return line(formatFrameLine(f, style, chars));
      noteDropped();
      if (!batch.frame(f, previewBytes)) {
        flush();
        if (!batch.frame(f, previewBytes)) return;
      }
      scheduled();
    },
    line,
  };
  const unsubscribe = subscribe(bus, printerHandlers(sink, style, chars), { previewBytes });
  return {
    async close() {
      unsubscribe();
      flush();
      if (dropped > 0) {
        batch.line(DROPPED_NOTE(dropped));
        dropped = 0;
        flush();
      }
      await new Promise<void>((resolve) => {
        setTimeout(resolve, CLOSE_WAIT_MS).unref();
        if (inFlight === 0) resolve();
        else idle = resolve;
      });
      await worker.terminate();
    },
  };
}
