import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16BitsToF32, f32ToBf16Bits, referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { randn } from '../../helpers/random.js';

test('bf16: exact values keep their bits', () => {
  assert.equal(f32ToBf16Bits(1.0), 0x3f80);
  assert.equal(f32ToBf16Bits(-2.0), 0xc000);
  assert.equal(f32ToBf16Bits(0), 0x0000);
  assert.equal(f32ToBf16Bits(-0), 0x8000);
  assert.equal(f32ToBf16Bits(Infinity), 0x7f80);
  assert.equal(f32ToBf16Bits(-Infinity), 0xff80);
  assert.equal(bf16BitsToF32(0x3f80), 1.0);
});

test('bf16: rounds to nearest, ties to even', () => {
  const ulp = 2 ** -7; // spacing of bf16 values in [1, 2)
  // 1 + ulp/2 is a tie between 1 (even mantissa) and 1 + ulp (odd): goes to 1.
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8)), 1);
  // 1 + 3ulp/2 is a tie between 1 + ulp (odd) and 1 + 2ulp (even): goes up.
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 3 * 2 ** -8)), 1 + 2 * ulp);
  // Just above a tie rounds up, just below rounds down.
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)), 1 + ulp);
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8 - 2 ** -20)), 1);
});

test('bf16: NaN stays NaN even when its payload is only in the low bits', () => {
  const word = new Uint32Array([0x7f800001]); // signalling NaN, payload in the dropped half
  const nan = new Float32Array(word.buffer)[0];
  assert.ok(Number.isNaN(nan));
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(nan))));
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
});

test('bf16: overflow past the largest finite value rounds to infinity', () => {
  const maxBf16 = bf16BitsToF32(0x7f7f);
  assert.equal(bf16BitsToF32(f32ToBf16Bits(3.4e38)), Infinity);
  assert.equal(bf16BitsToF32(f32ToBf16Bits(maxBf16)), maxBf16);
});

test('bf16: casts round-trip bf16 values and err by at most half an ulp', () => {
  const x = randn(257, 1);
  const h = new Uint16Array(x.length);
  const back = new Float32Array(x.length);
  ref.castToBf16(x, h);
  ref.castToF32(h, back);
  for (let i = 0; i < x.length; i++) {
    assert.ok(Math.abs(back[i] - x[i]) <= Math.abs(x[i]) * 2 ** -8, `element ${i}: ${x[i]} -> ${back[i]}`);
  }
  const again = new Uint16Array(x.length);
  ref.castToBf16(back, again);
  assert.deepEqual(again, h);
});
