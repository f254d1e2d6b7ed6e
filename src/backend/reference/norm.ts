// RMSNorm and LayerNorm over rows of x [rows, cols], with backward passes.
// Weights and biases may be bf16 (frozen base weights); their gradients are f32.

import type { Backend, FloatArray } from '../backend.js';
import { floatValues } from './values.js';

/** Per-column values of an optional weight or bias; `absent` when it is null. */
function columnValues(x: FloatArray | null, cols: number, absent: number): Float32Array {
  return x === null ? new Float32Array(cols).fill(absent) : floatValues(x);
}

function store(dst: Float32Array, at: number, value: number, accumulate: boolean): void {
  dst[at] = accumulate ? dst[at] + value : value;
}

export const rmsNorm: Backend['rmsNorm'] = ({ x, weight, out, rstd, rows, cols, eps }) => {
  const w = columnValues(weight, cols, 1);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sumSq = 0;
    for (let j = 0; j < cols; j++) sumSq += x[o + j] * x[o + j];
    const s = 1 / Math.sqrt(sumSq / cols + eps);
    rstd[r] = s;
    for (let j = 0; j < cols; j++) out[o + j] = x[o + j] * s * w[j];
  }
};

// y_j = x_j s w_j with s = (mean(x^2) + eps)^(-1/2), so ds/dx_j = -s^3 x_j / cols and
// dx_j = s w_j dy_j - (s^3 / cols) x_j Σ_i dy_i w_i x_i.
export const rmsNormBackward: Backend['rmsNormBackward'] = ({ x, weight, rstd, dy, dx, dWeight, rows, cols, accumulate }) => {
  const w = columnValues(weight, cols, 1);
  const dW = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const s = rstd[r];
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * w[j] * x[o + j];
    for (let j = 0; j < cols; j++) {
      if (dx) store(dx, o + j, s * w[j] * dy[o + j] - ((s * s * s) / cols) * x[o + j] * dot, accumulate);
      dW[j] += dy[o + j] * x[o + j] * s;
    }
  }
  if (dWeight) for (let j = 0; j < cols; j++) store(dWeight, j, dW[j], accumulate);
};

export const layerNorm: Backend['layerNorm'] = ({ x, weight, bias, out, mean, rstd, rows, cols, eps }) => {
  const w = columnValues(weight, cols, 1);
  const b = columnValues(bias, cols, 0);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += x[o + j];
    const mu = sum / cols;
    let sumSq = 0; // two passes: no cancellation for rows with a large mean
    for (let j = 0; j < cols; j++) sumSq += (x[o + j] - mu) * (x[o + j] - mu);
    const s = 1 / Math.sqrt(sumSq / cols + eps); // biased variance, as PyTorch
    mean[r] = mu;
    rstd[r] = s;
    for (let j = 0; j < cols; j++) out[o + j] = (x[o + j] - mu) * s * w[j] + b[j];
  }
};

// With xhat = (x - mean) s and g = dy * w: dx = s (g - mean(g) - xhat mean(g xhat)).
export const layerNormBackward: Backend['layerNormBackward'] = ({
  x,
  weight,
  mean,
  rstd,
  dy,
  dx,
  dWeight,
  dBias,
  rows,
  cols,
  accumulate,
}) => {
  const w = columnValues(weight, cols, 1);
  const dW = new Float64Array(cols);
  const dB = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const s = rstd[r];
    const xhat = (j: number) => (x[o + j] - mean[r]) * s;
    let meanG = 0;
    let meanGXhat = 0;
    for (let j = 0; j < cols; j++) {
      const g = dy[o + j] * w[j];
      meanG += g / cols;
      meanGXhat += (g * xhat(j)) / cols;
      dW[j] += dy[o + j] * xhat(j);
      dB[j] += dy[o + j];
    }
    if (dx) for (let j = 0; j < cols; j++) store(dx, o + j, s * (dy[o + j] * w[j] - meanG - xhat(j) * meanGXhat), accumulate);
  }
  if (dWeight) for (let j = 0; j < cols; j++) store(dWeight, j, dW[j], accumulate);
  if (dBias) for (let j = 0; j < cols; j++) store(dBias, j, dB[j], accumulate);
};
