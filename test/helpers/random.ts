// Seeded random test data: the same seed gives the same arrays on every run and machine.

// one PRNG for the library and its tests
import { mulberry32 } from '../../src/tensor/random.js';

export { mulberry32 };

/** n standard normal samples (Box-Muller). */
export function randn(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - next(); // in (0, 1]: log stays finite
    const u2 = next();
    const radius = Math.sqrt(-2 * Math.log(u1));
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** n samples uniform in [lo, hi). */
export function randu(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}

/** n integers uniform in [lo, hi). */
export function randint(n: number, seed: number, lo: number, hi: number): Int32Array {
  const next = mulberry32(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor((hi - lo) * next());
  return out;
}
