import type { Backend, FloatArray } from '../../backend/backend.js';
import { isGradEnabled, record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty, zeros } from './creation.js';
import { packedWeight, type WeightUse } from './packedWeight.js';

const IGNORE_INDEX = -100; // PyTorch / Hugging Face convention

function countTargets(targets: Int32Array, ignoreIndex: number, vocab: number): number {
  let n = 0;
  for (const t of targets) {
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= vocab) throw new Error(`cross-entropy: target ${t} outside the vocabulary (0..${vocab - 1})`);
    n++;
  }
  return n;
}

/** Rows per LM-head chunk: up to 2^26 logits (256 MiB f32), split evenly. The
 * head's weight is streamed from memory, and packed, once per chunk (77 MB in bf16
 * at OPT's vocab), so chunks of ~80 rows spent more time reading it than
 * multiplying (issue #7), and 2^23 chunks ran OPT-125m's step ~5% slower than 2^24
 * (bench/RESULTS.md). 2^26 gives 2 chunks of 1024 rows at batch 8 x 256 instead of
 * 7 of 293: the head's products ran 4-9% faster per FLOP on one thread (issue 15,
 * session 9, bench/gemm/run.sh), for ~150 MiB more peak memory at OPT-125m. */
function chunkRows(rows: number, vocab: number, requested?: number): number {
  if (requested !== undefined) return Math.max(1, Math.min(rows, requested));
  return lmHeadChunkRows(rows, vocab);
}

/** The LM head's rows per chunk at its default (above): the one [rows, vocab] f32
 * logits buffer a step holds, which models/memoryEstimate.ts counts. */
export function lmHeadChunkRows(rows: number, vocab: number): number {
  const most = Math.max(1, Math.floor((1 << 26) / vocab));
  return rows === 0 ? 1 : Math.ceil(rows / Math.ceil(rows / most));
}

/** Mean negative log-likelihood of targets [N] under logits [N, V], log-softmax
 * fused in (one primitive). Rows whose target is ignoreIndex count for nothing. */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  const vocab = logits.dim(-1);
  const rows = logits.size / vocab;
  const count = countTargets(targets.i32, ignoreIndex, vocab);
  const perRow = empty(logits.backend, [rows]);
  logits.backend.crossEntropy({
    logits: logits.f32,
    targets: targets.i32,
    loss: perRow.f32,
    dLogits: null,
    rows,
    vocab,
    ignoreIndex,
    gradScale: 1,
  });
  const out = zeros(logits.backend, [1]);
  out.f32[0] = sumF64(perRow.f32) / Math.max(count, 1);
  return record(out, 'crossEntropy', [logits], (g) => {
    const gl = empty(logits.backend, logits.shape);
    logits.backend.crossEntropy({
      logits: logits.f32,
      targets: targets.i32,
      loss: perRow.f32,
      dLogits: gl.f32,
      rows,
      vocab,
      ignoreIndex,
      gradScale: g.f32[0]! / Math.max(count, 1),
    });
    return [gl];
  });
}

export interface LmHeadOptions {
  ignoreIndex?: number;
  chunkRows?: number;
  /** Final logit soft-capping (Gemma 2's final_logit_softcapping): the loss is taken
   * on cap * tanh(logits / cap). */
  softcap?: number | null;
}

/** Soft-caps a chunk of logits in place (lg = cap tanh(lg / cap)), keeping
 * lg / cap in `u` for capGrad. */
function capLogits(be: Backend, lg: Float32Array, cap: number, u: Float32Array): void {
  be.axpby(1 / cap, lg, 0, u);
  be.unary('tanh', u, lg);
  be.axpby(cap, lg, 0, lg);
}

/** dLogits (in place) through the cap: d(cap tanh(x / cap))/dx = tanh'(u). */
function capGrad(be: Backend, dlg: Float32Array, u: Float32Array): void {
  be.unaryBackward({ op: 'tanh', x: u, dy: dlg, dx: dlg, accumulate: false });
}

/** The LM head fused with cross-entropy, in chunks of rows, so the [N, V] logits
 * are never held whole: per chunk, logits = h W^T, then loss and dLogits (in place),
 * then dh = dLogits W and dW += dLogits^T h while the chunk is still hot. The
 * gradients are computed during the forward pass and scaled in backward.
 * hidden [N, d] f32, weight [V, d] f32 or bf16. */
export function lmHeadCrossEntropy(hidden: Tensor, weight: Tensor, targets: Tensor, opts: LmHeadOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const [vocab, dim] = weight.shape as [number, number];
  const rows = hidden.size / dim;
  const count = Math.max(countTargets(targets.i32, ignoreIndex, vocab), 1);
  const chunk = chunkRows(rows, vocab, opts.chunkRows);
  const be = hidden.backend;
  const wantGrad = isGradEnabled() && (hidden.requiresGrad || weight.requiresGrad);
  const dh = wantGrad && hidden.requiresGrad ? empty(be, hidden.shape) : null;
  const dw = wantGrad && weight.requiresGrad ? zeros(be, weight.shape) : null;
  const logits = be.empty('f32', chunk * vocab) as Float32Array;
  const cap = opts.softcap ?? null;
  const capped = cap === null ? null : (be.empty('f32', chunk * vocab) as Float32Array);
  const perRow = be.empty('f32', chunk) as Float32Array;
  let total = 0;
  const w = weight.data as FloatArray;
  const wDtype = weight.dtype as 'f32' | 'bf16';
  // A frozen head is read from its packed copies (packedWeight.ts): a bf16 head
  // computed in f32 was otherwise widened twice per chunk (14 passes over 38.6M
  // weights per OPT-125m step, issue 15).
  const packed = { forward: headPacked(weight, 'forward', chunk), inputGrad: dh ? headPacked(weight, 'inputGrad', chunk) : null };
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    const h = hidden.f32.subarray(r0 * dim, (r0 + n) * dim);
    const lg = logits.subarray(0, n * vocab);
    const mm = { batch: 1, aBatchStride: 0, bBatchStride: 0, alpha: 1, beta: 0, bPacked: packed.forward };
    be.matmul({ ...mm, a: h, b: w, c: lg, m: n, n: vocab, k: dim, transA: false, transB: true, aDtype: 'f32', bDtype: wDtype });
    const u = capped?.subarray(0, n * vocab);
    if (u) capLogits(be, lg, cap!, u);
    const t = targets.i32.subarray(r0, r0 + n);
    be.crossEntropy({
      logits: lg,
      targets: t,
      loss: perRow.subarray(0, n),
      dLogits: wantGrad ? lg : null,
      rows: n,
      vocab,
      ignoreIndex,
      gradScale: 1 / count,
    });
    total += sumF64(perRow.subarray(0, n));
    if (u && wantGrad) capGrad(be, lg, u);
    headChunkBackward(be, lg, w, wDtype, h, r0, n, dim, vocab, dh, dw, packed.inputGrad);
  }
  const out = zeros(be, [1]);
  out.f32[0] = total / count;
  return record(out, 'lmHeadCrossEntropy', [hidden, weight], (g) => {
    const s = g.f32[0]!;
    if (dh && s !== 1) be.axpby(s, dh.f32, 0, dh.f32);
    if (dw && s !== 1) be.axpby(s, dw.f32, 0, dw.f32);
    return [dh, dw];
  });
}

/** One chunk of the LM head's backward, from dLogits lg [n, V] of hidden rows h
 * [n, d] starting at row r0: dh[r0:r0+n] = lg W, dW += lg^T h. */
function headChunkBackward(
  be: Backend,
  lg: Float32Array,
  w: FloatArray,
  wDtype: 'f32' | 'bf16',
  h: Float32Array,
  r0: number,
  n: number,
  dim: number,
  vocab: number,
  dh: Tensor | null,
  dw: Tensor | null,
  wPacked: FloatArray | null,
): void {
  const mm = { batch: 1, aBatchStride: 0, bBatchStride: 0, alpha: 1, beta: 0, transA: false, transB: false, aDtype: 'f32' as const };
  if (dh)
    be.matmul({
      ...mm,
      a: lg,
      b: w,
      bPacked: wPacked,
      c: dh.f32.subarray(r0 * dim, (r0 + n) * dim),
      m: n,
      n: dim,
      k: vocab,
      bDtype: wDtype,
    });
  if (dw) be.matmul({ ...mm, beta: 1, a: lg, b: h, c: dw.f32, m: vocab, n: dim, k: n, transA: true, bDtype: 'f32' });
}

/** The LM head's packed copy for `use`: a bf16 head computed in f32 (widened once
 * instead of per chunk, issue 15), and an f32 head where packing keeps the rounding
 * (Backend.packedSameRounding: webgpu keeps the tied head on the GPU instead of
 * uploading it every step, issue 20). Otherwise an f32 head stays plain: native's
 * packed copy made the products' rounding depend on the number of rows (2
 * data-parallel ranks of 4 rows vs 1 process of 8 drifted 2e-5, issue 19). */
function headPacked(weight: Tensor, use: WeightUse, rows: number): FloatArray | null {
  return weight.dtype === 'bf16' || weight.backend.packedSameRounding === true ? packedWeight(weight, use, rows) : null;
}

function sumF64(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}

/** Per-token negative log-likelihood [N] (0 where ignored) of the LM head over
 * hidden [N, d], in row chunks. Used by candidate scoring (classification tasks),
 * where each token's loss gets its own weight, so the backward pass recomputes
 * each chunk's logits instead of keeping them. */
export function lmHeadTokenNll(hidden: Tensor, weight: Tensor, targets: Tensor, opts: LmHeadOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? IGNORE_INDEX;
  const [vocab, dim] = weight.shape as [number, number];
  const rows = hidden.size / dim;
  countTargets(targets.i32, ignoreIndex, vocab);
  const chunk = chunkRows(rows, vocab, opts.chunkRows);
  const be = hidden.backend;
  const w = weight.data as FloatArray;
  const wDtype = weight.dtype as 'f32' | 'bf16';
  const mm = {
    batch: 1,
    aBatchStride: 0,
    bBatchStride: 0,
    alpha: 1,
    beta: 0,
    bPacked: headPacked(weight, 'forward', chunk),
  };
  const out = zeros(be, [rows]);
  const logits = be.alloc('f32', chunk * vocab) as Float32Array;
  const cap = opts.softcap ?? null;
  const capped = cap === null ? null : (be.alloc('f32', chunk * vocab) as Float32Array);
  const chunkLogits = (r0: number, n: number): Float32Array => {
    const lg = logits.subarray(0, n * vocab);
    be.matmul({
      ...mm,
      a: hidden.f32.subarray(r0 * dim, (r0 + n) * dim),
      b: w,
      c: lg,
      m: n,
      n: vocab,
      k: dim,
      transA: false,
      transB: true,
      aDtype: 'f32',
      bDtype: wDtype,
    });
    if (capped) capLogits(be, lg, cap!, capped.subarray(0, n * vocab));
    return lg;
  };
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const n = Math.min(chunk, rows - r0);
    be.crossEntropy({
      logits: chunkLogits(r0, n),
      targets: targets.i32.subarray(r0, r0 + n),
      loss: out.f32.subarray(r0, r0 + n),
      dLogits: null,
      rows: n,
      vocab,
      ignoreIndex,
      gradScale: 1,
    });
  }
  return record(out, 'lmHeadTokenNll', [hidden, weight], (g) => {
    const dh = hidden.requiresGrad ? empty(be, hidden.shape) : null;
    const dw = weight.requiresGrad ? zeros(be, weight.shape) : null;
    const scratch = be.alloc('f32', chunk) as Float32Array;
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const n = Math.min(chunk, rows - r0);
      const lg = chunkLogits(r0, n);
      be.crossEntropy({
        logits: lg,
        targets: targets.i32.subarray(r0, r0 + n),
        loss: scratch.subarray(0, n),
        dLogits: lg,
        rows: n,
        vocab,
        ignoreIndex,
        gradScale: 1,
      });
      for (let i = 0; i < n; i++) {
        const row = lg.subarray(i * vocab, (i + 1) * vocab);
        be.axpby(g.f32[r0 + i]!, row, 0, row);
      }
      if (capped) capGrad(be, lg, capped.subarray(0, n * vocab));
      const wPacked = dh ? headPacked(weight, 'inputGrad', chunk) : null;
      headChunkBackward(be, lg, w, wDtype, hidden.f32.subarray(r0 * dim, (r0 + n) * dim), r0, n, dim, vocab, dh, dw, wPacked);
    }
    return [dh, dw];
  });
}
