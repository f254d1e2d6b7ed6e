// Seeded initialisation of LoRA's A matrix. B always starts at zero, so a fresh
// adapter leaves the model unchanged (Hu et al. 2021, sec. 4.1).

export { mulberry32, type Rng } from '../tensor/random.js';
import type { Rng } from '../tensor/random.js';

/** A 32-bit seed from a base seed and an index (layer number, link number, step):
 * distinct inputs give unrelated streams. */
export function deriveSeed(seed: number, index: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** A: [r, in] (f32).
 * - 'kaiming': PyTorch's kaiming_uniform_(a=sqrt(5)), nn.Linear's default and what
 *   loralib/PEFT use: bound = gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + 5))
 *   and fan_in = A.size(1) = in, i.e. U(-1/sqrt(in), 1/sqrt(in)) (checked on both
 *   bounds in test/lora/init.test.ts).
 * - 'gaussian': PEFT's init_lora_weights="gaussian", normal with std 1/r. */
export function initLoraA(kind: 'kaiming' | 'gaussian', r: number, inFeatures: number, rng: Rng): Float32Array {
  const a = new Float32Array(r * inFeatures);
  if (kind === 'kaiming') {
    const bound = 1 / Math.sqrt(inFeatures);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng() - 1) * bound;
  } else {
    const std = 1 / r;
    for (let i = 0; i < a.length; i++) a[i] = gaussian(rng) * std;
  }
  return a;
}

/** One standard normal sample (Box-Muller). */
function gaussian(rng: Rng): number {
  const u1 = 1 - rng(); // in (0, 1]: log stays finite
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng());
}
