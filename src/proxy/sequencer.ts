/**
 * Keeps bus events of one direction in arrival order when some of them wait for zlib: an event
 * that is ready while nothing waits goes out at once (the common, uncompressed case).
 */
export class Sequencer {
  #slots: { fn: (() => void) | null }[] = [];
  #pushed = 0;

  /** How many places were ever taken: unchanged since a reservation means it is still the last. */
  get stamp(): number {
    return this.#pushed;
  }

  /** Nothing is waiting: an event may go out at once. */
  get idle(): boolean {
    return this.#slots.length === 0;
  }

  /** Runs `fn` now, or after everything reserved before it. */
  now(fn: () => void): void {
    if (this.#slots.length === 0) fn();
    else {
      this.#slots.push({ fn });
      this.#pushed++;
    }
  }

  /** Reserves a place; call the returned function with the event once it is ready. */
  reserve(): (fn: () => void) => void {
    const slot: { fn: (() => void) | null } = { fn: null };
    this.#slots.push(slot);
    this.#pushed++;
    return (fn) => {
      slot.fn = fn;
      while (this.#slots.length > 0 && this.#slots[0]!.fn !== null) this.#slots.shift()!.fn!();
    };
  }
}
