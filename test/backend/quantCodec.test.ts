// The quantization formats (issue 17): GGUF's Q8_0 / Q4_0 byte layouts exactly, QLoRA's
// NF4 levels and nibble order, int8 per-row scales; error bounds of each round trip;
// zero-padded last blocks; all-zero blocks; refused malformed weights.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockScales, dequantize, quantize } from '../../src/backend/quant/codec.js';
import {
  ALL_QUANT_FORMATS,
  checkQuantWeight,
  DOUBLE_QUANT_GROUP,
  NF4_LEVELS,
  QUANT_FORMATS,
  quantBytes,
  type QuantFormat,
} from '../../src/backend/quant/format.js';
import { f16ToF32 } from '../../src/io/floatBits.js';
import { randn } from '../helpers/random.js';

const half = (lo: number, hi: number): number => f16ToF32(Uint16Array.of(lo | (hi << 8)))[0]!;

describe('quantization formats', () => {
  it('q8_0 is GGUF block_q8_0: f16 d = absmax / 127, then 32 int8 codes round(x / d)', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i - 10) * 0.25); // absmax 5.25 at i = 31
    const w = quantize(x, 1, 32, 'q8_0');
    assert.equal(w.data.length, 34);
    const d = half(w.data[0]!, w.data[1]!);
    assert.ok(Math.abs(d - 5.25 / 127) <= 2 ** -11 * d); // the scale is stored as f16
    const codes = Int8Array.from(w.data.subarray(2));
    assert.equal(codes[31], 127);
    for (let i = 0; i < 32; i++) assert.equal(codes[i], Math.round(x[i]! / Math.fround(5.25 / 127)));
    assert.deepEqual(
      Array.from(dequantize(w)),
      Array.from(codes, (q) => Math.fround(q * d)),
    );
  });

  it('q4_0 is GGUF block_q4_0: d = max / -8, element j in the low nibble of byte j, element j + 16 in its high nibble', () => {
    const x = new Float32Array(32);
    x[0] = -8; // the signed extreme: d = 1, code 0
    x[16] = 3; // code 11, in the high nibble of byte 0
    x[1] = 7; // code 15 (clamped from 15.5)
    const w = quantize(x, 1, 32, 'q4_0');
    assert.equal(w.data.length, 18);
    assert.equal(half(w.data[0]!, w.data[1]!), 1);
    assert.equal(w.data[2], 0 | (11 << 4));
    assert.equal(w.data[3]! & 15, 15);
    const back = dequantize(w);
    assert.equal(back[0], -8);
    assert.equal(back[16], 3);
    assert.equal(back[1], 7);
    assert.equal(back[5], 0); // zero is code 8
  });

  it('nf4 uses QLoRA levels with an absmax per 64 values, the first element in the high nibble', () => {
    assert.equal(NF4_LEVELS.length, 16);
    assert.equal(NF4_LEVELS[7], 0);
    const x = new Float32Array(64);
    x[0] = -2; // level 0 (-1) x absmax 2
    x[1] = 2; // level 15
    x[63] = 0.5; // 0.25 normalized: nearest level 10 (0.2461)
    const w = quantize(x, 1, 64, 'nf4');
    assert.equal(w.data.length, 32);
    assert.deepEqual(Array.from(w.scales!), [2]);
    assert.equal(w.data[0], (0 << 4) | 15);
    assert.equal(w.data[31]! & 15, 10);
    assert.equal(w.data[1], (7 << 4) | 7); // zeros
    assert.equal(dequantize(w)[63], Math.fround(Math.fround(NF4_LEVELS[10]!) * 2));
  });

  it('int8 keeps one scale per output row (absmax / 127)', () => {
    const x = Float32Array.of(1, -2, 0.5, 4, 0, 0);
    const w = quantize(x, 2, 3, 'int8');
    assert.deepEqual(Array.from(w.scales!), [Math.fround(2 / 127), Math.fround(4 / 127)]);
    assert.deepEqual(Array.from(Int8Array.from(w.data)), [64, -127, 32, 127, 0, 0]);
  });

  // Worst-case error of one value relative to its block's absmax: half a step; q4_0's
  // codes reach only 7/8 of the extreme on the side opposite the signed maximum (a
  // full step there); nf4's widest gap is between its two lowest levels.
  const nf4HalfGap = Math.max(...NF4_LEVELS.slice(1).map((v, i) => (v - NF4_LEVELS[i]!) / 2));
  const bound: Record<QuantFormat, number> = { int8: 0.5 / 127, int8g: 0.5 / 127, q8_0: 0.5 / 127, q4_0: 1 / 8, nf4: nf4HalfGap };
  for (const format of ALL_QUANT_FORMATS) {
    it(`${format}: round trip within half a quantization step, on rows whose length is not a multiple of the block`, () => {
      const [rows, cols] = [5, 100];
      const x = randn(rows * cols, 17);
      const w = quantize(x, rows, cols, format);
      checkQuantWeight(w, 'test');
      assert.equal(w.data.byteLength + (w.scales?.byteLength ?? 0), quantBytes(format, rows, cols));
      const back = dequantize(w);
      const block = format === 'int8' ? cols : format === 'nf4' || format === 'int8g' ? 64 : 32;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const b0 = r * cols + Math.floor(c / block) * block;
          const amax = Math.max(...Array.from(x.subarray(b0, Math.min(b0 + block, (r + 1) * cols)), Math.abs));
          // f16 scales (q8_0, q4_0) add up to 2^-11 of the value itself
          const err = Math.abs(back[r * cols + c]! - x[r * cols + c]!);
          assert.ok(err <= amax * bound[format] * 1.001 + Math.abs(x[r * cols + c]!) * 2 ** -10, `${format} [${r}, ${c}]: error ${err}`);
        }
      }
      // the padded last block: quantizing the row zero-padded to whole blocks gives the same values
      const padded = new Float32Array(rows * 128);
      for (let r = 0; r < rows; r++) padded.set(x.subarray(r * cols, (r + 1) * cols), r * 128);
      if (format !== 'int8') {
        const wide = dequantize(quantize(padded, rows, 128, format));
        for (let r = 0; r < rows; r++)
          assert.deepEqual(Array.from(back.subarray(r * cols, (r + 1) * cols)), Array.from(wide.subarray(r * 128, r * 128 + cols)));
      }
      // an all-zero weight stays zero (no 0 / 0)
      assert.ok(dequantize(quantize(new Float32Array(rows * cols), rows, cols, format)).every((v) => v === 0));
    });
  }

  it('int8g: int8 codes with one f32 scale per group along the row (llama2.c v2), any group size', () => {
    const x = Float32Array.of(1, -2, 0.5, 4, 0, 0, 8, -1);
    const w = quantize(x, 2, 4, 'int8g', { groupSize: 2 });
    assert.equal(w.groupSize, 2);
    assert.deepEqual(Array.from(w.scales!), [2 / 127, 4 / 127, 0, 8 / 127].map(Math.fround));
    assert.deepEqual(Array.from(Int8Array.from(w.data)), [64, -127, 16, 127, 0, 0, 127, -16]);
    // decoding is q * s in f32, the llama2.c runq.c dequantize()
    const back = dequantize(w);
    for (let i = 0; i < 8; i++) assert.equal(back[i], Math.fround(((w.data[i]! << 24) >> 24) * w.scales![i >> 1]!));
    // a group of 48 on rows of 100: two full groups and a padded third, 3 scales a row
    const g = quantize(randn(2 * 100, 4), 2, 100, 'int8g', { groupSize: 48 });
    assert.equal(g.data.length, 2 * 144);
    assert.equal(g.scales!.length, 6);
    assert.equal(quantBytes('int8g', 2, 100, false, 48), 2 * 144 + 6 * 4);
    // default group 64
    assert.equal(quantize(randn(128, 5), 1, 128, 'int8g').groupSize, 64);
    // the group size belongs to int8g only, and is bounded
    assert.throws(() => quantize(randn(64, 3), 1, 64, 'q8_0', { groupSize: 32 }), /groupSize is int8g's, not q8_0's/);
    assert.throws(() => quantize(randn(64, 3), 1, 64, 'int8g', { groupSize: 0 }), /needs groupSize, an integer in 1\.\./);
    assert.throws(() => checkQuantWeight({ ...g, groupSize: undefined }, 'w'), /an int8g weight needs groupSize/);
    assert.throws(() => checkQuantWeight({ ...g, groupSize: 50 }, 'w'), /int8g data of a 2 x 100 weight must be 200 bytes/);
  });

  it('refuses weights whose arrays do not match their shape', () => {
    const w = quantize(randn(64, 3), 2, 32, 'q4_0');
    assert.throws(() => checkQuantWeight({ ...w, rows: 3 }, 'w'), /q4_0 data of a 3 x 32 weight must be 54 bytes/);
    assert.throws(() => checkQuantWeight({ ...w, scales: new Float32Array(2) }, 'w'), /scales .* must be null/);
    assert.throws(() => checkQuantWeight({ ...w, format: 'q5_k' as never }, 'w'), /unknown quantization format q5_k/);
    const n = quantize(randn(64, 3), 1, 64, 'nf4');
    assert.throws(() => checkQuantWeight({ ...n, scales: null }, 'w'), /nf4 scales of a 1 x 64 weight must be 1 f32 values/);
  });

  it('refuses NaN and infinity, naming the first one (row-major)', () => {
    for (const format of QUANT_FORMATS) {
      const x = randn(3 * 40, 5);
      x[2 * 40 + 7] = Infinity;
      x[2 * 40 + 9] = NaN;
      assert.throws(
        () => quantize(x, 3, 40, format),
        /the value at row 2, column 7 is Infinity: a weight with NaN or infinity cannot be quantized/,
      );
      x[40] = NaN;
      assert.throws(() => quantize(x, 3, 40, format), /row 1, column 0 is NaN/);
    }
  });

  it('nf4 double quantization: scales - mean as int8 in groups of 256, the same codes, a bounded scale error, fewer bytes', () => {
    // 3 x 64 x 100 blocks = 300 scales: a full group and a partial one
    const [rows, cols] = [3, 64 * 100];
    const x = randn(rows * cols, 23);
    for (let i = 0; i < x.length; i += 977) x[i]! *= 8; // spread the scales
    const single = quantize(x, rows, cols, 'nf4');
    const dq = quantize(x, rows, cols, 'nf4', { doubleQuant: true });
    checkQuantWeight(dq, 'test');
    assert.equal(dq.scales, null);
    assert.deepEqual(dq.data, single.data); // the 4-bit codes come from the exact absmax, as in QLoRA
    const s = single.scales!;
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    assert.ok(Math.abs(dq.doubleQuant!.offset - mean) <= 1e-6 * mean);
    assert.equal(dq.doubleQuant!.factors.length, Math.ceil(s.length / DOUBLE_QUANT_GROUP));
    const decoded = blockScales(dq)!;
    for (let i = 0; i < s.length; i++) {
      const g = Math.floor(i / DOUBLE_QUANT_GROUP);
      const group = Array.from(s.subarray(g * DOUBLE_QUANT_GROUP, (g + 1) * DOUBLE_QUANT_GROUP), (v) =>
        Math.abs(v - dq.doubleQuant!.offset),
      );
      assert.ok(Math.abs(decoded[i]! - s[i]!) <= (Math.max(...group) / 127) * 0.5001 + 1e-7, `scale ${i}`);
    }
    // dequantize applies the decoded scales
    const back = dequantize(dq);
    const lv = Float32Array.from(NF4_LEVELS);
    const code = (j: number) => (j % 2 ? dq.data[j >> 1]! & 15 : dq.data[j >> 1]! >> 4);
    for (const j of [0, 1, 63, 64, 6399, 6400, 19199]) assert.equal(back[j], Math.fround(lv[code(j)]! * decoded[Math.floor(j / 64)]!));
    assert.equal(
      dq.data.byteLength + dq.doubleQuant!.codes.byteLength + 4 * dq.doubleQuant!.factors.length,
      quantBytes('nf4', rows, cols, true),
    );
    assert.ok(quantBytes('nf4', rows, cols, true) < quantBytes('nf4', rows, cols));
    // refused for other formats and when malformed
    assert.throws(
      () => quantize(x, rows, cols, 'q4_0', { doubleQuant: true }),
      /double quantization applies to nf4's block scales, not to q4_0/,
    );
    assert.throws(() => checkQuantWeight({ ...dq, scales: s }, 'w'), /scales null/);
    assert.throws(
      () => checkQuantWeight({ ...dq, doubleQuant: { ...dq.doubleQuant!, factors: new Float32Array(1) } }, 'w'),
      /must hold 300 int8 codes and 2 f32 factors/,
    );
  });

  it('nf4 double quantization of equal scales is exact (codes 0, the mean carries them)', () => {
    const x = new Float32Array(4 * 64).fill(0.5);
    const dq = quantize(x, 1, 256, 'nf4', { doubleQuant: true });
    assert.deepEqual(Array.from(dequantize(dq)), Array.from(x));
    assert.ok(dq.doubleQuant!.codes.every((c) => c === 0));
  });
});
