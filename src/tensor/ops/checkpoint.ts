import { backward, isGradEnabled, noGrad, record, withGrad } from '../autograd.js';
import { Tensor } from '../tensor.js';

/** Activation checkpointing: y = fn(x) keeping only x, not fn's intermediates;
 * backward runs fn again with the graph recorded and backpropagates through it
 * (one more forward pass per step for a block's activations: how a 1.3B-parameter
 * model trains in ~1.3x its bf16 weights, issue #7). `params` are the trainable
 * tensors fn reads: they get their gradients (.grad) from the inner sweep. fn must
 * be deterministic: no dropout, whose masks would differ on the second run. */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[]): Tensor {
  if (!isGradEnabled()) return fn(x);
  const out = noGrad(() => fn(x));
  return record(out, 'checkpoint', [x, ...params], (g) => {
    const leaf = new Tensor(x.data, x.shape, x.dtype, x.backend, x.requiresGrad);
    const y = withGrad(() => fn(leaf));
    if (y.requiresGrad) backward(y, g);
    return [leaf.grad, ...params.map(() => null)];
  });
}
