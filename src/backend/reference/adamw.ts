// One AdamW step (Loshchilov & Hutter 2019) with PyTorch's torch.optim.AdamW semantics.

import type { Backend } from '../backend.js';

export const adamw: Backend['adamw'] = ({ param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step }) => {
  if (!(step >= 1)) throw new RangeError(`adamw: step is 1-based, got ${step}`);
  const correction1 = 1 - beta1 ** step;
  const correction2 = 1 - beta2 ** step;
  const decay = 1 - lr * weightDecay; // decoupled: shrinks p, never enters m or v
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    const mHat = m[i] / correction1;
    const vHat = v[i] / correction2;
    param[i] = param[i] * decay - (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
};
