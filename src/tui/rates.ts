/**
 * Frames and bytes per second over a short sliding window, in fixed buckets so that counting is
 * O(1) per frame and reading is O(buckets).
 */
export class RateMeter {
  readonly #bucketMs: number;
  readonly #frames: Float64Array;
  readonly #bytes: Float64Array;
  /** Bucket number (time / bucketMs) each slot last counted for. */
  readonly #slot: Float64Array;

  constructor(
    readonly windowMs = 2000,
    buckets = 8,
  ) {
    this.#bucketMs = windowMs / buckets;
    this.#frames = new Float64Array(buckets);
    this.#bytes = new Float64Array(buckets);
    this.#slot = new Float64Array(buckets).fill(-1);
  }

  add(time: number, bytes: number): void {
    const bucket = Math.floor(time / this.#bucketMs);
    const i = bucket % this.#slot.length;
    if (this.#slot[i] !== bucket) {
      this.#slot[i] = bucket;
      this.#frames[i] = 0;
      this.#bytes[i] = 0;
    }
    this.#frames[i]! += 1;
    this.#bytes[i]! += bytes;
  }

  /** Per-second rates over the window that ends at `now`. */
  read(now: number): { readonly frames: number; readonly bytes: number } {
    const current = Math.floor(now / this.#bucketMs);
    const oldest = current - this.#slot.length + 1;
    let frames = 0;
    let bytes = 0;
    for (let i = 0; i < this.#slot.length; i++) {
      const slot = this.#slot[i]!;
      if (slot >= oldest && slot <= current) {
        frames += this.#frames[i]!;
        bytes += this.#bytes[i]!;
      }
    }
    const seconds = this.windowMs / 1000;
    return { frames: frames / seconds, bytes: bytes / seconds };
  }

  reset(): void {
    this.#slot.fill(-1);
  }
}
