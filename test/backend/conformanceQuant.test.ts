// Conformance of the quantized product (issue 17): the native quantMatmul (tiles of W
// dequantized into cache, f32 GEMM) against the reference (dequantize all of W, then
// multiply), for every format x forward / input gradient x overwrite / accumulate, on
// odd shapes (rows and columns that are not multiples of any block: the last block of
// a row is zero-padded) and on weights large enough for the tiled paths.
// Skips (with the reason) when the addon is not built.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend, QuantMatmulArgs } from '../../src/backend/backend.js';
import { loadNativeBackend, nativeLoadError } from '../../src/backend/native/index.js';
import { quantize } from '../../src/backend/quant/codec.js';
import { QUANT_FORMATS, type QuantWeight } from '../../src/backend/quant/format.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const maybeNative = loadNativeBackend();
const skip = maybeNative ? false : `native addon not built (${nativeLoadError()}); run \`npm run build:native\``;
const native = maybeNative as Backend;

let seed = 1700;

/** Runs one product on both backends (out pre-filled alike, for beta 1) and compares. */
function check(w: QuantWeight, m: number, mode: QuantMatmulArgs['mode'], beta: number): void {
  const [inF, outF] = mode === 'forward' ? [w.cols, w.rows] : [w.rows, w.cols];
  const x = randn(m * inF, seed++);
  const start = randn(m * outF, seed++);
  const got = start.slice();
  const want = start.slice();
  native.quantMatmul({ x, w, out: got, m, mode, beta });
  ref.quantMatmul({ x, w, out: want, m, mode, beta });
  // Unit-variance terms: a sum of k of them is ~sqrt(k) in size, and so is the f32
  // rounding of a different summation order (the reference sums in f64).
  const atol = 1e-5 * Math.sqrt(inF);
  assertClose(got, want, { dtype: 'f32', atol, what: `${w.format} ${mode} ${m}x[${w.rows}, ${w.cols}] beta ${beta}` });
}

function weight(rows: number, cols: number, format: (typeof QUANT_FORMATS)[number]): QuantWeight {
  return quantize(randn(rows * cols, seed++), rows, cols, format);
}

describe('quantMatmul conformance (native vs reference)', { skip }, () => {
  for (const format of QUANT_FORMATS) {
    it(`${format}: forward and input gradient on odd shapes, overwrite and accumulate`, () => {
      for (const [rows, cols] of [
        [1, 1],
        [3, 33],
        [17, 64],
        [65, 100],
        [8, 129],
      ] as const) {
        const w = weight(rows, cols, format);
        for (const m of [1, 5]) for (const mode of ['forward', 'inputGrad'] as const) for (const beta of [0, 1]) check(w, m, mode, beta);
      }
    });

    it(`${format}: the tiled paths (a weight over 1 Mi values, rows and columns off the tile sizes)`, () => {
      const w = weight(300, 3500, format); // 1.05 Mi values: row bands of 18, column bands of 64..256
      for (const mode of ['forward', 'inputGrad'] as const) for (const beta of [0, 1]) check(w, 3, mode, beta);
    });
  }

  it('refuses mismatched arrays with a clear error instead of reading past them', () => {
    const w = weight(4, 64, 'q8_0');
    const x = new Float32Array(2 * 64);
    assert.throws(
      () => native.quantMatmul({ x, w, out: new Float32Array(7), m: 2, mode: 'forward', beta: 0 }),
      /out must be a Float32Array of at least 2 x 4/,
    );
    assert.throws(
      () => native.quantMatmul({ x, w: { ...w, data: w.data.subarray(1) }, out: new Float32Array(8), m: 2, mode: 'forward', beta: 0 }),
      /q8_0 data of a 4 x 64 weight must be 272 bytes/,
    );
    assert.throws(() => native.quantMatmul({ x, w, out: new Float32Array(8), m: 2, mode: 'forward', beta: 0.5 }), /beta must be 0 or 1/);
  });
});
