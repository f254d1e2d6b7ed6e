import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear } from '../../src/nn/linear.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';
import { be, maxAbsDiff, randomizeB } from './tinyModel.js';

const IN = 12;
const OUT = 10;

function layer(dtype: 'f32' | 'bf16' = 'f32', opts: Partial<ConstructorParameters<typeof LoraLinear>[1]> = {}): LoraLinear {
  const w = tensor(be, randn(OUT * IN, 1), [OUT, IN], dtype);
  const b = tensor(be, randn(OUT, 2), [OUT]);
  return new LoraLinear(new Linear(w, b), { r: 3, alpha: 6, dropout: 0, useRslora: false, init: 'kaiming', seed: 5, ...opts });
}

const x = () => tensor(be, randn(2 * 4 * IN, 3), [2, 4, IN]);
const run = (l: LoraLinear) => noGrad(() => l.forward(x())).f32.slice();

/** s * B A in f64, straight from the definition. */
function naiveDelta(l: LoraLinear): Float64Array {
  const d = new Float64Array(OUT * IN);
  for (let o = 0; o < OUT; o++)
    for (let i = 0; i < IN; i++) {
      let acc = 0;
      for (let k = 0; k < l.r; k++) acc += l.lora_B.f32[o * l.r + k]! * l.lora_A.f32[k * IN + i]!;
      d[o * IN + i] = l.scaling * acc;
    }
  return d;
}

test('init: A Kaiming-uniform within 1/sqrt(in), B zero, seeded; gaussian std 1/r', () => {
  const l = layer();
  const bound = 1 / Math.sqrt(IN);
  assert.ok(l.lora_A.f32.every((v) => Math.abs(v) <= bound));
  assert.ok(l.lora_B.f32.every((v) => v === 0));
  assert.deepEqual(layer().lora_A.f32, l.lora_A.f32);
  assert.notDeepEqual(layer('f32', { seed: 6 }).lora_A.f32, l.lora_A.f32);
  const g = layer('f32', { init: 'gaussian', r: 4 }).lora_A.f32;
  const std = Math.sqrt(g.reduce((a, v) => a + v * v, 0) / g.length);
  assert.ok(Math.abs(std - 0.25) < 0.06, `std ${std}`);
  assert.deepEqual(
    [l.lora_A.shape, l.lora_B.shape],
    [
      [3, IN],
      [OUT, 3],
    ],
  );
  assert.equal((l.base_layer as Linear).weight.requiresGrad, false);
});

test('fresh adapter = base layer; forward adds s * B A x', () => {
  const l = layer();
  const base = noGrad(() => l.base_layer.forward(x())).f32;
  assert.deepEqual(run(l), base);
  randomizeB([l], 1);
  const y = run(l);
  // y - base = x (s B A)^T
  const d = naiveDelta(l);
  const xs = x().f32;
  const want = new Float32Array(y.length);
  for (let row = 0; row < 8; row++)
    for (let o = 0; o < OUT; o++) {
      let acc = base[row * OUT + o]!;
      for (let i = 0; i < IN; i++) acc += xs[row * IN + i]! * d[o * IN + i]!;
      want[row * OUT + o] = acc;
    }
  assertClose(y, want, { dtype: 'f32', what: 'lora forward' });
});

test('deltaWeight = s B A in f32; rsLoRA uses alpha / sqrt(r)', () => {
  for (const useRslora of [false, true]) {
    const l = layer('f32', { useRslora, r: 4, alpha: 6 });
    randomizeB([l], 2);
    assert.equal(l.scaling, useRslora ? 3 : 1.5);
    assertClose(l.deltaWeight(), naiveDelta(l), { dtype: 'f32', what: 'deltaWeight' });
  }
});

test('merged output = unmerged output, and merge is not applied twice', () => {
  const l = layer();
  randomizeB([l], 3);
  const before = run(l);
  l.merge();
  assert.equal(l.merged, true);
  assertClose(run(l), before, { dtype: 'f32', what: 'merged forward' });
  assert.throws(() => l.merge(), /already merged/);
});

test('unmerge restores an f32 weight bit-exactly', () => {
  const l = layer();
  const original = (l.base_layer as Linear).weight.f32.slice();
  randomizeB([l], 4);
  l.merge();
  assert.ok(maxAbsDiff((l.base_layer as Linear).weight.f32, original) > 1e-3);
  l.unmerge();
  assert.deepEqual((l.base_layer as Linear).weight.f32, original);
  // without the undo copy: by subtraction, close but not guaranteed exact (PEFT's way)
  l.merge({ exactUnmerge: false });
  l.unmerge();
  assertClose((l.base_layer as Linear).weight.f32, original, { dtype: 'f32', what: 'unmerge by subtraction' });
});

test('bf16 base: unmerge restores the original bits; merged forward matches', () => {
  const l = layer('bf16');
  const bits = ((l.base_layer as Linear).weight.data as Uint16Array).slice();
  randomizeB([l], 5);
  const before = run(l);
  l.merge();
  assert.notDeepEqual((l.base_layer as Linear).weight.data, bits);
  assertClose(run(l), before, { dtype: 'bf16', what: 'bf16 merged forward' });
  l.unmerge();
  assert.deepEqual((l.base_layer as Linear).weight.data, bits);
});

test('bf16 base: repeated knots accumulate in an f32 master, rounding once', () => {
  const l = layer('bf16');
  const master = new Float32Array(OUT * IN);
  be.castToF32((l.base_layer as Linear).weight.data as Uint16Array, master);
  for (let link = 0; link < 4; link++) {
    randomizeB([l], 10 + link, 1e-3); // small deltas: a bf16-only merge would lose most of them
    const d = l.deltaWeight();
    for (let i = 0; i < master.length; i++) master[i] = master[i]! + d[i]!;
    l.merge({ exactUnmerge: false });
    l.resetAdapter(100 + link);
  }
  const want = new Uint16Array(master.length);
  be.castToBf16(master, want);
  assert.deepEqual((l.base_layer as Linear).weight.data, want);
});

test('resetAdapter: fresh A, zero B, new rank and scale, new tensors; the knot stays merged', () => {
  const l = layer();
  randomizeB([l], 6);
  const merged = (l.merge(), run(l));
  const [oldA, oldB] = [l.lora_A, l.lora_B];
  l.resetAdapter(9, 2);
  assert.ok(l.lora_A !== oldA && l.lora_B !== oldB, 'new tensors');
  assert.notDeepEqual(l.lora_A.f32, oldA.f32.subarray(0, 2 * IN), 'fresh A values');
  assert.ok(l.lora_A.f32.every((v) => Math.abs(v) <= 1 / Math.sqrt(IN)) && l.lora_A.f32.some((v) => v !== 0), 'A within the Kaiming bound');
  assert.deepEqual([l.r, l.scaling, l.merged], [2, 3, false]);
  assert.deepEqual(l.lora_A.shape, [2, IN]);
  assert.ok(l.lora_B.f32.every((v) => v === 0) && l.lora_A.requiresGrad && l.lora_B.requiresGrad);
  assertClose(run(l), merged, { dtype: 'f32', what: 'after reset' });
});

test('dropout: only in training mode, same masks for the same seed and step', () => {
  const l = layer('f32', { dropout: 0.5 });
  randomizeB([l], 7);
  const clean = run(l);
  l.setTraining(true);
  l.setDropoutSeed(1, 3);
  const a = run(l);
  l.setDropoutSeed(1, 3);
  assert.deepEqual(run(l), a);
  l.setDropoutSeed(1, 4);
  assert.notDeepEqual(run(l), a);
  assert.notDeepEqual(a, clean);
  l.setTraining(false);
  assert.deepEqual(run(l), clean);
});
