/**
 * The printer's thread (started by printer-thread.ts): formats the frame entries of each batch
 * into lines and writes them to the fd, waiting while a reader is behind; marks each batch done in
 * the hand-over ring, and says (once) that the reader went away or a write failed. It runs one
 * loop, asleep in Atomics.wait while there is nothing to print.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { writeFrameLine, type Style } from './format.js';
import { LineBytes } from './line-bytes.js';
import { HandOver, readEntries } from './printer-entries.js';
import { writeAll } from './write-all.js';
import { PRINTER_NICE, yieldToRelay } from './thread-priority.js';

export interface PrinterThreadData {
  readonly fd: number;
  readonly color: boolean;
  readonly chars: number;
  /** The batches' memory, shared: SLOT_BYTES a slot. */
  readonly shared: SharedArrayBuffer;
  readonly slotBytes: number;
  /** The hand-over ring (see HandOver). */
  readonly control: SharedArrayBuffer;
}

/** An error the thread reports, with the batches it has got to so far. */
export interface PrinterError {
  readonly error: string;
}

const { fd, color, chars, shared, slotBytes, control } = workerData as PrinterThreadData;
const style: Style = { color };
const out = new LineBytes(256 * 1024);
const ring = new Int32Array(control);
const slots = (ring.length - HandOver.RING) / 2;

function print(slot: number, length: number): void {
  readEntries(
    Buffer.from(shared, slot * slotBytes, length),
    length,
    (f, start, end, view) => {
      writeFrameLine(out, f, style, chars, start, end, view);
      out.newline();
    },
    (line) => out.bytes(line).newline(),
  );
  // Written at once: the buffer is filled again for the next batch, never handed over.
  writeAll(fd, out.written());
  out.truncate(0);
}

/**
 * While lines flow the thread looks for batches every NAP_MS on its own; only after IDLE_NAPS naps
 * with nothing does it sleep until woken. A wake is a system call on the relay's thread for every
 * batch, and it may put this thread on the relay's core (on a loaded machine the call returned
 * 0.2 ms later on average); a timed nap wakes the thread where it last ran. The printing costs the
 * same CPU either way.
 */
const NAP_MS = 2;
const IDLE_NAPS = 25;

yieldToRelay(PRINTER_NICE);
let done = 0;
let naps = 0;
let failed = false;
for (;;) {
  const posted = Atomics.load(ring, HandOver.POSTED);
  if (done === posted) {
    if (Atomics.load(ring, HandOver.STOP) !== 0) break;
    if (naps < IDLE_NAPS) {
      naps++;
      Atomics.wait(ring, HandOver.POSTED, posted, NAP_MS);
      continue;
    }
    // Said before sleeping: a batch posted after this is followed by a wake; one posted before it
    // makes the wait return at once (POSTED is no longer `posted`).
    Atomics.store(ring, HandOver.SLEEPING, 1);
    Atomics.wait(ring, HandOver.POSTED, posted);
    Atomics.store(ring, HandOver.SLEEPING, 0);
    continue;
  }
  naps = 0;
  const at = HandOver.RING + (done % slots) * 2;
  // After a failed write nothing more is printed; the batches are still handed back.
  if (!failed) {
    try {
      print(ring[at]!, ring[at + 1]!);
    } catch (error) {
      failed = true;
      out.take();
      const message: PrinterError = { error: (error as NodeJS.ErrnoException).code ?? String(error) };
      parentPort!.postMessage(message);
    }
  }
  done++;
  Atomics.store(ring, HandOver.DONE, done);
}
