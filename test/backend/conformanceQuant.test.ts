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
import { ALL_QUANT_FORMATS, NF4_LEVELS, type QuantFormat, type QuantWeight } from '../../src/backend/quant/format.js';
import { decodesInWgsl } from '../../src/backend/webgpu/kernels/quantMatmul.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const maybeNative = loadNativeBackend();
const skip = maybeNative ? false : `native addon not built (${nativeLoadError()}); run \`npm run build:native\``;
const native = maybeNative as Backend;

let seed = 1700;

/** The midpoints between neighbouring NF4 levels (where the codec's rounding flips). */
const NF4_MIDPOINTS = NF4_LEVELS.slice(1).map((v, i) => (v + NF4_LEVELS[i]!) / 2);

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

function weight(rows: number, cols: number, format: QuantFormat, groupSize?: number): QuantWeight {
  return quantize(randn(rows * cols, seed++), rows, cols, format, { groupSize });
}

describe('quantMatmul conformance (native vs reference)', { skip }, () => {
  for (const format of ALL_QUANT_FORMATS) {
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

  it('int8g with groups of any size (1, 7, 48, 100, a whole row): odd shapes and tiles that start inside a group', () => {
    for (const [rows, cols, group] of [
      [3, 7, 1],
      [5, 21, 7],
      [17, 100, 48],
      [4, 100, 100],
      [2, 33, 256],
    ] as const) {
      const w = weight(rows, cols, 'int8g', group);
      for (const m of [1, 5]) for (const mode of ['forward', 'inputGrad'] as const) for (const beta of [0, 1]) check(w, m, mode, beta);
    }
    // tiled: the forward's 1024-column depth chunks and the gradient's 64..256-column bands cut groups of 48 and 100
    for (const group of [48, 100]) {
      const w = weight(300, 3500, 'int8g', group);
      for (const mode of ['forward', 'inputGrad'] as const) for (const beta of [0, 1]) check(w, 3, mode, beta);
    }
    // all-zero groups and huge scales
    const x = randn(40 * 96, seed++);
    x.fill(0, 0, 96 + 32);
    for (let i = 96 * 2; i < 96 * 3; i++) x[i]! *= 1e30;
    check(quantize(x, 40, 96, 'int8g', { groupSize: 32 }), 2, 'forward', 0);
    check(quantize(x, 40, 96, 'int8g', { groupSize: 32 }), 2, 'inputGrad', 1);
  });

  it('int8g is not decoded in WGSL (the webgpu backend takes its CPU path)', () => {
    assert.equal(decodesInWgsl(weight(2, 64, 'int8g')), false);
    assert.equal(decodesInWgsl(weight(2, 64, 'int8')), true);
  });

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

  it('nf4 with double-quantized scales: forward and input gradient, small and tiled', () => {
    for (const [rows, cols] of [
      [5, 100],
      [300, 3500],
    ] as const) {
      const w = quantize(randn(rows * cols, seed++), rows, cols, 'nf4', { doubleQuant: true });
      for (const mode of ['forward', 'inputGrad'] as const) for (const beta of [0, 1]) check(w, 3, mode, beta);
    }
  });
});

/** Native quantize against the codec: the same bytes (codes, inline f16 scales) and bit-identical f32 scales. */
function sameQuantization(values: Float32Array, rows: number, cols: number, format: QuantFormat, what: string, doubleQuant = false): void {
  const want = quantize(values, rows, cols, format, { doubleQuant });
  const got = native.quantize({ values, rows, cols, format, doubleQuant });
  assert.deepEqual(got.data, want.data, `${what}: ${format} codes`);
  const bits = (a: Float32Array | null) => (a ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)) : null);
  assert.deepEqual(bits(got.scales), bits(want.scales), `${what}: ${format} scales`);
  if (doubleQuant) {
    assert.deepEqual(got.doubleQuant!.codes, want.doubleQuant!.codes, `${what}: double-quant codes`);
    assert.deepEqual(bits(got.doubleQuant!.factors), bits(want.doubleQuant!.factors), `${what}: double-quant factors`);
    assert.equal(got.doubleQuant!.offset, want.doubleQuant!.offset);
  }
}

describe('quantize conformance (native vs the codec, byte for byte)', { skip }, () => {
  for (const format of ALL_QUANT_FORMATS) {
    it(`${format}: random weights at several magnitudes, rows not a multiple of the block`, () => {
      for (const [rows, cols] of [
        [1, 1],
        [3, 33],
        [7, 100],
        [4, 129],
        [2, 4096],
      ] as const) {
        for (const magnitude of [1e-30, 1e-3, 1, 7, 1e30]) {
          const x = randn(rows * cols, seed++).map((v) => v * magnitude);
          sameQuantization(x, rows, cols, format, `${rows}x${cols} at ${magnitude}`);
        }
      }
    });

    it(`${format}: edge inputs (zero blocks, huge and subnormal values, exact ties, NF4 midpoints)`, () => {
      const cols = 200;
      const x = randn(7 * cols, seed++);
      x.fill(0, 0, cols); // an all-zero row
      x.fill(0, cols + 64, cols + 128); // zero blocks inside a row
      for (let i = 0; i < cols; i++) x[2 * cols + i] = ((i % 2 ? -1 : 1) * 3.4e38 * ((i % 7) + 1)) / 7; // near f32's max
      for (let i = 0; i < cols; i++) x[3 * cols + i] = (i - 100) * 1e-42; // subnormals
      for (let i = 0; i < cols; i++) x[4 * cols + i] = (i % 64) - 31.5 + (i % 3) * 0.5; // ties at .5
      for (let i = 0; i < cols; i++) x[5 * cols + i] = i % 16 < 15 ? NF4_MIDPOINTS[(i % 16) % 15]! * (i % 2 ? 1 : -1) : 1; // on NF4 midpoints
      // integer codes times a scale, as a llama2.c int8 or GGUF Q8_0 file dequantizes: x * (1 / d)
      // rounds onto a .5 tie that a fused multiply-add (x * id + 8.5 in one rounding) misses
      // (q4_0 of stories3M's layer-0 q_proj: one byte of 6912 differed, session 10)
      for (let i = 0; i < cols; i++) x[6 * cols + i] = Math.fround(7 * ((((i % 32) * 5) % 33) - 16) * 0.00033);
      sameQuantization(x, 7, cols, format, 'edge rows');
      sameQuantization(new Float32Array(3 * 65), 3, 65, format, 'all zero');
    });

    it(`${format}: refuses NaN and infinity with the codec's message`, () => {
      const x = randn(4 * 70, seed++);
      x[2 * 70 + 5] = -Infinity;
      x[3 * 70 + 1] = NaN;
      const message = /quantize: the value at row 2, column 5 is -Infinity: a weight with NaN or infinity cannot be quantized/;
      assert.throws(() => quantize(x, 4, 70, format), message);
      assert.throws(() => native.quantize({ values: x, rows: 4, cols: 70, format }), message);
    });
  }

  it('int8g: groups of any size, the same bytes and scales', () => {
    for (const [rows, cols, group] of [
      [3, 7, 1],
      [5, 21, 7],
      [7, 100, 48],
      [2, 33, 256],
    ] as const) {
      for (const magnitude of [1e-30, 1, 1e30]) {
        const x = randn(rows * cols, seed++).map((v) => v * magnitude);
        const want = quantize(x, rows, cols, 'int8g', { groupSize: group });
        const got = native.quantize({ values: x, rows, cols, format: 'int8g', groupSize: group });
        assert.equal(got.groupSize, group);
        assert.deepEqual(got.data, want.data, `${rows}x${cols} group ${group} at ${magnitude}: codes`);
        assert.deepEqual(new Uint32Array(got.scales!.buffer), new Uint32Array(want.scales!.buffer), 'scales');
      }
    }
  });

  it('nf4 double quantization: the same codes, factors and offset', () => {
    const x = randn(9 * 64 * 60, seed++); // 540 scales: two full groups and a partial one
    sameQuantization(x, 9, 64 * 60, 'nf4', 'double quant', true);
    sameQuantization(new Float32Array(2 * 64), 2, 64, 'nf4', 'double quant of zeros', true);
  });

  it('refuses bad arguments before reading memory', () => {
    assert.throws(
      () => native.quantize({ values: new Float32Array(5), rows: 2, cols: 3, format: 'int8' }),
      /values must be a Float32Array of 2 x 3/,
    );
    assert.throws(() => native.quantize({ values: new Float32Array(6), rows: 2, cols: 3, format: 'q5_k' as never }), /unknown format q5_k/);
    assert.throws(
      () => native.quantize({ values: new Float32Array(64), rows: 1, cols: 64, format: 'int8', doubleQuant: true }),
      /not to int8/,
    );
  });
});
