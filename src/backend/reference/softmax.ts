// Row-wise softmax and log-softmax over x [rows, cols], with their backward passes.

import type { Backend } from '../backend.js';

/** max and log Σ exp of row r of x [rows, cols]: the stable logsumexp. */
export function rowLogSumExp(x: Float32Array, offset: number, cols: number): number {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) max = Math.max(max, x[offset + j]);
  if (max === -Infinity) return -Infinity; // an all -inf row (fully masked)
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(x[offset + j] - max);
  return max + Math.log(sum);
}

export const softmax: Backend['softmax'] = (x, out, rows, cols) => {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const lse = rowLogSumExp(x, o, cols);
    for (let j = 0; j < cols; j++) out[o + j] = Math.exp(x[o + j] - lse);
  }
};

export const logSoftmax: Backend['logSoftmax'] = (x, out, rows, cols) => {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const lse = rowLogSumExp(x, o, cols);
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
  }
};

export const softmaxBackward: Backend['softmaxBackward'] = ({ y, dy, dx, rows, cols, accumulate }) => {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) {
      const g = y[o + j] * (dy[o + j] - dot);
      dx[o + j] = accumulate ? dx[o + j] + g : g;
    }
  }
};

export const logSoftmaxBackward: Backend['logSoftmaxBackward'] = ({ y, dy, dx, rows, cols, accumulate }) => {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += dy[o + j];
    for (let j = 0; j < cols; j++) {
      const g = dy[o + j] - Math.exp(y[o + j]) * sum;
      dx[o + j] = accumulate ? dx[o + j] + g : g;
    }
  }
};
