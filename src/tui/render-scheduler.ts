/**
 * When traffic may redraw: at most `maxRate` renders a second, and less often when drawing itself
 * is slow, so a flood of frames does not spend the CPU on the screen. Keys render at once (run()).
 */
export class RenderScheduler {
  readonly #now: () => number;
  readonly #render: () => void;
  /** Least time between traffic-driven renders (from maxRate). */
  readonly #minInterval: number;
  /** Current time between renders: grows when renders are slow. */
  #interval: number;
  #timer: NodeJS.Timeout | null = null;
  #last = 0;

  /** `render` is what a scheduled render calls (it is expected to call run()). */
  constructor(now: () => number, maxRate: number | undefined, render: () => void) {
    this.#now = now;
    this.#render = render;
    this.#minInterval = 1000 / Math.max(1, maxRate ?? 20);
    this.#interval = this.#minInterval;
  }

  /** Asks for a render within the rate bound; traffic calls this, many times per render. */
  schedule(): void {
    if (this.#timer !== null) return;
    const wait = Math.max(0, this.#last + this.#interval - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#render();
    }, wait);
  }

  /** Draws now (dropping any pending render) and adapts the interval to how long that took. */
  run(draw: () => void): void {
    this.cancel();
    this.#last = this.#now();
    const started = performance.now();
    draw();
    // Keep drawing under about a fifth of the time while traffic floods in.
    this.#interval = Math.max(this.#minInterval, Math.min(1000, (performance.now() - started) * 5));
  }

  cancel(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}
