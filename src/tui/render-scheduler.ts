/**
 * When traffic may redraw: at most `maxRate` renders a second, and less often when drawing itself
 * is slow, so a flood of frames does not spend the CPU on the screen. Keys render at once (run()).
 */
/** Interval between traffic-driven renders, as a multiple of how long the last draw took. */
const DRAW_SHARE = 10;

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

  /** Time between traffic-driven renders now. */
  get interval(): number {
    return this.#interval;
  }

  /** Draws now (dropping any pending render) and adapts the interval to how long that took. */
  run(draw: () => void): void {
    this.cancel();
    const started = this.#now();
    this.#last = started;
    draw();
    // Keep drawing under about a tenth of the time while traffic floods in: the relay shares the
    // thread, and a screen a few times a second is enough to read a flood.
    this.#interval = Math.max(this.#minInterval, Math.min(1000, (this.#now() - started) * DRAW_SHARE));
  }

  cancel(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}
