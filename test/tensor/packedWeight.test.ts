// Frozen f32 weights are packed once for the native matmul (issue #2) and must
// never be read stale: every write to a weight goes through Tensor.assign or
// Tensor.update, which move its write version (tensor/version.ts), and a
// trainable weight is never packed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeBackend, nativeLoadError } from '../../src/backend/native/index.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import type { Backend } from '../../src/backend/backend.js';
import { computeFor, configureRuntime } from '../../src/backend/runtime.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { Linear } from '../../src/nn/linear.js';
import { AdamW } from '../../src/optim/adamw.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { linear } from '../../src/tensor/ops/matmul.js';
import { packedWeight, WIDEN_MIN_ROWS, widenedBytesInUse } from '../../src/tensor/ops/packedWeight.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const native = loadNativeBackend();
const skip = native ? false : `native addon not built (${nativeLoadError()})`;
const [rows, inF, outF] = [37, 70, 45];

/** y = x W^T on the reference backend from W's current values: what native must give. */
function expected(x: Tensor, w: Tensor): Float32Array {
  return linear(tensor(ref, Float32Array.from(x.f32), x.shape), tensor(ref, Float32Array.from(w.f32), w.shape)).f32;
}

function setup(be: Backend) {
  const x = tensor(be, randn(rows * inF, 1), [rows, inF]);
  const w = tensor(be, randn(outF * inF, 2), [outF, inF]);
  return { x, w };
}

test('a frozen f32 weight is packed once, reused, and gives the plain product', { skip }, () => {
  const { x, w } = setup(native!);
  const first = packedWeight(w, 'forward', rows);
  assert.ok(first, 'a frozen f32 weight on the native backend is packed');
  assert.equal(packedWeight(w, 'forward', rows), first, 'the packed copy is reused');
  assert.notEqual(packedWeight(w, 'inputGrad', rows), first, 'the input gradient reads W, not W^T: its own copy');
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'packed linear' });
  assert.equal(packedWeight(tensor(ref, randn(4, 3), [2, 2]), 'forward', rows), null, 'the reference backend packs nothing');
  const bf16 = tensor(native!, new Uint16Array(outF * inF), [outF, inF], 'bf16');
  if (computeFor('bf16') === 'bf16')
    assert.equal(packedWeight(bf16, 'forward', rows), null, 'bf16 weights stay unpacked (memory bound, issue #7)');
  else assert.ok(packedWeight(bf16, 'forward', rows) instanceof Float32Array, 'bf16 weights computed in f32 get f32 copies (issue 15)');
});

test('a merge into a packed weight is seen by the next product (forward and input gradient)', { skip }, () => {
  const { x, w } = setup(native!);
  const layer = new LoraLinear(new Linear(w), { r: 3, alpha: 6, dropout: 0, useRslora: false, init: 'kaiming', seed: 5 });
  layer.lora_B.f32.set(randn(layer.lora_B.size, 3)); // a nonzero update
  noGrad(() => linear(x, w)); // packs the pre-merge weight
  const unmerged = noGrad(() => layer.forward(x)).f32;
  layer.merge();
  const merged = noGrad(() => linear(x, w)).f32;
  assertClose(merged, expected(x, w), { dtype: 'f32', what: 'linear after merge' });
  assertClose(merged, unmerged, { dtype: 'f32', what: 'merged = unmerged' });
  // input gradient through the merged weight: dx = 1 W, summed over rows
  const xg = tensor(native!, Float32Array.from(x.f32), x.shape, 'f32', true);
  sum(linear(xg, w)).backward();
  const colSums = Array.from({ length: inF }, (_, j) => w.f32.reduce((s, _v, i) => (i % inF === j ? s + w.f32[i]! : s), 0));
  assertClose(xg.grad!.f32.subarray(0, inF), Float32Array.from(colSums), { dtype: 'f32', what: 'dx after merge' });
  layer.unmerge();
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'linear after unmerge' });
});

test('a trainable weight is never packed; once frozen after training, it is packed from its trained values', { skip }, () => {
  const { x, w } = setup(native!);
  noGrad(() => linear(x, w)); // packed while frozen
  w.requiresGrad = true;
  assert.equal(packedWeight(w, 'forward', rows), null);
  const opt = new AdamW([w], { lr: 0.1, weightDecay: 0 });
  sum(linear(x, w)).backward();
  opt.step(0.1);
  w.requiresGrad = false;
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'linear after an optimizer step' });
  assert.ok(packedWeight(w, 'forward', rows), 'frozen again, it is packed');
});

test('assign (a checkpoint restore) and update move the version, and the next product reads the new values', { skip }, () => {
  const { x, w } = setup(native!);
  const view = w.detach();
  noGrad(() => linear(x, w)); // packs the current values
  const before = w.version;
  w.assign(randn(w.size, 9));
  assert.equal(w.version, before + 1);
  assert.equal(view.version, w.version, 'views of one storage share the version');
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'linear after assign' });
  w.update((data) => (data as Float32Array).fill(0.25));
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'linear after update' });
  assert.throws(() => w.assign(new Float32Array(3)), /takes 3150 values/);
});

test(
  'bf16 weights computed in f32 (issue 15): f32 copies for few rows within the budget, widening in the product beyond it or over many rows, same products',
  { skip },
  () => {
    const before = computeFor('bf16');
    configureRuntime({ compute: 'f32' });
    const budget = process.env['COLA_PACK_BUDGET_MB'];
    try {
      const x = tensor(native!, randn(rows * inF, 11), [rows, inF]);
      const w32 = randn(outF * inF, 12);
      const w = tensor(native!, new Uint16Array(outF * inF), [outF, inF], 'bf16');
      ref.castToBf16(w32, w.data as Uint16Array);
      // the reference computes the bf16 weight in f32 too (exact widening)
      const wValues = new Float32Array(w.size);
      ref.castToF32(w.data as Uint16Array, wValues);
      const refW = (): Tensor => tensor(ref, wValues, w.shape, 'bf16'); // bf16 values: stored exactly
      const want = linear(tensor(ref, Float32Array.from(x.f32), x.shape), refW()).f32;
      process.env['COLA_PACK_BUDGET_MB'] = '0';
      assert.equal(packedWeight(w, 'forward', rows), null, 'no budget: no copy');
      assertClose(noGrad(() => linear(x, w)).f32, want, { dtype: 'f32', what: 'bf16 weight widened per call' });
      process.env['COLA_PACK_BUDGET_MB'] = '64';
      const held = widenedBytesInUse();
      const copy = packedWeight(w, 'forward', rows);
      assert.ok(copy instanceof Float32Array, 'an f32 packed copy of the bf16 weight');
      assert.equal(widenedBytesInUse(), held + 4 * outF * inF, 'counted against the budget');
      assertClose(noGrad(() => linear(x, w)).f32, want, { dtype: 'f32', what: 'bf16 weight from its f32 copy' });
      // a product over many rows (training) widens inside the product: no copy, none held
      const w2 = tensor(native!, new Uint16Array(w.size), w.shape, 'bf16');
      (w2.data as Uint16Array).set(w.data as Uint16Array); // the same bf16 bits, no copy yet
      const many = tensor(native!, randn(WIDEN_MIN_ROWS * inF, 13), [WIDEN_MIN_ROWS, inF]);
      const heldBefore = widenedBytesInUse();
      assert.equal(packedWeight(w2, 'forward', WIDEN_MIN_ROWS), null, 'no copy for a product over WIDEN_MIN_ROWS rows');
      const wantMany = linear(tensor(ref, Float32Array.from(many.f32), many.shape), refW()).f32;
      assertClose(noGrad(() => linear(many, w2)).f32, wantMany, { dtype: 'f32', what: 'bf16 weight over many rows, widened per call' });
      assert.equal(widenedBytesInUse(), heldBefore, 'no f32 copy made for it');
      const xg = tensor(native!, Float32Array.from(x.f32), x.shape, 'f32', true);
      sum(linear(xg, w)).backward(); // the input gradient reads W through its own copy
      const xr = tensor(ref, Float32Array.from(x.f32), x.shape, 'f32', true);
      sum(linear(xr, refW())).backward();
      assertClose(xg.grad!.f32, xr.grad!.f32, { dtype: 'f32', what: 'dx through the f32 copy' });
      w.update((data) => (data as Uint16Array).fill(0x3f80)); // 1.0: a merge writes the weight
      wValues.fill(1);
      const wantOnes = linear(tensor(ref, Float32Array.from(x.f32), x.shape), refW()).f32;
      assertClose(noGrad(() => linear(x, w)).f32, wantOnes, { dtype: 'f32', what: 'after a write, the copy is rebuilt' });
    } finally {
      if (budget === undefined) delete process.env['COLA_PACK_BUDGET_MB'];
      else process.env['COLA_PACK_BUDGET_MB'] = budget;
      configureRuntime({ compute: before });
    }
  },
);
