/**
 * What one direction writes while a chunk is parsed. Bytes that pass in place leave as runs of the
 * chunk itself: one segment per run, and none at all when the whole chunk passes (the common case,
 * which then costs no view). Whatever else is written (a queued frame, the proxy's own frame, a
 * header that began in an earlier chunk) goes between the runs, in order.
 */
const EMPTY = new Uint8Array(0);

export class ChunkOutput {
  /** Segments to write, in order. */
  segments: Uint8Array[] = [];
  #chunk: Uint8Array = EMPTY;
  /** Where the open run starts (-1: none), and how far parsing has got. */
  #run = -1;
  #pos = 0;
  /** Something other than one run from the chunk's start was written for this chunk. */
  #split = false;
  /** Where the frame being parsed begins: in the chunk (in the open run), or as a segment. */
  #frameAt = -1;
  #frameOut = -1;

  begin(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#run = -1;
    this.#pos = 0;
    this.#split = false;
    this.#frameAt = -1;
  }

  /** The chunk is done with (its runs have been cut or written). */
  end(): void {
    this.#chunk = EMPTY;
    this.#run = -1;
    this.#pos = 0;
    this.#frameAt = -1;
  }

  /** chunk[start, end) passes as it lies. */
  pass(start: number, end: number): void {
    if (this.#run < 0) this.#run = start;
    this.#pos = end;
  }

  /** chunk[.., end) was taken elsewhere (into the queue): what passed before it leaves first. */
  skip(end: number): void {
    this.cut();
    this.#pos = end;
  }

  /** A frame begins: its header lies in the chunk at `at` (passing), or was just pushed as a segment (at -1). */
  frameStart(at: number): void {
    this.#frameAt = at;
    this.#frameOut = at >= 0 ? -1 : this.segments.length - 1;
  }

  frameEnd(): void {
    this.#frameAt = -1;
    this.#frameOut = -1;
  }

  /** A segment of its own, after everything passed so far. */
  push(...segments: Uint8Array[]): void {
    this.cut();
    this.segments.push(...segments);
  }

  /** Closes the open run at the parse position: what comes next is written after it. */
  cut(): void {
    this.#split = true;
    if (this.#run < 0) return;
    if (this.#pos > this.#run) this.segments.push(this.#chunk.subarray(this.#run, this.#pos));
    this.#run = -1;
  }

  /** Every byte of chunk[0, end) passed in place and nothing else was written: the chunk can leave as it came. */
  whole(end: number): boolean {
    return !this.#split && this.#run === 0 && this.#pos === end && this.segments.length === 0;
  }

  /** What is to be written (the open run cut), or null when nothing is. */
  take(): Uint8Array[] | null {
    this.cut();
    this.#frameOut = -1;
    if (this.segments.length === 0) return null;
    const out = this.segments;
    this.segments = [];
    return out;
  }

  /** Drops the frame being parsed from the output, when none of it has been written yet. */
  dropFrame(): void {
    if (this.#frameAt >= 0 && this.#run >= 0 && this.#frameAt >= this.#run) {
      this.#pos = this.#frameAt;
      this.cut();
    } else if (this.#frameOut >= 0 && this.#frameOut < this.segments.length) {
      this.#run = -1;
      this.segments.length = this.#frameOut;
    }
  }

  /** Forgets what was not written. */
  clear(): void {
    this.segments = [];
    this.#run = -1;
  }
}
