/**
 * A single-producer, single-consumer ring of byte records in shared memory, between two threads:
 * the relay's and the inflating thread (inflate-thread.ts). A record is a 4-byte length and its
 * bytes, 4-aligned, never split at the end of the ring: one that does not fit before the end is
 * preceded by a wrap mark and written from the start. The two counters only grow (modulo 2^32);
 * the writer alone moves HEAD, the reader alone TAIL, so neither waits for a lock.
 */

/** Int32 slots of a ring's control array. */
export const RingSlot = {
  /** Bytes written (modulo 2^32). */
  HEAD: 0,
  /** Bytes read. */
  TAIL: 1,
  /** The reader sleeps until HEAD moves (its writer then wakes it). */
  SLEEPING: 2,
  /** Words of control per ring. */
  SIZE: 4,
} as const;

const WRAP = -1;

/** The shared memory of one ring: `bytes` must be a power of two, at least 64. */
export interface RingMemory {
  readonly data: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
}

export function ringMemory(bytes: number): RingMemory {
  if (bytes < 64 || (bytes & (bytes - 1)) !== 0) throw new RangeError(`ring size ${bytes} is not a power of two of at least 64`);
  return { data: new SharedArrayBuffer(bytes), control: new SharedArrayBuffer(RingSlot.SIZE * 4) };
}

const align = (n: number): number => (n + 3) & ~3;

abstract class RingEnd {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly control: Int32Array;
  readonly size: number;

  constructor(memory: RingMemory) {
    this.bytes = new Uint8Array(memory.data);
    this.view = new DataView(memory.data);
    this.control = new Int32Array(memory.control);
    this.size = memory.data.byteLength;
  }

  /** Bytes written and not yet read. */
  get used(): number {
    return (Atomics.load(this.control, RingSlot.HEAD) - Atomics.load(this.control, RingSlot.TAIL)) >>> 0;
  }
}

export class RingWriter extends RingEnd {
  #head = 0;
  #open = -1;

  /** The largest record body a ring of this size takes. */
  get maxRecord(): number {
    return this.size / 2 - 8;
  }

  /**
   * Room for a record of n bytes: where its body starts in `bytes`/`view`, or -1 when the ring is
   * too full now. Nothing is visible to the reader before commit().
   */
  begin(n: number): number {
    if (n > this.maxRecord) throw new RangeError(`a record of ${n} bytes does not fit a ring of ${this.size}`);
    const need = 4 + align(n);
    let at = this.#head % this.size;
    const tail = Atomics.load(this.control, RingSlot.TAIL);
    let free = this.size - ((this.#head - tail) >>> 0);
    const before = this.size - at;
    // Not enough room before the end: the rest is skipped (a wrap mark says so).
    const skip = before < need ? before : 0;
    if (free < skip + need) return -1;
    if (skip > 0) {
      this.view.setInt32(at, WRAP, true);
      this.#head = (this.#head + skip) >>> 0;
      free -= skip;
      at = 0;
    }
    this.view.setInt32(at, n, true);
    this.#open = n;
    return at + 4;
  }

  /** The record begun last is complete: the reader may see it now. */
  commit(): void {
    this.#head = (this.#head + 4 + align(this.#open)) >>> 0;
    this.#open = -1;
    Atomics.store(this.control, RingSlot.HEAD, this.#head | 0);
  }

  /** Wakes a reader that went to sleep (call after commits). */
  wake(): void {
    if (Atomics.load(this.control, RingSlot.SLEEPING) !== 0) Atomics.notify(this.control, RingSlot.HEAD);
  }
}

export class RingReader extends RingEnd {
  #tail = 0;
  /** The length of the record next() returned last. */
  length = 0;

  /** Where the next record's body starts (its length in `length`), or -1 when none is waiting. */
  next(): number {
    for (;;) {
      if ((Atomics.load(this.control, RingSlot.HEAD) >>> 0) === this.#tail) return -1;
      const at = this.#tail % this.size;
      const n = this.view.getInt32(at, true);
      if (n === WRAP) {
        this.#tail = (this.#tail + (this.size - at)) >>> 0;
        continue;
      }
      this.length = n;
      return at + 4;
    }
  }

  /** The record next() returned has been read: its room goes back to the writer. */
  done(): void {
    this.#tail = (this.#tail + 4 + align(this.length)) >>> 0;
    Atomics.store(this.control, RingSlot.TAIL, this.#tail | 0);
  }

  /** The HEAD a reader about to sleep last saw (wait on it with Atomics.wait). */
  get head(): number {
    return Atomics.load(this.control, RingSlot.HEAD);
  }
}
