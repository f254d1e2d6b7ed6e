import type { Storage } from '../../backend/backend.js';
import { backward, isGradEnabled, noGrad, record, withGrad } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { empty } from './creation.js';

export interface CheckpointOptions {
  /** Items of x's first axis run, recomputed and backpropagated together. Set it
   * only when fn treats those items independently (a decoder layer over a batch of
   * sequences without a padding mask): both passes then hold one slice's
   * activations at a time instead of the whole batch's, a factor of batch /
   * sliceItems less for the largest term of a checkpointed step (issue #7). The
   * FLOPs are the same; the trainable parameters' gradients are summed slice by
   * slice, so they differ from an unsliced run only by rounding. Default: all. */
  sliceItems?: number;
}

/** Activation checkpointing: y = fn(x) keeping only x, not fn's intermediates;
 * backward runs fn again with the graph recorded and backpropagates through it
 * (one more forward pass per step for a block's activations: how a 1.3B-parameter
 * model trains in ~1.3x its bf16 weights, issue #7). `params` are the trainable
 * tensors fn reads: they get their gradients (.grad) from the inner sweep. fn must
 * be deterministic: no dropout, whose masks would differ on the second run. */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[], opts: CheckpointOptions = {}): Tensor {
  if (!isGradEnabled()) return fn(x);
  const items = x.rank === 0 ? 1 : x.dim(0);
  const per = Math.max(1, Math.min(items, opts.sliceItems ?? items));
  const out = noGrad(() => (per === items ? fn(x) : forwardInSlices(fn, x, items, per)));
  return record(out, 'checkpoint', [x, ...params], (g) => {
    if (per === items) return [recomputeSlice(fn, x, g), ...params.map(() => null)];
    const dx = x.requiresGrad ? empty(x.backend, x.shape) : null;
    for (let i0 = 0; i0 < items; i0 += per) {
      const xs = itemSlice(x, i0, per);
      const dxs = recomputeSlice(fn, xs, itemSlice(g, i0, per));
      if (dx && dxs) dx.f32.set(dxs.f32, (i0 * x.size) / items);
    }
    return [dx, ...params.map(() => null)];
  });
}

/** fn(x) a slice of items at a time, into one output. The forward pass's
 * intermediates are then slice-sized too: full-batch ones (OPT-1.3B's fc1 output:
 * 64 MiB) left holes that the kept outputs could not fill, and peak RSS crept up
 * step after step (bench/RESULTS.md). */
function forwardInSlices(fn: (x: Tensor) => Tensor, x: Tensor, items: number, per: number): Tensor {
  let out: Tensor | null = null;
  for (let i0 = 0; i0 < items; i0 += per) {
    const y = fn(itemSlice(x, i0, per));
    if (y.dtype !== 'f32') throw new Error(`checkpoint: fn must return f32 to run in slices, got ${y.dtype}`);
    out ??= empty(x.backend, [items, ...y.shape.slice(1)]);
    out.f32.set(y.f32, (i0 * y.size) / y.dim(0));
  }
  return out!;
}

/** fn(x) again with the graph recorded, backpropagated from g: x's gradient (the
 * params' gradients accumulate into their .grad on the way). */
function recomputeSlice(fn: (x: Tensor) => Tensor, x: Tensor, g: Tensor): Tensor | null {
  const leaf = new Tensor(x.data, x.shape, x.dtype, x.backend, x.requiresGrad);
  const y = withGrad(() => fn(leaf));
  if (y.requiresGrad) backward(y, g);
  return leaf.grad;
}

/** Items i0 .. i0 + per (fewer at the end) of t's first axis, sharing t's storage. */
function itemSlice(t: Tensor, i0: number, per: number): Tensor {
  const items = t.dim(0);
  const n = Math.min(per, items - i0);
  const stride = t.size / items;
  const data = (t.data as Storage).subarray(i0 * stride, (i0 + n) * stride) as Storage;
  return new Tensor(data, [n, ...t.shape.slice(1)], t.dtype, t.backend, t.requiresGrad);
}
