import type { QuantWeight } from '../../backend/quant/format.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { linearBiasGrad, linearDims, raw } from './matmul.js';

/** A frozen low-rank term beside a quantized weight: the merged links of a COLA chain
 * (issue 17), kept instead of being folded into the codes. A = [A_1; ...; A_L] [R, in],
 * B = [s_1 B_1, ..., s_L B_L] [out, R] (f32, scales folded into B: lora/chain.ts
 * stackChain with target scale 1, the same numbers the exported adapter holds). */
export interface LowRankResidual {
  A: Tensor; // [R, in]
  B: Tensor; // [out, R]
}

export interface QuantLinearParams {
  weight: QuantWeight; // W [out, in], frozen
  bias: Tensor | null; // [out], f32
  residual: LowRankResidual | null;
}

/** y = x dequant(W)^T + b + (x A^T) B^T for x [..., in]: the quantized product runs
 * on tiles (backend quantMatmul), W is never materialized. Gradients reach x (g W +
 * (g B) A) and a trainable bias; W and the residual are frozen. */
export function quantLinear(x: Tensor, p: QuantLinearParams): Tensor {
  const { weight: w, bias, residual } = p;
  const inF = w.cols;
  const outF = w.rows;
  if (x.dim(-1) !== inF) throw new Error(`quantLinear: input has ${x.dim(-1)} features, weight expects ${inF}`);
  if (bias && (bias.dtype !== 'f32' || bias.size !== outF)) throw new Error(`quantLinear: bias must be f32 [${outF}]`);
  const rows = x.size / inF;
  const be = x.backend;
  const out = empty(be, [...x.shape.slice(0, -1), outF]);
  if (bias)
    be.copyStrided({
      src: bias.f32,
      srcOffset: 0,
      srcStrides: [0, 1],
      dst: out.f32,
      dstOffset: 0,
      dstStrides: [outF, 1],
      shape: [rows, outF],
      accumulate: false,
    });
  be.quantMatmul({ x: x.f32, w, out: out.f32, m: rows, mode: 'forward', beta: bias ? 1 : 0 });
  const R = residual ? residual.A.dim(0) : 0;
  if (residual) {
    const z = empty(be, [rows, R]); // x A^T
    raw(x.f32, 'f32', residual.A.f32, 'f32', z.f32, linearDims(rows, inF, R), x);
    raw(z.f32, 'f32', residual.B.f32, 'f32', out.f32, linearDims(rows, R, outF), x, { beta: 1 });
  }
  return record(out, 'quantLinear', bias ? [x, bias] : [x], (g) => {
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(be, x.shape);
      be.quantMatmul({ x: g.f32, w, out: dx.f32, m: rows, mode: 'inputGrad', beta: 0 });
      if (residual) {
        const gz = empty(be, [rows, R]); // g B
        raw(g.f32, 'f32', residual.B.f32, 'f32', gz.f32, { ...linearDims(rows, outF, R), transB: false }, g);
        raw(gz.f32, 'f32', residual.A.f32, 'f32', dx.f32, { ...linearDims(rows, R, inF), transB: false }, g, { beta: 1 });
      }
    }
    return bias ? [dx, bias.requiresGrad ? linearBiasGrad(g, outF) : null] : [dx];
  });
}
