import type { Backend, RopeLayout } from '../../backend/backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { zeros } from './creation.js';

/** cos/sin tables [maxPositions, rotaryDim/2] for RoPE: angle = pos * invFreq[i].
 * invFreq defaults to theta^(-2i/rotaryDim) (Su et al.); scaled variants (llama3)
 * pass their own. */
export interface RopeTable {
  cos: Float32Array;
  sin: Float32Array;
  rotaryDim: number;
  maxPositions: number;
}

export function ropeTable(backend: Backend, rotaryDim: number, maxPositions: number, theta: number, invFreq?: Float64Array): RopeTable {
  const half = rotaryDim / 2;
  const freqs = invFreq ?? Float64Array.from({ length: half }, (_, i) => Math.pow(theta, (-2 * i) / rotaryDim));
  const cos = backend.alloc('f32', maxPositions * half) as Float32Array;
  const sin = backend.alloc('f32', maxPositions * half) as Float32Array;
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      // f32 angle as PyTorch/HF compute it (positions and inv_freq in f32)
      const angle = Math.fround(p * Math.fround(freqs[i]!));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, rotaryDim, maxPositions };
}

/** Rotate x [B, T, H, D] at the given absolute positions [T]. */
export function rope(x: Tensor, positions: Int32Array, table: RopeTable, layout: RopeLayout): Tensor {
  const [batch, seq, heads, headDim] = x.shape as [number, number, number, number];
  if (positions.length !== seq) throw new Error(`rope: ${positions.length} positions for ${seq} rows`);
  for (const p of positions)
    if (p < 0 || p >= table.maxPositions) throw new Error(`rope: position ${p} beyond the table (${table.maxPositions})`);
  const args = { batch, seq, heads, headDim, rotaryDim: table.rotaryDim, layout, inverse: false };
  const out = zeros(x.backend, x.shape);
  x.backend.rope({ x: x.f32, out: out.f32, positions, cos: table.cos, sin: table.sin, ...args });
  return record(out, 'rope', [x], (g) => {
    const gx = zeros(x.backend, x.shape);
    x.backend.rope({ x: g.f32, out: gx.f32, positions, cos: table.cos, sin: table.sin, ...args, inverse: true });
    return [gx];
  });
}
