// The gated MLP's fused product act(gate) * up (tensor/ops/gatedActivation.ts) gives
// the exact bits of unary then mul, forward and backward, on every backend here; it
// keeps gate and up for backward, not act(gate).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, UnaryOp } from '../../src/backend/backend.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { backward } from '../../src/tensor/autograd.js';
import { parameter, tensor } from '../../src/tensor/ops/creation.js';
import { mul, unary } from '../../src/tensor/ops/elementwise.js';
import { gatedActivation } from '../../src/tensor/ops/gatedActivation.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';

const native = loadNativeBackend();
const backends: Backend[] = [referenceBackend, ...(native ? [native] : [])];
const shape = [2, 3, 37]; // 37: not a multiple of any vector width

/** value and both gradients of sum(w * f(gate, up)), w random (a non-uniform upstream gradient) */
function run(be: Backend, f: (g: Tensor, u: Tensor) => Tensor): Float32Array[] {
  const n = 2 * 3 * 37;
  const gate = parameter(
    be,
    randn(n, 1).map((x) => 3 * x),
    shape,
  );
  const up = parameter(be, randn(n, 2), shape);
  const w = tensor(be, randn(n, 3), shape);
  const y = f(gate, up);
  backward(sum(mul(y, w)));
  return [y.f32.slice(), gate.grad!.f32.slice(), up.grad!.f32.slice()];
}

for (const be of backends) {
  for (const op of ['silu', 'gelu_tanh', 'gelu_erf', 'relu'] as UnaryOp[]) {
    test(`gatedActivation(${op}) = mul(unary(${op}, gate), up), bit for bit, on ${be.name}`, () => {
      const fused = run(be, (g, u) => gatedActivation(op, g, u));
      const composed = run(be, (g, u) => mul(unary(op, g), u));
      ['value', 'd gate', 'd up'].forEach((what, i) => {
        const [a, b] = [fused[i]!, composed[i]!];
        const at = a.findIndex((x, j) => !Object.is(x, b[j]));
        assert.equal(at, -1, `${what} differs at ${at}: ${a[at]} vs ${b[at]}`);
      });
    });
  }
}

test('gatedActivation keeps gate and up for backward, not act(gate)', () => {
  const be = referenceBackend;
  const gate = parameter(be, randn(12, 4), [3, 4]);
  const up = parameter(be, randn(12, 5), [3, 4]);
  const y = gatedActivation('silu', gate, up);
  assert.deepEqual(y.gradFn?.inputs, [gate, up]);
});

test('gatedActivation refuses gate and up of different shapes', () => {
  const be = referenceBackend;
  assert.throws(
    () => gatedActivation('silu', tensor(be, randn(6, 1), [2, 3]), tensor(be, randn(6, 2), [3, 2])),
    /gate \[2, 3\] and up \[3, 2\] must have the same shape/,
  );
});
