/**
 * An append-only sequence that forgets from the front, addressed by absolute positions: the
 * first item ever pushed is position 0, and a position keeps naming the same item until that
 * item is dropped. Cursors held as positions therefore survive eviction without fix-ups.
 *
 * Kept in a ring whose size is a power of two: a ring that holds the TUI's history and turns
 * over at the traffic's rate never allocates again once it has grown to the history's size
 * (an array shifted from the front had to be copied every thousand rows).
 */
export class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16).fill(undefined);
  #mask = 15;
  /** Position of the oldest item held; its slot is `#start & #mask`. */
  #start = 0;
  #length = 0;

  /** Position of the oldest item still held. */
  get start(): number {
    return this.#start;
  }

  /** One past the position of the newest item. */
  get end(): number {
    return this.#start + this.#length;
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): number {
    if (this.#length === this.#items.length) this.#grow();
    const position = this.#start + this.#length;
    this.#items[position & this.#mask] = item;
    this.#length++;
    return position;
  }

  /** The item at an absolute position, or undefined when it was dropped or is not there yet. */
  at(position: number): T | undefined {
    if (position < this.#start || position >= this.#start + this.#length) return undefined;
    return this.#items[position & this.#mask];
  }

  first(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#start & this.#mask];
  }

  last(): T | undefined {
    return this.at(this.end - 1);
  }

  /** Puts `item` in the place of the one at `position` (which must be held). */
  replace(position: number, item: T): void {
    if (position < this.#start || position >= this.#start + this.#length) throw new RangeError(`position ${position} is not held`);
    this.#items[position & this.#mask] = item;
  }

  /** Drops the oldest item. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const slot = this.#start & this.#mask;
    const item = this.#items[slot];
    this.#items[slot] = undefined;
    this.#start++;
    this.#length--;
    return item;
  }

  /** Items from position `from` (inclusive) to `to` (exclusive), clamped to what is held. */
  slice(from: number, to: number): T[] {
    const a = Math.max(from, this.#start);
    const b = Math.min(to, this.end);
    const out: T[] = [];
    for (let p = a; p < b; p++) out.push(this.#items[p & this.#mask] as T);
    return out;
  }

  /** First position whose item satisfies `pred`, assuming `pred` is false then true along the deque. */
  lowerBound(pred: (item: T) => boolean): number {
    let lo = this.#start;
    let hi = this.end;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (pred(this.#items[mid & this.#mask] as T)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let p = this.#start; p < this.end; p++) yield this.#items[p & this.#mask] as T;
  }

  /** Twice the room, the items laid out again by their positions under the new mask. */
  #grow(): void {
    const size = this.#items.length * 2;
    const items = new Array<T | undefined>(size).fill(undefined);
    const mask = size - 1;
    for (let p = this.#start; p < this.#start + this.#length; p++) items[p & mask] = this.#items[p & this.#mask];
    this.#items = items;
    this.#mask = mask;
  }
}
