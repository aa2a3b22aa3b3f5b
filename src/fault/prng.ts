/**
 * The seeded randomness behind every probability and jitter. One seed (--fault-seed, printed at
 * start); each draw is a hash of the seed and where it is drawn (rule, session, direction, how
 * many draws that rule made there before), so a replay gives the same draws however the two
 * directions and the sessions interleave in time.
 */

/** A 32-bit integer finaliser (the "lowbias32" mixer): every input bit moves every output bit. */
function mix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export class FaultRandom {
  readonly seed: number;
  readonly #counters = new Map<string, number>();

  constructor(seed: number) {
    this.seed = seed >>> 0;
  }

  /** A fresh seed when none was given. */
  static randomSeed(): number {
    return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
  }

  /** The next number in [0, 1) of the stream named by these keys. */
  next(...keys: readonly number[]): number {
    const name = keys.join(',');
    const n = this.#counters.get(name) ?? 0;
    this.#counters.set(name, n + 1);
    let h = mix(this.seed ^ 0x9e3779b9);
    for (const k of keys) h = mix(h ^ mix(k + 0x632be5ab));
    h = mix(h ^ mix(n ^ 0x85ebca6b));
    return h / 0x1_0000_0000;
  }

  /** Forgets the draws of streams whose first key is `key` (a session that ended). */
  forget(key: number): void {
    const prefix = `${key},`;
    for (const name of this.#counters.keys()) if (name.startsWith(prefix)) this.#counters.delete(name);
  }
}
