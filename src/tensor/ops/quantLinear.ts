import type { QuantWeight } from '../../backend/quant/format.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { weightForward, weightInputGrad, type LowRankResidual, type QuantBase } from './layerWeight.js';
import { linearBiasGrad } from './matmul.js';

export type { LowRankResidual } from './layerWeight.js';

export interface QuantLinearParams {
  weight: QuantWeight; // W [out, in], frozen
  bias: Tensor | null; // [out], f32
  residual: LowRankResidual | null;
}

/** y = x dequant(W)^T + b + (x A^T) B^T for x [..., in]: the quantized product runs
 * on tiles (backend quantMatmul), W is never materialized. Gradients reach x (g W +
 * (g B) A) and a trainable bias; W and the residual are frozen. (With a ReLU after it,
 * a residual around it or LoRA on it, the fused ops take the QuantBase instead:
 * layerWeight.ts.) */
export function quantLinear(x: Tensor, p: QuantLinearParams): Tensor {
  const { weight: w, bias } = p;
  const base: QuantBase = { quant: w, residual: p.residual };
  const outF = w.rows;
  if (x.dim(-1) !== w.cols) throw new Error(`quantLinear: input has ${x.dim(-1)} features, weight expects ${w.cols}`);
  if (bias && (bias.dtype !== 'f32' || bias.size !== outF)) throw new Error(`quantLinear: bias must be f32 [${outF}]`);
  const out = empty(x.backend, [...x.shape.slice(0, -1), outF]);
  weightForward(x, base, bias, out.f32);
  return record(out, 'quantLinear', bias ? [x, bias] : [x], (g) => {
    const dx = x.requiresGrad ? weightInputGrad(g, base, x.shape) : null;
    return bias ? [dx, bias.requiresGrad ? linearBiasGrad(g, outF) : null] : [dx];
  });
}
