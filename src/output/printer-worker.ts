/**
 * The printer's thread (started by printer-thread.ts): formats the frame entries of each batch
 * into lines and writes them to the fd, waiting while a reader is behind; says when a batch is
 * done, or that the reader went away.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { writeFrameLine, type Style } from './format.js';
import { LineBytes } from './line-bytes.js';
import { readEntries } from './printer-entries.js';
import { writeAll } from './write-all.js';

export interface PrinterThreadData {
  readonly fd: number;
  readonly color: boolean;
  readonly chars: number;
  /** The batches' memory, shared: SLOT_BYTES a slot. */
  readonly shared: SharedArrayBuffer;
  readonly slotBytes: number;
}

/** A batch to print: its slot, and how many bytes of it are entries. */
export interface PrinterBatch {
  readonly slot: number;
  readonly length: number;
}

const { fd, color, chars, shared, slotBytes } = workerData as PrinterThreadData;
const style: Style = { color };
const out = new LineBytes(256 * 1024);
parentPort!.on('message', (batch: PrinterBatch) => {
  try {
    readEntries(
      Buffer.from(shared, batch.slot * slotBytes, batch.length),
      batch.length,
      (f, start, end) => {
        writeFrameLine(out, f, style, chars, start, end);
        out.newline();
      },
      (line) => out.bytes(line).newline(),
    );
    writeAll(fd, out.take());
    parentPort!.postMessage({ slot: batch.slot });
  } catch (error) {
    parentPort!.postMessage({ slot: batch.slot, error: (error as NodeJS.ErrnoException).code ?? String(error) });
  }
});
