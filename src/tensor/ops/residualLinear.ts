import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { weightForward, weightGrads, weightInputGrad, weightInputs, weightShape, type LayerWeight } from './layerWeight.js';
import { linearBiasGrad } from './matmul.js';

/** h + (x W^T + b) as one op, a residual connection around a linear layer: h is
 * added in place onto the product, so one output is written and kept instead of
 * the layer's output plus the sum (issue #7). The product is rounded to f32 before
 * h is added, exactly as add(h, linear(x, W, b)) does, so fusing changes no bit on
 * any backend (the reference's beta-1 product would round the sum once, in f64).
 * h [..., out], x [..., in], W [out, in] (f32, bf16 or quantized: layerWeight.ts), b f32
 * [out] or null. The
 * gradient reaches h unchanged. */
export function residualLinear(h: Tensor, x: Tensor, weight: LayerWeight, bias: Tensor | null): Tensor {
  const [outF, inF] = weightShape(weight);
  if (x.dim(-1) !== inF) throw new Error(`residualLinear: input has ${x.dim(-1)} features, weight expects ${inF}`);
  if (h.size !== (x.size / inF) * outF) throw new Error(`residualLinear: residual [${h.shape}] does not match output rows x ${outF}`);
  const out = empty(h.backend, h.shape);
  weightForward(x, weight, bias, out.f32);
  h.backend.axpby(1, h.f32, 1, out.f32); // out = h + out
  return record(out, 'residualLinear', [h, x, ...weightInputs(weight), ...(bias ? [bias] : [])], (g) => [
    g,
    x.requiresGrad ? weightInputGrad(g, weight, x.shape) : null,
    ...weightGrads(g, x, weight),
    ...(bias ? [bias.requiresGrad ? linearBiasGrad(g, outF) : null] : []),
  ]);
}
