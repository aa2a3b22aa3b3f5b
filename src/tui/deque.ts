/**
 * An append-only sequence that forgets from the front, addressed by absolute positions: the
 * first item ever pushed is position 0, and a position keeps naming the same item until that
 * item is dropped. Cursors held as positions therefore survive eviction without fix-ups.
 */
export class Deque<T> {
  #items: T[] = [];
  /** Index in #items of the item at position #start. */
  #head = 0;
  #start = 0;

  /** Position of the oldest item still held. */
  get start(): number {
    return this.#start;
  }

  /** One past the position of the newest item. */
  get end(): number {
    return this.#start + this.length;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): number {
    this.#items.push(item);
    return this.end - 1;
  }

  /** The item at an absolute position, or undefined when it was dropped or is not there yet. */
  at(position: number): T | undefined {
    if (position < this.#start || position >= this.end) return undefined;
    return this.#items[this.#head + position - this.#start];
  }

  first(): T | undefined {
    return this.at(this.#start);
  }

  last(): T | undefined {
    return this.at(this.end - 1);
  }

  /** Drops the oldest item. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    this.#start++;
    // Compact now and then so shifting stays O(1) amortised without holding dead slots.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Items from position `from` (inclusive) to `to` (exclusive), clamped to what is held. */
  slice(from: number, to: number): T[] {
    const a = Math.max(from, this.#start) - this.#start + this.#head;
    const b = Math.min(to, this.end) - this.#start + this.#head;
    return a >= b ? [] : this.#items.slice(a, b);
  }

  /** First position whose item satisfies `pred`, assuming `pred` is false then true along the deque. */
  lowerBound(pred: (item: T) => boolean): number {
    let lo = this.#start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(this.at(mid)!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }
}
