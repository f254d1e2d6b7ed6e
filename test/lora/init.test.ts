// LoRA A initialisation (src/lora/init.ts) against its definitions:
// - kaiming: PyTorch nn.init.kaiming_uniform_(A, a=sqrt(5)) with fan_in = A.size(1) = in:
//   gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in) = 1/sqrt(in) (method.md sec. 1);
// - gaussian: PEFT init_lora_weights="gaussian", nn.init.normal_(A, std=1/r).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Linear } from '../../src/nn/linear.js';
import { initLoraA, mulberry32 } from '../../src/lora/init.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { randn } from '../helpers/random.js';
import { be } from './tinyModel.js';

const moments = (x: Float32Array): { mean: number; std: number; min: number; max: number } => {
  let [s, s2, min, max] = [0, 0, Infinity, -Infinity];
  for (const v of x) [s, s2, min, max] = [s + v, s2 + v * v, Math.min(min, v), Math.max(max, v)];
  const mean = s / x.length;
  return { mean, std: Math.sqrt(s2 / x.length - mean * mean), min, max };
};

test('kaiming: A ~ U(-1/sqrt(in), 1/sqrt(in)): none outside, min and max within 0.1% of both bounds, variance bound^2/3', () => {
  const [r, inF] = [64, 300]; // 19,200 draws: the largest gap to a bound is ~bound/9600 on average
  const bound = 1 / Math.sqrt(inF); // PyTorch: sqrt(2 / (1 + 5)) * sqrt(3 / 300)
  assert.ok(Math.abs(bound - Math.sqrt(2 / 6) * Math.sqrt(3 / inF)) < 1e-15);
  const a = initLoraA('kaiming', r, inF, mulberry32(1));
  assert.equal(a.length, r * inF);
  const { mean, std, min, max } = moments(a);
  assert.ok(
    a.every((v) => Math.abs(v) <= bound),
    'no value outside [-bound, bound]',
  );
  assert.ok(max > bound * 0.999, `max ${max} near +${bound}`);
  assert.ok(min < -bound * 0.999, `min ${min} near -${bound}`);
  assert.ok(Math.abs(mean) < 0.02 * bound, `mean ${mean}`);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.02 * std, `std ${std} vs ${bound / Math.sqrt(3)}`);
});

test('kaiming through LoraLinear: the bound uses in_features (fan_in), not out_features or r', () => {
  const [inF, outF] = [400, 25]; // fan_in != fan_out: a fan_out bound would be 4x wider
  const base = new Linear(tensor(be, randn(outF * inF, 2), [outF, inF]), null);
  const l = new LoraLinear(base, { r: 16, alpha: 32, dropout: 0, useRslora: false, init: 'kaiming', seed: 3 });
  const bound = 1 / Math.sqrt(inF);
  const { min, max } = moments(l.lora_A.f32);
  assert.ok(max <= bound && min >= -bound, `[${min}, ${max}] within ±${bound}`);
  assert.ok(max > 0.99 * bound && min < -0.99 * bound, `[${min}, ${max}] reaches both bounds`);
  assert.ok(
    l.lora_B.f32.every((v) => v === 0),
    'B starts at zero',
  );
  l.resetAdapter(4, 8);
  const again = moments(l.lora_A.f32);
  assert.equal(l.lora_A.f32.length, 8 * inF);
  assert.ok(again.max <= bound && again.min >= -bound && again.max > 0.99 * bound && again.min < -0.99 * bound, 'a re-initialised A too');
});

test('gaussian: A ~ N(0, (1/r)^2): std within 2% of 1/r for several r, mean near 0, tails as a normal', () => {
  for (const r of [2, 8, 16]) {
    const a = initLoraA('gaussian', r, 32768 / r, mulberry32(r)); // 32,768 draws: the std's standard error is 0.4%
    const { mean, std } = moments(a);
    assert.ok(Math.abs(std - 1 / r) < 0.02 / r, `r ${r}: std ${std} vs ${1 / r}`);
    assert.ok(Math.abs(mean) < 0.03 / r, `r ${r}: mean ${mean}`);
    // P(|z| > 2) = 4.55% for a normal (a uniform of the same std has none beyond 1.73 std)
    const tail = a.filter((v) => Math.abs(v) > 2 / r).length / a.length;
    assert.ok(Math.abs(tail - 0.0455) < 0.01, `r ${r}: ${tail} beyond 2 std`);
  }
});

test('init is seeded: the same rng seed gives the same A, another seed another A', () => {
  for (const kind of ['kaiming', 'gaussian'] as const) {
    assert.deepEqual(initLoraA(kind, 4, 32, mulberry32(9)), initLoraA(kind, 4, 32, mulberry32(9)), kind);
    assert.notDeepEqual(initLoraA(kind, 4, 32, mulberry32(9)), initLoraA(kind, 4, 32, mulberry32(10)), kind);
  }
});
