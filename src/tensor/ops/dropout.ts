import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { zeros } from './creation.js';

/** Inverted dropout with a counter-based mask (see dropoutUniform in backend.ts):
 * the same (seed, offset) gives the same mask on every backend and after a resume. */
export function dropout(x: Tensor, p: number, seed: number, offset = 0): Tensor {
  if (p <= 0) return x;
  if (p >= 1) throw new Error(`dropout probability must be < 1, got ${p}`);
  const out = zeros(x.backend, x.shape);
  x.backend.dropout({ x: x.f32, out: out.f32, p, seed, offset });
  return record(out, 'dropout', [x], (g) => {
    const gx = zeros(x.backend, x.shape);
    x.backend.dropout({ x: g.f32, out: gx.f32, p, seed, offset });
    return [gx];
  });
}
