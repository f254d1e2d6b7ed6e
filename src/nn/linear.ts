import { linear } from '../tensor/ops/matmul.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

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

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** Anything that maps [..., in] to [..., out] like a Linear (LoRA wraps these). */
export interface LinearLike extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: Tensor): Tensor;
}
