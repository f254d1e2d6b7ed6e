import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty, zeros } from './creation.js';
import { packedWeight } from './packedWeight.js';
import { sumToShape } from './reduce.js';
import { reshape } from './shape.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** Batched matrix product. a [...batch, m, k] (or [..., k, m] with transA),
 * b [...batch, k, n] (or [..., n, k] with transB) or a plain matrix shared by
 * every batch item. Operands may be bf16 (computed in bf16, accumulated in f32). */
function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const m = a.dim(transA ? -1 : -2);
  const k = a.dim(transA ? -2 : -1);
  const kb = b.dim(transB ? -1 : -2);
  const n = b.dim(transB ? -2 : -1);
  if (k !== kb) throw new Error(`matmul: inner sizes differ (${a.shape} x ${b.shape})`);
  const batchShape = a.shape.slice(0, -2);
  const batch = batchShape.reduce((p, d) => p * d, 1);
  const bBatch = b.size / (kb * n);
  if (bBatch !== 1 && bBatch !== batch) throw new Error(`matmul: batch of b (${bBatch}) must be 1 or ${batch}`);
  const out = empty(a.backend, [...batchShape, m, n]);
  raw(
    a.data as FloatArray,
    a.dtype,
    b.data as FloatArray,
    b.dtype,
    out.f32,
    { batch, m, n, k, transA, transB, aBatch: m * k, bBatch: bBatch === 1 ? 0 : k * n },
    a,
  );
  return record(out, 'matmul', [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = dC op(B)^T (or its transpose when A was transposed)
      ga = empty(a.backend, a.shape);
      if (!transA)
        raw(
          g.f32,
          'f32',
          b.data as FloatArray,
          b.dtype,
          ga.f32,
          { batch, m, n: k, k: n, transA: false, transB: !transB, aBatch: m * n, bBatch: bBatch === 1 ? 0 : k * n },
          a,
        );
      else
        raw(
          b.data as FloatArray,
          b.dtype,
          g.f32,
          'f32',
          ga.f32,
          { batch, m: k, n: m, k: n, transA: transB, transB: true, aBatch: bBatch === 1 ? 0 : k * n, bBatch: m * n },
          a,
        );
    }
    if (b.requiresGrad) {
      // dB = op(A)^T dC, summed over the batch when B was shared
      const full = empty(a.backend, bBatch === 1 ? [batch, ...b.shape.slice(-2)] : b.shape);
      if (!transB)
        raw(
          a.data as FloatArray,
          a.dtype,
          g.f32,
          'f32',
          full.f32,
          { batch, m: k, n, k: m, transA: !transA, transB: false, aBatch: m * k, bBatch: m * n },
          a,
        );
      else
        raw(
          g.f32,
          'f32',
          a.data as FloatArray,
          a.dtype,
          full.f32,
          { batch, m: n, n: k, k: m, transA: true, transB: transA, aBatch: m * n, bBatch: m * k },
          a,
        );
      gb = bBatch === 1 ? sumToShape(full, b.shape.slice(-2)) : full;
      if (gb.shape.length !== b.shape.length) gb = reshape(gb, b.shape);
    }
    return [ga, gb];
  });
}

export interface Dims {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatch: number;
  bBatch: number;
}

/** One backend matmul; `alpha`, `beta` and `bias` as in MatmulArgs. Exported for
 * the fused ops (lora.ts) that chain products into one output. */
export function raw(
  a: FloatArray,
  aDtype: string,
  b: FloatArray,
  bDtype: string,
  c: Float32Array,
  d: Dims,
  owner: Tensor,
  extra: { alpha?: number; beta?: number; bias?: Float32Array | null; bPacked?: FloatArray | null } = {},
): void {
  owner.backend.matmul({
    a,
    b,
    c,
    batch: d.batch,
    m: d.m,
    n: d.n,
    k: d.k,
    transA: d.transA,
    transB: d.transB,
    aBatchStride: d.aBatch,
    bBatchStride: d.bBatch,
    alpha: extra.alpha ?? 1,
    beta: extra.beta ?? 0,
    aDtype: aDtype as 'f32' | 'bf16',
    bDtype: bDtype as 'f32' | 'bf16',
    bias: extra.bias ?? null,
    bPacked: extra.bPacked ?? null,
  });
}

/** y = x W^T (+ bias): x [..., in], weight [out, in] (f32 or bf16), bias [out].
 * An f32 bias is fused into the product (one output written, one tensor kept for
 * backward instead of two: issue #7); a bf16 bias takes the separate add. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inF = weight.dim(1);
  const outF = weight.dim(0);
  if (x.dim(-1) !== inF) throw new Error(`linear: input has ${x.dim(-1)} features, weight expects ${inF}`);
  const rows = x.size / inF;
  if (!bias || bias.dtype === 'f32') return linearFused(x, weight, bias ?? null, rows);
  const x2 = reshape(x, [rows, inF]);
  let y = matmul(x2, weight, { transB: true });
  if (bias) y = addBias(y, bias);
  return reshape(y, [...x.shape.slice(0, -1), outF]);
}

/** The dimensions of y = x W^T with x [rows, in], W [out, in]. */
export function linearDims(rows: number, inF: number, outF: number): Dims {
  return { batch: 1, m: rows, n: outF, k: inF, transA: false, transB: true, aBatch: 0, bBatch: 0 };
}

function linearFused(x: Tensor, weight: Tensor, bias: Tensor | null, rows: number): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  const out = empty(x.backend, [...x.shape.slice(0, -1), outF]);
  linearForward(x, weight, bias, out.f32, linearDims(rows, inF, outF));
  return record(out, 'linear', bias ? [x, weight, bias] : [x, weight], (g) => [
    x.requiresGrad ? linearInputGrad(g, weight, x.shape) : null,
    weight.requiresGrad ? linearWeightGrad(g, x, weight) : null,
    ...(bias ? [bias.requiresGrad ? linearBiasGrad(g, outF) : null] : []),
  ]);
}

/** out = x W^T (+ bias): the product every linear layer's forward runs, on the
 * weight's packed copy where there is one. */
export function linearForward(x: Tensor, weight: Tensor, bias: Tensor | null, out: Float32Array, d: Dims): void {
  raw(x.f32, 'f32', weight.data as FloatArray, weight.dtype, out, d, x, {
    bias: bias?.f32 ?? null,
    bPacked: packedWeight(weight, 'forward', d.m),
  });
}

/** dx = g W: g [rows, out], W [out, in] -> [..., in] */
export function linearInputGrad(g: Tensor, weight: Tensor, xShape: readonly number[]): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  const gx = empty(g.backend, xShape);
  const d = { batch: 1, m: g.size / outF, n: inF, k: outF, transA: false, transB: false, aBatch: 0, bBatch: 0 };
  raw(g.f32, 'f32', weight.data as FloatArray, weight.dtype, gx.f32, d, g, { bPacked: packedWeight(weight, 'inputGrad', d.m) });
  return gx;
}

/** dW = g^T x: [out, in] */
export function linearWeightGrad(g: Tensor, x: Tensor, weight: Tensor): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  const gw = empty(g.backend, weight.shape);
  const d = { batch: 1, m: outF, n: inF, k: x.size / inF, transA: true, transB: false, aBatch: 0, bBatch: 0 };
  raw(g.f32, 'f32', x.f32, 'f32', gw.f32, d, g);
  return gw;
}

/** db = column sums of g [rows, out] */
export function linearBiasGrad(g: Tensor, outF: number): Tensor {
  const gb = empty(g.backend, [outF]);
  g.backend.reduceSum({ x: g.f32, outer: 1, mid: g.size / outF, inner: outF, out: gb.f32, accumulate: false });
  return gb;
}

/** y [rows, out] + bias [out] (bias may be bf16, frozen). */
function addBias(y: Tensor, bias: Tensor): Tensor {
  const outF = bias.size;
  const rows = y.size / outF;
  const out = empty(y.backend, y.shape);
  const b32 = bias.dtype === 'bf16' ? widen(bias) : bias.f32;
  y.backend.binary({ op: 'add', a: y.f32, aStrides: [outF, 1], b: b32, bStrides: [0, 1], out: out.f32, shape: [rows, outF] });
  return record(out, 'addBias', [y, bias], (g) => {
    let gb: Tensor | null = null;
    if (bias.requiresGrad) {
      gb = zeros(y.backend, bias.shape);
      y.backend.reduceSum({ x: g.f32, outer: 1, mid: rows, inner: outF, out: gb.f32, accumulate: false });
    }
    return [g, gb];
  });
}

function widen(t: Tensor): Float32Array {
  const out = t.backend.alloc('f32', t.size) as Float32Array;
  t.backend.castToF32(t.data as Uint16Array, out);
  return out;
}
