/**
 * numpy's legacy global RNG (`np.random.seed` / `RandomState`), bit for bit: MT19937 seeded
 * with init_genrand, `permutation` = Fisher-Yates from the back with numpy's masked
 * rejection sampler (`random_interval`). MeZO samples its train/dev/test subsets with
 * `np.random.permutation(n)` under `temp_seed(seed)` (MeZO large_models/tasks.py,
 * `sample_subset`), so reproducing it exactly gives the same examples as the paper's runs.
 * Verified against numpy 1.24 by test/data/numpyRandom.test.ts (fixture from
 * scripts/numpy_fixture.py).
 */
import { ColaError } from '../errors.js';

const N = 624;
const M = 397;

export class RandomState {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new ColaError(`RandomState: seed must be an integer in [0, 2^32-1], found ${seed}; pass e.g. --seed 42`);
    }
    this.seed(seed);
  }

  /** mt19937_seed / init_genrand (numpy legacy seeding for an int seed). */
  seed(seed: number): void {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1];
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.pos = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      let v = mt[(i + M) % N] ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[i] = v >>> 0;
    }
    this.pos = 0;
  }

  /** genrand_int32: the next raw 32-bit output. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy random_interval: uniform in [0, max] by masking and rejecting (max < 2^32). */
  interval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new ColaError(`RandomState.interval: max ${max} above 2^32-1 is not supported`);
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** In-place shuffle, as numpy's legacy `_shuffle_raw`. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i >= 1; i--) {
      const j = this.interval(i);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }

  /** np.random.permutation(n). */
  permutation(n: number): number[] {
    const xs = Array.from({ length: n }, (_, i) => i);
    return this.shuffle(xs);
  }

  /** np.random.choice(n, size, replace=False) without p: legacy numpy takes permutation(n)[:size]. */
  choiceNoReplace(n: number, size: number): number[] {
    if (size > n) throw new ColaError(`RandomState.choice: cannot take ${size} of ${n} without replacement`);
    return this.permutation(n).slice(0, size);
  }
}
