// Frozen f32 weights are packed once for the native matmul (issue #2) and must
// never be read stale: every write to a weight goes through Tensor.assign or
// Tensor.update, which move its write version (tensor/version.ts), and a
// trainable weight is never packed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeBackend, nativeLoadError } from '../../src/backend/native/index.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import type { Backend } from '../../src/backend/backend.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { Linear } from '../../src/nn/linear.js';
import { AdamW } from '../../src/optim/adamw.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { linear } from '../../src/tensor/ops/matmul.js';
import { packedWeight } from '../../src/tensor/ops/packedWeight.js';
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
  const first = packedWeight(w, 'forward');
  assert.ok(first, 'a frozen f32 weight on the native backend is packed');
  assert.equal(packedWeight(w, 'forward'), first, 'the packed copy is reused');
  assert.notEqual(packedWeight(w, 'inputGrad'), first, 'the input gradient reads W, not W^T: its own copy');
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'packed linear' });
  assert.equal(packedWeight(tensor(ref, randn(4, 3), [2, 2]), 'forward'), null, 'the reference backend packs nothing');
  const bf16 = tensor(native!, new Uint16Array(outF * inF), [outF, inF], 'bf16');
  assert.equal(packedWeight(bf16, 'forward'), null, 'bf16 weights stay unpacked (memory bound, issue #7)');
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
  assert.equal(packedWeight(w, 'forward'), null);
  const opt = new AdamW([w], { lr: 0.1, weightDecay: 0 });
  sum(linear(x, w)).backward();
  opt.step(0.1);
  w.requiresGrad = false;
  assertClose(noGrad(() => linear(x, w)).f32, expected(x, w), { dtype: 'f32', what: 'linear after an optimizer step' });
  assert.ok(packedWeight(w, 'forward'), 'frozen again, it is packed');
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
