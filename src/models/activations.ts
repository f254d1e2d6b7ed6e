import { ColaError } from '../errors.js';
import { gelu, relu } from '../tensor/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';

/** transformers' ACT2FN names for the MLP activations OPT and GPT-2 configs use.
 * gelu_new, gelu_fast and gelu_pytorch_tanh are the same tanh formula. */
const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  relu,
  gelu: (x) => gelu(x, 'erf'),
  gelu_new: (x) => gelu(x, 'tanh'),
  gelu_fast: (x) => gelu(x, 'tanh'),
  gelu_pytorch_tanh: (x) => gelu(x, 'tanh'),
};

/** Checks an activation name from config.json (`file`, `key`) and returns it. */
export function activationName(name: string, file: string, key: string): string {
  if (!(name in ACTIVATIONS)) {
    throw new ColaError(`${file}: key "${key}" is "${name}"; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  return name;
}

export function activation(name: string): (x: Tensor) => Tensor {
  const fn = ACTIVATIONS[name];
  if (!fn) throw new Error(`unknown activation ${name}`);
  return fn;
}
