import type { FloatArray } from '../../backend/backend.js';
import { ColaError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

// Frozen f32 weights reordered once into the layout the native backend's matmul
// kernels read (issue #2). oneDNN otherwise copies a plain B into that layout
// inside every product, on each thread: the f32 products of a linear layer ran at
// ~0.7x their packed rate at 2048x768x3072 (bench/RESULTS.md). One copy per use:
// the forward product reads W^T, the input gradient W.
//
// A packed copy doubles a weight's memory (twice, with the input gradient's), so
// by default only f32 weights are packed: bf16 weights are what large models
// train with under a memory bound (OPT-1.3B in 1.3x its weights, issue #7).
// COLA_PACK_WEIGHTS chooses: 'f32' (default), 'all' (bf16 too), '0' (none).
// Only frozen weights: a trained one changes every step. A copy is rebuilt when
// the weight's write version moves: every write goes through Tensor.assign or
// Tensor.update, which move it (tensor/version.ts).

export type WeightUse = 'forward' | 'inputGrad';

interface Packed {
  version: number;
  forward?: FloatArray;
  inputGrad?: FloatArray;
}

const cache = new WeakMap<FloatArray, Packed>();

/** The packed copy of weight [out, in] for `use`, or null when it does not apply
 * (backend without packing, bf16, trainable). */
export function packedWeight(weight: Tensor, use: WeightUse): FloatArray | null {
  const be = weight.backend;
  if (!be.packMatmulB || !packs(weight.dtype) || weight.requiresGrad || weight.rank !== 2) return null;
  const data = weight.data as FloatArray;
  const version = weight.version;
  let entry = cache.get(data);
  if (!entry || entry.version !== version) {
    entry = { version };
    cache.set(data, entry);
  }
  const [outF, inF] = weight.shape as [number, number];
  // forward: B = W^T, [in, out] read from W stored [out, in]; inputGrad: B = W, [out, in].
  if (use === 'forward') return (entry.forward ??= be.packMatmulB(data, inF, outF, true));
  return (entry.inputGrad ??= be.packMatmulB(data, outF, inF, false));
}

const PACK_SETTINGS = ['f32', 'all', '0'] as const;

/** Whether weights of this dtype are packed, per COLA_PACK_WEIGHTS (read once). */
function packs(dtype: Tensor['dtype']): boolean {
  setting ??= packSetting(process.env['COLA_PACK_WEIGHTS']);
  if (dtype === 'f32') return setting !== '0';
  return dtype === 'bf16' && setting === 'all';
}

let setting: (typeof PACK_SETTINGS)[number] | undefined;

function packSetting(value: string | undefined): (typeof PACK_SETTINGS)[number] {
  if (value === undefined || value === '') return 'f32';
  const found = PACK_SETTINGS.find((s) => s === value);
  if (!found) throw new ColaError(`COLA_PACK_WEIGHTS=${value}: expected one of ${PACK_SETTINGS.join(', ')} (f32 is the default)`);
  return found;
}
