import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { linearBiasGrad, linearDims, linearForward, linearInputGrad, linearWeightGrad } from './matmul.js';

/** h + (x W^T + b) as one op, a residual connection around a linear layer: h is
 * added in place onto the product, so one output is written and kept instead of
 * the layer's output plus the sum (issue #7). The product is rounded to f32 before
 * h is added, exactly as add(h, linear(x, W, b)) does, so fusing changes no bit on
 * any backend (the reference's beta-1 product would round the sum once, in f64).
 * h [..., out], x [..., in], W [out, in] (f32 or bf16), b f32 [out] or null. The
 * gradient reaches h unchanged. */
export function residualLinear(h: Tensor, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (x.dim(-1) !== inF) throw new Error(`residualLinear: input has ${x.dim(-1)} features, weight expects ${inF}`);
  if (h.size !== (x.size / inF) * outF) throw new Error(`residualLinear: residual [${h.shape}] does not match output rows x ${outF}`);
  const out = empty(h.backend, h.shape);
  linearForward(x, weight, bias, out.f32, linearDims(x.size / inF, inF, outF));
  h.backend.axpby(1, h.f32, 1, out.f32); // out = h + out
  return record(out, 'residualLinear', bias ? [h, x, weight, bias] : [h, x, weight], (g) => [
    g,
    x.requiresGrad ? linearInputGrad(g, weight, x.shape) : null,
    weight.requiresGrad ? linearWeightGrad(g, x, weight) : null,
    ...(bias ? [bias.requiresGrad ? linearBiasGrad(g, outF) : null] : []),
  ]);
}
