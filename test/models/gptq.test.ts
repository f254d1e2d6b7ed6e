// GPTQ codes (issue 17, models/gptq.ts): the same formats as round-to-nearest, chosen to
// keep a layer's output on calibration inputs. Invariants: with uncorrelated inputs
// (X^T X diagonal) no error moves and GPTQ writes round-to-nearest's bytes; on correlated
// inputs its output error is at most round-to-nearest's; its weights are valid for the
// format (the checks a file's weight passes, int8 codes within ±127) and the kernels'
// product is x dequant(W)^T.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockGrid, writeBlock } from '../../src/backend/quant/blockGrid.js';
import { dequantize, quantize } from '../../src/backend/quant/codec.js';
import { checkQuantWeight, quantLayout, type QuantFormat, type QuantWeight } from '../../src/backend/quant/format.js';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { cholesky, gptqQuantize, inverseHessianFactor } from '../../src/models/gptq.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';
import { tensor } from '../../src/tensor/ops/creation.js';

const FORMATS: QuantFormat[] = ['int8', 'nf4', 'q8_0', 'q4_0'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

function randomWeight(rows: number, cols: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: rows * cols }, () => 0.05 * gaussian(r));
}

/** X [tokens, cols] with correlated columns (a random mix of a few shared factors plus noise). */
function correlatedInputs(tokens: number, cols: number, seed: number): Float32Array {
  const r = rng(seed);
  const k = 4;
  const mix = Array.from({ length: k * cols }, () => gaussian(r));
  const X = new Float32Array(tokens * cols);
  for (let t = 0; t < tokens; t++) {
    const z = Array.from({ length: k }, () => gaussian(r));
    for (let c = 0; c < cols; c++) {
      let v = 0.3 * gaussian(r);
      for (let j = 0; j < k; j++) v += z[j]! * mix[j * cols + c]!;
      X[t * cols + c] = v;
    }
  }
  return X;
}

function xtxOf(X: Float32Array, tokens: number, cols: number): Float64Array {
  const H = new Float64Array(cols * cols);
  for (let t = 0; t < tokens; t++)
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) H[i * cols + j]! += X[t * cols + i]! * X[t * cols + j]!;
  return H;
}

/** sum |X (W - Q)^T|^2 = tr((W - Q) H (W - Q)^T): the layer's output error on X. */
function outputError(W: Float32Array, q: QuantWeight, H: Float64Array): number {
  const { rows, cols } = q;
  const D = dequantize(q);
  let e = 0;
  for (let r = 0; r < rows; r++) {
    const d = Array.from({ length: cols }, (_, c) => W[r * cols + c]! - D[r * cols + c]!);
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) e += d[i]! * H[i * cols + j]! * d[j]!;
  }
  return e;
}

test("blockGrid + writeBlock reproduce the codec's bytes and scales for a block that does not move", () => {
  for (const format of FORMATS) {
    for (let seed = 1; seed <= 20; seed++) {
      const n = format === 'int8' ? 48 : quantLayout(format, 64).block;
      const x = randomWeight(1, n, seed);
      if (seed === 2) x.fill(0); // an all-zero block: scale 0
      const want = quantize(x, 1, n, format);
      const grid = blockGrid(format, x);
      const codes = Array.from(x, (v) => grid.code(v));
      const data = new Uint8Array(want.data.length);
      const scale = writeBlock(grid, codes, data, 0);
      assert.deepEqual(data, want.data, `${format} seed ${seed}: bytes`);
      if (want.scales) assert.equal(scale, want.scales[0], `${format} seed ${seed}: scale`);
      // value() is what the codec decodes
      assert.deepEqual(
        Float32Array.from(codes, (c) => grid.value(c)),
        dequantize(want),
        `${format} seed ${seed}: values`,
      );
    }
  }
});

test('the inverse Hessian factor: U^T U (H + λI) = I', () => {
  const n = 12;
  const H = xtxOf(correlatedInputs(40, n, 3), 40, n);
  const U = inverseHessianFactor(H, n, 0.01);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += H[i * n + i]! / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      // (U^T U)[i][k] (H + λI)[k][j]
      let s = 0;
      for (let k = 0; k < n; k++) {
        let uu = 0;
        for (let m = 0; m < n; m++) uu += U[m * n + i]! * U[m * n + k]!;
        s += uu * (H[k * n + j]! + (k === j ? 0.01 * mean : 0));
      }
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-8, `(${i}, ${j}): ${s}`);
      if (j < i) assert.equal(U[i * n + j], 0, 'upper triangular');
    }
  assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite/);
});

test('uncorrelated inputs (X^T X diagonal): GPTQ writes exactly the round-to-nearest weight', () => {
  const rows = 6;
  for (const format of FORMATS) {
    const cols = 80; // nf4: a block and a padded partial one; q*_0: two blocks and a partial one
    const W = randomWeight(rows, cols, 7);
    const r = rng(9);
    const H = new Float64Array(cols * cols);
    for (let i = 0; i < cols; i++) H[i * cols + i] = 0.5 + r(); // any positive diagonal, one dead input:
    H[5 * cols + 5] = 0;
    assert.deepEqual(gptqQuantize({ weight: W, rows, cols, format, xtx: H }), quantize(W, rows, cols, format), format);
  }
});

test("correlated inputs: GPTQ's output error is at most round-to-nearest's, in every format", () => {
  const rows = 16;
  const cols = 96;
  const tokens = 256;
  for (const format of FORMATS) {
    for (const seed of [1, 2]) {
      const W = randomWeight(rows, cols, 10 + seed);
      const H = xtxOf(correlatedInputs(tokens, cols, 20 + seed), tokens, cols);
      const rtn = outputError(W, quantize(W, rows, cols, format), H);
      const gptq = outputError(W, gptqQuantize({ weight: W, rows, cols, format, xtx: H }), H);
      assert.ok(gptq <= rtn, `${format} seed ${seed}: GPTQ ${gptq}, round-to-nearest ${rtn}`);
    }
  }
});

test('GPTQ weights are valid for their format and multiply as x dequant(W)^T', () => {
  const rows = 8;
  const cols = 72;
  for (const format of FORMATS) {
    const W = randomWeight(rows, cols, 31);
    const H = xtxOf(correlatedInputs(64, cols, 32), 64, cols);
    const q = gptqQuantize({ weight: W, rows, cols, format, xtx: H });
    checkQuantWeight(q, format);
    if (format === 'int8') assert.ok(!q.data.includes(0x80), 'int8 codes stay within ±127');
    const D = dequantize(q);
    assert.ok(D.every(Number.isFinite));
    const x = randomWeight(3, cols, 33);
    const y = new QuantizedLinear(q, null, be).forward(tensor(be, x, [3, cols], 'f32')).f32;
    for (let t = 0; t < 3; t++)
      for (let o = 0; o < rows; o++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += x[t * cols + c]! * D[o * cols + c]!;
        assert.ok(Math.abs(y[t * rows + o]! - s) <= 1e-5 * (1 + Math.abs(s)), `${format} (${t}, ${o})`);
      }
    // deterministic: the same inputs give the same bytes
    assert.deepEqual(gptqQuantize({ weight: W, rows, cols, format, xtx: H }), q);
  }
});
