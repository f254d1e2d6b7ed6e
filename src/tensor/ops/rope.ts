import type { Backend, RopeLayout } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { bumpVersion } from '../version.js';
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

/** Rotate x [B, T, H, D] at the given absolute positions: [T] shared by every row,
 * or [B * T], one per token (packed sequences restart at 0 per row, issue 18). */
export function rope(x: Tensor, positions: Int32Array, table: RopeTable, layout: RopeLayout): Tensor {
  const rotate = rotation(x, positions, table, layout);
  const out = zeros(x.backend, x.shape);
  rotate(x.f32, out.f32, false);
  return record(out, 'rope', [x], (g) => [rotateBack(rotate, g)]);
}

/** rope() written over x's own storage, for an x whose values no backward reads: a q
 * or k projection's fresh output (decoder/attention.ts; a linear layer's backward reads
 * its input, never its output). rope() leaves both x and the rotated copy to the graph:
 * d + kv floats per token and layer, ~1 GB per 1024 tokens at Llama-2-7B's shape. The
 * result shares x's storage, and x holds the rotated values afterwards. */
export function ropeInPlace(x: Tensor, positions: Int32Array, table: RopeTable, layout: RopeLayout): Tensor {
  const rotate = rotation(x, positions, table, layout);
  rotate(x.f32, x.f32, false); // the backends' rope may write over its input (RopeArgs)
  bumpVersion(x.data.buffer);
  const out = new Tensor(x.data, x.shape, x.dtype, x.backend);
  return record(out, 'ropeInPlace', [x], (g) => [rotateBack(rotate, g)]);
}

type Rotate = (from: Float32Array, to: Float32Array, inverse: boolean) => void;

/** from -> to rotated at x's positions (inverse: by -angle, the backward pass). */
function rotation(x: Tensor, positions: Int32Array, table: RopeTable, layout: RopeLayout): Rotate {
  const [batch, seq, heads, headDim] = x.shape as [number, number, number, number];
  const perRow = positions.length === batch * seq && batch > 1;
  if (positions.length !== seq && !perRow) throw new Error(`rope: ${positions.length} positions for ${seq} rows (batch ${batch})`);
  for (const p of positions)
    if (p < 0 || p >= table.maxPositions) throw new Error(`rope: position ${p} beyond the table (${table.maxPositions})`);
  const args = { batch, seq, heads, headDim, rotaryDim: table.rotaryDim, layout };
  return (from, to, inverse) => {
    if (!perRow) return x.backend.rope({ x: from, out: to, positions, cos: table.cos, sin: table.sin, ...args, inverse });
    // The primitive takes [T] positions: one call per batch row, on that row's slice.
    const n = seq * heads * headDim;
    for (let b = 0; b < batch; b++) {
      const rows = { x: from.subarray(b * n, (b + 1) * n), out: to.subarray(b * n, (b + 1) * n) };
      x.backend.rope({
        ...rows,
        positions: positions.subarray(b * seq, (b + 1) * seq),
        cos: table.cos,
        sin: table.sin,
        ...args,
        batch: 1,
        inverse,
      });
    }
  };
}

function rotateBack(rotate: Rotate, g: Tensor): Tensor {
  const gx = zeros(g.backend, g.shape);
  rotate(g.f32, gx.f32, true);
  return gx;
}
