import { Module } from '../../nn/module.js';
import { tensor } from '../../tensor/ops/creation.js';
import { add } from '../../tensor/ops/elementwise.js';
import { rmsNorm } from '../../tensor/ops/norm.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { WeightSource } from '../weightSource.js';

/** Gemma's RMSNorm scales by (1 + weight), in f32 (HF Gemma2RMSNorm / Gemma3RMSNorm):
 * the checkpoint stores weight, zero-centred. The file keeps `weight`; the sum is
 * taken on every call so full fine-tuning trains the stored value. */
export class GemmaRMSNorm extends Module {
  private readonly _one: Tensor;

  constructor(
    public weight: Tensor,
    private readonly _eps: number,
  ) {
    super();
    this._one = tensor(weight.backend, [1], [1]);
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, add(this.weight, this._one), this._eps);
  }
}

export function gemmaNormFrom(src: WeightSource, prefix: string, dim: number, eps: number): GemmaRMSNorm {
  return new GemmaRMSNorm(src.get(`${prefix}.weight`, [dim], 'norm')!, eps);
}
