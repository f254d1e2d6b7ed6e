import type { QuantWeight } from '../../backend/quant/format.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { linearDims, linearForward, linearInputGrad, linearWeightGrad, raw } from './matmul.js';

// The weight of a linear layer as the fused ops (linearRelu, residualLinear,
// loraLinear) apply it: a dense tensor, or a frozen quantized one (issue 17). With
// one seam for both, a quantized base gets the same fusions as a dense one: composed
// instead, a QLoRA step kept each quantized layer's output, its ReLU input and its
// LoRA branch as separate [rows, out] tensors (~720 MiB more at OPT-125m's batch 8 x 256
// in nf4, which the dense step never held; bench/RESULTS.md, session 11).

/** A frozen low-rank term beside a quantized weight: the merged links of a COLA chain
 * (issue 17), kept instead of being folded into the codes. A = [A_1; ...; A_L] [R, in],
 * B = [s_1 B_1, ..., s_L B_L] [out, R] (f32, scales folded into B: lora/chain.ts
 * stackChain with target scale 1, the same numbers the exported adapter holds). */
export interface LowRankResidual {
  A: Tensor; // [R, in]
  B: Tensor; // [out, R]
}

/** A frozen quantized weight and its low-rank residual: the layer computes
 * y = x dequant(W)^T + (x A^T) B^T. */
export interface QuantBase {
  quant: QuantWeight; // W [out, in]
  residual: LowRankResidual | null;
}

/** A dense weight [out, in] (f32 or bf16; trainable in full fine-tuning), or a quantized one. */
export type LayerWeight = Tensor | QuantBase;

export function isQuantBase(w: LayerWeight): w is QuantBase {
  return (w as QuantBase).quant !== undefined;
}

/** [out, in] */
export function weightShape(w: LayerWeight): [number, number] {
  return isQuantBase(w) ? [w.quant.rows, w.quant.cols] : (w.shape as [number, number]);
}

/** The weight as an autograd input: the dense tensor, or nothing (codes are frozen state). */
export function weightInputs(w: LayerWeight): Tensor[] {
  return isQuantBase(w) ? [] : [w];
}

/** out [rows, out] = x W^T + b (b f32 or null). */
export function weightForward(x: Tensor, w: LayerWeight, bias: Tensor | null, out: Float32Array): void {
  const [outF, inF] = weightShape(w);
  const rows = x.size / inF;
  if (!isQuantBase(w)) return linearForward(x, w, bias, out, linearDims(rows, inF, outF));
  const be = x.backend;
  if (bias)
    be.copyStrided({
      src: bias.f32,
      srcOffset: 0,
      srcStrides: [0, 1],
      dst: out,
      dstOffset: 0,
      dstStrides: [outF, 1],
      shape: [rows, outF],
      accumulate: false,
    });
  // the product runs on tiles of the codes (backend quantMatmul): W is never materialized
  be.quantMatmul({ x: x.f32, w: w.quant, out, m: rows, mode: 'forward', beta: bias ? 1 : 0 });
  if (w.residual) {
    const R = w.residual.A.dim(0);
    const z = empty(be, [rows, R]); // x A^T
    raw(x.f32, 'f32', w.residual.A.f32, 'f32', z.f32, linearDims(rows, inF, R), x);
    raw(z.f32, 'f32', w.residual.B.f32, 'f32', out, linearDims(rows, R, outF), x, { beta: 1 });
  }
}

/** dx = g W: g [rows, out] -> [..., in] (xShape). */
export function weightInputGrad(g: Tensor, w: LayerWeight, xShape: readonly number[]): Tensor {
  if (!isQuantBase(w)) return linearInputGrad(g, w, xShape);
  const [outF, inF] = weightShape(w);
  const rows = g.size / outF;
  const be = g.backend;
  const dx = empty(be, xShape);
  be.quantMatmul({ x: g.f32, w: w.quant, out: dx.f32, m: rows, mode: 'inputGrad', beta: 0 });
  if (w.residual) {
    const R = w.residual.A.dim(0);
    const gz = empty(be, [rows, R]); // g B
    raw(g.f32, 'f32', w.residual.B.f32, 'f32', gz.f32, { ...linearDims(rows, outF, R), transB: false }, g);
    raw(gz.f32, 'f32', w.residual.A.f32, 'f32', dx.f32, { ...linearDims(rows, R, inF), transB: false }, g, { beta: 1 });
  }
  return dx;
}

/** The weight's gradients for record(), aligned with weightInputs: [dW] for a trainable
 * dense weight ([null] when frozen), [] for a quantized one. */
export function weightGrads(g: Tensor, x: Tensor, w: LayerWeight): (Tensor | null)[] {
  if (isQuantBase(w)) return [];
  return [w.requiresGrad ? linearWeightGrad(g, x, w) : null];
}
