/** The gated MLP of Llama (SwiGLU) and Gemma (GeGLU): down(act(gate(x)) * up(x)), with
 * the checkpoint's names gate_proj, up_proj, down_proj. Phi-3 fuses gate and up (its own). */
import { linearFrom } from '../build.js';
import type { Activation } from '../../nn/activation.js';
import type { LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { gatedActivation } from '../../tensor/ops/gatedActivation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { WeightSource } from '../weightSource.js';
import type { DecoderMLP } from './layer.js';

export interface GatedMlpSpec {
  hidden_size: number;
  intermediate_size: number;
  bias: boolean;
  activation: Activation;
}

export class GatedMLP extends Module implements DecoderMLP {
  gate_proj: LinearLike;
  up_proj: LinearLike;
  down_proj: LinearLike;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _spec: GatedMlpSpec,
  ) {
    super();
    const { hidden_size: d, intermediate_size: f, bias } = _spec;
    this.gate_proj = linearFrom(src, `${prefix}.gate_proj`, f, d, bias);
    this.up_proj = linearFrom(src, `${prefix}.up_proj`, f, d, bias);
    this.down_proj = linearFrom(src, `${prefix}.down_proj`, d, f, bias);
  }

  /** (residual +) down(act(gate(x)) * up(x)); down_proj adds the residual when given. */
  forward(x: Tensor, residual?: Tensor): Tensor {
    const gated = gatedActivation(this._spec.activation, this.gate_proj.forward(x), this.up_proj.forward(x)); // (B, T, f)
    return this.down_proj.forward(gated, { residual });
  }
}
