import { add } from '../tensor/ops/elementwise.js';
import { linearRelu } from '../tensor/ops/linearRelu.js';
import { isQuantBase, type LayerWeight } from '../tensor/ops/layerWeight.js';
import { linear } from '../tensor/ops/matmul.js';
import { quantLinear } from '../tensor/ops/quantLinear.js';
import { residualLinear } from '../tensor/ops/residualLinear.js';
import type { Tensor } from '../tensor/tensor.js';
import { activate, type Activation } from './activation.js';
import { Module } from './module.js';

/** What a model does with a linear layer's output, stated at the call so the
 * layer can run it fused (issue 13: the fusions live below the model line, so
 * every family gets them): y = residual + activation(x W^T + b). */
export interface LinearOptions {
  /** applied to the product (with bias) */
  activation?: Activation;
  /** added last: a residual connection around the layer, same shape as the output */
  residual?: Tensor;
}

/** y = x W^T + b with weight [out, in] (the PyTorch / checkpoint layout). */
export class Linear extends Module {
  constructor(
    public weight: Tensor,
    public bias: Tensor | null = null,
  ) {
    super();
  }

  get inFeatures(): number {
    return this.weight.dim(1);
  }

  get outFeatures(): number {
    return this.weight.dim(0);
  }

  forward(x: Tensor, opts: LinearOptions = {}): Tensor {
    return applyLinear(x, this.weight, this.bias, opts);
  }
}

/** residual + activation(x W^T + b) for a dense or a quantized weight (layerWeight.ts):
 * fused where a kernel exists (ReLU after the product; a residual added onto it),
 * else composed; either way the same numbers (test/nn/linear.test.ts,
 * test/nn/quantizedLinear.test.ts). */
export function applyLinear(x: Tensor, weight: LayerWeight, bias: Tensor | null, opts: LinearOptions): Tensor {
  const { activation, residual } = opts;
  const fusable = !bias || bias.dtype === 'f32'; // the kernels take an f32 bias
  if (fusable && activation === 'relu' && !residual) return linearRelu(x, weight, bias);
  if (fusable && residual && !activation) return residualLinear(residual, x, weight, bias);
  const y = isQuantBase(weight) ? quantLinear(x, { weight: weight.quant, bias, residual: weight.residual }) : linear(x, weight, bias);
  return finishLinear(y, opts);
}

/** Anything that maps [..., in] to [..., out] like a Linear (LoRA wraps these),
 * honouring the same options. */
export interface LinearLike extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: Tensor, opts?: LinearOptions): Tensor;
}

/** residual + activation(y): the options applied by separate ops, for paths
 * without a fused kernel. */
export function finishLinear(y: Tensor, opts: LinearOptions): Tensor {
  const activated = opts.activation ? activate(y, opts.activation) : y;
  return opts.residual ? add(opts.residual, activated) : activated;
}
