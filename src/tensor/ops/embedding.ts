import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty, zeros } from './creation.js';

/** Rows of weight [vocab, dim] picked by ids (i32, any shape) -> [...ids.shape, dim]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  const [vocab, dim] = weight.shape as [number, number];
  for (const id of ids.i32) {
    if (id < 0 || id >= vocab) throw new Error(`embedding: token id ${id} outside the vocabulary (0..${vocab - 1})`);
  }
  const out = empty(weight.backend, [...ids.shape, dim]);
  weight.backend.embedding(weight.data as FloatArray, ids.i32, out.f32, dim);
  return record(out, 'embedding', [weight], (g) => {
    const gw = zeros(weight.backend, weight.shape);
    weight.backend.embeddingBackward(ids.i32, g.f32, gw.f32, dim);
    return [gw];
  });
}
