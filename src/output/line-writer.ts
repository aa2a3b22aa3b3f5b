/**
 * A bounded, batched line sink: lines written in one tick leave in one write, and a reader that
 * cannot keep up costs dropped lines (counted and reported), never relay memory or time.
 */
import type { Writable } from 'node:stream';

const FLUSH_MS = 10;
const MAX_BATCH = 512;

export interface LineWriterOptions {
  /** Bytes the stream may hold unwritten before lines are dropped. */
  readonly maxBuffered: number;
  /** Text written in place of lines that were dropped. */
  readonly droppedNote: (count: number) => string;
}

export class LineWriter {
  readonly #stream: Writable;
  readonly #options: LineWriterOptions;
  #batch: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #dropped = 0;

  constructor(stream: Writable, options: LineWriterOptions) {
    this.#stream = stream;
    this.#options = options;
  }

  write(line: string): void {
    if (this.#stream.writableLength > this.#options.maxBuffered) {
      this.#dropped++;
      return;
    }
    this.#batch.push(line);
    // Lines leave every few milliseconds, or at once when many are waiting: a write per frame
    // would cost a system call per frame on the relay's own thread.
    if (this.#batch.length >= MAX_BATCH) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#dropped > 0 && this.#stream.writableLength <= this.#options.maxBuffered) {
      this.#batch.unshift(this.#options.droppedNote(this.#dropped));
      this.#dropped = 0;
    }
    if (this.#batch.length === 0) return;
    const text = this.#batch.join('\n') + '\n';
    this.#batch = [];
    this.#stream.write(text);
  }

  /** Flushes and waits until the stream has taken everything. */
  async end(closeStream: boolean): Promise<void> {
    this.flush();
    if (this.#dropped > 0) {
      this.#stream.write(this.#options.droppedNote(this.#dropped) + '\n');
      this.#dropped = 0;
    }
    await new Promise<void>((resolve) => {
      if (closeStream) this.#stream.end(resolve);
      else if (this.#stream.writableLength === 0) resolve();
      else this.#stream.once('drain', resolve);
    });
  }
}
