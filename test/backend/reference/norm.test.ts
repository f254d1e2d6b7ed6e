import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref, roundToBf16 } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randn } from '../../helpers/random.js';
import { assertClose } from '../../helpers/tolerance.js';

const [rows, cols, eps] = [5, 7, 1e-5];

function rms(x: Float32Array, weight: Float32Array | Uint16Array | null) {
  const out = new Float32Array(x.length);
  const rstd = new Float32Array(rows);
  ref.rmsNorm({ x, weight, out, rstd, rows, cols, eps });
  return { out, rstd };
}

function ln(x: Float32Array, weight: Float32Array | null, bias: Float32Array | null) {
  const out = new Float32Array(x.length);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  ref.layerNorm({ x, weight, bias, out, mean, rstd, rows, cols, eps });
  return { out, mean, rstd };
}

test('rmsNorm: one row by hand', () => {
  const out = new Float32Array(2);
  const rstd = new Float32Array(1);
  ref.rmsNorm({ x: new Float32Array([3, 4]), weight: new Float32Array([1, 2]), out, rstd, rows: 1, cols: 2, eps: 0 });
  const s = 1 / Math.sqrt(12.5);
  assertClose(rstd, [s], { dtype: 'f32', what: 'rstd' });
  assertClose(out, [3 * s, 8 * s], { dtype: 'f32', what: 'out' });
});

test('layerNorm: rows have zero mean and unit variance before the affine part', () => {
  const x = randn(rows * cols, 1).map((v) => 3 * v + 100); // a large mean
  const { out, mean } = ln(x, null, null);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(out.subarray(r * cols, (r + 1) * cols));
    const mu = row.reduce((s, v) => s + v, 0) / cols;
    const variance = row.reduce((s, v) => s + (v - mu) ** 2, 0) / cols;
    assert.ok(Math.abs(mu) < 1e-4 && Math.abs(variance - 1) < 1e-3, `row ${r}: mean ${mu}, variance ${variance}`);
    assert.ok(Math.abs(mean[r] - 100) < 5);
  }
});

test('rmsNorm: a bf16 weight acts as its rounded f32 value', () => {
  const x = randn(rows * cols, 2);
  const w = randn(cols, 3);
  const bits = new Uint16Array(cols);
  ref.castToBf16(w, bits);
  assert.deepEqual(rms(x, bits).out, rms(x, w.map(roundToBf16)).out);
});

test('rmsNormBackward: dx and dWeight match finite differences', () => {
  const x = randn(rows * cols, 4);
  const weight = randn(cols, 5);
  const w = randn(rows * cols, 6);
  const { rstd } = rms(x, weight);
  const dx = new Float32Array(x.length);
  const dWeight = new Float32Array(cols);
  ref.rmsNormBackward({ x, weight, rstd, dy: w, dx, dWeight, rows, cols, accumulate: false });
  const forward = () => rms(x, weight).out;
  checkGradient({ what: 'rmsNorm dx', input: x, weights: w, analytic: dx, forward });
  checkGradient({ what: 'rmsNorm dWeight', input: weight, weights: w, analytic: dWeight, forward });
  // Without a weight it acts as ones.
  const dxPlain = new Float32Array(x.length);
  ref.rmsNormBackward({ x, weight: null, rstd: rms(x, null).rstd, dy: w, dx: dxPlain, dWeight: null, rows, cols, accumulate: false });
  checkGradient({ what: 'rmsNorm dx (no weight)', input: x, weights: w, analytic: dxPlain, forward: () => rms(x, null).out });
});

test('layerNormBackward: dx, dWeight and dBias match finite differences', () => {
  const x = randn(rows * cols, 7);
  const weight = randn(cols, 8);
  const bias = randn(cols, 9);
  const w = randn(rows * cols, 10);
  const { mean, rstd } = ln(x, weight, bias);
  const dx = new Float32Array(x.length);
  const dWeight = new Float32Array(cols);
  const dBias = new Float32Array(cols);
  ref.layerNormBackward({ x, weight, mean, rstd, dy: w, dx, dWeight, dBias, rows, cols, accumulate: false });
  const forward = () => ln(x, weight, bias).out;
  checkGradient({ what: 'layerNorm dx', input: x, weights: w, analytic: dx, forward });
  checkGradient({ what: 'layerNorm dWeight', input: weight, weights: w, analytic: dWeight, forward });
  checkGradient({ what: 'layerNorm dBias', input: bias, weights: w, analytic: dBias, forward });
});

test('norm backward: accumulate adds to dx and dWeight', () => {
  const x = randn(rows * cols, 11);
  const weight = randn(cols, 12);
  const w = randn(rows * cols, 13);
  const { rstd } = rms(x, weight);
  const dx = new Float32Array(x.length);
  const dWeight = new Float32Array(cols);
  ref.rmsNormBackward({ x, weight, rstd, dy: w, dx, dWeight, rows, cols, accumulate: false });
  const dxAcc = new Float32Array(x.length).fill(1);
  const dWeightAcc = new Float32Array(cols).fill(1);
  ref.rmsNormBackward({ x, weight, rstd, dy: w, dx: dxAcc, dWeight: dWeightAcc, rows, cols, accumulate: true });
  assertClose(
    dxAcc,
    Array.from(dx, (g) => g + 1),
    { dtype: 'f32', what: 'dx accumulate' },
  );
  assertClose(
    dWeightAcc,
    Array.from(dWeight, (g) => g + 1),
    { dtype: 'f32', what: 'dWeight accumulate' },
  );
});
