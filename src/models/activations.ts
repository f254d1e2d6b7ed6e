import { ColaError } from '../errors.js';
import type { Activation } from '../nn/activation.js';

/** transformers' ACT2FN names for the MLP activations OPT and GPT-2 configs use.
 * gelu_new, gelu_fast and gelu_pytorch_tanh are the same tanh formula. */
const ACTIVATIONS: Record<string, Activation> = {
  relu: 'relu',
  gelu: 'gelu_erf',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
};

/** Checks an activation name from config.json (`file`, `key`) and returns it. */
export function activationName(name: string, file: string, key: string): string {
  if (!(name in ACTIVATIONS)) {
    throw new ColaError(`${file}: key "${key}" is "${name}"; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  return name;
}

/** The activation a config.json name stands for. */
export function activation(name: string): Activation {
  const act = ACTIVATIONS[name];
  if (!act) throw new Error(`unknown activation ${name}`);
  return act;
}
