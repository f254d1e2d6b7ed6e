// The backend contract: the complete list of primitives a backend implements.
//
// Everything else (autograd, ops, layers, models, LoRA, the chain) is written once
// above this interface. The reference backend (plain TypeScript loops) is the
// specification; the native backend (C++ on oneDNN) must match it in the
// conformance suite (test/backend/conformance.test.ts).
//
// Conventions shared by every primitive:
// - Arrays are flat, row-major and contiguous unless strides are given.
// - f32 data is a Float32Array, bf16 data a Uint16Array (the upper 16 bits of an
//   f32), indices an Int32Array. Arrays are allocated by the backend (`alloc`) but
//   every primitive accepts any typed array of the right kind, so the reference
//   backend can check results computed on native storage.
// - Outputs are written, never allocated, by primitives: the caller owns memory.
// - "Backward" primitives write gradients into the given arrays; `accumulate`
//   says whether they add to (true) or overwrite (false) what is there.
// - A primitive of more than 4 arguments takes one record (`XxxArgs` below), so
//   no call site passes a row of bare numbers and booleans. The native addon reads
//   the same records by field name (native/common.h), and its TypeScript type is
//   derived from this interface (native/addon.ts): a new primitive is written here,
//   in reference/, and in native/ (binding and kernel), nowhere else.

import type { QuantFormat, QuantizeOptions, QuantWeight } from './quant/format.js';

export type DType = 'f32' | 'bf16' | 'i32';
export type FloatArray = Float32Array | Uint16Array; // f32 or bf16 storage
export type Storage = Float32Array | Uint16Array | Int32Array;

export type UnaryOp = 'relu' | 'silu' | 'gelu_tanh' | 'gelu_erf' | 'exp' | 'neg' | 'sqr' | 'tanh';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
export type RopeLayout = 'halves' | 'pairs';

/** C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias) + beta * C[b] for b < batch. */
export interface MatmulArgs {
  a: FloatArray; // op(A): [m, k]; A stored [m, k], or [k, m] when transA
  b: FloatArray; // op(B): [k, n]; B stored [k, n], or [n, k] when transB
  c: Float32Array; // [m, n], always f32
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** elements between consecutive batch items; 0 broadcasts one matrix to all */
  aBatchStride: number;
  bBatchStride: number;
  alpha: number;
  /** 0 overwrites C, 1 accumulates into it */
  beta: number;
  /** dtype of A and B. When either is bf16 the product is computed in bf16 (the
   * f32 operand is rounded to bf16 first) with f32 accumulation. */
  aDtype: 'f32' | 'bf16';
  bDtype: 'f32' | 'bf16';
  /** How a product with a bf16 operand is computed (issue 15): 'bf16' (default)
   * rounds the f32 operand to bf16 as above; 'f32' widens the bf16 operand to f32
   * (exact) and computes in f32, for CPUs without bf16 hardware, where emulated
   * bf16 is ~3x slower. Absent: this process's compute path for bf16 storage
   * (backend/runtime.ts computeFor: --compute, else auto from the CPU), so every
   * caller gets the machine's path. No effect when both are f32. */
  compute?: 'f32' | 'bf16';
  /** f32 [n] added to every row of the product (a linear layer's bias, fused so
   * the output is written once); only with alpha 1. */
  bias?: Float32Array | null;
  /** B as `packMatmulB` laid it out for this backend (a frozen weight reordered
   * once, issue #2). Only a hint: `b` stays the operand of record, and backends
   * without packing (the reference) ignore it. Batch 1; the dtype of b, or f32
   * for a bf16 b computed in f32 (a copy of another dtype is not used). */
  bPacked?: FloatArray | null;
}

/** A product with a quantized frozen weight W [rows, cols] = [out, in] (issue 17),
 * computed without materializing W (native: tiles dequantized into cache):
 * 'forward' out [m, rows] = x [m, cols] W^T; 'inputGrad' out [m, cols] = x [m, rows] W
 * (x is then the output gradient). The reference dequantizes all of W, then multiplies:
 * that is the specification (backend/quant/codec.ts gives dequant(W)). */
export interface QuantMatmulArgs {
  x: Float32Array;
  w: QuantWeight;
  out: Float32Array;
  m: number;
  mode: 'forward' | 'inputGrad';
  /** 0 overwrites out, 1 accumulates into it */
  beta: number;
}

/** A dense W [rows, cols] (row-major f32) to quantize (issue 17). */
export interface QuantizeArgs extends QuantizeOptions {
  values: Float32Array;
  rows: number;
  cols: number;
  format: QuantFormat;
}

/** dst[dstOffset + Σ i_d dstStrides[d]] (+)= src[srcOffset + Σ i_d srcStrides[d]]
 * over the index space `shape`. Covers transpose, slice, concat and broadcast.
 * src and dst are the same kind (both f32, both bf16 or both i32). With
 * `accumulate` dst must not alias itself (no zero strides in dstStrides). */
export interface CopyStridedArgs {
  src: Storage;
  srcOffset: number;
  srcStrides: readonly number[];
  dst: Storage;
  dstOffset: number;
  dstStrides: readonly number[];
  shape: readonly number[];
  accumulate: boolean;
}

/** out[i] = a[ai] op b[bi] over `shape`; strides of 0 broadcast; out contiguous. */
export interface BinaryArgs {
  op: BinaryOp;
  a: Float32Array;
  aStrides: readonly number[];
  b: Float32Array;
  bStrides: readonly number[];
  out: Float32Array;
  shape: readonly number[];
}

/** dx (+)= dy * f'(x) */
export interface UnaryBackwardArgs {
  op: UnaryOp;
  x: Float32Array;
  dy: Float32Array;
  dx: Float32Array;
  accumulate: boolean;
}

/** out[o, i] (+)= Σ_m x[o, m, i]: sums the middle axis of x [outer, mid, inner]. */
export interface ReduceSumArgs {
  x: Float32Array;
  outer: number;
  mid: number;
  inner: number;
  out: Float32Array;
  accumulate: boolean;
}

/** out = x * mask / (1 - p) where mask[i] = hash(seed, offset + i) >= p;
 * the hash is `dropoutUniform` below, identical on every backend. */
export interface DropoutArgs {
  x: Float32Array;
  out: Float32Array;
  p: number;
  seed: number;
  offset: number;
}

/** softmax: dx (+)= y * (dy - Σ dy*y); logSoftmax: dx (+)= dy - exp(y) * Σ dy.
 * y is the forward output, [rows, cols]. */
export interface SoftmaxBackwardArgs {
  y: Float32Array;
  dy: Float32Array;
  dx: Float32Array;
  rows: number;
  cols: number;
  accumulate: boolean;
}

/** out = x * rstd * weight, rstd[r] = 1/sqrt(mean(x_r^2) + eps); weight may be bf16. */
export interface RmsNormArgs {
  x: Float32Array;
  weight: FloatArray | null;
  out: Float32Array;
  rstd: Float32Array;
  rows: number;
  cols: number;
  eps: number;
}

/** dx (+)= ..., dWeight (+)= ... (dWeight null when the weight is frozen or absent) */
export interface RmsNormBackwardArgs {
  x: Float32Array;
  weight: FloatArray | null;
  rstd: Float32Array;
  dy: Float32Array;
  dx: Float32Array | null;
  dWeight: Float32Array | null;
  rows: number;
  cols: number;
  accumulate: boolean;
}

/** out = (x - mean) * rstd * weight + bias */
export interface LayerNormArgs {
  x: Float32Array;
  weight: FloatArray | null;
  bias: FloatArray | null;
  out: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  rows: number;
  cols: number;
  eps: number;
}

export interface LayerNormBackwardArgs {
  x: Float32Array;
  weight: FloatArray | null;
  mean: Float32Array;
  rstd: Float32Array;
  dy: Float32Array;
  dx: Float32Array | null;
  dWeight: Float32Array | null;
  dBias: Float32Array | null;
  rows: number;
  cols: number;
  accumulate: boolean;
}

/** Rotary embedding over x [B, T, H, D] (rotating the first `rotaryDim` of D).
 * `positions` [T] give each row's absolute position; cos/sin tables are
 * [maxPositions, rotaryDim / 2]. 'halves' pairs i with i + rotaryDim/2 (HF Llama);
 * 'pairs' pairs 2i with 2i+1 (llama2.c, GPT-J). `inverse` rotates by -angle, which
 * is exactly the backward pass. out may be x. */
export interface RopeArgs extends RopeShape {
  x: Float32Array;
  out: Float32Array;
  positions: Int32Array;
  cos: Float32Array;
  sin: Float32Array;
}

export interface RopeShape {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  rotaryDim: number;
  layout: RopeLayout;
  inverse: boolean;
}

/** Causal (optionally) scaled-dot-product attention with grouped-query heads.
 * q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D], out [B, Hq, Tq, D], lse [B, Hq, Tq].
 * Query head h reads kv head floor(h / (Hq / Hkv)). With `causal`, query i sits at
 * absolute position Tk - Tq + i (so a KV cache works) and sees keys 0..that position. */
export interface AttentionArgs extends AttentionShape {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  out: Float32Array;
  lse: Float32Array;
}

/** Gradients of attention; dq, dk, dv are overwritten (null = not needed). */
export interface AttentionBackwardArgs extends AttentionArgs {
  dOut: Float32Array;
  dq: Float32Array | null;
  dk: Float32Array | null;
  dv: Float32Array | null;
}

export interface AttentionShape {
  /** 'bhtd' (default): q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D], out like q.
   * 'bthd': q [B, Tq, Hq, D], k and v [B, Tk, Hkv, D], out like q: a linear layer's
   * output viewed as heads, so no transposing copies around the op (issue #7).
   * lse is [B, Hq, Tq] in both. */
  layout?: 'bhtd' | 'bthd';
  batch: number;
  headsQ: number;
  headsKv: number;
  seqQ: number;
  seqKv: number;
  headDim: number;
  scale: number;
  causal: boolean;
  /** Optional [B, Tq]: query i of batch row b sees only keys keyStart[b * Tq + i] and
   * later (with `causal`, up to its own position): a block-diagonal causal mask for
   * several sequences packed into one row (issue 18, --pack). Values must lie in
   * 0..Tk. Absent: every key from 0 is visible. */
  keyStart?: Int32Array;
  /** Sliding window (Mistral, Gemma 2/3 local layers, Phi-3): with `causal`, query
   * at position p also skips keys at positions <= p - window (HF masking_utils'
   * sliding_window_overlay: kv_idx > q_idx - window). Absent: no window. */
  window?: number;
  /** Attention logit soft-capping (Gemma 2): scores become softcap * tanh(s / softcap)
   * before the softmax, s = scale * q.k. Absent: no capping. */
  softcap?: number;
}

/** Fused log-softmax + negative log-likelihood over logits [rows, vocab].
 * loss[r] = logsumexp(logits_r) - logits_r[target_r], or 0 where target == ignoreIndex.
 * When dLogits is given it receives gradScale * (softmax(logits_r) - onehot(target_r))
 * (zero rows for ignored targets); dLogits may alias logits (in-place). */
export interface CrossEntropyArgs {
  logits: Float32Array;
  targets: Int32Array;
  loss: Float32Array;
  dLogits: Float32Array | null;
  rows: number;
  vocab: number;
  ignoreIndex: number;
  gradScale: number;
}

/** One AdamW step in place (decoupled weight decay: p -= lr * wd * p). `step` is 1-based. */
export interface AdamWArgs {
  param: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

export interface Backend {
  readonly name: 'reference' | 'native' | 'webgpu';

  /** Zero-filled storage of `size` elements (64-byte aligned on native). */
  alloc(dtype: DType, size: number): Storage;
  /** Storage for an output a primitive overwrites entirely: contents unspecified
   * (native skips the zero-fill, a memory pass as long as many kernels: issue #7;
   * the reference returns zeros). */
  empty(dtype: DType, size: number): Storage;

  // --- conversion and copies -------------------------------------------------
  /** Round-to-nearest-even f32 -> bf16 (NaN stays NaN). */
  castToBf16(src: Float32Array, dst: Uint16Array): void;
  castToF32(src: Uint16Array, dst: Float32Array): void;
  copyStrided(args: CopyStridedArgs): void;
  fill(x: Float32Array, value: number): void;

  // --- elementwise -------------------------------------------------------------
  binary(args: BinaryArgs): void;
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  unaryBackward(args: UnaryBackwardArgs): void;
  /** y = alpha * x + beta * y (beta 0 overwrites; y may be x). */
  axpby(alpha: number, x: Float32Array, beta: number, y: Float32Array): void;
  reduceSum(args: ReduceSumArgs): void;
  /** Σ x[i]^2 in f64 accumulation (for gradient norms). */
  sumSquares(x: Float32Array): number;
  dropout(args: DropoutArgs): void;

  // --- linear algebra ------------------------------------------------------------
  matmul(args: MatmulArgs): void;
  /** Optional: B ([k, n], or stored [n, k] when transB) copied into the layout
   * the backend's kernels read fastest, for `MatmulArgs.bPacked`; `as` 'f32'
   * widens a bf16 B into an f32 copy (for compute 'f32'; default: b's dtype). oneDNN copies a
   * plain B into that layout inside every product (once per thread); a frozen
   * weight can pay it once. The caller owns invalidation: a packed copy is stale
   * once b changes (tensor/ops/packedWeight.ts keys it on the weight's version). */
  packMatmulB?(b: FloatArray, k: number, n: number, transB: boolean, as?: 'f32' | 'bf16'): FloatArray;
  /** true when a product over a packMatmulB copy rounds exactly as over the plain B,
   * at any row count (webgpu with f32 storage: the copy is B kept on the GPU, read by
   * the same kernel). Absent: a packed copy may change the rounding (native's packed
   * layout does with the rows, issue 19), so an f32 LM head is not packed. */
  readonly packedSameRounding?: boolean;
  quantMatmul(args: QuantMatmulArgs): void;
  /** W quantized: exactly the bytes of backend/quant/codec.ts quantize (the
   * specification); native runs it vectorized on all threads (loading a 7B model). */
  quantize(args: QuantizeArgs): QuantWeight;

  // --- rows: softmax, norms ------------------------------------------------------
  /** out[r] = softmax(x[r]) over rows of `cols` */
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  softmaxBackward(args: SoftmaxBackwardArgs): void;
  logSoftmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  logSoftmaxBackward(args: SoftmaxBackwardArgs): void;
  rmsNorm(args: RmsNormArgs): void;
  rmsNormBackward(args: RmsNormBackwardArgs): void;
  layerNorm(args: LayerNormArgs): void;
  layerNormBackward(args: LayerNormBackwardArgs): void;

  // --- transformer pieces ------------------------------------------------------
  rope(args: RopeArgs): void;
  attention(args: AttentionArgs): void;
  attentionBackward(args: AttentionBackwardArgs): void;
  /** out[i, :] = weight[ids[i], :] (weight f32 or bf16, out f32). Ids are checked by the caller. */
  embedding(weight: FloatArray, ids: Int32Array, out: Float32Array, dim: number): void;
  /** dWeight[ids[i], :] += dy[i, :] */
  embeddingBackward(ids: Int32Array, dy: Float32Array, dWeight: Float32Array, dim: number): void;
  crossEntropy(args: CrossEntropyArgs): void;

  // --- optimizer ------------------------------------------------------------------
  adamw(args: AdamWArgs): void;
}

/** The dropout hash shared by every backend: keep element i iff u >= p, with u a
 * uniform in [0, 1) from a 32-bit integer hash (lowbias32 by Chris Wellons) of
 * seed and index. Counter-based, so masks need no stored state and reproduce
 * exactly across backends, resumes and thread counts. */
export function dropoutUniform(seed: number, index: number): number {
  let x = (Math.imul(index, 0x9e3779b1) ^ seed) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 8) / 16777216; // 24 bits: exact in f32 too
}
