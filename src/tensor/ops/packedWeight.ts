import type { Backend, FloatArray } from '../../backend/backend.js';
import { detectMachine } from '../../backend/machine.js';
import { computeFor } from '../../backend/compute.js';
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
//
// bf16 weights computed in f32 (a CPU without bf16 hardware, issue 15) need no f32
// copy for products over many rows: the native matmul widens a bf16 weight a panel
// at a time inside the product (native/matmul.cc widenedPanelProduct, 4 MiB of f32
// at most), which ran at the rate of an f32 weight and of a packed f32 copy at the
// training shapes of OPT-125m and OPT-1.3B (bench/RESULTS.md, session 6 notes): the
// widening costs ~0.3 ns a value, about 10/M of a product over M rows, while the two
// copies take 8 bytes a weight, 4x the bf16 model (1 GB at OPT-125m, 10.4 GB at
// OPT-1.3B). So a product of WIDEN_MIN_ROWS rows or more never asks for a copy, and
// training holds none. Products over fewer rows (generation, small evaluation
// batches), where the widening is a larger share, get copies within a budget:
// COLA_PACK_BUDGET_MB, by default 1/8 of the memory this process may use (the
// smaller of RAM and the cgroup limit), the first weights asked for packed and the
// rest widened per product. COLA_PACK_WEIGHTS=0 turns these copies off as well.

/** Rows from which a bf16 weight computed in f32 is widened inside the product
 * rather than copied (widening <= ~4% of the product there). COLA_WIDEN_MIN_ROWS
 * moves it (a tuning knob for benchmarks: a large value keeps f32 copies at
 * training shapes too, within the budget). */
export const WIDEN_MIN_ROWS = 256;
let widenMin: number | undefined;

function widenMinRows(value: string | undefined): number {
  if (value === undefined || value === '') return WIDEN_MIN_ROWS;
  const rows = Number(value);
  if (!(rows >= 0))
    throw new ColaError(`COLA_WIDEN_MIN_ROWS=${value}: expected a number of rows >= 0 (default 256; Infinity never widens)`);
  return rows;
}

export type WeightUse = 'forward' | 'inputGrad';

interface Packed {
  version: number;
  forward?: FloatArray;
  inputGrad?: FloatArray;
  /** bytes of f32 copies of a bf16 weight held here (counted against the budget) */
  widenedBytes: number;
}

const cache = new WeakMap<FloatArray, Packed>();

/** The packed copy of weight [out, in] for `use` in a product over `rows` rows, or
 * null when it does not apply (backend without packing, bf16 computed in bf16 unless
 * COLA_PACK_WEIGHTS=all, bf16 computed in f32 over WIDEN_MIN_ROWS rows or over the
 * budget, trainable). */
export function packedWeight(weight: Tensor, use: WeightUse, rows: number): FloatArray | null {
  const be = weight.backend;
  if (!be.packMatmulB || weight.requiresGrad || weight.rank !== 2) return null;
  const as = packAs(weight.dtype);
  if (as === null) return null;
  const widening = weight.dtype === 'bf16' && as === 'f32';
  widenMin ??= widenMinRows(typeof process === 'undefined' ? undefined : process.env['COLA_WIDEN_MIN_ROWS']);
  if (widening && rows >= widenMin) return null; // widened inside the product, as fast
  const data = weight.data as FloatArray;
  const version = weight.version;
  let entry = cache.get(data);
  if (!entry || entry.version !== version) {
    if (entry) releaseWidened(entry);
    entry = { version, widenedBytes: 0 };
    cache.set(data, entry);
  }
  const [outF, inF] = weight.shape as [number, number];
  const existing = use === 'forward' ? entry.forward : entry.inputGrad;
  if (existing) return existing;
  if (widening && !reserveWidened(entry, 4 * outF * inF)) return null; // over budget: widened per call
  // forward: B = W^T, [in, out] read from W stored [out, in]; inputGrad: B = W, [out, in].
  const packed = use === 'forward' ? be.packMatmulB(data, inF, outF, true, as) : be.packMatmulB(data, outF, inF, false, as);
  if (use === 'forward') entry.forward = packed;
  else entry.inputGrad = packed;
  return packed;
}

/** Whether `be` keeps packed copies of frozen f32 weights (two per block weight: the
 * forward's and the input gradient's), as models/memoryEstimate.ts counts them. */
export function packsFrozenF32(be: Backend): boolean {
  return be.packMatmulB !== undefined && packAs('f32') !== null;
}

/** The dtype a frozen weight of `dtype` is packed in, or null for none. */
function packAs(dtype: Tensor['dtype']): 'f32' | 'bf16' | null {
  // a browser bundle may have no `process` (the webgpu backend packs too: it keeps frozen weights on the GPU)
  setting ??= packSetting(typeof process === 'undefined' ? undefined : process.env['COLA_PACK_WEIGHTS']);
  if (setting === '0') return null;
  if (dtype === 'f32') return 'f32';
  if (dtype !== 'bf16') return null;
  if (computeFor('bf16') === 'f32') return 'f32';
  return setting === 'all' ? 'bf16' : null;
}

const PACK_SETTINGS = ['f32', 'all', '0'] as const;
let setting: (typeof PACK_SETTINGS)[number] | undefined;

function packSetting(value: string | undefined): (typeof PACK_SETTINGS)[number] {
  if (value === undefined || value === '') return 'f32';
  const found = PACK_SETTINGS.find((s) => s === value);
  if (!found) throw new ColaError(`COLA_PACK_WEIGHTS=${value}: expected one of ${PACK_SETTINGS.join(', ')} (f32 is the default)`);
  return found;
}

// --- the budget of f32 copies of bf16 weights --------------------------------------

let widenedInUse = 0;
let budget: { env: string | undefined; bytes: number } | undefined;
// A weight that dies takes its copies with it: give their bytes back.
const released = new FinalizationRegistry<{ bytes: number }>((held) => {
  widenedInUse -= held.bytes;
});
const tokens = new WeakMap<Packed, { bytes: number }>();

/** Bytes f32 copies of bf16 weights may take (COLA_PACK_BUDGET_MB, else 1/8 of the process's memory). */
export function widenedBudgetBytes(): number {
  const env = process.env['COLA_PACK_BUDGET_MB'];
  if (budget?.env !== env || budget === undefined) budget = { env, bytes: budgetOf(env) };
  return budget.bytes;
}

function budgetOf(env: string | undefined): number {
  if (env !== undefined && env !== '') {
    const mb = Number(env);
    if (!Number.isFinite(mb) || mb < 0) throw new ColaError(`COLA_PACK_BUDGET_MB=${env}: expected a number of MiB >= 0 (0 packs none)`);
    return mb * 1024 * 1024;
  }
  const { totalBytes, cgroupLimitBytes } = detectMachine().memory;
  return Math.floor(Math.min(totalBytes, cgroupLimitBytes ?? Infinity) / 8);
}

/** Bytes of f32 copies of bf16 weights held now. */
export function widenedBytesInUse(): number {
  return widenedInUse;
}

function reserveWidened(entry: Packed, bytes: number): boolean {
  if (widenedInUse + bytes > widenedBudgetBytes()) return false;
  widenedInUse += bytes;
  entry.widenedBytes += bytes;
  let token = tokens.get(entry);
  if (!token) {
    token = { bytes: 0 };
    tokens.set(entry, token);
    released.register(entry, token, entry);
  }
  token.bytes += bytes;
  return true;
}

/** An entry replaced (its weight was written): its copies are garbage now. */
function releaseWidened(entry: Packed): void {
  if (entry.widenedBytes === 0) return;
  widenedInUse -= entry.widenedBytes;
  released.unregister(entry);
  entry.widenedBytes = 0;
}
