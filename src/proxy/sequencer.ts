/**
 * Keeps bus events of one direction in arrival order when some of them wait for zlib: an event
 * that is ready while nothing waits goes out at once (the common, uncompressed case).
 *
 * While a chunk is relayed the pipe holds its events (hold/release): they go out once the chunk
 * has been written, so a peer's bytes never wait for an observer.
 */
export class Sequencer {
  #slots: { fn: (() => void) | null }[] = [];
  #holding = false;

  /** Nothing is waiting and nothing is held: an event may go out at once. */
  get idle(): boolean {
    return this.#slots.length === 0 && !this.#holding;
  }

  get holding(): boolean {
    return this.#holding;
  }

  /** Runs `fn` now, or after everything reserved or held before it. */
  now(fn: () => void): void {
    if (this.idle) fn();
    else this.#slots.push({ fn });
  }

  /** Reserves a place; call the returned function with the event once it is ready. */
  reserve(): (fn: () => void) => void {
    const slot: { fn: (() => void) | null } = { fn: null };
    this.#slots.push(slot);
    return (fn) => {
      slot.fn = fn;
      this.#drain();
    };
  }

  /** Events from now on wait for release(). */
  hold(): void {
    this.#holding = true;
  }

  /** Lets held events out, in order, up to the first one still waiting for zlib. */
  release(): void {
    this.#holding = false;
    this.#drain();
  }

  #drain(): void {
    while (!this.#holding && this.#slots.length > 0 && this.#slots[0]!.fn !== null) this.#slots.shift()!.fn!();
  }
}
