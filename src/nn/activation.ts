import { unary } from '../tensor/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';

/** The activations a model's MLP applies after a linear layer (models map their
 * config.json names onto these: models/activations.ts). 'gelu_tanh' is GPT-2's
 * approximation (gelu_new), 'gelu_erf' the exact GELU (OPT, BERT). */
export type Activation = 'relu' | 'silu' | 'gelu_tanh' | 'gelu_erf';

export function activate(x: Tensor, act: Activation): Tensor {
  return unary(act, x);
}
