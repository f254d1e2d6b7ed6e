import { embedding } from '../tensor/ops/embedding.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class Embedding extends Module {
  constructor(public weight: Tensor) {
    super();
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
