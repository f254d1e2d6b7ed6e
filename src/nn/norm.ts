import { layerNorm, rmsNorm } from '../tensor/ops/norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class RMSNorm extends Module {
  constructor(
    public weight: Tensor,
    private readonly _eps: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this._eps);
  }
}

export class LayerNorm extends Module {
  constructor(
    public weight: Tensor,
    public bias: Tensor | null,
    private readonly _eps: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this._eps);
  }
}
