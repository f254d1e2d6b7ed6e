import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { zeros } from './creation.js';

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  const cols = x.dim(-1);
  const rows = x.size / cols;
  const out = zeros(x.backend, x.shape);
  x.backend.softmax(x.f32, out.f32, rows, cols);
  return record(out, 'softmax', [x], (g) => {
    const gx = zeros(x.backend, x.shape);
    x.backend.softmaxBackward({ y: out.f32, dy: g.f32, dx: gx.f32, rows, cols, accumulate: false });
    return [gx];
  });
}

/** Log-softmax over the last axis. */
export function logSoftmax(x: Tensor): Tensor {
  const cols = x.dim(-1);
  const rows = x.size / cols;
  const out = zeros(x.backend, x.shape);
  x.backend.logSoftmax(x.f32, out.f32, rows, cols);
  return record(out, 'logSoftmax', [x], (g) => {
    const gx = zeros(x.backend, x.shape);
    x.backend.logSoftmaxBackward({ y: out.f32, dy: g.f32, dx: gx.f32, rows, cols, accumulate: false });
    return [gx];
  });
}
