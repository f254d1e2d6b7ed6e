// RoPE over its input's own storage (tensor/ops/rope.ts ropeInPlace), as the decoders
// apply it to the q and k projections' outputs: the same values and gradients as
// rope(), bit for bit, with no second [B, T, H, D] buffer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { backward } from '../../src/tensor/autograd.js';
import { parameter, tensor } from '../../src/tensor/ops/creation.js';
import { mul, scale } from '../../src/tensor/ops/elementwise.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { rope, ropeInPlace, ropeTable } from '../../src/tensor/ops/rope.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';

const native = loadNativeBackend();
const backends: Backend[] = [referenceBackend, ...(native ? [native] : [])];
const [B, T, H, D] = [2, 5, 3, 8];
const n = B * T * H * D;

/** y = rot(2 x) (the scaled copy is the fresh tensor an in-place op may own), and x's gradient */
function run(be: Backend, rot: (x: Tensor) => Tensor): Float32Array[] {
  const x = parameter(be, randn(n, 1), [B, T, H, D]);
  const y = rot(scale(x, 2));
  backward(sum(mul(y, tensor(be, randn(n, 2), [B, T, H, D]))));
  return [y.f32.slice(), x.grad!.f32.slice()];
}

for (const be of backends) {
  for (const layout of ['halves', 'pairs'] as const) {
    test(`ropeInPlace = rope bit for bit (${layout}, shared and per-row positions) on ${be.name}`, () => {
      const table = ropeTable(be, 6, 16, 10000); // rotaryDim 6 < headDim 8: a pass-through tail
      for (const positions of [Int32Array.from([0, 3, 4, 9, 15]), Int32Array.from([0, 1, 2, 3, 4, 7, 8, 9, 0, 1])]) {
        const inPlace = run(be, (x) => ropeInPlace(x, positions, table, layout));
        const copied = run(be, (x) => rope(x, positions, table, layout));
        ['value', 'gradient'].forEach((what, i) => {
          const at = inPlace[i]!.findIndex((v, j) => !Object.is(v, copied[i]![j]));
          assert.equal(at, -1, `${what} differs at ${at}`);
        });
      }
    });
  }
}

test('ropeInPlace writes over its input: the result shares its storage', () => {
  const be = referenceBackend;
  const x = tensor(be, randn(n, 3), [B, T, H, D]);
  const y = ropeInPlace(x, Int32Array.from([1, 2, 3, 4, 5]), ropeTable(be, D, 8, 10000), 'halves');
  assert.equal(y.data, x.data);
  assert.throws(
    () => ropeInPlace(x, Int32Array.from([1, 2, 3, 4, 8]), ropeTable(be, D, 8, 10000), 'halves'),
    /position 8 beyond the table/,
  );
});
