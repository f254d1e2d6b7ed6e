// DoRA (Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation", arXiv 2402.09353;
// PEFT's use_dora / DoraLinearLayer). The adapted weight is
//   W' = m * (W + s B A) / ||W + s B A||_row        m [out], norms per output row,
// with m trainable (PEFT's lora_magnitude_vector, initialised to ||W + s B A||_row so a
// fresh adapter is the identity) and the norm treated as a constant in backward (paper
// sec. 4.3, PEFT's weight_norm.detach()): gradients reach m, A and B, never the norm.
import { Linear } from '../nn/linear.js';
import { add, mul, scale } from '../tensor/ops/elementwise.js';
import { loraLinear } from '../tensor/ops/lora.js';
import { linear } from '../tensor/ops/matmul.js';
import { Tensor } from '../tensor/tensor.js';

/** ||W + delta||_row [out] for W (and delta, if given) [out, in], accumulated in f64. */
export function rowNorms(W: Float32Array, delta: Float32Array | null, out: number): Float32Array {
  const inF = W.length / out;
  const norms = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let sq = 0;
    for (let i = o * inF; i < (o + 1) * inF; i++) {
      const v = delta ? W[i]! + delta[i]! : W[i]!;
      sq += v * v;
    }
    norms[o] = Math.sqrt(sq);
  }
  return norms;
}

export interface DoraForwardArgs {
  x: Tensor; // (..., in)
  /** the LoRA path's input: x, or a dropout of it */
  h: Tensor;
  base: Linear;
  A: Tensor; // [r, in]
  B: Tensor; // [out, r]
  scale: number;
  m: Tensor; // [out], trainable
  /** ||W + s B A||_row [out], detached */
  norms: Float32Array;
}

/** PEFT's DoRA forward: base(x) + (m/n - 1) W h + (m/n) s B A h. Without dropout
 * (h = x) that is (m/n) (W x + s B A x) + b, computed as one fused LoRA product. */
export function doraForward(a: DoraForwardArgs): Tensor {
  const { x, h, base, m } = a;
  const be = m.backend;
  const inv = be.alloc('f32', a.norms.length) as Float32Array;
  for (let o = 0; o < inv.length; o++) inv[o] = 1 / a.norms[o]!;
  const mOverN = mul(m, new Tensor(inv, [inv.length], 'f32', be, false)); // [out], grad to m only
  const { weight, bias } = base;
  const z = loraLinear(h, { weight, bias: null, A: a.A, B: a.B, scale: a.scale }); // W h + s B A h: (..., out)
  const scaled = mul(z, mOverN); // (..., out) * (out)
  if (h === x && (!bias || bias.dtype === 'f32')) return bias ? add(scaled, bias) : scaled;
  return add(base.forward(x), add(scaled, scale(linear(h, weight), -1)));
}
