import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { linearBiasGrad, linearDims, linearForward, linearInputGrad, linearWeightGrad } from './matmul.js';

/** relu(x W^T + b) as one op: the product (bias fused) is rectified in place, so
 * one [rows, out] tensor is written and kept instead of two (OPT's fc1 is the
 * widest activation of a block: issue #7). Backward reads relu' from the output:
 * y > 0 exactly where the pre-activation was > 0. b is f32 or null. */
export function linearRelu(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (x.dim(-1) !== inF) throw new Error(`linearRelu: input has ${x.dim(-1)} features, weight expects ${inF}`);
  const be = x.backend;
  const out = empty(be, [...x.shape.slice(0, -1), outF]);
  linearForward(x, weight, bias, out.f32, linearDims(x.size / inF, inF, outF));
  be.unary('relu', out.f32, out.f32);
  return record(out, 'linearRelu', bias ? [x, weight, bias] : [x, weight], (g) => {
    const gPre = empty(be, out.shape);
    be.unaryBackward({ op: 'relu', x: out.f32, dy: g.f32, dx: gPre.f32, accumulate: false });
    return [
      x.requiresGrad ? linearInputGrad(gPre, weight, x.shape) : null,
      weight.requiresGrad ? linearWeightGrad(gPre, x, weight) : null,
      ...(bias ? [bias.requiresGrad ? linearBiasGrad(gPre, outF) : null] : []),
    ];
  });
}
