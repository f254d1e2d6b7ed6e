// Broadcast binary ops, axpby, reductions and dropout.

import { dropoutUniform, type Backend, type BinaryOp } from '../backend.js';
import { contiguousStrides, forEachOffset } from './strided.js';

function binaryValue(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'div':
      return a / b;
  }
}

export const binary: Backend['binary'] = ({ op, a, aStrides, b, bStrides, out, shape }) => {
  const outStrides = contiguousStrides(shape);
  forEachOffset(shape, [0, 0, 0], [aStrides, bStrides, outStrides], ([ai, bi, oi]) => {
    out[oi] = binaryValue(op, a[ai], b[bi]);
  });
};

export const axpby: Backend['axpby'] = (alpha, x, beta, y) => {
  if (x.length !== y.length) throw new RangeError(`axpby: x has ${x.length} elements but y has ${y.length}`);
  for (let i = 0; i < y.length; i++) {
    // beta 0 overwrites: y may hold garbage (even NaN) that must not leak through.
    y[i] = beta === 0 ? alpha * x[i] : alpha * x[i] + beta * y[i];
  }
};

export const reduceSum: Backend['reduceSum'] = ({ x, outer, mid, inner, out, accumulate }) => {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let m = 0; m < mid; m++) sum += x[(o * mid + m) * inner + i];
      const at = o * inner + i;
      out[at] = accumulate ? out[at] + sum : sum;
    }
  }
};

export const sumSquares: Backend['sumSquares'] = (x) => {
  let sum = 0; // a JS number: f64 accumulation, as the contract asks
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return sum;
};

export const dropout: Backend['dropout'] = ({ x, out, p, seed, offset }) => {
  const scale = 1 / (1 - p);
  for (let i = 0; i < x.length; i++) {
    // Dropped elements are written as 0 explicitly, so p = 1 gives zeros, not NaN.
    out[i] = dropoutUniform(seed, offset + i) >= p ? x[i] * scale : 0;
  }
};
