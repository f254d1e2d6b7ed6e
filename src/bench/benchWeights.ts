// Random frozen weights for benchmarks, written straight into backend storage.
// models/weightSource.ts's RandomWeights draws Box-Muller normals in JavaScript and
// holds a whole f32 copy of each tensor first: ~40 s and a transient +800 MB at the
// OPT-1.3b shape, which would dominate start-up and the peak RSS we measure. Here
// values are uniform with the same std (0.02, HF's init), made in 1 Mi chunks and
// cast chunk by chunk, so a bf16 model never holds an f32 copy of a matrix.

import type { Backend } from '../backend/backend.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { zeros } from '../tensor/ops/creation.js';
import { mulberry32, type Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { WeightDtype, WeightRole, WeightSource } from '../models/weightSource.js';

const CHUNK = 1 << 20;
const STD = 0.02;
const HALF_WIDTH = STD * Math.sqrt(3); // uniform on [-a, a] has std a / sqrt(3)

export class BenchWeights implements WeightSource {
  private readonly rng: Rng;
  private readonly chunk: Float32Array;

  constructor(
    readonly backend: Backend,
    seed: number,
    private readonly dtype: WeightDtype,
    /** quantize linear weights as the model is built (models/build.ts linearFrom) */
    readonly quantize?: QuantFormat,
  ) {
    this.rng = mulberry32(seed >>> 0 || 1);
    this.chunk = backend.alloc('f32', CHUNK) as Float32Array;
  }

  get(name: string, shape: readonly number[], role: WeightRole): Tensor {
    if (role === 'bias') return zeros(this.backend, shape);
    if (role === 'norm') {
      const t = zeros(this.backend, shape);
      this.backend.fill(t.f32, 1);
      return t;
    }
    // A block's linear weight that linearFrom quantizes at once (models/build.ts) is made
    // in f32 whatever --dtype: no bf16 copy and no widened f32 copy before quantizing.
    const dtype = this.quantize && isBlockLinear(name) ? 'f32' : this.dtype;
    const t = zeros(this.backend, shape, dtype);
    for (let at = 0; at < t.size; at += CHUNK) {
      const n = Math.min(CHUNK, t.size - at);
      const src = this.chunk.subarray(0, n);
      for (let i = 0; i < n; i++) src[i] = (2 * this.rng() - 1) * HALF_WIDTH;
      if (dtype === 'bf16') this.backend.castToBf16(src, (t.data as Uint16Array).subarray(at, at + n));
      else (t.data as Float32Array).set(src, at);
    }
    return t;
  }

  finish(): void {}
}

/** A linear weight inside a numbered block (`model.layers.3.mlp.up_proj.weight`): the
 * ones --quantize replaces (models/quantize.ts quantizedLoadBytes uses the same rule). */
function isBlockLinear(name: string): boolean {
  return /\.\d+\./.test(name) && name.endsWith('.weight');
}
