/**
 * A bounded, batched line sink: lines written in one tick leave in one write, and a reader that
 * cannot keep up costs dropped lines (counted and reported), never relay memory or time.
 */
import type { Writable } from 'node:stream';
import { LineBytes } from './line-bytes.js';

const FLUSH_MS = 10;
const EMPTY = Buffer.alloc(0);
const END_WAIT_MS = 2000;
const BATCH_BYTES = 64 * 1024;

export interface LineWriterOptions {
  /** Bytes the stream may hold unwritten before lines are dropped. */
  readonly maxBuffered: number;
  /** Text written in place of lines that were dropped. */
  readonly droppedNote: (count: number) => string;
}

export class LineWriter {
  readonly #stream: Writable;
  readonly #options: LineWriterOptions;
  readonly #batch = new LineBytes(BATCH_BYTES);
  #timer: NodeJS.Timeout | null = null;
  #dropped = 0;

  constructor(stream: Writable, options: LineWriterOptions) {
    this.#stream = stream;
    this.#options = options;
  }

  write(line: string): void {
    if (this.#open()) this.#close(this.#batch.text(line));
  }

  /** A line encoded straight into the batch (no string in between), from `value`. */
  writeWith<T>(encode: (out: LineBytes, value: T) => void, value: T): void {
    if (!this.#open()) return;
    encode(this.#batch, value);
    this.#close(this.#batch);
  }

  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#batch.length > 0) this.#stream.write(this.#batch.take());
  }

  /** Flushes and waits until the stream has taken everything. */
  async end(closeStream: boolean): Promise<void> {
    this.flush();
    if (this.#dropped > 0) {
      this.#stream.write(this.#options.droppedNote(this.#dropped) + '\n');
      this.#dropped = 0;
    }
    await new Promise<void>((resolve) => {
      // A reader that stopped reading does not hold up the exit for long.
      setTimeout(resolve, END_WAIT_MS).unref();
      if (closeStream) this.#stream.end(resolve);
      else if (this.#stream.writableLength === 0) resolve();
      // 'drain' comes only after a write that was refused: an empty write's callback runs once
      // everything before it is written, whatever the earlier writes returned.
      else this.#stream.write(EMPTY, () => resolve());
    });
  }

  /** Whether a line may be written now; says first what was dropped while it could not. */
  #open(): boolean {
    if (this.#stream.writableLength > this.#options.maxBuffered) {
      this.#dropped++;
      return false;
    }
    if (this.#dropped > 0) {
      this.#batch.text(this.#options.droppedNote(this.#dropped)).newline();
      this.#dropped = 0;
    }
    return true;
  }

  #close(batch: LineBytes): void {
    batch.newline();
    // Lines leave every few milliseconds, or at once when a batch is full: a write per frame
    // would cost a system call per frame on the relay's own thread.
    if (batch.length >= BATCH_BYTES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }
}
