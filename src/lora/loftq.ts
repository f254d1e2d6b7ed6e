/** LoftQ (Li et al. 2023, arXiv 2310.08659; PEFT's init_lora_weights="loftq" with
 * LoftQConfig(loftq_bits, loftq_iter)): choose a quantized base's codes Q and the first
 * adapter (A, B) together so that dequant(Q) + s B A ~ W. Starting from A = B = 0, alternate
 * `iter` times:
 *   Q_t = quantize(W - s B_{t-1} A_{t-1});   s B_t A_t = best rank-r approximation of W - dequant(Q_t)
 * (the exact top-r SVD, split as PiSSA: sqrt of the singular values on each side, over s).
 * iter = 1 is plain round-to-nearest codes plus the SVD of their error (PEFT's default).
 * Unlike PEFT (peft#1982: its factors ignore the scale, exact only at lora_alpha = r) the
 * factors are divided by s, so dequant(Q) + s B A is the approximation for every alpha.
 * Deterministic given W: the SVD's random start has a fixed seed and is iterated to
 * convergence, so `cola eval` and `--resume` rebuild the same codes. */
import type { QuantWeight } from '../backend/quant/format.js';
import { dequantize } from '../backend/quant/codec.js';
import { ColaError } from '../errors.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import type { Module } from '../nn/module.js';
import type { LoraInit } from './config.js';
import { pissaFactors, type Factors } from './weightInit.js';

/** The seed of the SVD's start vectors (any fixed value: the exact SVD does not depend on it
 * beyond rounding, and a fixed one makes the codes a function of W alone). */
const LOFTQ_SVD_SEED = 0x10f7;

export interface LoftqArgs {
  /** the dense weight W [out, in], f32 */
  weight: Float32Array;
  out: number;
  inF: number;
  /** the first adapter's rank */
  r: number;
  /** its scale s */
  scale: number;
  /** alternations (PEFT's loftq_iter, >= 1) */
  iter: number;
  /** the base's quantizer (format, double quantization and group fixed by the caller) */
  quantize: (values: Float32Array) => QuantWeight;
}

export interface LoftqResult extends Factors {
  /** the codes that replace round-to-nearest's */
  codes: QuantWeight;
}

export function loftqInit(a: LoftqArgs): LoftqResult {
  if (!Number.isInteger(a.iter) || a.iter < 1) throw new ColaError(`LoftQ needs loftq_iter >= 1, got ${a.iter}`);
  if (a.r > Math.min(a.out, a.inF))
    throw new ColaError(
      `init_lora_weights "loftq" needs r <= min(out, in) = ${Math.min(a.out, a.inF)} (the quantization error has no more singular directions), got r = ${a.r}; lower --rank`,
    );
  const n = a.weight.length;
  let target: Float32Array = a.weight; // W - s B A, A = B = 0 at first
  let result: LoftqResult | null = null;
  for (let t = 0; t < a.iter; t++) {
    const codes = a.quantize(target);
    const deq = dequantize(codes);
    const error = new Float32Array(n); // W - dequant(Q_t)
    for (let i = 0; i < n; i++) error[i] = a.weight[i]! - deq[i]!;
    const f = pissaFactors({ weight: error, out: a.out, inF: a.inF, r: a.r, scale: a.scale, seed: LOFTQ_SVD_SEED });
    result = { codes, ...f };
    if (t + 1 < a.iter) target = subtractLowRank(a.weight, f, a);
  }
  return result!;
}

/** W - s B A in f32 [out, in] (the next iteration's quantization target). */
function subtractLowRank(W: Float32Array, f: Factors, a: Pick<LoftqArgs, 'out' | 'inF' | 'r' | 'scale'>): Float32Array {
  const { out, inF, r, scale } = a;
  const res = new Float32Array(out * inF);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inF; c++) {
      let x = 0;
      for (let k = 0; k < r; k++) x += f.B[o * r + k]! * f.A[k * inF + c]!;
      res[o * inF + c] = W[o * inF + c]! - scale * x;
    }
  }
  return res;
}

/** 'loftq' (1 alternation, PEFT's default) or 'loftq_iter_N'; null for other inits. */
export function loftqIterOf(init: LoraInit): number | null {
  if (init === 'loftq') return 1;
  return init.startsWith('loftq_iter_') ? Number(init.slice('loftq_iter_'.length)) : null;
}

/** PEFT's loftq_bits for a --quantize format. */
export function loftqBits(format: string): number {
  return format === 'nf4' || format === 'q4_0' ? 4 : 8;
}

export interface LoftqLayerArgs {
  /** the module path, for messages */
  path: string;
  r: number;
  scale: number;
  iter: number;
  init: LoraInit;
}

/** Re-choose a --quantize layer's codes by LoftQ from the dense weight it kept
 * (QuantizedLinear.takeDenseSource) and return the first adapter's factors. A ColaError
 * when the layer is dense or was quantized without keeping its dense weight. */
export function loftqLayer(base: Module, a: LoftqLayerArgs): Factors {
  const dense = base instanceof QuantizedLinear ? base.takeDenseSource() : null;
  if (!dense)
    throw new ColaError(
      `${a.path}: init_lora_weights "${a.init}" (LoftQ) chooses a quantized base's codes from the dense weights: load the model with --quantize nf4|q4_0|int8|q8_0 from a dense checkpoint (not an already-quantized file; library: loadPretrained(dir, { quantize, keepDense: true })), or use another init`,
    );
  const q = base as QuantizedLinear;
  const f = loftqInit({
    weight: dense,
    out: q.outFeatures,
    inF: q.inFeatures,
    r: a.r,
    scale: a.scale,
    iter: a.iter,
    quantize: (values) => q.quantizeLikeBase(values),
  });
  q.replaceCodes(f.codes);
  return { A: f.A, B: f.B };
}
