// Batched matrix product C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias) + beta * C[b].

import type { Backend, FloatArray, MatmulArgs } from '../backend.js';
import { computeFor } from '../compute.js';
import { bf16BitsToF32, roundToBf16 } from './bf16.js';

/** The operand's values as the product sees them: bf16 bits decoded, and an f32
 * operand rounded to bf16 when the other one is bf16 (a bf16 product). */
function operandValues(x: FloatArray, dtype: 'f32' | 'bf16', bf16Product: boolean, name: string): Float32Array {
  if (dtype === 'bf16') {
    if (!(x instanceof Uint16Array)) throw new TypeError(`matmul: ${name}Dtype is bf16, so ${name} must be a Uint16Array of bf16 bits`);
    return Float32Array.from(x, bf16BitsToF32);
  }
  if (!(x instanceof Float32Array)) throw new TypeError(`matmul: ${name}Dtype is f32, so ${name} must be a Float32Array`);
  return bf16Product ? Float32Array.from(x, roundToBf16) : x;
}

export const matmul: Backend['matmul'] = (args: MatmulArgs) => {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta, c } = args;
  // compute 'f32': a bf16 operand is decoded exactly and nothing is rounded.
  const mixed = args.aDtype === 'bf16' || args.bDtype === 'bf16';
  const bf16Product = mixed && (args.compute ?? computeFor('bf16')) === 'bf16';
  const a = operandValues(args.a, args.aDtype, bf16Product, 'a');
  const b = operandValues(args.b, args.bDtype, bf16Product, 'b');
  const bias = checkBias(args);
  // Element (row, col) of op(A) and op(B) within one batch item.
  const aAt = transA ? (row: number, col: number) => col * m + row : (row: number, col: number) => row * k + col;
  const bAt = transB ? (row: number, col: number) => col * k + row : (row: number, col: number) => row * n + col;
  for (let bi = 0; bi < batch; bi++) {
    const aBase = bi * aBatchStride;
    const bBase = bi * bBatchStride;
    const cBase = bi * m * n; // C is always contiguous [batch, m, n]
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0; // f64 accumulation: the exact-as-possible specification
        for (let p = 0; p < k; p++) sum += a[aBase + aAt(i, p)] * b[bBase + bAt(p, j)];
        if (bias) sum += bias[j];
        const at = cBase + i * n + j;
        // beta 0 overwrites: C may hold garbage (even NaN) that must not leak through.
        c[at] = beta === 0 ? alpha * sum : alpha * sum + beta * c[at];
      }
    }
  }
};

/** The bias, checked: f32 [n], and alpha 1 (a bias is not scaled). */
export function checkBias(args: MatmulArgs): Float32Array | null {
  const bias = args.bias ?? null;
  if (!bias) return null;
  if (!(bias instanceof Float32Array) || bias.length < args.n) {
    throw new TypeError(`matmul: bias must be a Float32Array of at least n = ${args.n} elements`);
  }
  if (args.alpha !== 1) throw new RangeError(`matmul: a bias needs alpha 1, got alpha ${args.alpha}`);
  return bias;
}
