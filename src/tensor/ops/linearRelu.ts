import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { weightForward, weightGrads, weightInputGrad, weightInputs, weightShape, type LayerWeight } from './layerWeight.js';
import { linearBiasGrad } from './matmul.js';

/** relu(x W^T + b) as one op: the product (bias fused) is rectified in place, so
 * one [rows, out] tensor is written and kept instead of two (OPT's fc1 is the
 * widest activation of a block: issue #7). Backward reads relu' from the output:
 * y > 0 exactly where the pre-activation was > 0. b is f32 or null; W dense or
 * quantized (layerWeight.ts). */
export function linearRelu(x: Tensor, weight: LayerWeight, bias: Tensor | null): Tensor {
  const [outF, inF] = weightShape(weight);
  if (x.dim(-1) !== inF) throw new Error(`linearRelu: input has ${x.dim(-1)} features, weight expects ${inF}`);
  const be = x.backend;
  const out = empty(be, [...x.shape.slice(0, -1), outF]);
  weightForward(x, weight, bias, out.f32);
  be.unary('relu', out.f32, out.f32);
  return record(out, 'linearRelu', [x, ...weightInputs(weight), ...(bias ? [bias] : [])], (g) => {
    const gPre = empty(be, out.shape);
    be.unaryBackward({ op: 'relu', x: out.f32, dy: g.f32, dx: gPre.f32, accumulate: false });
    return [
      x.requiresGrad ? weightInputGrad(gPre, weight, x.shape) : null,
      ...weightGrads(gPre, x, weight),
      ...(bias ? [bias.requiresGrad ? linearBiasGrad(gPre, outF) : null] : []),
    ];
  });
}
