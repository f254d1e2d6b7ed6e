import { concat } from '../tensor/ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Keys and values seen so far, per layer: [B, Hkv, T, D] each. Generation only
 * (no gradients flow through it). */
export class KvCache {
  private readonly keys: (Tensor | null)[];
  private readonly values: (Tensor | null)[];

  constructor(layers: number) {
    this.keys = new Array<Tensor | null>(layers).fill(null);
    this.values = new Array<Tensor | null>(layers).fill(null);
  }

  /** Number of positions already cached. */
  get length(): number {
    return this.keys[0]?.dim(2) ?? 0;
  }

  /** Append this step's k, v for a layer and return the full history. */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const pk = this.keys[layer];
    const pv = this.values[layer];
    const fk = pk ? concat([pk, k], 2) : k;
    const fv = pv ? concat([pv, v], 2) : v;
    this.keys[layer] = fk;
    this.values[layer] = fv;
    return [fk, fv];
  }
}
