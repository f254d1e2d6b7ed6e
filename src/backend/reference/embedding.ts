// Token embedding lookup and its scatter-add backward.

import type { Backend } from '../backend.js';
import { bf16BitsToF32 } from './bf16.js';

export const embedding: Backend['embedding'] = (weight, ids, out, dim) => {
  const decode = weight instanceof Uint16Array ? bf16BitsToF32 : (x: number) => x;
  for (let i = 0; i < ids.length; i++) {
    const from = ids[i] * dim;
    for (let d = 0; d < dim; d++) out[i * dim + d] = decode(weight[from + d]);
  }
};

export const embeddingBackward: Backend['embeddingBackward'] = (ids, dy, dWeight, dim) => {
  // Repeated ids add up, in id order.
  for (let i = 0; i < ids.length; i++) {
    const to = ids[i] * dim;
    for (let d = 0; d < dim; d++) dWeight[to + d] += dy[i * dim + d];
  }
};
