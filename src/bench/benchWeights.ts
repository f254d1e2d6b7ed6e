// Random frozen weights for benchmarks, written straight into backend storage.
// models/weightSource.ts's RandomWeights draws Box-Muller normals in JavaScript and
// holds a whole f32 copy of each tensor first: ~40 s and a transient +800 MB at the
// OPT-1.3b shape, which would dominate start-up and the peak RSS we measure. Here
// values are uniform with the same std (0.02, HF's init), made in 1 Mi chunks and
// cast chunk by chunk, so a bf16 model never holds an f32 copy of a matrix. With
// --quantize the block linear weights are made one at a time in one reused f32 buffer
// and quantized layer by layer (issue 17: a Llama-2-7B-shaped nf4 model in < 6 GiB).

import type { Backend } from '../backend/backend.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { zeros } from '../tensor/ops/creation.js';
import { mulberry32, type Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { WeightDtype, WeightRole, WeightSource } from '../models/weightSource.js';

const CHUNK = 1 << 20;
const STD = 0.02;
const HALF_WIDTH = STD * Math.sqrt(3); // uniform on [-a, a] has std a / sqrt(3)

export class BenchWeights implements WeightSource {
  private readonly rng: Rng;
  private readonly chunk: Float32Array;
  /** the one f32 buffer every block linear weight is made in when quantizing (grown to
   * the largest): linearFrom quantizes it at once and drops it, so a 7B model's build
   * never holds more than one dense matrix, and its garbage never piles up waiting for a
   * GC (which left ~1 GiB of holes in the heap at Llama-2-7B's shape) */
  private scratch: Float32Array | null = null;

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
    // in f32 whatever --dtype (no bf16 copy, no widened copy), in the scratch buffer.
    const quantized = this.quantize !== undefined && isBlockLinear(name);
    const dtype = quantized ? 'f32' : this.dtype;
    const t = quantized ? this.scratchTensor(shape) : zeros(this.backend, shape, dtype);
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

  /** Drops the scratch buffer once the model is built, after checking that no parameter
   * of `model` still views it (every block linear weight was quantized, as linearFrom
   * does): a layer left dense would otherwise hold values overwritten by later layers. */
  releaseScratch(model: Module): void {
    const buffer = this.scratch?.buffer;
    if (!buffer) return;
    for (const [name, t] of model.namedParameters())
      if (t.data.buffer === buffer)
        throw new Error(`BenchWeights: ${name} kept the shared scratch of weights to quantize; it must be quantized`);
    this.scratch = null;
  }

  private scratchTensor(shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!this.scratch || this.scratch.length < n) {
      this.scratch = null; // the old one can go before the larger one is made
      this.scratch = this.backend.alloc('f32', n) as Float32Array;
    }
    return new Tensor(this.scratch.subarray(0, n), shape, 'f32', this.backend, false);
  }
}

/** A linear weight inside a numbered block (`model.layers.3.mlp.up_proj.weight`): the
 * ones --quantize replaces (models/quantize.ts quantizedLoadBytes uses the same rule). */
function isBlockLinear(name: string): boolean {
  return /\.\d+\./.test(name) && name.endsWith('.weight');
}
