import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { linearBiasGrad, linearDims, linearForward, linearInputGrad, linearWeightGrad } from './matmul.js';

/** h + (x W^T + b) as one op, a residual connection around a linear layer: the
 * product accumulates (beta 1) onto a copy of h, so one output is written and kept
 * instead of the layer's output plus the sum (issue #7). h [..., out], x [..., in],
 * W [out, in] (f32 or bf16), b f32 [out] or null. The gradient reaches h unchanged. */
export function residualLinear(h: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (x.dim(-1) !== inF) throw new Error(`residualLinear: input has ${x.dim(-1)} features, weight expects ${inF}`);
  if (h.size !== (x.size / inF) * outF) throw new Error(`residualLinear: residual [${h.shape}] does not match output rows x ${outF}`);
  const out = empty(h.backend, h.shape);
  out.f32.set(h.f32);
  linearForward(x, weight, bias, out.f32, linearDims(x.size / inF, inF, outF), 1);
  return record(out, 'residualLinear', bias ? [h, x, weight, bias] : [h, x, weight], (g) => [
    g,
    x.requiresGrad ? linearInputGrad(g, weight, x.shape) : null,
    weight.requiresGrad ? linearWeightGrad(g, x, weight) : null,
    ...(bias ? [bias.requiresGrad ? linearBiasGrad(g, outF) : null] : []),
  ]);
}
